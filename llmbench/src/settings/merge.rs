//! How layers of settings become one: the precedence of the module docs,
//! applied to every key alike through each layer's JSON map, and where each
//! key came from (what an error names).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::{SHAPE_KEYS, SettingsLayer, SourcedLimit};

/// Where a layer of settings came from: what an error or a limit names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Flags of the command line (or their `LLMBENCH_*` variables).
    Flags,
    /// A table of a config file: `[benches.NAME]`, `[targets.NAME]`, `[defaults]`.
    Config {
        /// The file.
        path: PathBuf,
        /// The table's dotted name (`benches.summarise`).
        table: String,
        /// The table header's 1-based line.
        line: usize,
    },
    /// `#[llm_bench(...)]` on a function.
    Attribute {
        /// `file!()` of the benchmark.
        file: &'static str,
        /// The line of the function.
        line: u32,
    },
}

impl Source {
    /// Where a limit came from, as results and reports show it.
    pub fn limit_label(&self) -> String {
        match self {
            Source::Flags => "--limit".into(),
            Source::Config { path, .. } => {
                path.file_name().map_or_else(|| "llmbench.toml".into(), |n| n.to_string_lossy().into_owned())
            }
            Source::Attribute { .. } => "#[llm_bench]".into(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flags => f.write_str("the command line"),
            Source::Config { path, table, line } => write!(f, "{}:{line}: [{table}]", path.display()),
            Source::Attribute { file, line } => write!(f, "{file}:{line}: #[llm_bench(...)]"),
        }
    }
}

/// A setting that cannot be used: which one, where it was written, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {key}: {message}")]
pub struct SettingsError {
    /// Where the setting was written.
    pub origin: Source,
    /// The key (`rate`, `params`).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// One layer and where it came from, highest precedence first in a list.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    /// Where it came from.
    pub source: &'a Source,
    /// What it sets.
    pub settings: &'a SettingsLayer,
}

/// The layers merged into one, and which layer set each key.
pub(super) struct Merged {
    pub(super) layer: SettingsLayer,
    pub(super) from: BTreeMap<String, Source>,
    pub(super) limits: Vec<SourcedLimit>,
}

/// Merges `layers` (highest precedence first) by the rules of the module docs.
pub(super) fn merge(layers: &[Layer<'_>]) -> Merged {
    let mut map = serde_json::Map::new();
    let mut from = BTreeMap::new();
    let mut limits = Vec::new();
    let mut shape_from: Option<usize> = None;
    for (i, layer) in layers.iter().enumerate() {
        for spec in &layer.settings.limits {
            limits.push(SourcedLimit { limit: spec.get().clone(), source: layer.source.limit_label() });
        }
        for (key, value) in layer.settings.to_map() {
            if key == "limits" || map.contains_key(&key) {
                continue;
            }
            if SHAPE_KEYS.contains(&key.as_str()) {
                if shape_from.is_some_and(|s| s != i) {
                    continue;
                }
                shape_from = Some(i);
            }
            from.insert(key.clone(), layer.source.clone());
            map.insert(key, value);
        }
    }
    // Each value was parsed when its layer was read; this cannot fail.
    let layer = SettingsLayer::from_map(map).expect("merged settings re-read");
    Merged { layer, from, limits }
}
