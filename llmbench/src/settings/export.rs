//! `--export FORMAT=PATH` (repeatable) as the invocation holds it: which
//! format, and where to. Writing the formats is the report's
//! (`report::ci::export`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A format `--export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Bmf,
    GabSmaller,
    GabBigger,
    OpenMetrics,
    Emf,
    OtlpJson,
    /// OTLP/HTTP to a collector; the destination is a URL.
    Otlp,
}

impl Format {
    const ALL: [(Format, &'static str); 7] = [
        (Format::Bmf, "bmf"),
        (Format::GabSmaller, "gab-smaller"),
        (Format::GabBigger, "gab-bigger"),
        (Format::OpenMetrics, "openmetrics"),
        (Format::Emf, "emf"),
        (Format::OtlpJson, "otlp-json"),
        (Format::Otlp, "otlp"),
    ];

    pub(crate) fn name(self) -> &'static str {
        Format::ALL.iter().find(|(f, _)| *f == self).map_or("?", |(_, n)| n)
    }

    fn names() -> String {
        Format::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
    }
}

/// One `--export FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExportSpec {
    pub(crate) format: Format,
    /// A file, or for `otlp` the collector's URL.
    pub(crate) path: PathBuf,
}

impl ExportSpec {
    /// Parses `FORMAT=PATH`; the error names what was wrong and the choices.
    pub(crate) fn parse(text: &str) -> Result<ExportSpec, String> {
        let Some((name, path)) = text.split_once('=') else {
            return Err(format!("{text:?} is not FORMAT=PATH (formats: {})", Format::names()));
        };
        let Some(format) = Format::ALL.iter().find(|(_, n)| *n == name.trim()).map(|(f, _)| *f) else {
            return Err(format!("unknown export format {name:?} (formats: {})", Format::names()));
        };
        if path.trim().is_empty() {
            return Err(format!("--export {name}= needs a path after the `=`"));
        }
        if format == Format::Otlp {
            if !cfg!(feature = "otlp") {
                return Err("--export otlp=URL needs llmbench built with the cargo feature `otlp`; \
                            otlp-json=PATH writes the same metrics to a file"
                    .into());
            }
            if !(path.starts_with("http://") || path.starts_with("https://")) {
                return Err(format!(
                    "--export otlp={path}: give the collector's URL, e.g. http://127.0.0.1:4318/v1/metrics"
                ));
            }
        }
        Ok(ExportSpec { format, path: PathBuf::from(path) })
    }

    /// Whether the destination is a file (every format but `otlp`).
    pub(crate) fn is_file(&self) -> bool {
        self.format != Format::Otlp
    }

    /// The path made absolute against `cwd` (benchmark binaries run in their
    /// package's directory).
    pub(crate) fn absolute(&self, cwd: &Path) -> ExportSpec {
        if self.is_file() { ExportSpec { path: cwd.join(&self.path), ..self.clone() } } else { self.clone() }
    }
}

impl fmt::Display for ExportSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.format.name(), self.path.display())
    }
}

impl FromStr for ExportSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ExportSpec::parse(s)
    }
}

// As text, so `cargo llmbench` hands the flag over to its binaries as written.
impl serde::Serialize for ExportSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for ExportSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ExportSpec::parse(&text).map_err(serde::de::Error::custom)
    }
}
