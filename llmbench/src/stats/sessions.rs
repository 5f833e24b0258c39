//! Conversations, per level: how sessions went (started, completed, ended
//! by a failed turn, left unfinished), how long they took and how many
//! turns they completed, and the figures of each turn index — TTFT grows
//! with the history a turn sends, and this is where it shows
//! (docs/metrics.md "Conversations").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use crate::record::{Phase, RequestRecord};

/// The sessions of one level (measured sessions only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsSummary {
    /// Sessions that sent at least one turn.
    pub started: u64,
    /// Sessions whose every turn succeeded.
    pub completed: u64,
    /// Sessions ended by a failed turn (its record has the error class).
    pub failed: u64,
    /// Sessions neither completed nor failed: the level ended (duration,
    /// interruption) before their last turn.
    pub unfinished: u64,
    /// Completed sessions: first turn due → last reply's end, ms. Think
    /// times are in it: it is how long a user's session lasted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_duration: Option<LatencySummary>,
    /// Successful turns per started session.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub turns_completed: Option<LatencySummary>,
    /// Per turn index (0 = the first turn), over the turns that were sent
    /// (the user's requests; agent steps are apart, under `tool_steps`).
    pub per_turn: Vec<TurnSummary>,
    /// Agent sessions: the requests that sent tool results back.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool_steps: Option<RequestFigures>,
}

/// The turns at one index of their sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnSummary {
    /// The turn index, from 0.
    pub turn: u32,
    /// The turns sent at this index and their figures.
    #[serde(flatten)]
    pub figures: RequestFigures,
    /// Mean prompt tokens (server-counted, cached included) of the
    /// successful ones: the history this turn carried.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prompt_tokens: Option<f64>,
}

/// Requests of one kind (a turn index's, or the agent steps that sent tool
/// results back) and how fast the successful ones were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestFigures {
    /// Requests sent.
    pub requests: u64,
    /// Of those, successful.
    pub ok: u64,
    /// TTFT of the successful ones, ms (after a tool result, for agent
    /// steps: how long the agent waited on the model once its tool answered).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttft: Option<LatencySummary>,
    /// E2E of the successful ones, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e2e: Option<LatencySummary>,
}

impl RequestFigures {
    fn of(records: &[&RequestRecord]) -> RequestFigures {
        let ok: Vec<&&RequestRecord> = records.iter().filter(|r| r.is_ok()).collect();
        RequestFigures {
            requests: records.len() as u64,
            ok: ok.len() as u64,
            ttft: LatencySummary::from_values(&ok.iter().filter_map(|r| r.ttft_ms).collect::<Vec<_>>()),
            e2e: LatencySummary::from_values(&ok.iter().map(|r| r.e2e_ms).collect::<Vec<_>>()),
        }
    }
}

/// The sessions of `records` (a level's); `None` when no record belongs to
/// a session.
pub(crate) fn summarize(records: &[RequestRecord]) -> Option<SessionsSummary> {
    let mut sessions: BTreeMap<u64, Vec<&RequestRecord>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.phase == Phase::Measured) {
        if let Some(s) = r.session {
            sessions.entry(s).or_default().push(r);
        }
    }
    if sessions.is_empty() {
        return None;
    }
    let (mut completed, mut failed, mut unfinished) = (0, 0, 0);
    let (mut durations, mut turns_ok) = (Vec::new(), Vec::new());
    for turns in sessions.values() {
        let cut = |r: &&&RequestRecord| r.error.as_ref().is_some_and(|e| e.class.is_llmbench_cut());
        // A turn succeeded when each of its requests (agent steps too) did.
        let sent: BTreeSet<u32> = turns.iter().filter_map(|r| r.turn).collect();
        let failed_turns: BTreeSet<u32> = turns.iter().filter(|r| !r.is_ok()).filter_map(|r| r.turn).collect();
        let ok = sent.difference(&failed_turns).count();
        turns_ok.push(ok as f64);
        let planned = turns.iter().filter_map(|r| r.session_turns).max().unwrap_or(0) as usize;
        if turns.iter().any(|r| !r.is_ok() && !cut(&r)) {
            failed += 1;
        } else if ok >= planned && ok > 0 {
            completed += 1;
            let start = turns.iter().map(|r| r.start_us).min().unwrap_or(0);
            let end = turns.iter().map(|r| r.end_us()).max().unwrap_or(start);
            durations.push(end.saturating_sub(start) as f64 / 1e3);
        } else {
            unfinished += 1;
        }
    }
    let mut by_turn: BTreeMap<u32, Vec<&RequestRecord>> = BTreeMap::new();
    let mut steps: Vec<&RequestRecord> = Vec::new();
    for r in sessions.values().flatten() {
        let cut = r.error.as_ref().is_some_and(|e| e.class.is_llmbench_cut());
        match (r.turn, r.tool_step, cut) {
            (_, _, true) => {}
            (_, Some(_), false) => steps.push(r),
            (Some(t), None, false) => by_turn.entry(t).or_default().push(r),
            (None, None, false) => {}
        }
    }
    let per_turn = by_turn
        .into_iter()
        .map(|(turn, rs)| {
            let prompts: Vec<f64> =
                rs.iter().filter(|r| r.is_ok()).filter_map(|r| r.prompt_tokens.map(|n| n as f64)).collect();
            TurnSummary {
                turn,
                figures: RequestFigures::of(&rs),
                prompt_tokens: (!prompts.is_empty()).then(|| prompts.iter().sum::<f64>() / prompts.len() as f64),
            }
        })
        .collect();
    let tool_steps = (!steps.is_empty()).then(|| RequestFigures::of(&steps));
    Some(SessionsSummary {
        started: sessions.len() as u64,
        completed,
        failed,
        unfinished,
        session_duration: LatencySummary::from_values(&durations),
        turns_completed: LatencySummary::from_values(&turns_ok),
        per_turn,
        tool_steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ErrorClass, RequestError};
    use crate::stats::goodput::tests::rec;

    fn turn(session: u64, turn: u32, of: u32, start_us: u64, ttft: f64, error: Option<ErrorClass>) -> RequestRecord {
        let mut r = rec(ttft, ttft + 10.0, 4, error);
        (r.session, r.turn, r.session_turns, r.start_us) = (Some(session), Some(turn), Some(of), start_us);
        r.prompt_tokens = Some(100 * u64::from(turn + 1));
        r
    }

    #[test]
    fn sessions_are_completed_failed_or_unfinished() {
        let mut cut = turn(2, 1, 3, 500_000, 30.0, None);
        cut.error = Some(RequestError::new(ErrorClass::CutAtEnd, "cut"));
        let records = vec![
            turn(0, 0, 2, 0, 20.0, None),
            turn(0, 1, 2, 100_000, 40.0, None),
            turn(1, 0, 2, 0, 20.0, None),
            turn(1, 1, 2, 100_000, 40.0, Some(ErrorClass::Throttled)),
            turn(2, 0, 3, 400_000, 22.0, None),
            cut,
        ];
        let s = summarize(&records).unwrap();
        assert_eq!((s.started, s.completed, s.failed, s.unfinished), (3, 1, 1, 1));
        assert_eq!(s.session_duration.as_ref().unwrap().max, 150.0, "first due → last end, 100 ms + 50 ms");
        assert_eq!(s.per_turn.len(), 2);
        let (t0, t1) = (&s.per_turn[0], &s.per_turn[1]);
        let (f0, f1) = (&t0.figures, &t1.figures);
        assert_eq!((f0.requests, f0.ok, f1.requests, f1.ok), (3, 3, 2, 1), "a cut turn was never answered");
        assert!(
            f1.ttft.as_ref().unwrap().p50.is_none() || f1.ttft.as_ref().unwrap().mean > f0.ttft.as_ref().unwrap().mean
        );
        assert_eq!((t0.prompt_tokens, t1.prompt_tokens), (Some(100.0), Some(200.0)));
        assert!(summarize(&[rec(1.0, 2.0, 3, None)]).is_none(), "no sessions, no figures");
    }

    #[test]
    fn agent_steps_are_counted_apart_from_turns() {
        let step = |session, t, start_us, ttft, error| {
            let mut r = turn(session, t, 2, start_us, ttft, error);
            r.tool_step = Some(1);
            r
        };
        let records = vec![
            turn(0, 0, 2, 0, 20.0, None),
            step(0, 0, 50_000, 25.0, None),
            turn(0, 1, 2, 100_000, 30.0, None),
            step(0, 1, 150_000, 35.0, None),
            turn(1, 0, 2, 0, 20.0, None),
            step(1, 0, 50_000, 25.0, Some(ErrorClass::Server)),
        ];
        let s = summarize(&records).unwrap();
        assert_eq!((s.started, s.completed, s.failed), (2, 1, 1), "a failed step fails its session");
        let turns_ok = s.turns_completed.as_ref().unwrap();
        assert_eq!((turns_ok.min, turns_ok.max), (0.0, 2.0), "a turn whose step failed did not complete");
        assert_eq!(s.per_turn.iter().map(|t| (t.figures.requests, t.figures.ok)).collect::<Vec<_>>(), [(2, 2), (1, 1)]);
        let steps = s.tool_steps.unwrap();
        assert_eq!((steps.requests, steps.ok), (3, 2));
        assert_eq!(steps.ttft.unwrap().max, 35.0);
        assert!(summarize(&records[..1]).unwrap().tool_steps.is_none(), "no steps, no figures");
    }
}
