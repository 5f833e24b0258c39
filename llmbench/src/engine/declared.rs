//! Benchmarks declared in llmbench.toml: a `[benches.NAME]` table with
//! workload keys becomes a [`BenchSpec`] like an `#[llm_bench]` function's,
//! so the engine plans, runs and judges both alike.

use std::path::Path;

use super::{BenchSpec, RunError};
use crate::config::file::{CONFIG_FILE, Config};
use crate::settings::SettingsLayer;

/// The benchmarks of `config`'s `[benches.NAME]` tables that declare a
/// workload, by name. Relative dataset and template paths start beside
/// the file. A file that cannot be read names the table's key and line.
pub(crate) fn specs(config: &Config) -> Result<Vec<BenchSpec>, RunError> {
    let dir = config.path().and_then(Path::parent).unwrap_or(Path::new("."));
    let file = config
        .path()
        .and_then(Path::file_name)
        .map_or_else(|| CONFIG_FILE.to_owned(), |n| n.to_string_lossy().into_owned());
    let mut specs = Vec::new();
    for (name, workload) in config.declared_benches() {
        let workload = workload.build(dir).map_err(|e| config.bench_key_error(name, e.key, e.message))?;
        let Some((source, _)) = config.bench_layer(name) else { continue };
        specs.push(BenchSpec {
            name: name.to_owned(),
            module_path: String::new(),
            file: file.clone(),
            line: config.bench_line(name) as u32,
            workload,
            check: None,
            // The table's settings are the `[benches.NAME]` layer the plan
            // adds for every benchmark; repeating them here would apply
            // its limits twice.
            layer: SettingsLayer::default(),
            source,
        });
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Invocation, registry::BenchDef};
    use crate::workload::Workload;

    fn config(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/project/llmbench.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_table_with_workload_keys_is_a_benchmark_and_one_without_is_not() {
        let c = config(
            "[benches.short]\nsamples = 5\n\n[benches.faq]\nprompts = [\"hi\"]\noutput_tokens = 8\nsamples = 3\nlimits = [\"error_rate<=1%\"]\n",
        )
        .unwrap();
        let specs = specs(&c).unwrap();
        assert_eq!(specs.len(), 1);
        let faq = &specs[0];
        assert_eq!((faq.name.as_str(), faq.file.as_str(), faq.line), ("faq", "llmbench.toml", 4));
        assert_eq!(faq.workload, Workload::prompts(["hi"]).output_tokens(8));
        assert!(faq.layer.to_map().is_empty(), "settings come from the [benches.NAME] layer only");
        assert_eq!(c.benches["faq"].get_ref().settings.samples.as_ref().map(|s| s.get().0), Some(3));
        assert_eq!(c.benches["short"].get_ref().workload, None);
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        for (text, expected) in [
            (
                "[benches.a]\nprompts = [\"x\"]\n\ninput_tokenz = 5\n",
                "/project/llmbench.toml:4: benches.a.input_tokenz: unknown field `input_tokenz`",
            ),
            (
                "[benches.a]\ninput_tokens = \"200..100\"\n",
                "/project/llmbench.toml:2: benches.a.input_tokens: \"200..100\" is an empty range",
            ),
            (
                "[benches.a]\nsamples = 2\ncheck_regex = \"(\"\n",
                "/project/llmbench.toml:3: benches.a.check_regex: invalid regular expression",
            ),
            (
                "[benches.a]\ndataset = \"d.jsonl\"\nprompts = [\"x\"]\n",
                "/project/llmbench.toml:2: benches.a.dataset: give one prompt source",
            ),
            (
                "[benches.a]\nclass = \"short\"\nrate = \"fast\"\n",
                "/project/llmbench.toml:3: benches.a.rate: invalid rate",
            ),
        ] {
            let e = config(text).unwrap_err();
            assert!(e.starts_with(expected), "{e}\n  expected: {expected}");
        }
        let c = config("[benches.a]\nsamples = 1\n\ndataset = \"missing.jsonl\"\n").unwrap();
        let Err(RunError::Usage(e)) = specs(&c) else { panic!("a missing dataset is a usage error") };
        assert!(
            e.starts_with("/project/llmbench.toml:4: benches.a.dataset: cannot read /project/missing.jsonl"),
            "{e}"
        );
    }

    #[test]
    fn toml_and_attribute_benchmarks_run_through_one_engine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("llmbench.toml");
        let text = "[sim]\nttft = \"1ms\"\nitl = \"1ms\"\n\n[benches.faq]\nprompts = [\"hi\"]\noutput_tokens = 4\nsamples = 3\nwarmup = 0\nlimits = [\"error_rate<=1%\"]\n";
        std::fs::write(&path, text).unwrap();
        let c = Config::load(&path).unwrap();
        let def: &'static BenchDef = Box::leak(Box::new(BenchDef {
            name: "short",
            module_path: "m",
            file: "benches/b.rs",
            line: 3,
            workload: || Workload::synthetic().input_tokens(10).output_tokens(4),
            ignore: None,
            check: None,
            settings: &[("samples", "2", 3), ("warmup", "0", 3)],
        }));
        let mut benches = specs(&c).unwrap();
        benches.push(def.spec().unwrap());
        let root = dir.path().join("results");
        let run = crate::settings::RunArgs { quiet: true, noplot: true, ..Default::default() };
        let args = Invocation { run, results_root: Some(root.clone()), ..Invocation::default() };
        let code = crate::engine::run(&args, &c, benches).unwrap();
        assert_eq!(code, crate::exit_code::OK);
        for (bench, ok) in [("faq", 3), ("short", 2)] {
            let summary = crate::results::read_summary(&root.join(bench).join("sim").join("new")).unwrap();
            assert_eq!(summary.levels[0].requests.ok, ok, "{bench}");
        }
        // The table's limit applied once (from the [benches.NAME] layer).
        let limits = std::fs::read_to_string(
            crate::results::run_dir(&root, "faq", "sim", crate::baseline::CHANGE_DIR)
                .join(crate::baseline::LIMITS_FILE),
        )
        .unwrap();
        let limits: serde_json::Value = serde_json::from_str(&limits).unwrap();
        assert_eq!(limits["limits"].as_array().map(Vec::len), Some(1), "{limits:#}");
    }
}
