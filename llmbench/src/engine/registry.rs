//! The benchmark registry: what `#[llm_bench]` submits through `inventory`.

use super::BenchSpec;
use crate::settings::{SettingsError, SettingsLayer, Source};
use crate::workload::Workload;

/// One benchmark, as declared by `#[llm_bench]`.
///
/// Not public API: built only by the macro's expansion through
/// `llmbench::__private`. Every field is const-constructible so the macro can
/// hand it to `inventory::submit!`.
#[doc(hidden)]
#[derive(Debug)]
pub struct BenchDef {
    /// The benchmark id: the function name, or the `name = "…"` option.
    pub name: &'static str,
    /// `module_path!()` where the function lives.
    pub module_path: &'static str,
    /// `file!()` where the function lives.
    pub file: &'static str,
    /// `line!()` of the function.
    pub line: u32,
    /// Builds the workload.
    pub workload: fn() -> Workload,
    /// Skips the benchmark at runtime when it returns true (`ignore = expr`).
    pub ignore: Option<fn() -> bool>,
    /// A response check (`check = |resp| …`).
    pub check: Option<crate::workload::CheckFn>,
    /// The attribute's settings: key, value as TOML, and the key's line.
    pub settings: &'static [(&'static str, &'static str, u32)],
}

inventory::collect!(BenchDef);

impl BenchDef {
    /// Where the attribute is, as errors and limits name it.
    pub(crate) fn source(&self) -> Source {
        Source::Attribute { file: self.file, line: self.line }
    }

    /// The benchmark as the engine runs it: its workload built, its
    /// attribute's settings parsed.
    pub(crate) fn spec(&self) -> Result<BenchSpec, SettingsError> {
        Ok(BenchSpec {
            name: self.name.to_owned(),
            module_path: self.module_path.to_owned(),
            file: self.file.to_owned(),
            line: self.line,
            workload: (self.workload)(),
            check: self.check,
            layer: self.layer()?,
            source: self.source(),
        })
    }

    /// The attribute's settings as a layer, parsed by the grammar of
    /// `llmbench.toml` and the flags; an error names the option's line.
    pub(crate) fn layer(&self) -> Result<SettingsLayer, SettingsError> {
        let mut map = serde_json::Map::new();
        for &(key, value, line) in self.settings {
            let error = |message: String| SettingsError {
                origin: Source::Attribute { file: self.file, line },
                key: key.to_owned(),
                message,
            };
            let one: SettingsLayer = toml::from_str(&format!("{key} = {value}"))
                .map_err(|e| error(e.message().trim_end().replace('`', "")))?;
            map.extend(one.to_map());
        }
        SettingsLayer::from_map(map).map_err(|message| SettingsError {
            origin: self.source(),
            key: "settings".into(),
            message,
        })
    }
}

/// Every registered benchmark, sorted by name then source location, so runs
/// and listings do not depend on link order (inventory's is unspecified).
pub(crate) fn all() -> Vec<&'static BenchDef> {
    let mut defs: Vec<&'static BenchDef> = inventory::iter::<BenchDef>.into_iter().collect();
    defs.sort_by(|a, b| (a.name, a.file, a.line).cmp(&(b.name, b.file, b.line)));
    defs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(settings: &'static [(&'static str, &'static str, u32)]) -> BenchDef {
        BenchDef {
            name: "b",
            module_path: "m",
            file: "benches/b.rs",
            line: 7,
            workload: Workload::synthetic,
            ignore: None,
            check: None,
            settings,
        }
    }

    #[test]
    fn attribute_values_parse_with_the_config_grammar() {
        let layer = def(&[("samples", "5", 8), ("rate", r#"["5/s", "10/s"]"#, 9)]).layer().unwrap();
        assert_eq!(layer.samples.map(|s| s.get().0), Some(5));
        assert_eq!(layer.rate.map(|r| r.get().0.len()), Some(2));
    }

    #[test]
    fn a_bad_value_names_the_file_line_and_key() {
        for (settings, expected) in [
            (&[("samples", "0", 9)][..], "benches/b.rs:9: #[llm_bench(...)]: samples: must be at least 1"),
            (&[("stages", r#""30s@5/s, 1m@8""#, 10)], "benches/b.rs:10: #[llm_bench(...)]: stages: stages"),
            (&[("timeout", r#""30d""#, 11)], "benches/b.rs:11: #[llm_bench(...)]: timeout: invalid duration unit"),
            (&[("arrival", r#""bursty""#, 12)], "benches/b.rs:12: #[llm_bench(...)]: arrival: unknown arrival"),
            (&[("concurrency", "[1, 0]", 13)], "benches/b.rs:13: #[llm_bench(...)]: concurrency: concurrency level"),
            (&[("limits", r#"["ttft<=5ms"]"#, 14)], "benches/b.rs:14: #[llm_bench(...)]: limits: invalid limit"),
            (&[("warmup", "-1", 15)], "benches/b.rs:15: #[llm_bench(...)]: warmup: \"-1\" is not a whole number"),
        ] {
            let e = def(settings).layer().unwrap_err().to_string();
            assert!(e.starts_with(expected), "{e}\n  expected: {expected}");
        }
    }
}
