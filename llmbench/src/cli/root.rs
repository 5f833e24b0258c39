//! Where a project is, and where its results go, when no benchmark binary
//! decides: `llmbench run`, llmbench.toml's benchmarks outside a Cargo
//! workspace, `compare`. One rule, so every command finds the runs the
//! others wrote.

use std::path::{Path, PathBuf};

/// The nearest `Cargo.toml` at or above `dir`.
pub(crate) fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().map(|d| d.join("Cargo.toml")).find(|p| p.is_file())
}

/// The results root: `$LLMBENCH_HOME`; else, inside a Cargo workspace,
/// `llmbench` in its target directory (cargo's rule: `CARGO_TARGET_DIR`,
/// `.cargo/config.toml`); else `$CARGO_TARGET_DIR/llmbench`; else
/// `target/llmbench` beside llmbench.toml (`config`); else under `cwd`.
pub(crate) fn results_root(cwd: &Path, config: Option<&Path>) -> PathBuf {
    if let Some(home) = std::env::var_os("LLMBENCH_HOME").filter(|v| !v.is_empty()) {
        return cwd.join(home);
    }
    if let Some(manifest) = find_manifest(cwd) {
        // Without cargo (a team that does not use Rust), fall through.
        let metadata = cargo_metadata::MetadataCommand::new().manifest_path(&manifest).no_deps().exec();
        if let Ok(metadata) = metadata {
            return metadata.target_directory.as_std_path().join("llmbench");
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return cwd.join(dir).join("llmbench");
    }
    let project = config.and_then(Path::parent).filter(|d| !d.as_os_str().is_empty());
    cwd.join(project.unwrap_or(Path::new(""))).join("target").join("llmbench")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_workspace_results_go_beside_the_config_or_here() {
        // Environment variables would decide first; tests do not set them.
        if std::env::var_os("LLMBENCH_HOME").is_some() || std::env::var_os("CARGO_TARGET_DIR").is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        if find_manifest(dir.path()).is_some() {
            return;
        }
        let nested = dir.path().join("a");
        assert_eq!(results_root(&nested, None), nested.join("target/llmbench"));
        let config = dir.path().join("llmbench.toml");
        assert_eq!(results_root(&nested, Some(&config)), dir.path().join("target/llmbench"));
    }
}
