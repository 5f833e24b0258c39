//! The fault matrix: `[sim] faults` (or a target's `sim = { faults = … }`)
//! make the simulator misbehave on a share of its requests or on a
//! schedule, the ways real endpoints do, so that every failure path of the
//! harness can be exercised on purpose (docs/faults.md). A fault is picked
//! per request, by its number in arrival order (1 for the first request
//! the server parses), the first matching entry winning:
//!
//! ```toml
//! [sim]
//! faults = [
//!   { kind = "stall", after = 3, for = "30s", share = 0.05 },
//!   { kind = "throttle", from = 100, to = 140 },       # a 429 storm
//!   { kind = "restart", from = 500, to = 500, for = "2s" },
//! ]
//! ```
//!
//! Faults apply to the OpenAI protocol (the `sim` target and `protocol =
//! "openai"`); the AWS protocols keep `error_rate`/`error` only.

use std::time::Duration;

use serde::Deserialize;

use crate::rng::Rng;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The connection closes after `after` content chunks, mid-body.
    Cut,
    /// The response starts (headers, role chunk), then nothing for `for`
    /// before the first content.
    StallBeforeContent,
    /// After `after` content chunks, nothing for `for`, then the rest.
    Stall,
    /// The response headers come only after `for`.
    SlowHeaders,
    /// HTTP 429 at once (several in a row make a storm).
    Throttle,
    /// HTTP `status` (default 500) at once.
    ServerError,
    /// Bytes that are not SSE at all, instead of the stream.
    Garbage,
    /// After `after` chunks, a `data:` line whose JSON is cut short.
    InvalidJson,
    /// After `after` chunks, one valid event of `size` bytes (default
    /// 9 MiB, past the client's default 8 MiB cap).
    HugeEvent,
    /// After `after` chunks, a chunk whose text is not UTF-8.
    NonUtf8,
    /// After `after` chunks, an `event: error` SSE event, then the end.
    ErrorEvent,
    /// Every content chunk, then a clean close without the finish reason
    /// and `[DONE]`.
    NoEnd,
    /// The connection closes before any response: what a client sees of a
    /// server that refuses it (the listening socket itself stays open).
    Refuse,
    /// The whole server goes away: every connection is cut and the port
    /// closed, so new connections are refused, for `for`; then it listens
    /// again on the same port.
    Restart,
}

impl FaultKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Cut => "cut",
            FaultKind::StallBeforeContent => "stall_before_content",
            FaultKind::Stall => "stall",
            FaultKind::SlowHeaders => "slow_headers",
            FaultKind::Throttle => "throttle",
            FaultKind::ServerError => "server_error",
            FaultKind::Garbage => "garbage",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::HugeEvent => "huge_event",
            FaultKind::NonUtf8 => "non_utf8",
            FaultKind::ErrorEvent => "error_event",
            FaultKind::NoEnd => "no_end",
            FaultKind::Refuse => "refuse",
            FaultKind::Restart => "restart",
        }
    }

    fn uses_after(self) -> bool {
        matches!(
            self,
            FaultKind::Cut
                | FaultKind::Stall
                | FaultKind::InvalidJson
                | FaultKind::HugeEvent
                | FaultKind::NonUtf8
                | FaultKind::ErrorEvent
        )
    }

    fn uses_for(self) -> bool {
        matches!(self, FaultKind::StallBeforeContent | FaultKind::Stall | FaultKind::SlowHeaders | FaultKind::Restart)
    }
}

/// The default of `for`: longer than any timeout a benchmark would set, so
/// a stall is a stall (the client gives up, not the server).
pub const DEFAULT_STALL: Duration = Duration::from_secs(3600);
/// The default pause of a restart.
pub const DEFAULT_RESTART: Duration = Duration::from_millis(500);
/// The default size of a `huge_event`: past the client's default cap.
pub const DEFAULT_HUGE_EVENT: usize = 9 << 20;
/// The largest `huge_event` the simulator writes.
pub const MAX_HUGE_EVENT: usize = 256 << 20;

/// One entry of `faults`: what goes wrong, and on which requests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// Of the requests in the window, this share (0–1, drawn with the
    /// sim's seed), or all of them.
    pub share: Option<f64>,
    /// Of the requests in the window, every n-th (n, 2n, …).
    pub every: Option<u64>,
    /// The first request number of the window (default 1).
    pub from: Option<u64>,
    /// The last request number of the window (default: no end).
    pub to: Option<u64>,
    /// Content chunks sent before a mid-stream fault (default: half).
    pub after: Option<u32>,
    /// How long a stall, slow headers or restart lasts.
    #[serde(default, rename = "for", deserialize_with = "duration")]
    pub duration: Option<Duration>,
    /// The status of `server_error` (500–599, default 500).
    pub status: Option<u16>,
    /// The size of `huge_event`, in bytes (default 9 MiB).
    pub size: Option<usize>,
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    crate::units::parse_duration(&text).map(Some).map_err(serde::de::Error::custom)
}

impl Fault {
    /// Checks what the types cannot; the error names the entry's key.
    pub(crate) fn problem(&self) -> Option<String> {
        let kind = self.kind.as_str();
        if let Some(share) = self.share
            && !(0.0..=1.0).contains(&share)
        {
            return Some(format!("{kind}: share {share} is outside 0.0..=1.0"));
        }
        if self.every == Some(0) || self.from == Some(0) || self.to == Some(0) {
            return Some(format!("{kind}: every, from and to count requests from 1"));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Some(format!("{kind}: from {from} is after to {to}"));
        }
        if self.after.is_some() && !self.kind.uses_after() {
            return Some(format!("{kind}: `after` applies to mid-stream faults only"));
        }
        if self.duration.is_some() && !self.kind.uses_for() {
            return Some(format!(
                "{kind}: `for` applies to stall, stall_before_content, slow_headers and restart only"
            ));
        }
        match (self.kind, self.status, self.size) {
            (FaultKind::ServerError, Some(s), _) if !(500..=599).contains(&s) => {
                Some(format!("server_error: status {s} is not a 5xx"))
            }
            (k, Some(_), _) if k != FaultKind::ServerError => Some(format!("{kind}: `status` is for server_error")),
            (FaultKind::HugeEvent, _, Some(n)) if n == 0 || n > MAX_HUGE_EVENT => {
                Some(format!("huge_event: size {n} must be 1 to {MAX_HUGE_EVENT} bytes"))
            }
            (k, _, Some(_)) if k != FaultKind::HugeEvent => Some(format!("{kind}: `size` is for huge_event")),
            _ => None,
        }
    }

    /// Whether request number `n` (from 1) gets this fault; `index` is the
    /// entry's place in the list, so entries draw independently.
    fn hits(&self, seed: u64, index: usize, n: u64) -> bool {
        let from = self.from.unwrap_or(1);
        if n < from || self.to.is_some_and(|to| n > to) {
            return false;
        }
        if let Some(every) = self.every
            && !(n - from + 1).is_multiple_of(every)
        {
            return false;
        }
        match self.share {
            // A stream of its own, so faults do not shift the sim's delays.
            Some(share) => Rng::for_item(seed ^ 0xfa17_0000 ^ index as u64, n).next_f64() < share,
            None => true,
        }
    }
}

/// The fault request number `n` gets, if any: the first entry that hits.
pub(crate) fn pick(faults: &[Fault], seed: u64, n: u64) -> Option<&Fault> {
    faults.iter().enumerate().find(|(i, f)| f.hits(seed, *i, n)).map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(toml_text: &str) -> Vec<Fault> {
        #[derive(Deserialize)]
        struct Doc {
            faults: Vec<Fault>,
        }
        toml::from_str::<Doc>(toml_text).unwrap().faults
    }

    #[test]
    fn windows_every_and_share_select_requests() {
        let f = faults(
            r#"faults = [
                { kind = "throttle", from = 3, to = 4 },
                { kind = "cut", every = 5 },
                { kind = "stall", share = 0.5, for = "2s", after = 1 },
            ]"#,
        );
        assert_eq!(f[2].duration, Some(Duration::from_secs(2)));
        let kinds: Vec<Option<FaultKind>> = (1..=10).map(|n| pick(&f, 0, n).map(|f| f.kind)).collect();
        assert_eq!(kinds[2..4], [Some(FaultKind::Throttle); 2]);
        assert_eq!((kinds[4], kinds[9]), (Some(FaultKind::Cut), Some(FaultKind::Cut)));
        let stalls = (1..=1000).filter(|&n| pick(&f[2..], 0, n).is_some()).count();
        assert!((400..600).contains(&stalls), "{stalls}");
        // Seeded: the same requests every time.
        assert_eq!(kinds, (1..=10).map(|n| pick(&f, 0, n).map(|f| f.kind)).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_restart_refuses_then_serves_again() {
        use crate::sim::{Delay, SimConfig, SimServer};
        let faults = vec![Fault { from: Some(1), to: Some(1), ..fault(FaultKind::Restart, "200ms") }];
        let config = SimConfig { ttft: Delay::ms(1), itl: Delay::ms(1), faults, ..SimConfig::default() };
        let server = SimServer::start(config).await.unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/chat/completions", server.base_url());
        let send = || client.post(&url).body(r#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}"#).send();
        assert!(send().await.is_err(), "the restart cuts the request that triggers it");
        let refused = send().await.unwrap_err();
        assert!(refused.is_connect(), "{refused:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(send().await.unwrap().status(), 200, "the same port serves again");
        server.shutdown().await;
    }

    fn fault(kind: FaultKind, duration: &str) -> Fault {
        Fault {
            kind,
            share: None,
            every: None,
            from: None,
            to: None,
            after: None,
            duration: Some(crate::units::parse_duration(duration).unwrap()),
            status: None,
            size: None,
        }
    }

    #[test]
    fn bad_entries_say_what_to_change() {
        for (text, expected) in [
            (r#"{ kind = "cut", share = 2.0 }"#, "share 2 is outside"),
            (r#"{ kind = "cut", every = 0 }"#, "count requests from 1"),
            (r#"{ kind = "cut", from = 5, to = 2 }"#, "from 5 is after to 2"),
            (r#"{ kind = "throttle", after = 2 }"#, "`after` applies"),
            (r#"{ kind = "cut", for = "1s" }"#, "`for` applies"),
            (r#"{ kind = "server_error", status = 404 }"#, "not a 5xx"),
            (r#"{ kind = "huge_event", size = 0 }"#, "size 0"),
        ] {
            let f = faults(&format!("faults = [{text}]"));
            let problem = f[0].problem().unwrap_or_default();
            assert!(problem.contains(expected), "{text}: {problem}");
        }
        let e = toml::from_str::<Fault>("kind = \"flaky\"").unwrap_err().to_string();
        assert!(e.contains("unknown variant"), "{e}");
    }
}
