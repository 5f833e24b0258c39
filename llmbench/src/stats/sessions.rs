//! Conversations, per level: how sessions went (started, completed, ended
//! by a failed turn, left unfinished), how long they took and how many
//! turns they completed, and the figures of each turn index — TTFT grows
//! with the history a turn sends, and this is where it shows
//! (docs/metrics.md "Conversations").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use super::summary::Distribution;
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

/// [`RequestFigures`] gathered request by request.
#[derive(Debug, Clone, Default)]
struct FiguresTally {
    requests: u64,
    ok: u64,
    ttft: Distribution,
    e2e: Distribution,
    /// Σ and count of the successful ones' prompt tokens.
    prompt_tokens: (f64, u64),
}

impl FiguresTally {
    fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        if r.is_ok() {
            self.ok += 1;
            self.ttft.add_some(r.ttft_ms);
            self.e2e.add(r.e2e_ms);
            if let Some(n) = r.prompt_tokens {
                self.prompt_tokens = (self.prompt_tokens.0 + n as f64, self.prompt_tokens.1 + 1);
            }
        }
    }

    fn finish(&self) -> RequestFigures {
        RequestFigures { requests: self.requests, ok: self.ok, ttft: self.ttft.summary(), e2e: self.e2e.summary() }
    }
}

/// What a level keeps of one session while its turns finish.
#[derive(Debug, Clone, Default)]
struct Session {
    sent: BTreeSet<u32>,
    failed_turns: BTreeSet<u32>,
    planned: u32,
    failed: bool,
    start_us: u64,
    end_us: u64,
}

/// The sessions of `records` (a level's); `None` when no record belongs to
/// a session.
#[cfg(test)]
pub(crate) fn summarize(records: &[RequestRecord]) -> Option<SessionsSummary> {
    let mut tally = SessionsTally::default();
    records.iter().for_each(|r| tally.add(r));
    tally.finish()
}

/// [`SessionsSummary`] gathered request by request: a little per session
/// and per turn index, nothing per request.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionsTally {
    sessions: BTreeMap<u64, Session>,
    by_turn: BTreeMap<u32, FiguresTally>,
    steps: FiguresTally,
}

impl SessionsTally {
    /// Counts one finished request (measured ones of a session only).
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        let Some(id) = r.session.filter(|_| r.phase == Phase::Measured) else { return };
        let cut = r.error.as_ref().is_some_and(|e| e.class.is_llmbench_cut());
        let first = !self.sessions.contains_key(&id);
        let s = self.sessions.entry(id).or_default();
        if first {
            (s.start_us, s.end_us) = (r.start_us, r.end_us());
        }
        s.start_us = s.start_us.min(r.start_us);
        s.end_us = s.end_us.max(r.end_us());
        s.planned = s.planned.max(r.session_turns.unwrap_or(0));
        // A turn succeeded when each of its requests (agent steps too) did.
        if let Some(t) = r.turn {
            s.sent.insert(t);
            if !r.is_ok() {
                s.failed_turns.insert(t);
            }
        }
        s.failed |= !r.is_ok() && !cut;
        match (r.turn, r.tool_step, cut) {
            (_, _, true) => {}
            (_, Some(_), false) => self.steps.add(r),
            (Some(t), None, false) => self.by_turn.entry(t).or_default().add(r),
            (None, None, false) => {}
        }
    }

    pub(crate) fn finish(&self) -> Option<SessionsSummary> {
        if self.sessions.is_empty() {
            return None;
        }
        let (mut completed, mut failed, mut unfinished) = (0, 0, 0);
        let (mut durations, mut turns_ok) = (Distribution::default(), Distribution::default());
        for s in self.sessions.values() {
            let ok = s.sent.difference(&s.failed_turns).count();
            turns_ok.add(ok as f64);
            if s.failed {
                failed += 1;
            } else if ok >= s.planned as usize && ok > 0 {
                completed += 1;
                durations.add(s.end_us.saturating_sub(s.start_us) as f64 / 1e3);
            } else {
                unfinished += 1;
            }
        }
        let per_turn = self
            .by_turn
            .iter()
            .map(|(&turn, t)| TurnSummary {
                turn,
                figures: t.finish(),
                prompt_tokens: (t.prompt_tokens.1 > 0).then(|| t.prompt_tokens.0 / t.prompt_tokens.1 as f64),
            })
            .collect();
        Some(SessionsSummary {
            started: self.sessions.len() as u64,
            completed,
            failed,
            unfinished,
            session_duration: durations.summary(),
            turns_completed: turns_ok.summary(),
            per_turn,
            tool_steps: (self.steps.requests > 0).then(|| self.steps.finish()),
        })
    }
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
