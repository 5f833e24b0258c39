//! Discovering benchmark targets (cargo_metadata) and building them
//! (`cargo bench --no-run`, reading cargo's JSON messages for executables).

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use cargo_metadata::{Message, MetadataCommand, TargetKind};

use super::LlmbenchArgs;

/// A mistake in what the user asked for (exit 2), as opposed to a failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// One `[[bench]]` target that uses llmbench.
#[derive(Debug, Clone)]
pub(crate) struct BenchTarget {
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) package_dir: PathBuf,
}

/// What the workspace holds.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    pub(crate) target_dir: PathBuf,
    pub(crate) benches: Vec<BenchTarget>,
}

/// A built benchmark binary.
#[derive(Debug)]
pub(crate) struct Executable {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) package_dir: PathBuf,
    /// Arguments before the flags (what makes this program llmbench.toml's runner).
    pub(crate) leading_args: Vec<String>,
    /// What "Running" names: the executable, or the file its benchmarks come from.
    pub(crate) shown: PathBuf,
}

/// Reads the workspace with `cargo metadata` and selects the bench targets
/// of packages that depend on llmbench (honouring `-p` and `--bench`).
pub(crate) fn discover(args: &LlmbenchArgs) -> anyhow::Result<Workspace> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(path) = &args.manifest_path {
        cmd.manifest_path(path);
    }
    if let Some(dir) = &args.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let metadata = cmd.exec().context("running cargo metadata")?;
    let members: Vec<_> = metadata.workspace_packages();
    for spec in &args.package {
        if !members.iter().any(|p| p.name.as_str() == spec) {
            let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
            return Err(UsageError(format!(
                "package {spec:?} is not in this workspace (members: {})",
                names.join(", ")
            ))
            .into());
        }
    }
    let mut benches = Vec::new();
    for pkg in members {
        if !args.package.is_empty() && !args.package.iter().any(|s| s == pkg.name.as_str()) {
            continue;
        }
        let uses_llmbench = pkg.name.as_str() == "llmbench" || pkg.dependencies.iter().any(|d| d.name == "llmbench");
        if !uses_llmbench {
            continue;
        }
        let package_dir = pkg.manifest_path.parent().map(|p| p.as_std_path().to_owned()).unwrap_or_default();
        for target in &pkg.targets {
            if !target.kind.contains(&TargetKind::Bench) {
                continue;
            }
            if !args.benches.is_empty() && !args.benches.iter().any(|b| b == &target.name) {
                continue;
            }
            benches.push(BenchTarget {
                package: pkg.name.to_string(),
                name: target.name.clone(),
                package_dir: package_dir.clone(),
            });
        }
    }
    for name in &args.benches {
        if !benches.iter().any(|b| &b.name == name) {
            return Err(
                UsageError(format!("no bench target named {name:?} in a package that depends on llmbench")).into()
            );
        }
    }
    let target_dir = args.target_dir.clone().unwrap_or_else(|| metadata.target_directory.as_std_path().to_owned());
    Ok(Workspace { root: metadata.workspace_root.as_std_path().to_owned(), target_dir, benches })
}

/// Builds the selected benches with `cargo bench --no-run` and returns their
/// executables, in the order cargo reports them.
pub(crate) fn build(args: &LlmbenchArgs, ws: &Workspace) -> anyhow::Result<Vec<Executable>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["bench", "--no-run", "--message-format=json-render-diagnostics"]);
    if let Some(path) = &args.manifest_path {
        cmd.arg("--manifest-path").arg(path);
    }
    if let Some(dir) = &args.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    for f in &args.features {
        cmd.arg("--features").arg(f);
    }
    if args.all_features {
        cmd.arg("--all-features");
    }
    if args.no_default_features {
        cmd.arg("--no-default-features");
    }
    let mut packages: Vec<&str> = ws.benches.iter().map(|b| b.package.as_str()).collect();
    packages.dedup();
    for p in packages {
        cmd.arg("--package").arg(p);
    }
    for b in &ws.benches {
        cmd.arg("--bench").arg(&b.name);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().context("running cargo bench --no-run")?;
    let stdout = child.stdout.take().context("capturing cargo's output")?;
    let mut executables = Vec::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message.context("reading cargo's JSON messages")?;
        if let Message::CompilerArtifact(artifact) = message {
            let Some(path) = artifact.executable else { continue };
            if !artifact.target.kind.contains(&TargetKind::Bench) {
                continue;
            }
            if let Some(bench) = ws.benches.iter().find(|b| b.name == artifact.target.name) {
                let path = path.into_std_path_buf();
                executables.push(Executable {
                    name: bench.name.clone(),
                    shown: path.clone(),
                    path,
                    package_dir: bench.package_dir.clone(),
                    leading_args: Vec::new(),
                });
            }
        }
    }
    let status = child.wait().context("waiting for cargo bench --no-run")?;
    if !status.success() {
        bail!("building the benchmarks failed ({status})");
    }
    Ok(executables)
}
