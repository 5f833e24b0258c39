//! Conversations: the load is sessions, not requests. A session plays its
//! script turn by turn: each turn sends the whole history so far with the
//! reply the server actually gave to the turn before (captured from the
//! stream), then the session waits its think time and sends the next. A
//! closed loop keeps N sessions in flight (a new one starts when one ends);
//! an open loop starts sessions on a schedule, whatever the server does.
//!
//! The measured path stays honest: each turn is due at an instant — the
//! session's scheduled start for the first, the end of the previous reply
//! plus the think time for the others — and its latency counts from there,
//! so a late dispatch shows instead of hiding. Think time is never latency.
//! A failed turn ends its session (the record says why); the rest of the
//! level goes on. The window (start, end, grace cut, records, interruption,
//! CPU) is the one the other loops share.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::closed::Concurrency;
use super::window::Window;
use super::{Cancel, LevelOutcome, Observer, RequestOptions, measure};
use crate::provider::{Message, Provider, Role};
use crate::record::{Phase, RequestRecord};
use crate::request::ToolCall;
use crate::workload::{MAX_TOOL_STEPS, Workload};

/// Workload session numbers of warm-up sessions start here, apart from the
/// measured ones (which are 0, 1, 2, … so levels and runs compare like
/// with like).
const WARMUP_SESSIONS: u64 = 1 << 40;
/// How often a closed loop re-reads a changing concurrency target.
const PROFILE_TICK: Duration = Duration::from_millis(10);

/// When sessions start.
#[derive(Debug, Clone)]
pub(crate) enum Starts {
    /// N sessions in flight (fixed, or following a profile).
    Closed(Concurrency),
    /// Sessions start at these offsets from the level's start; sorted.
    Open(Arc<[Duration]>),
}

/// One level of conversations.
#[derive(Clone)]
pub(crate) struct SessionPlan {
    /// What the sessions say.
    pub(crate) workload: Arc<Workload>,
    /// The first `warmup` sessions are warm-up.
    pub(crate) warmup: u64,
    pub(crate) starts: Starts,
    /// Stop after this many sessions (warm-up included); `None` with `end`
    /// (open loops stop at the end of their offsets).
    pub(crate) total: Option<u64>,
    /// Start no session or turn this long after the level starts.
    pub(crate) end: Option<Duration>,
    /// After `end`, how long turns in flight may still finish.
    pub(crate) grace: Duration,
    /// Cores the client may use, for the CPU self-check.
    pub(crate) client_cores: usize,
}

impl std::fmt::Debug for SessionPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPlan").field("warmup", &self.warmup).field("starts", &self.starts).finish()
    }
}

/// What every session task of a level shares.
struct Shared {
    provider: Arc<Provider>,
    plan: SessionPlan,
    opts: RequestOptions,
    /// Whether the benchmark wanted the text kept (checks, test mode).
    keep_text: bool,
    level_start: Instant,
    end_at: Option<Instant>,
    cut: Cancel,
    /// The next record index: turns are numbered as they are sent.
    next_index: AtomicU64,
    tx: mpsc::UnboundedSender<RequestRecord>,
}

/// Runs a level of sessions as `plan` says.
pub(crate) async fn session_loop(
    provider: Arc<Provider>,
    plan: &SessionPlan,
    opts: RequestOptions,
    observer: Arc<dyn Observer + '_>,
    cancel: &Cancel,
) -> LevelOutcome {
    let expected = plan.total.unwrap_or(256) as usize * 4;
    let mut window = Window::open(Instant::now(), plan.end, plan.grace, plan.client_cores, observer, expected);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        provider,
        plan: plan.clone(),
        // The next turn needs the reply's text.
        opts: RequestOptions { capture_text: true, ..opts },
        keep_text: opts.capture_text,
        level_start: window.start,
        end_at: window.end_at(),
        cut: window.cut.clone(),
        next_index: AtomicU64::new(0),
        tx,
    });
    let mut sessions: JoinSet<()> = JoinSet::new();
    let mut started: u64 = 0;
    let cut_at = window.cut_at();
    loop {
        let now = Instant::now();
        let (due, next_wake) = dispatch_due(plan, &shared, started, sessions.len(), now);
        for at in due {
            let (shared, n) = (shared.clone(), started);
            started += 1;
            sessions.spawn(async move { run_session(&shared, n, at).await });
        }
        let more = next_wake.is_some() || matches!(plan.starts, Starts::Closed(_)) && can_start(plan, &shared, started);
        if !more && sessions.is_empty() {
            break;
        }
        // Besides a record or a session ending: the next start, the end
        // of dispatching (to stop starting), and the cut after the grace.
        let end = shared.end_at.filter(|e| now < *e);
        let wake = [next_wake, end, cut_at.filter(|_| !window.cut.is_cancelled())].into_iter().flatten().min();
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = cancel.cancelled(), if !window.interrupted() => window.interrupt(cancel),
            Some(record) = rx.recv() => window.accept(record),
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            () = sleep => {
                if cut_at.is_some_and(|c| Instant::now() >= c) {
                    window.cut.cancel();
                }
            }
        }
    }
    drop(shared);
    while let Some(record) = rx.recv().await {
        window.accept(record);
    }
    let mut out = window.close(Vec::new());
    // Each turn's dispatch lag: how late it was sent after it was due
    // (timer lag, a busy client), for the self-check of open loops.
    let mut lags = vec![0u64; out.records.iter().map(|r| r.index as usize + 1).max().unwrap_or(0)];
    for r in &out.records {
        lags[r.index as usize] = (r.queue_ms * 1e3) as u64;
    }
    out.dispatch_lag_us = lags;
    out
}

/// Whether another session may start: the count and the end allow it, and
/// the level was not stopped.
fn can_start(plan: &SessionPlan, shared: &Shared, started: u64) -> bool {
    let open_left = match &plan.starts {
        Starts::Open(offsets) => (started as usize) < offsets.len(),
        Starts::Closed(_) => true,
    };
    open_left
        && plan.total.is_none_or(|t| started < t)
        && shared.end_at.is_none_or(|e| Instant::now() < e)
        && !shared.cut.is_cancelled()
}

/// The sessions due to start now (each with its scheduled instant), and
/// when to look again for the next one (open loops, changing profiles).
fn dispatch_due(
    plan: &SessionPlan,
    shared: &Shared,
    started: u64,
    in_flight: usize,
    now: Instant,
) -> (Vec<Instant>, Option<Instant>) {
    let mut due = Vec::new();
    let mut n = started;
    match &plan.starts {
        Starts::Closed(concurrency) => {
            let target = concurrency.at(now.duration_since(shared.level_start)) as usize;
            while in_flight + due.len() < target && can_start(plan, shared, n) {
                due.push(now);
                n += 1;
            }
            let varying = matches!(concurrency, Concurrency::Profile(_)) && can_start(plan, shared, n);
            let wake = varying.then(|| now + PROFILE_TICK);
            (due, wake.map(|w| shared.end_at.map_or(w, |e| w.min(e))))
        }
        Starts::Open(offsets) => {
            while can_start(plan, shared, n) {
                let at = shared.level_start + offsets[n as usize];
                if at > now {
                    return (due, Some(at));
                }
                due.push(at);
                n += 1;
            }
            (due, None)
        }
    }
}

/// Plays session number `n` (in start order), due at `start`.
async fn run_session(shared: &Shared, n: u64, start: Instant) {
    let plan = &shared.plan;
    let (phase, id) =
        if n < plan.warmup { (Phase::Warmup, WARMUP_SESSIONS + n) } else { (Phase::Measured, n - plan.warmup) };
    // A shard plays its own sessions of the unsplit run (so a conversation
    // stays on one shard and the shards together play each session once).
    let script_id = plan.workload.session_index(id);
    let script = plan.workload.script(script_id);
    let turns = script.turns.len() as u32;
    let concurrency = match &plan.starts {
        Starts::Closed(c) => c.at(start.duration_since(shared.level_start)),
        Starts::Open(_) => 0,
    };
    let mut history: Vec<Message> = Vec::new();
    let mut scheduled = start;
    for turn in 0..script.turns.len() {
        if turn > 0 {
            scheduled += script.think[turn - 1];
            // No turn starts after the level's end: the session is over.
            if shared.end_at.is_some_and(|e| scheduled >= e) || shared.cut.is_cancelled() {
                return;
            }
            tokio::select! {
                biased;
                () = shared.cut.cancelled() => return,
                () = tokio::time::sleep_until(scheduled.into()) => {}
            }
        }
        // The user's request, then (agent sessions) one more for each
        // reply that called tools, sending their results back.
        let mut steps: Vec<Message> = Vec::new();
        for step in 0..=MAX_TOOL_STEPS {
            let request = plan.workload.turn_request(script_id, &script, turn, &history, &steps);
            let index = shared.next_index.fetch_add(1, Ordering::Relaxed);
            let mut record = measure(
                &shared.provider,
                &request,
                index,
                phase,
                shared.opts,
                scheduled,
                shared.level_start,
                Some(&shared.cut),
            )
            .await;
            // The think time (and a tool step) runs from when the user had the whole reply.
            scheduled = Instant::now();
            (record.session, record.turn, record.session_turns) = (Some(n), Some(turn as u32), Some(turns));
            record.tool_step = (step > 0).then_some(step);
            record.concurrency = concurrency;
            let ok = record.is_ok();
            let reply = if shared.keep_text { record.text.clone() } else { record.text.take() };
            let calls: Vec<ToolCall> = record
                .tool_call_text
                .iter()
                .enumerate()
                .map(|(k, c)| ToolCall {
                    // A server that sent no id still gets its results matched by order.
                    id: if c.id.is_empty() { format!("call_{k}") } else { c.id.clone() },
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                })
                .collect();
            let _ = shared.tx.send(record);
            if !ok {
                // A failed turn ends its session: its record says why.
                return;
            }
            let reply = reply.unwrap_or_default();
            match plan.workload.agent_tool_result() {
                Some(result) if !calls.is_empty() && step < MAX_TOOL_STEPS => {
                    let results: Vec<Message> = calls.iter().map(|c| Message::tool_result(&c.id, result)).collect();
                    steps.push(Message::assistant(reply, calls));
                    steps.extend(results);
                }
                // No result to send back: a reply of only calls goes into
                // the history as text (a call without its result is refused).
                _ => {
                    let reply = if reply.is_empty() { calls_text(&calls) } else { reply };
                    steps.push(Message::new(Role::Assistant, reply));
                    break;
                }
            }
        }
        history.push(Message::new(Role::User, script.turns[turn].user.clone()));
        history.append(&mut steps);
    }
}

/// Tool calls as text, for a history that cannot carry them.
fn calls_text(calls: &[ToolCall]) -> String {
    calls.iter().map(|c| format!("{}({})", c.name, c.arguments)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Quiet;
    use crate::load::closed::tests::{opts, provider};
    use crate::record::ErrorClass;
    use crate::sim::{Delay, SimConfig, SimServer};

    fn plan(workload: Workload, starts: Starts, total: Option<u64>) -> SessionPlan {
        SessionPlan {
            workload: Arc::new(workload),
            warmup: 0,
            starts,
            total,
            end: None,
            grace: Duration::from_secs(1),
            client_cores: 1,
        }
    }

    async fn sim(config: SimConfig) -> SimServer {
        SimServer::start(config).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_sessions_send_their_history_and_think_between_turns() {
        let sim =
            sim(SimConfig { ttft: Delay::ms(5), itl: Delay::ms(1), output_tokens: Some(6), ..SimConfig::default() })
                .await;
        let w = Workload::conversation(3).input_tokens(20).output_tokens(6).think_time(Delay::ms(40));
        let p = plan(w, Starts::Closed(Concurrency::Fixed(2)), Some(4));
        let started = Instant::now();
        let out =
            session_loop(Arc::new(provider(sim.base_url())), &p, opts(), Arc::new(Quiet), &Cancel::default()).await;
        assert_eq!(out.records.len(), 12, "4 sessions of 3 turns");
        assert!(
            out.records.iter().all(|r| r.is_ok()),
            "{:?}",
            out.records.iter().map(|r| &r.error).collect::<Vec<_>>()
        );
        assert!(out.records.iter().all(|r| r.text.is_none()), "reply text is not kept unless asked for");
        for s in 0..4 {
            let mut turns: Vec<&RequestRecord> = out.records.iter().filter(|r| r.session == Some(s)).collect();
            turns.sort_by_key(|r| r.turn);
            assert_eq!(turns.iter().map(|r| r.turn.unwrap()).collect::<Vec<_>>(), [0, 1, 2]);
            assert!(turns.iter().all(|r| r.session_turns == Some(3) && r.concurrency == 2));
            // The prompt grows by each turn and the reply it got.
            let prompts: Vec<u64> = turns.iter().map(|r| r.input_tokens.unwrap()).collect();
            assert!(prompts[0] < prompts[1] && prompts[1] < prompts[2], "{prompts:?}");
            assert!(prompts[1] >= prompts[0] * 2 + 6 - 2, "the history carries the actual reply: {prompts:?}");
            // The think time separates turns but is not in their latency.
            for w in turns.windows(2) {
                let gap_us = w[1].start_us.saturating_sub(w[0].end_us());
                assert!(gap_us >= 39_000, "think time {gap_us} µs");
                assert!(w[1].e2e_ms < 35.0 + 100.0, "latency counts from the turn's due time: {}", w[1].e2e_ms);
            }
        }
        // Two at a time, three turns of ~15 ms and two 40 ms pauses each.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_turn_ends_its_session_and_the_rest_go_on() {
        // Every third request is throttled.
        let config = SimConfig {
            ttft: Delay::ms(2),
            itl: Delay::ms(1),
            output_tokens: Some(3),
            faults: vec![crate::sim::Fault {
                kind: crate::sim::FaultKind::Throttle,
                share: None,
                every: Some(3),
                from: None,
                to: None,
                after: None,
                duration: None,
                status: None,
                size: None,
            }],
            ..SimConfig::default()
        };
        let sim = sim(config).await;
        let w = Workload::conversation(4).input_tokens(10).output_tokens(3);
        let p = plan(w, Starts::Closed(Concurrency::Fixed(1)), Some(3));
        let out =
            session_loop(Arc::new(provider(sim.base_url())), &p, opts(), Arc::new(Quiet), &Cancel::default()).await;
        let failed: Vec<&RequestRecord> = out.records.iter().filter(|r| !r.is_ok()).collect();
        assert!(!failed.is_empty());
        for f in &failed {
            assert_eq!(f.error.as_ref().unwrap().class, ErrorClass::Throttled);
            let later = out.records.iter().filter(|r| r.session == f.session && r.turn > f.turn).count();
            assert_eq!(later, 0, "nothing follows a failed turn in its session");
        }
        let sessions: std::collections::BTreeSet<u64> = out.records.iter().filter_map(|r| r.session).collect();
        assert_eq!(sessions.len(), 3, "every session started");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn agent_sessions_send_tool_results_back_until_the_model_answers() {
        let sim =
            sim(SimConfig { ttft: Delay::ms(3), itl: Delay::ms(1), output_tokens: Some(5), ..SimConfig::default() })
                .await;
        let schema = r#"{"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}"#;
        let w = Workload::conversation(2)
            .input_tokens(20)
            .output_tokens(5)
            .tool("get_weather", "Current weather", schema)
            .tool_result(r#"{"temp_c": 21, "sky": "clear"}"#);
        let p = plan(w, Starts::Closed(Concurrency::Fixed(2)), Some(3));
        let out =
            session_loop(Arc::new(provider(sim.base_url())), &p, opts(), Arc::new(Quiet), &Cancel::default()).await;
        // The simulator refuses (400) a tool result that answers no call of
        // the history: every request succeeding proves the ids went back.
        assert!(
            out.records.iter().all(|r| r.is_ok()),
            "{:?}",
            out.records.iter().map(|r| &r.error).collect::<Vec<_>>()
        );
        assert_eq!(out.records.len(), 12, "3 sessions × 2 turns × (a call, then the answer to its result)");
        for s in 0..3 {
            let mut requests: Vec<&RequestRecord> = out.records.iter().filter(|r| r.session == Some(s)).collect();
            requests.sort_by_key(|r| r.index);
            let shape: Vec<(Option<u32>, Option<u32>, u32)> =
                requests.iter().map(|r| (r.turn, r.tool_step, r.tool_calls)).collect();
            assert_eq!(
                shape,
                [(Some(0), None, 1), (Some(0), Some(1), 0), (Some(1), None, 1), (Some(1), Some(1), 0)],
                "a call, then text once its result came back, each turn"
            );
            let prompts: Vec<u64> = requests.iter().map(|r| r.input_tokens.unwrap()).collect();
            assert!(prompts.windows(2).all(|w| w[0] < w[1]), "each step carries the one before: {prompts:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_tool_result_a_reply_of_calls_goes_back_as_text() {
        let sim =
            sim(SimConfig { ttft: Delay::ms(3), itl: Delay::ms(1), output_tokens: Some(5), ..SimConfig::default() })
                .await;
        let w = Workload::conversation(2).input_tokens(20).output_tokens(5).tool("lookup", "", r#"{"type": "object"}"#);
        let p = plan(w, Starts::Closed(Concurrency::Fixed(1)), Some(1));
        let out =
            session_loop(Arc::new(provider(sim.base_url())), &p, opts(), Arc::new(Quiet), &Cancel::default()).await;
        assert_eq!(out.records.len(), 2, "one request a turn");
        assert!(out.records.iter().all(|r| r.is_ok() && r.tool_step.is_none() && r.tool_calls == 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_sessions_start_on_schedule() {
        let sim =
            sim(SimConfig { ttft: Delay::ms(3), itl: Delay::ms(1), output_tokens: Some(3), ..SimConfig::default() })
                .await;
        let w = Workload::conversation(2).input_tokens(10).output_tokens(3).think_time(Delay::ms(20));
        let offsets: Arc<[Duration]> = (0..5).map(|i| Duration::from_millis(50 * i)).collect::<Vec<_>>().into();
        let p = plan(w, Starts::Open(offsets), None);
        let out =
            session_loop(Arc::new(provider(sim.base_url())), &p, opts(), Arc::new(Quiet), &Cancel::default()).await;
        assert_eq!(out.records.len(), 10);
        for s in 0..5u64 {
            let first = out.records.iter().find(|r| r.session == Some(s) && r.turn == Some(0)).unwrap();
            assert_eq!(first.start_us, s * 50_000, "a session's first turn is due at its start");
            assert_eq!(first.concurrency, 0);
        }
    }
}
