//! `llmbench init` (`cargo llmbench init`): scaffolds a working setup in an
//! existing project. In a Cargo package: `benches/llm.rs` with two example
//! benchmarks, its `[[bench]]` entry and the llmbench dev-dependency in
//! Cargo.toml (edited with toml_edit, so its formatting and comments stay);
//! elsewhere, benchmarks as `[benches.NAME]` tables. Then llmbench.toml
//! (the simulator, real targets commented out) and a GitHub Actions
//! workflow (the gate on pull requests, the baseline on main).
//!
//! It only adds: an existing file is never overwritten (it says what it
//! skipped), so running it twice changes nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use toml_edit::{DocumentMut, Item, Table, value};

use super::build::UsageError;
use crate::config::file::CONFIG_FILE;
use crate::exit_code;

const BENCH_RS: &str = include_str!("bench.rs.tmpl");
const CONFIG: &str = include_str!("llmbench.toml.tmpl");
const WORKFLOW: &str = include_str!("workflow.yml.tmpl");

/// The example benchmark target's name (`benches/llm.rs`).
const BENCH_NAME: &str = "llm";
const WORKFLOW_FILE: &str = ".github/workflows/llmbench.yml";

/// In a Cargo project, a benchmark kept in llmbench.toml, commented out.
const TOML_BENCH_EXAMPLE: &str = r#"
# A benchmark declared here instead of in code: the keys of #[llm_bench]
# plus those of a workload. `cargo llmbench` runs it beside benches/llm.rs.
# [benches.faq]
# prompts = ["What is your refund policy?", "How do I reset my password?"]
# output_tokens = 128
# samples = 20
# check_regex = '\S'
"#;

/// Without Cargo.toml, the benchmarks themselves.
const TOML_BENCHES: &str = r#"
# Benchmarks: the settings of a run (samples, concurrency, rate, limits…)
# and what it sends (synthetic lengths, prompts, a dataset and template,
# checks). `llmbench` runs them all; `llmbench chat` those matching "chat";
# `llmbench --list` lists them.
[benches.chat_short]
input_tokens = "100..=200"
output_tokens = 64
temperature = 0.7
samples = 20
warmup = 2
concurrency = [1, 4]

[benches.summarise]
class = "medium"
output_tokens = 128
system = "You summarise documents for busy engineers."
check_regex = '\S'
samples = 10
warmup = 1
"#;

/// `llmbench init [DIR] [--path PATH] [--no-ci]`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cargo llmbench init                        in a Cargo package: benches/llm.rs, Cargo.toml, llmbench.toml, CI
  llmbench init                              without Cargo.toml: benchmarks as [benches.NAME] tables of llmbench.toml
  cargo llmbench init --path ../llmbench/llmbench   depend on a checkout of llmbench instead of crates.io
  cargo llmbench init --no-ci                no .github/workflows/llmbench.yml

Existing files are never overwritten, and running init twice changes nothing.")]
pub(crate) struct InitArgs {
    /// The project's directory.
    #[arg(value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Depend on llmbench at this path (a checkout's `llmbench/` package)
    /// instead of its crates.io release.
    #[arg(long, value_name = "PATH")]
    path: Option<PathBuf>,
    /// Do not write the GitHub Actions workflow.
    #[arg(long)]
    no_ci: bool,
}

/// What init did to one file, for its report.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Created(String, &'static str),
    Updated(String, String),
    Skipped(String, &'static str),
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(args: &InitArgs) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let steps =
        init(&cwd.join(&args.dir), args.path.as_deref().map(|p| dependency_path(&cwd, &args.dir, p)), !args.no_ci)?;
    crate::term::print(&report(&steps));
    Ok(exit_code::OK)
}

/// The dev-dependency's path as Cargo.toml will hold it: as given when
/// init runs in the project, else absolute (it was relative to here).
fn dependency_path(cwd: &Path, dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || dir == Path::new(".") { path.to_owned() } else { cwd.join(path) }
}

/// Sets up `dir`; returns what it did, file by file.
fn init(dir: &Path, path: Option<PathBuf>, ci: bool) -> anyhow::Result<Vec<Step>> {
    if !dir.is_dir() {
        return Err(UsageError(format!("{} is not a directory", dir.display())).into());
    }
    if let Some(path) = &path {
        let manifest = dir.join(path).join("Cargo.toml");
        let is_llmbench =
            std::fs::read_to_string(&manifest).ok().and_then(|text| text.parse::<DocumentMut>().ok()).is_some_and(
                |doc| doc.get("package").and_then(|p| p.get("name")).and_then(Item::as_str) == Some("llmbench"),
            );
        if !is_llmbench {
            return Err(UsageError(format!(
                "--path {}: no llmbench package there (give the checkout's llmbench/ directory)",
                path.display()
            ))
            .into());
        }
    }
    let mut steps = Vec::new();
    let manifest = dir.join("Cargo.toml");
    let rust = match std::fs::read_to_string(&manifest) {
        Ok(text) => {
            let doc: DocumentMut = text.parse().map_err(|e| {
                UsageError(format!("Cargo.toml is not valid TOML ({}); fix it, then run init again", one_line(&e)))
            })?;
            if doc.get("package").is_some() {
                steps.extend(cargo_setup(dir, doc, &text, path.as_deref())?);
                true
            } else {
                steps.push(Step::Skipped(
                    "Cargo.toml".into(),
                    "a workspace without [package]: run init in a member for benches in Rust; setting up llmbench.toml benchmarks here",
                ));
                false
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", manifest.display()))),
    };
    let benches = if rust { TOML_BENCH_EXAMPLE } else { TOML_BENCHES };
    let config = CONFIG.replace("{{BENCHES}}", benches.trim_end());
    let what = if rust {
        "the simulator, real targets commented out"
    } else {
        "two benchmarks against the simulator, real targets commented out"
    };
    steps.push(create(dir, CONFIG_FILE, &config, what)?);
    if ci {
        let cmd = if rust { "cargo llmbench" } else { "llmbench" };
        let workflow = WORKFLOW.replace("{{CMD}}", cmd);
        steps.push(create(dir, WORKFLOW_FILE, &workflow, "the gate on pull requests, the baseline on main")?);
    }
    Ok(steps)
}

/// The Cargo package's part: benches/llm.rs and Cargo.toml.
fn cargo_setup(dir: &Path, mut doc: DocumentMut, text: &str, path: Option<&Path>) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    let bench_file = format!("benches/{BENCH_NAME}.rs");
    let step = create(dir, &bench_file, BENCH_RS, "two example benchmarks")?;
    // A benches/llm.rs of the user's own keeps cargo's default harness; one
    // of llmbench's (written now or by an earlier init) needs its entry.
    let ours = std::fs::read_to_string(dir.join(&bench_file)).is_ok_and(|t| t.contains("llmbench::main!"));
    steps.push(step);
    let mut added = Vec::new();
    let has_dependency = ["dependencies", "dev-dependencies"]
        .iter()
        .any(|t| doc.get(t).and_then(Item::as_table_like).is_some_and(|deps| deps.contains_key("llmbench")));
    if !has_dependency {
        let dependency = match path {
            Some(path) => {
                let mut t = toml_edit::InlineTable::new();
                t.insert("path", path.display().to_string().into());
                value(t)
            }
            None => value(dependency_version()),
        };
        let deps = doc.entry("dev-dependencies").or_insert_with(|| Item::Table(Table::new()));
        let Some(deps) = deps.as_table_like_mut() else {
            return Err(UsageError("Cargo.toml: dev-dependencies is not a table".into()).into());
        };
        deps.insert("llmbench", dependency);
        added.push("llmbench to [dev-dependencies]".to_owned());
    }
    let has_bench = match doc.get("bench") {
        Some(Item::ArrayOfTables(benches)) => {
            benches.iter().any(|b| b.get("name").and_then(Item::as_str) == Some(BENCH_NAME))
        }
        Some(_) => return Err(UsageError("Cargo.toml: bench is not an array of [[bench]] tables".into()).into()),
        None => false,
    };
    if ours && !has_bench {
        let mut bench = Table::new();
        bench.insert("name", value(BENCH_NAME));
        bench.insert("harness", value(false));
        match doc.entry("bench").or_insert_with(|| Item::ArrayOfTables(Default::default())) {
            Item::ArrayOfTables(benches) => benches.push(bench),
            _ => unreachable!("checked above: bench is absent or an array of tables"),
        }
        added.push(format!("[[bench]] name = \"{BENCH_NAME}\", harness = false"));
    }
    let updated = doc.to_string();
    if updated == text {
        let why = if ours { "already has llmbench and its [[bench]] entry" } else { "already has llmbench" };
        steps.push(Step::Skipped("Cargo.toml".into(), why));
    } else {
        std::fs::write(dir.join("Cargo.toml"), updated).context("writing Cargo.toml")?;
        steps.push(Step::Updated("Cargo.toml".into(), format!("added {}", added.join(" and "))));
    }
    Ok(steps)
}

/// `0.1` for 0.1.x: the releases semver allows.
fn dependency_version() -> String {
    let mut parts = env!("CARGO_PKG_VERSION").split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}"),
        (Some(major), _) => major.to_owned(),
        _ => env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Writes `relative` under `dir` unless it exists.
fn create(dir: &Path, relative: &str, text: &str, what: &'static str) -> anyhow::Result<Step> {
    let path = dir.join(relative);
    if path.exists() {
        return Ok(Step::Skipped(relative.to_owned(), "exists; not overwritten"));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    // create_new: a file that appeared meanwhile is still not overwritten.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(Step::Created(relative.to_owned(), what))
}

/// What init did, then what to run next.
fn report(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        let _ = match step {
            Step::Created(file, what) => writeln!(out, "     Created {file} ({what})"),
            Step::Updated(file, what) => writeln!(out, "     Updated {file}: {what}"),
            Step::Skipped(file, why) => writeln!(out, "     Skipped {file} ({why})"),
        };
    }
    let rust =
        steps.iter().any(|s| matches!(s, Step::Created(f, _) | Step::Skipped(f, _) if f.starts_with("benches/")));
    let next = if rust {
        "\nNext: `cargo llmbench` runs benches/llm.rs against the built-in simulator; `cargo llmbench --list` lists the benchmarks.\nAdd a target to llmbench.toml and run `cargo llmbench --target NAME` to measure a real endpoint.\n"
    } else {
        "\nNext: `llmbench` runs llmbench.toml's benchmarks against the built-in simulator; `llmbench --list` lists them.\nAdd a target to llmbench.toml and run `llmbench --target NAME` to measure a real endpoint.\n"
    };
    out.push_str(next);
    out
}

/// A TOML error on one line.
fn one_line(e: &toml_edit::TomlError) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Cargo.toml as people write them: comments, odd spacing, an inline table.
    const MANIFEST: &str = "# My service.\n[package]\nname    = \"svc\"   # the name\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }  # keep me\n\n# Tests.\n[dev-dependencies]\ntempfile = \"3\"\n";

    fn read(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    #[test]
    fn a_cargo_package_gets_benches_a_dependency_a_config_and_ci_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), MANIFEST).unwrap();
        let steps = init(dir.path(), None, true).unwrap();
        assert!(steps.iter().all(|s| !matches!(s, Step::Skipped(..))), "{steps:?}");
        let manifest = read(dir.path(), "Cargo.toml");
        assert!(manifest.starts_with(MANIFEST.trim_end_matches('\n')), "formatting and comments kept:\n{manifest}");
        assert!(manifest.contains("tempfile = \"3\"\nllmbench = \"0."), "{manifest}");
        assert!(manifest.contains("[[bench]]\nname = \"llm\"\nharness = false\n"), "{manifest}");
        let doc: DocumentMut = manifest.parse().unwrap();
        assert_eq!(doc["package"]["name"].as_str(), Some("svc"));
        assert!(read(dir.path(), "benches/llm.rs").contains("llmbench::main!();"));
        let config = read(dir.path(), CONFIG_FILE);
        let parsed = crate::config::file::Config::parse(Path::new(CONFIG_FILE), &config).unwrap();
        assert_eq!(parsed.declared_benches().count(), 0, "benchmarks live in benches/llm.rs");
        assert!(
            config.contains("# [targets.local]")
                && config.contains("provider = \"bedrock\"")
                && config.contains("provider = \"sagemaker\"")
        );
        let workflow = read(dir.path(), WORKFLOW_FILE);
        assert!(workflow.contains("cargo llmbench \\") && workflow.contains("--save-baseline=main"), "{workflow}");
        assert!(workflow.contains("pull_request") && workflow.contains("--fail-on-regression"));

        // Twice: nothing changes, and it says what it skipped.
        let before: Vec<String> =
            ["Cargo.toml", "benches/llm.rs", CONFIG_FILE, WORKFLOW_FILE].iter().map(|f| read(dir.path(), f)).collect();
        let steps = init(dir.path(), None, true).unwrap();
        assert!(steps.iter().all(|s| matches!(s, Step::Skipped(..))), "{steps:?}");
        let after: Vec<String> =
            ["Cargo.toml", "benches/llm.rs", CONFIG_FILE, WORKFLOW_FILE].iter().map(|f| read(dir.path(), f)).collect();
        assert_eq!(before, after);
        let text = report(&steps);
        assert!(text.contains("Skipped llmbench.toml (exists; not overwritten)"), "{text}");
        assert!(text.contains("Skipped Cargo.toml (already has llmbench and its [[bench]] entry)"), "{text}");
    }

    #[test]
    fn a_users_own_files_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), MANIFEST).unwrap();
        std::fs::create_dir(dir.path().join("benches")).unwrap();
        std::fs::write(dir.path().join("benches/llm.rs"), "// mine, with criterion\n").unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "# mine\n").unwrap();
        let steps = init(dir.path(), Some(PathBuf::from("../llmbench")), false).unwrap_err();
        assert!(steps.to_string().contains("--path ../llmbench: no llmbench package"), "{steps}");
        let steps = init(dir.path(), None, false).unwrap();
        assert_eq!(read(dir.path(), "benches/llm.rs"), "// mine, with criterion\n");
        assert_eq!(read(dir.path(), CONFIG_FILE), "# mine\n");
        let manifest = read(dir.path(), "Cargo.toml");
        assert!(!manifest.contains("[[bench]]"), "a user's benches/llm.rs keeps cargo's harness:\n{manifest}");
        assert!(manifest.contains("llmbench = "), "{manifest}");
        assert!(!dir.path().join(WORKFLOW_FILE).exists(), "--no-ci");
        assert!(steps.contains(&Step::Skipped("benches/llm.rs".into(), "exists; not overwritten")), "{steps:?}");
    }

    #[test]
    fn a_path_dependency_for_a_checkout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n").unwrap();
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
        init(dir.path(), Some(checkout.to_owned()), false).unwrap();
        let manifest = read(dir.path(), "Cargo.toml");
        assert!(
            manifest.contains(&format!("[dev-dependencies]\nllmbench = {{ path = \"{}\" }}", checkout.display())),
            "{manifest}"
        );
    }

    #[test]
    fn without_cargo_toml_it_sets_up_toml_benchmarks_that_parse() {
        let dir = tempfile::tempdir().unwrap();
        let steps = init(dir.path(), None, true).unwrap();
        assert!(!dir.path().join("benches").exists() && !dir.path().join("Cargo.toml").exists(), "{steps:?}");
        let config = read(dir.path(), CONFIG_FILE);
        let parsed = crate::config::file::Config::parse(&dir.path().join(CONFIG_FILE), &config).unwrap();
        let names: Vec<&str> = parsed.declared_benches().map(|(n, _)| n).collect();
        assert_eq!(names, ["chat_short", "summarise"]);
        let specs = crate::engine::declared::specs(&parsed).unwrap();
        assert_eq!(specs.len(), 2);
        assert!(read(dir.path(), WORKFLOW_FILE).contains("llmbench \\"));
        assert!(report(&steps).contains("Next: `llmbench`"));
        // A virtual workspace manifest is left alone, with the same setup beside it.
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        let steps = init(ws.path(), None, false).unwrap();
        assert_eq!(read(ws.path(), "Cargo.toml"), "[workspace]\nmembers = []\n");
        assert!(
            matches!(&steps[0], Step::Skipped(f, why) if f == "Cargo.toml" && why.contains("workspace")),
            "{steps:?}"
        );
    }

    #[test]
    fn a_broken_manifest_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = 1\n").unwrap();
        let e = init(dir.path(), None, false).unwrap_err();
        assert!(e.downcast_ref::<UsageError>().is_some() && e.to_string().contains("not valid TOML"), "{e}");
        assert!(!dir.path().join(CONFIG_FILE).exists());
    }
}
