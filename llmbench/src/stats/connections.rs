//! The connections a level's measured requests opened (docs/metrics.md
//! `new_connection`, `connect_ms`).

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use super::summary::Distribution;
use crate::record::RequestRecord;

/// Connections opened by one level's measured requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    /// Measured requests whose client said whether they opened a connection.
    pub reported: u64,
    /// Of those, the ones that were first on a newly opened connection.
    pub new: u64,
    /// How long opening those connections took (TCP and TLS), ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connect: Option<LatencySummary>,
}

/// The connection figures of `measured` requests; `None` when no client
/// reported (the AWS SDK providers do not).
#[cfg(test)]
pub(crate) fn connections(measured: &[&RequestRecord]) -> Option<ConnectionSummary> {
    let mut tally = ConnectionTally::default();
    measured.iter().for_each(|r| tally.add(r));
    tally.finish()
}

/// [`ConnectionSummary`] gathered request by request.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionTally {
    reported: u64,
    new: u64,
    connect: Distribution,
}

impl ConnectionTally {
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        self.reported += u64::from(r.new_connection.is_some());
        self.new += u64::from(r.new_connection == Some(true));
        self.connect.add_some(r.connect_ms);
    }

    pub(crate) fn finish(&self) -> Option<ConnectionSummary> {
        (self.reported > 0).then(|| ConnectionSummary {
            reported: self.reported,
            new: self.new,
            connect: self.connect.summary(),
        })
    }
}

/// A warning when some measured requests, not all, opened a connection:
/// their latency includes a handshake the others did not pay (with
/// `connections = "fresh"` every request opens one, by design).
pub(crate) fn warning(summary: &ConnectionSummary) -> Option<String> {
    if summary.new == 0 || summary.new == summary.reported {
        return None;
    }
    let took = summary.connect.as_ref().and_then(|c| c.p50).map_or(String::new(), |ms| format!(" (median {ms:.1} ms)"));
    Some(format!(
        "{} of {} measured requests opened a connection{took}: their latency includes the handshake \
         (warm-up smaller than the requests in flight, or the server closed idle connections)",
        summary.new, summary.reported
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(new: Option<bool>, connect_ms: Option<f64>) -> RequestRecord {
        RequestRecord { new_connection: new, connect_ms, ..RequestRecord::default() }
    }

    #[test]
    fn counts_new_connections_and_warns_only_when_some_paid_a_handshake() {
        let none = [rec(None, None), rec(None, None)];
        assert_eq!(connections(&none.iter().collect::<Vec<_>>()), None);

        let warm = [rec(Some(false), None), rec(Some(false), None)];
        let s = connections(&warm.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!((s.reported, s.new, s.connect.is_none()), (2, 0, true));
        assert_eq!(warning(&s), None);

        let mixed = [rec(Some(true), Some(2.0)), rec(Some(false), None), rec(Some(false), None)];
        let s = connections(&mixed.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!((s.reported, s.new), (3, 1));
        assert_eq!(s.connect.as_ref().map(|c| c.max), Some(2.0));
        let w = warning(&s).unwrap();
        assert!(w.starts_with("1 of 3 measured requests opened a connection"), "{w}");

        let fresh = [rec(Some(true), Some(1.0)), rec(Some(true), Some(3.0))];
        let s = connections(&fresh.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(warning(&s), None, "fresh connections are the point, not a warning");
    }
}
