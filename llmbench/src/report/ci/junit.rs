//! JUnit XML (`--junit PATH`) through `quick-junit`: a test suite per
//! benchmark × target, a test case per level × metric verdict (a regression
//! is a failure, whatever `--fail-on-regression` says, so dashboards show
//! it) and per level × limit (failed limits are failures, limits without a
//! baseline are skipped).

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::gate::{LimitStatus, Outcome};
use crate::stats::ChangeKind;

/// The report for these outcomes.
pub(crate) fn report(outcomes: &[Outcome]) -> Report {
    let mut report = Report::new("llmbench");
    for o in outcomes {
        let class = format!("{}.{}", o.bench, o.target);
        let mut suite = TestSuite::new(format!("{} · {}", o.bench, o.target));
        if let Some(c) = &o.comparison {
            for (level, m) in c.changes() {
                let mut status = match m.change.kind {
                    ChangeKind::Regressed => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        s.set_type("regression");
                        s
                    }
                    _ => TestCaseStatus::success(),
                };
                let line = crate::report::terminal::change::line(m);
                if let TestCaseStatus::NonSuccess { .. } = status {
                    status.set_message(format!("{} regressed at {level} against {}", m.metric, c.baseline.name));
                    status.set_description(line.clone());
                }
                let mut case = TestCase::new(format!("{level} {}", m.metric), status);
                case.set_classname(class.clone());
                case.set_system_out(line);
                suite.add_test_case(case);
            }
        }
        for l in &o.limits {
            let status = match l.status {
                LimitStatus::Passed => TestCaseStatus::success(),
                LimitStatus::Failed => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_type("limit").set_message(l.message.clone());
                    s
                }
                LimitStatus::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(l.message.clone());
                    s
                }
            };
            let mut case = TestCase::new(format!("{} limit {}", l.level, l.limit), status);
            case.set_classname(class.clone());
            case.set_system_out(l.message.clone());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
}

/// Writes the report to `path` (atomically).
pub(crate) fn write(outcomes: &[Outcome], path: &Path) -> Result<(), String> {
    let xml = report(outcomes).to_string().map_err(|e| format!("cannot render JUnit XML: {e}"))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    crate::baseline::write_atomic(path, xml.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
