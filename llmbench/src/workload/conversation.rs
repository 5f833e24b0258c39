//! Conversations: multi-turn sessions, synthetic or from a JSONL file of
//! sessions. A session is a script of user turns (their text and output
//! targets) and the think time before each turn after the first; the load
//! driver (`load/sessions.rs`) plays it, sending with each turn the whole
//! history so far — the user turns and the replies the server actually gave
//! — so a later turn's prompt, and its prefill, grows as in a real chat.
//!
//! A sessions file holds one session per line:
//!
//! ```json
//! {"session": "refund-1", "system": "optional", "turns": ["first question", {"content": "second", "max_tokens": 64}]}
//! ```
//!
//! A turn is a string or an object with `content` (or `prompt`) and an
//! optional `max_tokens`. A bad line — not JSON, no `turns`, an empty
//! `turns`, a turn without text — is an error naming the file, the line and
//! the key, before any request is sent.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::dataset::WorkloadError;
use super::{Source, Workload, synthetic};
use crate::request::{GenRequest, Message, Role};
use crate::rng::Rng;

/// One turn of a session's script.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TurnScript {
    /// What the user says.
    pub(crate) user: String,
    /// The output target of the reply, when the session says.
    pub(crate) max_tokens: Option<u32>,
    /// The length the workload asked for (synthetic turns).
    pub(crate) requested: Option<u32>,
}

/// What one session will say and when.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionScript {
    /// The turns, in order (at least one).
    pub(crate) turns: Vec<TurnScript>,
    /// The think time before turn `k + 1`, counted from the end of turn
    /// `k`'s reply: `think[k]`.
    pub(crate) think: Vec<Duration>,
    /// The session's own system prompt (a sessions file's `system`).
    pub(crate) system: Option<String>,
}

/// One session of a sessions file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionEntry {
    pub(crate) name: String,
    pub(crate) system: Option<String>,
    pub(crate) turns: Vec<(String, Option<u32>)>,
}

/// A parsed sessions file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionsFile {
    pub(crate) name: String,
    pub(crate) sessions: Vec<SessionEntry>,
}

/// A sessions file as a workload source: parsed when the workload is
/// built, its error kept for [`Workload::validate`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionsRef(pub(crate) Arc<Result<SessionsFile, WorkloadError>>);

impl Serialize for SessionsRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Sessions", 2)?;
        let file = self.0.as_ref().as_ref().ok();
        st.serialize_field("file", &file.map_or("", |f| f.name.as_str()))?;
        st.serialize_field("sessions", &file.map_or(0, |f| f.sessions.len()))?;
        st.end()
    }
}

impl SessionsFile {
    /// Parses JSONL `text` read from `name`.
    pub(crate) fn parse(name: &str, text: &str) -> Result<SessionsFile, WorkloadError> {
        let mut sessions = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let bad = |message: String| WorkloadError::Dataset { path: name.to_owned(), line: i + 1, message };
            let value: Value = serde_json::from_str(raw).map_err(|e| bad(format!("not valid JSON: {e}")))?;
            let Value::Object(fields) = value else {
                return Err(bad(
                    "each line must be a JSON object, e.g. {\"session\": \"a\", \"turns\": [\"hi\"]}".into()
                ));
            };
            let name = match fields.get("session") {
                None | Some(Value::Null) => format!("line {}", i + 1),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => return Err(bad(format!("session: must be a string, not {other}"))),
            };
            let system = match fields.get("system") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => return Err(bad(format!("system: must be a string, not {other}"))),
            };
            let turns = match fields.get("turns") {
                Some(Value::Array(items)) if !items.is_empty() => {
                    items.iter().enumerate().map(|(k, t)| turn(k, t)).collect::<Result<Vec<_>, _>>().map_err(&bad)?
                }
                Some(Value::Array(_)) => return Err(bad("turns: a session needs at least one turn".into())),
                None | Some(Value::Null) => {
                    return Err(bad(
                        "turns: missing (give the user's turns, e.g. \"turns\": [\"hi\", \"and then?\"])".into()
                    ));
                }
                Some(other) => return Err(bad(format!("turns: must be an array of turns, not {other}"))),
            };
            sessions.push(SessionEntry { name, system, turns });
        }
        if sessions.is_empty() {
            return Err(WorkloadError::Invalid(format!("{name}: the sessions file has no sessions")));
        }
        Ok(SessionsFile { name: name.to_owned(), sessions })
    }
}

/// Turn `k` of a sessions file line: a string, or `{"content": …,
/// "max_tokens": …}` (`prompt` is accepted for `content`).
fn turn(k: usize, value: &Value) -> Result<(String, Option<u32>), String> {
    match value {
        Value::String(s) if !s.is_empty() => Ok((s.clone(), None)),
        Value::Object(o) => {
            let text = o.get("content").or_else(|| o.get("prompt")).and_then(Value::as_str).filter(|s| !s.is_empty());
            let Some(text) = text else {
                return Err(format!("turns[{k}].content: missing or empty (each turn needs the user's text)"));
            };
            let max_tokens = match o.get("max_tokens") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if n > 0 => Some(n),
                    _ => return Err(format!("turns[{k}].max_tokens: must be a positive integer, not {v}")),
                },
            };
            Ok((text.to_owned(), max_tokens))
        }
        other => Err(format!("turns[{k}]: must be a non-empty string or {{\"content\": …}}, not {other}")),
    }
}

/// The most tool results an agent session sends back in one turn: a
/// model that keeps calling tools moves on to the next user turn after
/// this many.
pub const MAX_TOOL_STEPS: u32 = 8;

impl Workload {
    /// Whether requests come in multi-turn sessions
    /// ([`conversation`](Self::conversation), [`sessions`](Self::sessions)).
    pub fn is_conversation(&self) -> bool {
        matches!(self.source, Source::Conversation { .. } | Source::Sessions { .. })
    }

    /// The script of session `session`: deterministic for a seed.
    pub(crate) fn script(&self, session: u64) -> SessionScript {
        let think = |turns: usize| -> Vec<Duration> {
            (1..turns as u64)
                .map(|t| match &self.think_time {
                    Some(d) => d.sample(&mut Rng::for_item(self.seed ^ 0x7417_4C00 ^ t, session)),
                    None => Duration::ZERO,
                })
                .collect()
        };
        match &self.source {
            Source::Conversation { turns, input_tokens } => {
                let n = turns.sample(&mut Rng::for_item(self.seed ^ 0x7E_4E5, session)).max(1);
                let turns: Vec<TurnScript> = (0..u64::from(n))
                    .map(|t| {
                        let mut rng = Rng::for_item(self.seed ^ 0xC0_4E00 ^ (t << 20), session);
                        let tokens = input_tokens.sample(&mut rng).max(1);
                        let user = synthetic::prompt(&mut rng, tokens, &self.tokenizer);
                        TurnScript { user, max_tokens: None, requested: Some(tokens) }
                    })
                    .collect();
                SessionScript { think: think(turns.len()), turns, system: None }
            }
            Source::Sessions { source } => match source.0.as_ref() {
                Ok(file) => {
                    let entry = &file.sessions[(session % file.sessions.len() as u64) as usize];
                    let turns: Vec<TurnScript> = entry
                        .turns
                        .iter()
                        .map(|(user, max)| TurnScript { user: user.clone(), max_tokens: *max, requested: None })
                        .collect();
                    SessionScript { think: think(turns.len()), turns, system: entry.system.clone() }
                }
                Err(_) => SessionScript { turns: vec![empty_turn()], think: Vec::new(), system: None },
            },
            // Any other workload is a one-turn session of its request.
            _ => SessionScript { turns: vec![empty_turn()], think: Vec::new(), system: None },
        }
    }

    /// The request of turn `turn` of session `session`: the system prompt,
    /// `history` (the earlier turns and the replies they got), this turn's
    /// user text and its agent `steps` so far (the replies that called tools
    /// and the results sent back), with the workload's parameters.
    pub(crate) fn turn_request(
        &self,
        session: u64,
        script: &SessionScript,
        turn: usize,
        history: &[Message],
        steps: &[Message],
    ) -> GenRequest {
        let this = &script.turns[turn.min(script.turns.len() - 1)];
        let mut messages = Vec::with_capacity(history.len() + steps.len() + 2);
        if let Some(system) = script.system.as_ref().or(self.system.as_ref()) {
            messages.push(Message::new(Role::System, system.clone()));
        }
        messages.extend(history.iter().cloned());
        messages.push(Message::new(Role::User, this.user.clone()));
        messages.extend(steps.iter().cloned());
        let count = |m: &Message| m.texts().map(|t| self.tokenizer.count(t)).sum::<u32>();
        let history_tokens: u32 = history.iter().chain(steps).map(count).sum();
        let requested = this.requested.map(|n| n + history_tokens);
        let max_tokens = this.max_tokens.unwrap_or_else(|| {
            let mut rng = Rng::for_item(self.seed ^ 0x7E57_0000 ^ ((turn as u64) << 24), session);
            self.output_tokens.sample(&mut rng).max(1)
        });
        // The session, not the turn, draws the shared prefix: every turn of
        // a session sends the same one.
        self.assemble(session, messages, requested, max_tokens)
    }

    /// Agent sessions: when a reply calls tools, the session answers each
    /// call with `result` (the canned output of the tool, e.g. JSON) and
    /// sends the conversation again, without think time, until the model
    /// answers without calling a tool or [`MAX_TOOL_STEPS`] results went
    /// back; then the next user turn follows. Needs [`tool`](Self::tool)s
    /// and a conversation (docs/load.md "Agent sessions").
    pub fn tool_result(mut self, result: impl Into<String>) -> Self {
        self.tool_result = Some(result.into());
        self
    }

    /// The canned tool result of an agent session, if it is one.
    pub(crate) fn agent_tool_result(&self) -> Option<&str> {
        self.tool_result.as_deref()
    }

    /// Think time between turns: drawn per session and turn from the seed,
    /// counted from the end of one reply to the start of the next turn. It
    /// is never latency: each turn's latency counts from when it was due.
    pub fn think_time(mut self, think: crate::delay::Delay) -> Self {
        if let Some(problem) = think.problem() {
            self.problems.push(format!("think_time: {problem}"));
        }
        self.think_time = Some(think);
        self
    }
}

fn empty_turn() -> TurnScript {
    TurnScript { user: String::new(), max_tokens: None, requested: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delay::Delay;

    #[test]
    fn a_sessions_file_parses_and_bad_lines_name_the_key() {
        let text = "{\"session\": \"a\", \"turns\": [\"hi\", {\"content\": \"more\", \"max_tokens\": 9}]}\n\n\
                    {\"session\": 2, \"system\": \"be brief\", \"turns\": [{\"prompt\": \"x\"}]}\n";
        let file = SessionsFile::parse("s.jsonl", text).unwrap();
        assert_eq!(file.sessions.len(), 2);
        assert_eq!(file.sessions[0].turns, [("hi".into(), None), ("more".into(), Some(9))]);
        assert_eq!((file.sessions[1].name.as_str(), file.sessions[1].system.as_deref()), ("2", Some("be brief")));
        let cases = [
            ("{\"session\": \"a\"}", "s.jsonl:1: turns: missing"),
            ("{\"session\": \"a\", \"turns\": []}", "s.jsonl:1: turns: a session needs at least one turn"),
            ("\n{\"turns\": [{\"max_tokens\": 3}]}", "s.jsonl:2: turns[0].content: missing or empty"),
            ("{\"turns\": [\"a\", {\"content\": \"b\", \"max_tokens\": 0}]}", "s.jsonl:1: turns[1].max_tokens"),
            ("{\"turns\": \"hi\"}", "s.jsonl:1: turns: must be an array"),
            ("[1]", "s.jsonl:1: each line must be a JSON object"),
            ("{", "s.jsonl:1: not valid JSON"),
        ];
        for (text, expected) in cases {
            let err = SessionsFile::parse("s.jsonl", text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
    }

    #[test]
    fn synthetic_sessions_are_seeded_and_carry_their_history() {
        let w = Workload::conversation(2..=4).input_tokens(20).output_tokens(8).think_time(Delay::ms(30));
        let a = w.script(3);
        assert_eq!(a, w.script(3), "same seed, same session");
        assert!((2..=4).contains(&a.turns.len()));
        assert_eq!(a.think, vec![Duration::from_millis(30); a.turns.len() - 1]);
        let history =
            vec![Message::new(Role::User, a.turns[0].user.clone()), Message::new(Role::Assistant, "the reply it got")];
        let r = w.turn_request(3, &a, 1, &history, &[]);
        let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
        assert_eq!(r.messages[1].content, "the reply it got");
        assert_eq!(r.max_tokens, Some(8));
        assert!(r.input_tokens_requested.unwrap() > 20, "the history counts: {:?}", r.input_tokens_requested);
        assert_eq!(w.request(3).messages.len(), 1, "a single request is a session's first turn");
        assert!(w.is_conversation() && !Workload::synthetic().is_conversation());
    }
}
