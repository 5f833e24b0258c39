//! Figures that other parts of llmbench add to `summary.json` (goodput,
//! cost, change against a baseline, limits, knee, fingerprint) read
//! leniently from the raw JSON, so the report shows them when they exist
//! and leaves their columns out when they do not — without this module
//! depending on the types that write them.
//!
//! Keys looked for (first match wins):
//!
//! | figure | run level | per level (`levels[i]`) |
//! | --- | --- | --- |
//! | fingerprint | `fingerprint` (string, or object with `hash`/`id`/`digest`) | |
//! | limits | `limits` / `limit_results`: `[{limit\|expr\|name, passed\|ok, measured?, baseline?, message?}]` | |
//! | change | `comparison` / `changes` / `change`: array of `{metric\|key, stat?, change\|relative_change, verdict\|kind\|classification}` or an object keyed by metric | |
//! | knee | `knee` (number, or object with `concurrency`/`level`/`rate`) | |
//! | goodput | | `goodput` (share 0–1, or object with `share`/`ratio`/`fraction`, `per_s`) |
//! | cost | `cost.cost_per_ok_request` | `cost_per_ok_request`, or `cost.cost_per_ok_request` |
//! | offered rate | | `rate` (req/s number, or string such as `"20/s"`) |

use serde_json::Value;

/// The optional figures of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Extras {
    pub(crate) fingerprint: Option<String>,
    pub(crate) limits: Vec<LimitResult>,
    pub(crate) changes: Vec<Change>,
    pub(crate) knee: Option<f64>,
    pub(crate) cost_per_ok_request: Option<f64>,
    /// Aligned with the summary's `levels`.
    pub(crate) levels: Vec<LevelExtras>,
}

/// The optional figures of one level.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LevelExtras {
    pub(crate) goodput: Option<f64>,
    pub(crate) goodput_per_s: Option<f64>,
    pub(crate) cost_per_ok_request: Option<f64>,
    pub(crate) rate: Option<String>,
}

/// A limit and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LimitResult {
    pub(crate) text: String,
    pub(crate) passed: bool,
    pub(crate) detail: String,
}

/// A metric's change against the baseline, as the comparison classified it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub(crate) metric: String,
    pub(crate) change: Option<f64>,
    pub(crate) verdict: Verdict,
}

/// The comparison's classification, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verdict {
    Regressed,
    Improved,
    WithinNoise,
    NoChange,
    Other,
}

impl Verdict {
    fn parse(text: &str) -> Verdict {
        let t = text.to_ascii_lowercase().replace(['_', '-', ' '], "");
        if t.contains("regress") {
            Verdict::Regressed
        } else if t.contains("improv") {
            Verdict::Improved
        } else if t.contains("noise") {
            Verdict::WithinNoise
        } else if t.contains("nochange") || t == "unchanged" {
            Verdict::NoChange
        } else {
            Verdict::Other
        }
    }

    /// Words for people.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::WithinNoise => "within noise",
            Verdict::NoChange => "no change",
            Verdict::Other => "changed",
        }
    }

    /// The badge's CSS class.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Verdict::Regressed => "bad",
            Verdict::Improved => "good",
            _ => "neutral",
        }
    }
}

impl Extras {
    /// Reads the optional figures from a raw `summary.json`.
    pub(crate) fn from_json(v: &Value) -> Extras {
        let levels = v
            .get("levels")
            .and_then(Value::as_array)
            .map(|ls| ls.iter().map(LevelExtras::from_json).collect())
            .unwrap_or_default();
        Extras {
            fingerprint: v
                .get("fingerprint")
                .and_then(|f| text(f).or_else(|| first_text(f, &["hash", "id", "digest"]))),
            limits: first(v, &["limits", "limit_results"])
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(limit).collect())
                .unwrap_or_default(),
            changes: first(v, &["comparison", "changes", "change"]).map(changes).unwrap_or_default(),
            knee: v.get("knee").and_then(|k| k.as_f64().or_else(|| first_num(k, &["concurrency", "level", "rate"]))),
            cost_per_ok_request: v.get("cost").and_then(|c| first_num(c, &["cost_per_ok_request"])),
            levels,
        }
    }

    /// Whether any limit failed.
    pub(crate) fn failed_limits(&self) -> impl Iterator<Item = &LimitResult> {
        self.limits.iter().filter(|l| !l.passed)
    }
}

impl LevelExtras {
    fn from_json(v: &Value) -> LevelExtras {
        let goodput = v.get("goodput");
        LevelExtras {
            goodput: goodput
                .and_then(|g| g.as_f64().or_else(|| first_num(g, &["share", "ratio", "fraction", "value"]))),
            goodput_per_s: goodput.and_then(|g| first_num(g, &["per_s", "req_per_s"])),
            cost_per_ok_request: v
                .get("cost_per_ok_request")
                .and_then(Value::as_f64)
                .or_else(|| v.get("cost").and_then(|c| first_num(c, &["cost_per_ok_request"]))),
            rate: v.get("rate").and_then(|r| r.as_f64().map(|n| format!("{n}/s")).or_else(|| text(r))),
        }
    }
}

fn first<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| v.get(*k)).filter(|v| !v.is_null())
}

fn first_num(v: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_f64))
}

fn first_text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| v.get(*k).and_then(text))
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn limit(v: &Value) -> Option<LimitResult> {
    let text = first_text(v, &["limit", "expr", "name", "text"])?;
    let passed = first(v, &["passed", "ok"]).and_then(Value::as_bool).unwrap_or(true);
    let mut detail = Vec::new();
    for key in ["measured", "baseline"] {
        if let Some(x) = v.get(key).filter(|x| !x.is_null()) {
            detail.push(format!("{key} {}", x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string())));
        }
    }
    if let Some(m) = first_text(v, &["message"]) {
        detail.push(m);
    }
    Some(LimitResult { text, passed, detail: detail.join(", ") })
}

fn changes(v: &Value) -> Vec<Change> {
    let one = |name: Option<String>, c: &Value| -> Option<Change> {
        let metric = first_text(c, &["metric", "key", "name"]).or(name)?;
        let metric = match first_text(c, &["stat"]) {
            Some(stat) if !metric.contains('.') => format!("{metric}.{stat}"),
            _ => metric,
        };
        let verdict = first_text(c, &["verdict", "kind", "classification"])?;
        Some(Change {
            metric,
            change: first_num(c, &["change", "relative_change", "change_pct"]),
            verdict: Verdict::parse(&verdict),
        })
    };
    match v {
        Value::Array(items) => items.iter().filter_map(|c| one(None, c)).collect(),
        Value::Object(map) => map.iter().filter_map(|(k, c)| one(Some(k.clone()), c)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_figures_stay_absent() {
        let e = Extras::from_json(&json!({"levels": [{"concurrency": 1}]}));
        assert_eq!(e.levels.len(), 1);
        assert_eq!(e.levels[0], LevelExtras::default());
        assert!(e.limits.is_empty() && e.changes.is_empty() && e.fingerprint.is_none());
    }

    #[test]
    fn figures_in_either_shape() {
        let e = Extras::from_json(&json!({
            "fingerprint": {"hash": "ab12"},
            "limits": [{"limit": "ttft.p90<=500ms", "passed": false, "measured": "612 ms"}, {"expr": "error_rate<=1%", "ok": true}],
            "comparison": {"ttft": {"stat": "p50", "change": 0.12, "verdict": "Regressed"}},
            "knee": {"concurrency": 8},
            "levels": [{"goodput": {"share": 0.97, "per_s": 3.2}, "cost": {"cost_per_ok_request": 0.0021}, "rate": "20/s"}, {"goodput": 0.5, "cost_per_ok_request": 0.1, "rate": 5}]
        }));
        assert_eq!(e.fingerprint.as_deref(), Some("ab12"));
        assert_eq!(e.failed_limits().count(), 1);
        assert_eq!(e.limits[0].detail, "measured 612 ms");
        assert_eq!(
            e.changes,
            vec![Change { metric: "ttft.p50".into(), change: Some(0.12), verdict: Verdict::Regressed }]
        );
        assert_eq!(e.knee, Some(8.0));
        assert_eq!(e.levels[0].goodput, Some(0.97));
        assert_eq!(e.levels[0].goodput_per_s, Some(3.2));
        assert_eq!(e.levels[0].cost_per_ok_request, Some(0.0021));
        assert_eq!(e.levels[0].rate.as_deref(), Some("20/s"));
        assert_eq!(e.levels[1].goodput, Some(0.5));
        assert_eq!(e.levels[1].rate.as_deref(), Some("5/s"));
        assert_eq!(Verdict::parse("within_noise"), Verdict::WithinNoise);
        assert_eq!(Verdict::parse("NoChange"), Verdict::NoChange);
    }
}
