//! Figures that other parts of llmbench add to `summary.json` (goodput,
//! cost, knee, fingerprint) read leniently from the raw JSON, so the report
//! shows them when they exist and leaves their columns out when they do
//! not; and the gate's verdict on the run (`change/comparison.json`,
//! `change/limits.json`), read with its own types.
//!
//! Keys looked for (first match wins):
//!
//! | figure | run level | per level (`levels[i]`) |
//! | --- | --- | --- |
//! | fingerprint | `fingerprint` (string, or object with `hash`/`id`/`digest`) | |
//! | knee | `knee` (number, or object with `concurrency`/`level`/`rate`) | |
//! | goodput | | `goodput` (share 0–1, or object with `share`/`ratio`/`fraction`, `per_s`) |
//! | cost | `cost.cost_per_ok_request` | `cost_per_ok_request`, or `cost.cost_per_ok_request` |
//! | offered rate | | `rate` (req/s number, or string such as `"20/s"`) |

use serde_json::Value;

use crate::stats::ChangeKind;

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
    /// The level's load label (`c=8`, `20/s`), when the change is per level.
    pub(crate) level: Option<String>,
    pub(crate) metric: String,
    pub(crate) change: Option<f64>,
    pub(crate) verdict: ChangeKind,
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
            limits: Vec::new(),
            changes: Vec::new(),
            knee: v.get("knee").and_then(|k| k.as_f64().or_else(|| first_num(k, &["concurrency", "level", "rate"]))),
            cost_per_ok_request: v.get("cost").and_then(|c| first_num(c, &["cost_per_ok_request"])),
            levels,
        }
    }

    /// Adds the gate's verdict on this run from `change_dir`
    /// (`comparison.json`, `limits.json`), when it judged the run that
    /// started at `started_at`; returns the baseline it was compared with.
    pub(crate) fn add_verdict(&mut self, change_dir: &std::path::Path, started_at: &str) -> Option<String> {
        let read = |file: &str| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(change_dir.join(file)).ok()?).ok()
        };
        if let Some(limits) = read(crate::baseline::LIMITS_FILE)
            .filter(|v| v.get("started_at").and_then(Value::as_str) == Some(started_at))
            .and_then(|v| serde_json::from_value::<Vec<crate::gate::LimitOutcome>>(v["limits"].clone()).ok())
        {
            self.limits = limits
                .into_iter()
                .map(|l| {
                    // The message repeats the limit, which the report shows beside it.
                    let detail = l.message.strip_prefix(&format!("{}: ", l.limit)).unwrap_or(&l.message).to_owned();
                    LimitResult {
                        text: format!("{} at {}", l.limit, l.level),
                        passed: l.status != crate::gate::LimitStatus::Failed,
                        detail,
                    }
                })
                .collect();
        }
        let comparison = read(crate::baseline::COMPARISON_FILE)
            .and_then(|v| serde_json::from_value::<crate::gate::Comparison>(v).ok())
            .filter(|c| c.current.started_at == started_at)?;
        self.changes = comparison
            .changes()
            .filter(|(_, m)| m.change.change.is_some())
            .map(|(level, m)| Change {
                level: Some(level.to_owned()),
                metric: m.metric.clone(),
                change: m.change.change,
                verdict: m.change.kind,
            })
            .collect();
        Some(comparison.baseline.name)
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

fn first_num(v: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_f64))
}

fn first_text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| v.get(*k).and_then(text))
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
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
            "knee": {"concurrency": 8},
            "levels": [{"goodput": {"share": 0.97, "per_s": 3.2}, "cost": {"cost_per_ok_request": 0.0021}, "rate": "20/s"}, {"goodput": 0.5, "cost_per_ok_request": 0.1, "rate": 5}]
        }));
        assert_eq!(e.fingerprint.as_deref(), Some("ab12"));
        assert_eq!(e.knee, Some(8.0));
        assert_eq!(e.levels[0].goodput, Some(0.97));
        assert_eq!(e.levels[0].goodput_per_s, Some(3.2));
        assert_eq!(e.levels[0].cost_per_ok_request, Some(0.0021));
        assert_eq!(e.levels[0].rate.as_deref(), Some("20/s"));
        assert_eq!(e.levels[1].goodput, Some(0.5));
        assert_eq!(e.levels[1].rate.as_deref(), Some("5/s"));
    }
}
