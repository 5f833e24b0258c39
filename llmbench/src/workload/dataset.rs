//! JSONL datasets and minijinja prompt templates.
//!
//! A dataset is one JSON object per line. Known fields:
//!
//! | field | meaning |
//! | --- | --- |
//! | `prompt` | the user prompt (a string) |
//! | `messages` | a whole conversation instead: `[{"role": "system"\|"user"\|"assistant", "content": "…"}]` |
//! | `system` | a system prompt for this entry |
//! | `max_tokens` | the output target for this entry |
//! | `expected` | what a correct answer contains (see `Check::Expected`) |
//!
//! Any other field is data for a template: with a template the entry needs
//! neither `prompt` nor `messages`; the template renders the user prompt
//! from the entry's fields (`{{ ticket.body }}`). Blank lines are skipped.
//! A bad line is an error naming the file and the line.
//!
//! Templates are minijinja with strict undefined values (a misspelt field is
//! an error, not an empty string) and no HTML escaping. An error names the
//! template and its line, and the dataset line being rendered.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::request::{Message, Role};

/// A dataset or template that cannot be used: names the file and line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A dataset line that is not a usable entry.
    #[error("{path}:{line}: {message}")]
    Dataset {
        /// The dataset file.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A template that does not parse or render.
    #[error("{path}:{line}: {message}")]
    Template {
        /// The template file.
        path: String,
        /// The 1-based line in the template.
        line: usize,
        /// What is wrong, and which dataset line was being rendered.
        message: String,
    },
    /// Anything else about the workload.
    #[error("{0}")]
    Invalid(String),
}

/// One dataset entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The 1-based line it came from.
    pub(crate) line: usize,
    /// The whole object, for templates.
    pub(crate) fields: Map<String, Value>,
    pub(crate) prompt: Option<String>,
    pub(crate) messages: Option<Vec<Message>>,
    pub(crate) system: Option<String>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) expected: Option<String>,
}

/// A parsed dataset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dataset {
    /// The file as the user named it.
    pub(crate) name: String,
    pub(crate) entries: Vec<Entry>,
}

static BASE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets where relative dataset and template paths start: a benchmark
/// binary's package root (its compile-time `CARGO_MANIFEST_DIR`), set once
/// by `llmbench::main!` before any benchmark function runs.
pub(crate) fn set_base_dir(dir: &Path) {
    let _ = BASE_DIR.set(dir.to_owned());
}

/// Where a relative dataset or template path points: under the benchmark
/// package's root, else under the current directory (e.g. in tests).
pub(crate) fn resolve(path: &Path) -> PathBuf {
    match BASE_DIR.get() {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_owned(),
    }
}

/// Reads a file the user named (for datasets and templates).
pub(crate) fn read(path: &Path) -> Result<String, WorkloadError> {
    std::fs::read_to_string(resolve(path))
        .map_err(|e| WorkloadError::Read { path: path.display().to_string(), message: e.to_string() })
}

impl Dataset {
    /// Parses JSONL `text` read from `name`.
    pub(crate) fn parse(name: &str, text: &str) -> Result<Dataset, WorkloadError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let bad = |message: String| WorkloadError::Dataset { path: name.to_owned(), line, message };
            let value: Value = serde_json::from_str(raw).map_err(|e| bad(format!("not valid JSON: {e}")))?;
            let Value::Object(fields) = value else {
                return Err(bad("each line must be a JSON object, e.g. {\"prompt\": \"…\"}".into()));
            };
            let string = |key: &str| -> Result<Option<String>, WorkloadError> {
                match fields.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(bad(format!("`{key}` must be a string, not {other}"))),
                }
            };
            let prompt = string("prompt")?;
            let system = string("system")?;
            let expected = string("expected")?;
            let max_tokens = match fields.get("max_tokens") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if n > 0 => Some(n),
                    _ => return Err(bad(format!("`max_tokens` must be a positive integer, not {v}"))),
                },
            };
            let messages = match fields.get("messages") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => Some(messages(items).map_err(&bad)?),
                Some(other) => return Err(bad(format!("`messages` must be an array, not {other}"))),
            };
            if prompt.is_some() && messages.is_some() {
                return Err(bad("give `prompt` or `messages`, not both".into()));
            }
            entries.push(Entry { line, fields, prompt, messages, system, max_tokens, expected });
        }
        if entries.is_empty() {
            return Err(WorkloadError::Invalid(format!("{name}: the dataset has no entries")));
        }
        Ok(Dataset { name: name.to_owned(), entries })
    }
}

fn messages(items: &[Value]) -> Result<Vec<Message>, String> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = match item.get("role").and_then(Value::as_str) {
            Some("system") => Role::System,
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => return Err(format!("messages[{i}].role must be system, user or assistant, not {other:?}")),
        };
        let Some(content) = item.get("content").and_then(Value::as_str) else {
            return Err(format!("messages[{i}].content must be a string"));
        };
        out.push(Message::new(role, content.to_owned()));
    }
    if !out.iter().any(|m| m.role == Role::User) {
        return Err("`messages` needs at least one user message".into());
    }
    Ok(out)
}

/// The prompt templates of a workload.
#[derive(Debug, Clone)]
pub(crate) struct Templates {
    env: Environment<'static>,
    pub(crate) user: Option<String>,
    pub(crate) system: Option<String>,
}

impl Templates {
    pub(crate) fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        Templates { env, user: None, system: None }
    }

    /// Adds template `name` (its file name, for errors) with `source`.
    pub(crate) fn add(&mut self, name: &str, source: String) -> Result<(), WorkloadError> {
        check_nesting(name, &source)?;
        self.env.add_template_owned(name.to_owned(), source).map_err(|e| template_error(name, &e, None))
    }

    /// The source of template `name`, if it was added.
    pub(crate) fn source(&self, name: &str) -> Option<String> {
        self.env.get_template(name).ok().map(|t| t.source().to_owned())
    }

    /// Renders template `name` with an entry's fields.
    pub(crate) fn render(&self, name: &str, entry: &Entry, dataset: &str) -> Result<String, WorkloadError> {
        let at = || format!("{dataset}:{}", entry.line);
        let template = self.env.get_template(name).map_err(|e| template_error(name, &e, Some(at())))?;
        let ctx = minijinja::Value::from(minijinja::value::Serde(&entry.fields));
        template.render(ctx).map(|s| s.trim().to_owned()).map_err(|e| template_error(name, &e, Some(at())))
    }
}

impl PartialEq for Templates {
    fn eq(&self, other: &Templates) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => self.source(a) == other.source(b),
            (None, None) => true,
            _ => false,
        };
        same(&self.user, &other.user) && same(&self.system, &other.system)
    }
}

/// How deep an expression in a template tag may nest: brackets, and unary
/// `-` signs in a row. minijinja's parser recurses once per unary `-`
/// outside its recursion guard, and its guard lets 150 brackets nest, so a
/// few thousand of either overflow the stack: an abort, not an error (found
/// by fuzzing). No prompt template nests this deep.
const MAX_NESTING: usize = 32;

/// Refuses a template whose tags (`{{ }}`, `{% %}`) nest deeper than
/// [`MAX_NESTING`], naming its line; text outside tags and string literals
/// inside them are not counted.
fn check_nesting(name: &str, source: &str) -> Result<(), WorkloadError> {
    let bytes = source.as_bytes();
    let (mut in_tag, mut depth, mut minus, mut line, mut i) = (false, 0usize, 0usize, 1usize, 0usize);
    while i < bytes.len() {
        let (b, next) = (bytes[i], bytes.get(i + 1).copied());
        line += usize::from(b == b'\n');
        if !in_tag {
            in_tag = b == b'{' && matches!(next, Some(b'{' | b'%'));
            (depth, minus, i) = (0, 0, i + if in_tag { 2 } else { 1 });
            continue;
        }
        match b {
            b'}' | b'%' if depth == 0 && next == Some(b'}') => (in_tag, i) = (false, i + 1),
            b'"' | b'\'' => {
                // A string literal: to its closing quote, escapes skipped.
                i += 1;
                while i < bytes.len() && bytes[i] != b {
                    line += usize::from(bytes[i] == b'\n');
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                minus = 0;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' => minus += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => minus = 0,
        }
        if depth > MAX_NESTING || minus > MAX_NESTING {
            let message = format!(
                "an expression nests deeper than {MAX_NESTING} (brackets, or `-` signs in a row): not a prompt template llmbench renders"
            );
            return Err(WorkloadError::Template { path: name.to_owned(), line, message });
        }
        i += 1;
    }
    Ok(())
}

fn template_error(name: &str, e: &minijinja::Error, rendering: Option<String>) -> WorkloadError {
    let mut message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(at) = rendering {
        message.push_str(&format!(" (rendering the entry at {at})"));
    }
    WorkloadError::Template { path: e.name().unwrap_or(name).to_owned(), line: e.line().unwrap_or(0), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse() {
        let text = r#"{"prompt": "hi", "max_tokens": 64, "expected": "hello"}

{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}
{"ticket": {"body": "my card was charged twice"}}
"#;
        let d = Dataset::parse("d.jsonl", text).unwrap();
        assert_eq!(d.entries.len(), 3);
        assert_eq!(d.entries[0].max_tokens, Some(64));
        assert_eq!(d.entries[1].line, 3);
        assert_eq!(d.entries[1].messages.as_ref().unwrap()[1].role, Role::User);
        assert!(d.entries[2].prompt.is_none());
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        for (text, line, why) in [
            ("{\"prompt\": \"a\"}\n{\"prompt\": }\n", 2, "not valid JSON"),
            ("[1, 2]\n", 1, "must be a JSON object"),
            ("\n\n{\"prompt\": 3}\n", 3, "`prompt` must be a string"),
            ("{\"prompt\": \"a\", \"max_tokens\": 0}\n", 1, "`max_tokens` must be a positive integer"),
            ("{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n", 1, "messages[0].role"),
            ("{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}\n", 1, "at least one user message"),
            ("{\"prompt\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n", 1, "not both"),
        ] {
            let err = Dataset::parse("data/x.jsonl", text).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("data/x.jsonl:{line}: ")), "{msg}");
            assert!(msg.contains(why), "{msg}");
        }
        assert!(Dataset::parse("e.jsonl", "\n").unwrap_err().to_string().contains("no entries"));
    }

    #[test]
    fn templates_render_and_errors_name_the_template_line_and_entry() {
        let d = Dataset::parse(
            "t.jsonl",
            "{\"ticket\": {\"body\": \"charged twice\", \"id\": 7}}\n{\"ticket\": {\"id\": 8}}\n",
        )
        .unwrap();
        let mut t = Templates::new();
        t.add("p.j2", "Ticket {{ ticket.id }}:\n{{ ticket.body }}\n".into()).unwrap();
        assert_eq!(t.render("p.j2", &d.entries[0], "t.jsonl").unwrap(), "Ticket 7:\ncharged twice");
        let err = t.render("p.j2", &d.entries[1], "t.jsonl").unwrap_err().to_string();
        assert!(err.starts_with("p.j2:2: undefined value"), "{err}");
        assert!(err.contains("rendering the entry at t.jsonl:2"), "{err}");
        let err = t.add("bad.j2", "line one\n{{ ticket.body \n".into()).unwrap_err().to_string();
        assert!(err.starts_with("bad.j2:2: syntax error"), "{err}");
        // Nesting minijinja's parser would recurse on until the stack
        // overflows is refused first, naming the line; strings and text
        // outside tags do not count.
        let deep = format!("a\nb {{{{ x{} }}}}", " -".repeat(40));
        let err = t.add("deep.j2", deep).unwrap_err().to_string();
        assert!(err.starts_with("deep.j2:2: an expression nests deeper than 32"), "{err}");
        let err = t.add("brackets.j2", format!("{{% if {}1 %}}", "(".repeat(5000))).unwrap_err().to_string();
        assert!(err.starts_with("brackets.j2:1: "), "{err}");
        let fine = format!("{}\n{{{{ '{}' }}}} {{{{ {{'a': [1, (2)]}} }}}}", "-".repeat(80), "-".repeat(80));
        t.add("fine.j2", fine).unwrap();
        // Not HTML-escaped: prompts are not web pages.
        let mut t = Templates::new();
        t.add("q.html", "{{ ticket.body }}".into()).unwrap();
        let d = Dataset::parse("t.jsonl", "{\"ticket\": {\"body\": \"a < b & c\"}}").unwrap();
        assert_eq!(t.render("q.html", &d.entries[0], "t.jsonl").unwrap(), "a < b & c");
    }
}
