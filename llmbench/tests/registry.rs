//! `#[llm_bench]` as a user writes it: every declaration below must come out
//! of `llmbench::__private::registry()` sorted by name, with its options.

use llmbench::__private::{BenchDef, registry, settings_json};
use llmbench::prelude::*;
use serde_json::json;

/// Declared first, sorted last.
#[llm_bench(
    samples = 100,
    warmup = 10,
    concurrency = [1, 8],
    targets = ["local", "haiku"],
    timeout = "30s",
    name = "zeta",
    ignore = std::env::var("LLMBENCH_TEST_SURELY_UNSET_KEY").is_err()
)]
fn short_questions() -> Workload {
    Workload::synthetic().input_tokens(100..=200).output_tokens(200)
}

/// Load shape, SLOs, a check closure and a parameter grid.
#[llm_bench(
    rate = ["5/s", "10/s"],
    arrival = "gamma:0.5",
    duration = "2s",
    grace = "500ms",
    max_in_flight = 8,
    slo = "ttft <= 300ms, goodput >= 95%",
    check = |resp| resp.text.contains("refund"),
    params = { temperature = [0.0, 0.7], max_tokens = [256, 1024] }
)]
fn open_loop() -> Workload {
    Workload::synthetic()
}

fn must_be_json(resp: &Response<'_>) -> Result<(), String> {
    serde_json::from_str::<serde_json::Value>(resp.text).map(|_| ()).map_err(|e| e.to_string())
}

#[llm_bench(stages = "1s@2/s, 1s@8/s", sweep = [1, 2], check = must_be_json)]
fn staged() -> Workload {
    Workload::synthetic()
}

#[llm_bench]
fn defaults() -> Workload {
    Workload::synthetic().output_tokens(1)
}

mod nested {
    use llmbench::prelude::*;

    const NEVER: bool = false;

    #[llm_bench(samples = 5, warmup = 0, timeout = "500ms", ignore = NEVER)]
    pub(crate) fn alpha() -> Workload {
        Workload::synthetic().output_tokens(2)
    }

    pub(crate) mod deeper {
        // As from a crate that renamed llmbench: the `crate` option, and the
        // attribute by path rather than from the prelude.
        extern crate llmbench as lb;

        #[lb::llm_bench(concurrency = 4, targets = "sim", timeout = 2m, crate = lb)]
        fn r#gamma() -> lb::Workload {
            lb::Workload::synthetic().output_tokens(3)
        }
    }
}

/// The 1-based line of this file that starts with `prefix`.
fn line_of(prefix: &str) -> u32 {
    let index = include_str!("registry.rs").lines().position(|line| line.starts_with(prefix));
    u32::try_from(index.expect("the line exists") + 1).expect("a short file")
}

fn find(name: &str) -> &'static BenchDef {
    registry().into_iter().find(|def| def.name == name).unwrap_or_else(|| panic!("`{name}` is not registered"))
}

#[test]
fn sorted_by_name_whatever_the_source_order() {
    let names: Vec<&str> = registry().iter().map(|def| def.name).collect();
    assert_eq!(names, ["alpha", "defaults", "gamma", "open_loop", "staged", "zeta"]);
}

/// The attribute's settings of `def`, as llmbench reads them.
fn settings(def: &BenchDef) -> serde_json::Value {
    settings_json(def).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn all_options() {
    let def = find("zeta");
    assert_eq!(
        settings(def),
        json!({ "samples": "100", "warmup": "10", "concurrency": "1, 8", "targets": ["local", "haiku"], "timeout": "30s" })
    );
    let ignore = def.ignore.expect("`ignore` given");
    assert!(ignore(), "the variable is unset, so the bench is ignored");
    assert_eq!(def.module_path, "registry");
    assert!(def.file.ends_with("registry.rs"), "{}", def.file);
    // The line of the function name, not of the attribute above it; each
    // setting carries the line of its own key.
    assert_eq!(def.line, line_of("fn short_questions"));
    assert_eq!(def.settings[0], ("samples", "100", line_of("    samples = 100")));
    assert_eq!((def.workload)().max_output_tokens(), 200);
}

#[test]
fn load_options_and_checks() {
    let def = find("open_loop");
    assert_eq!(
        settings(def),
        json!({
            "rate": "5/s, 10/s",
            "arrival": "gamma:0.5",
            "duration": "2s",
            "grace": "500ms",
            "max_in_flight": "8",
            "slo": "ttft <= 300ms, goodput >= 95%",
            "params": { "temperature": ["0.0", "0.7"], "max_tokens": ["256", "1024"] },
        })
    );
    let check = def.check.expect("`check` given");
    let resp = |text| Response { text, expected: None, output_tokens: 3, index: 0, tool_calls: &[], tools: &[] };
    assert_eq!(check(&resp("we will refund it")), Ok(()));
    assert_eq!(check(&resp("no")), Err("the check returned false".to_owned()));
    let staged = find("staged");
    assert_eq!(settings(staged), json!({ "stages": "1s@2/s, 1s@8/s", "sweep": "1, 2" }));
    let check = staged.check.expect("`check` given");
    assert!(check(&resp("{\"a\": 1}")).is_ok());
    assert!(check(&resp("{")).unwrap_err().contains("EOF"));
}

#[test]
fn no_options_means_defaults() {
    let def = find("defaults");
    assert!(def.settings.is_empty());
    assert_eq!(settings(def), json!({}));
    assert!(def.ignore.is_none() && def.check.is_none());
    assert_eq!(def.line, line_of("fn defaults"));
    assert_eq!((def.workload)().max_output_tokens(), 1);
}

#[test]
fn nested_modules() {
    let alpha = find("alpha");
    assert_eq!(alpha.module_path, "registry::nested");
    assert_eq!(settings(alpha), json!({ "samples": "5", "warmup": "0", "timeout": "500ms" }));
    assert!(!(alpha.ignore.expect("`ignore` given"))());
    assert_eq!((alpha.workload)().max_output_tokens(), 2);

    let gamma = find("gamma");
    assert_eq!(gamma.module_path, "registry::nested::deeper");
    assert_eq!(settings(gamma), json!({ "concurrency": "4", "targets": ["sim"], "timeout": "2m" }));
    assert!(gamma.line > 0);
    assert_eq!((gamma.workload)().max_output_tokens(), 3);
}

#[test]
fn the_function_is_still_callable() {
    assert_eq!(nested::alpha().max_output_tokens(), 2);
    assert_eq!(short_questions().max_output_tokens(), 200);
}
