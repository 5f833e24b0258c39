//! Counting tokens offline, to size synthetic prompts and to say how long
//! a prompt was before the server says it (docs/metrics.md
//! `input_tokens_generated`).
//!
//! The default is OpenAI's `o200k_base` BPE, whose ranks ship inside the
//! `tiktoken-rs` crate (cargo feature `tiktoken`, on by default): nothing
//! is downloaded at run time. A target may name a Hugging Face
//! `tokenizer.json` (`tokenizer = "…"`, cargo feature `hf-tokenizer`) for
//! the exact counts of its model. Without either feature, lengths are
//! estimated at four characters a token.

use std::fmt;
use std::path::Path;
#[cfg(feature = "hf-tokenizer")]
use std::sync::Arc;

/// A token counter.
#[derive(Clone)]
pub enum Tokenizer {
    /// OpenAI's `o200k_base` (GPT-4o and later), embedded in the binary.
    #[cfg(feature = "tiktoken")]
    O200k,
    /// A Hugging Face `tokenizer.json`.
    #[cfg(feature = "hf-tokenizer")]
    HuggingFace {
        /// The file it was read from, as configured.
        path: String,
        /// The parsed tokenizer.
        inner: Arc<tokenizers::Tokenizer>,
    },
    /// Four characters a token, never zero for non-empty text.
    Estimate,
}

impl Default for Tokenizer {
    /// `o200k_base` when built with it, else the estimate.
    fn default() -> Tokenizer {
        #[cfg(feature = "tiktoken")]
        return Tokenizer::O200k;
        #[cfg(not(feature = "tiktoken"))]
        Tokenizer::Estimate
    }
}

impl Tokenizer {
    /// Reads a Hugging Face `tokenizer.json`; the error says why it cannot
    /// be used (the caller names the file and key).
    pub fn from_file(path: &Path) -> Result<Tokenizer, String> {
        #[cfg(feature = "hf-tokenizer")]
        {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
            let inner = tokenizers::Tokenizer::from_bytes(&bytes)
                .map_err(|e| format!("not a Hugging Face tokenizer.json: {e}"))?;
            Ok(Tokenizer::HuggingFace { path: path.display().to_string(), inner: Arc::new(inner) })
        }
        #[cfg(not(feature = "hf-tokenizer"))]
        {
            let _ = path;
            Err("llmbench was built without the `hf-tokenizer` feature".into())
        }
    }

    /// How many tokens `text` is, without special tokens.
    pub fn count(&self, text: &str) -> u32 {
        match self {
            #[cfg(feature = "tiktoken")]
            Tokenizer::O200k => saturating_u32(tiktoken_rs::o200k_base_singleton().count_ordinary(text)),
            #[cfg(feature = "hf-tokenizer")]
            Tokenizer::HuggingFace { inner, .. } => match inner.encode(text, false) {
                Ok(encoding) => saturating_u32(encoding.len()),
                // Only a broken tokenizer fails on text; count as estimated.
                Err(_) => estimate(text),
            },
            Tokenizer::Estimate => estimate(text),
        }
    }

    /// What it is, for results: `o200k_base`, the file, or `estimate`.
    pub fn name(&self) -> &str {
        match self {
            #[cfg(feature = "tiktoken")]
            Tokenizer::O200k => "o200k_base",
            #[cfg(feature = "hf-tokenizer")]
            Tokenizer::HuggingFace { path, .. } => path,
            Tokenizer::Estimate => "estimate",
        }
    }

    /// Whether it only estimates.
    pub fn is_estimate(&self) -> bool {
        matches!(self, Tokenizer::Estimate)
    }
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokenizer({})", self.name())
    }
}

impl PartialEq for Tokenizer {
    fn eq(&self, other: &Tokenizer) -> bool {
        self.name() == other.name()
    }
}

impl serde::Serialize for Tokenizer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One token per four characters of English, OpenAI's rule of thumb, and
/// never zero for non-empty text.
pub fn estimate(text: &str) -> u32 {
    let chars = text.chars().count() as u32;
    if chars == 0 { 0 } else { chars.div_ceil(4) }
}

/// A token count as `u32`, saturating (no prompt is 4 billion tokens).
#[cfg(any(feature = "tiktoken", feature = "hf-tokenizer"))]
fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(Tokenizer::Estimate.count("abcdefgh"), 2);
        assert_eq!(Tokenizer::Estimate.count(""), 0);
        #[cfg(feature = "tiktoken")]
        {
            assert_eq!(Tokenizer::default().count("Hello, world"), 3);
            assert_eq!(Tokenizer::default().name(), "o200k_base");
        }
        let missing = Tokenizer::from_file(Path::new("/nonexistent/tokenizer.json")).unwrap_err();
        assert!(missing.starts_with("cannot read it") || missing.contains("without"), "{missing}");
    }

    #[cfg(feature = "hf-tokenizer")]
    #[test]
    fn a_file_that_does_not_parse_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, "{\"model\": 3}").unwrap();
        let e = Tokenizer::from_file(&path).unwrap_err();
        assert!(e.starts_with("not a Hugging Face tokenizer.json"), "{e}");
    }
}
