//! Production-shaped traces, replayed at their own timestamps: when each
//! request arrived, how long its prompt and answer were, and which blocks
//! of its prompt it shared with others. Four formats, told apart by their
//! header or first line:
//!
//! | format | file | fields |
//! | --- | --- | --- |
//! | Mooncake | JSONL | `timestamp` (ms), `input_length`, `output_length`, `hash_ids` (shared 512-token blocks) |
//! | BurstGPT | CSV | `Timestamp` (s), `Request tokens`, `Response tokens` (other columns ignored) |
//! | Azure LLM inference | CSV | `TIMESTAMP` (`2023-11-16 18:15:46.6805900`), `ContextTokens`, `GeneratedTokens` |
//! | generic | JSONL | `timestamp_ms`, `input_tokens`, `output_tokens`, optional `hash_ids` |
//!
//! Prompts are generated to the traced lengths; a block id stands for the
//! same 512 tokens of text wherever it appears, so requests that share
//! blocks share a prompt prefix and a prefix cache can hit. A line that
//! does not parse is an error naming the file, the line and the key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::dataset::WorkloadError;
use crate::rng::Rng;
use crate::tokenizer::Tokenizer;

/// Tokens per shared block (`hash_ids`), as in the Mooncake trace.
pub(crate) const BLOCK_TOKENS: u32 = 512;

/// A trace's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    /// Mooncake's JSONL (`timestamp`, `input_length`, `output_length`, `hash_ids`).
    Mooncake,
    /// BurstGPT's CSV.
    BurstGpt,
    /// The Azure LLM inference trace's CSV.
    Azure,
    /// llmbench's generic JSONL (`timestamp_ms`, `input_tokens`, `output_tokens`, `hash_ids`).
    Generic,
}

/// One traced request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TraceEntry {
    /// When it arrived, µs after the trace's first request.
    pub(crate) at_us: u64,
    pub(crate) input: u32,
    pub(crate) output: u32,
    /// Its prompt's shared blocks, in order.
    pub(crate) blocks: Vec<u64>,
}

/// A parsed trace, with the text of its blocks as they are generated.
#[derive(Debug)]
pub(crate) struct Trace {
    pub(crate) name: String,
    pub(crate) format: TraceFormat,
    pub(crate) entries: Vec<TraceEntry>,
    /// Block text by (block id, tokens): generated once, shared by every
    /// request that names the block.
    blocks: Mutex<HashMap<(u64, u32), Arc<str>>>,
}

impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        self.name == other.name && self.format == other.format && self.entries == other.entries
    }
}

/// A trace as a workload source; a parse error is kept for `validate`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TraceRef(pub(crate) Arc<Result<Trace, WorkloadError>>);

impl Serialize for TraceRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Trace", 3)?;
        let trace = self.0.as_ref().as_ref().ok();
        st.serialize_field("file", &trace.map_or("", |t| t.name.as_str()))?;
        st.serialize_field("format", &trace.map(|t| t.format))?;
        st.serialize_field("requests", &trace.map_or(0, |t| t.entries.len()))?;
        st.end()
    }
}

impl Trace {
    /// Parses `text` read from `name`, its format told by its first line.
    pub(crate) fn parse(name: &str, text: &str) -> Result<Trace, WorkloadError> {
        let first = text.lines().position(|l| !l.trim().is_empty());
        let Some(first) = first else {
            return Err(WorkloadError::Invalid(format!("{name}: the trace has no requests")));
        };
        let head = text.lines().nth(first).unwrap_or("").trim();
        let (format, mut entries) = if head.starts_with('{') {
            let format = if head.contains("\"input_length\"") { TraceFormat::Mooncake } else { TraceFormat::Generic };
            (format, jsonl(name, text, format)?)
        } else {
            csv(name, text, first)?
        };
        if entries.is_empty() {
            return Err(WorkloadError::Invalid(format!("{name}: the trace has no requests")));
        }
        // Replay follows time; a trace merged from several sources may not.
        entries.sort_by_key(|e| e.at_us);
        let t0 = entries[0].at_us;
        entries.iter_mut().for_each(|e| e.at_us -= t0);
        Ok(Trace { name: name.to_owned(), format, entries, blocks: Mutex::default() })
    }

    /// The mean arrival rate of the trace, requests per second.
    pub(crate) fn mean_rate(&self) -> f64 {
        let span = self.entries.last().map_or(0, |e| e.at_us) as f64 / 1e6;
        if span > 0.0 { (self.entries.len() - 1) as f64 / span } else { 0.0 }
    }

    /// When request `i` is due, from the start, with the trace's clock
    /// divided by `speed`. Past the trace's end it starts again, one mean
    /// gap after its last request.
    pub(crate) fn offset(&self, i: u64, speed: f64) -> Duration {
        let n = self.entries.len() as u64;
        let span = self.entries.last().map_or(0, |e| e.at_us);
        let gap = if n > 1 { span / (n - 1) } else { 1_000_000 };
        let lap = i / n;
        let at = lap * (span + gap) + self.entries[(i % n) as usize].at_us;
        Duration::from_secs_f64(at as f64 / 1e6 / speed.max(1e-9))
    }

    /// The prompt of entry `e`: its shared blocks, then text of its own to
    /// the traced length (drawn from `rng`).
    pub(crate) fn prompt(&self, e: &TraceEntry, seed: u64, rng: &mut Rng, tokenizer: &Tokenizer) -> String {
        let mut parts: Vec<Arc<str>> = Vec::new();
        let mut left = e.input.max(1);
        for &block in &e.blocks {
            if left == 0 {
                break;
            }
            let tokens = left.min(BLOCK_TOKENS);
            left -= tokens;
            parts.push(self.block(block, tokens, seed, tokenizer));
        }
        let mut text = parts.join(" ");
        if left > 0 {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&super::synthetic::prompt(rng, left, tokenizer));
        }
        text
    }

    fn block(&self, id: u64, tokens: u32, seed: u64, tokenizer: &Tokenizer) -> Arc<str> {
        let mut blocks = self.blocks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        blocks
            .entry((id, tokens))
            .or_insert_with(|| {
                let mut rng = Rng::for_item(seed ^ 0xB10C_0000, id);
                super::synthetic::prompt(&mut rng, tokens, tokenizer).into()
            })
            .clone()
    }
}

/// The entries of a JSONL trace.
fn jsonl(name: &str, text: &str, format: TraceFormat) -> Result<Vec<TraceEntry>, WorkloadError> {
    let (time_key, scale, input_key, output_key) = match format {
        TraceFormat::Mooncake => ("timestamp", 1000.0, "input_length", "output_length"),
        _ => ("timestamp_ms", 1000.0, "input_tokens", "output_tokens"),
    };
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |message: String| WorkloadError::Dataset { path: name.to_owned(), line: i + 1, message };
        let value: Value = serde_json::from_str(raw).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let Value::Object(fields) = value else { return Err(bad("each line must be a JSON object".into())) };
        let number = |key: &str| -> Result<f64, WorkloadError> {
            match fields.get(key).and_then(Value::as_f64) {
                Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
                Some(_) => Err(bad(format!("{key}: must be a number of at least 0, not {}", fields[key]))),
                None => Err(bad(format!("{key}: missing or not a number"))),
            }
        };
        let at_us = (number(time_key)? * scale) as u64;
        let input = tokens(number(input_key)?, input_key).map_err(&bad)?;
        let output = tokens(number(output_key)?, output_key).map_err(&bad)?;
        let blocks = match fields.get("hash_ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    v.as_u64().ok_or_else(|| bad(format!("hash_ids[{k}]: must be a non-negative integer, not {v}")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(bad(format!("hash_ids: must be an array of block ids, not {other}"))),
        };
        out.push(TraceEntry { at_us, input, output, blocks });
    }
    Ok(out)
}

/// A token count from a trace: whole, at least 1 (a trace's zero-length
/// answers are failed requests; replay asks for one token).
fn tokens(v: f64, key: &str) -> Result<u32, String> {
    if v > f64::from(u32::MAX) {
        return Err(format!("{key}: {v} tokens is more than any model takes"));
    }
    Ok((v.round() as u32).max(1))
}

/// The entries of a CSV trace (BurstGPT or Azure), told by the header on
/// line `header + 1`.
fn csv(name: &str, text: &str, header: usize) -> Result<(TraceFormat, Vec<TraceEntry>), WorkloadError> {
    let lines: Vec<&str> = text.lines().collect();
    let columns: Vec<&str> = lines[header].split(',').map(str::trim).collect();
    let find = |col: &str| columns.iter().position(|c| c.eq_ignore_ascii_case(col));
    let (format, time, input, output) =
        match (find("Timestamp"), find("Request tokens"), find("Response tokens"), find("ContextTokens")) {
            (Some(t), Some(i), Some(o), _) => (TraceFormat::BurstGpt, t, i, o),
            (_, _, _, Some(i)) => match (find("TIMESTAMP"), find("GeneratedTokens")) {
                (Some(t), Some(o)) => (TraceFormat::Azure, t, i, o),
                _ => return Err(unknown_header(name, header)),
            },
            _ => return Err(unknown_header(name, header)),
        };
    let mut out = Vec::new();
    for (i, raw) in lines.iter().enumerate().skip(header + 1) {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |message: String| WorkloadError::Dataset { path: name.to_owned(), line: i + 1, message };
        let cells: Vec<&str> = raw.split(',').map(str::trim).collect();
        let cell =
            |k: usize| cells.get(k).copied().ok_or_else(|| bad(format!("{}: missing (the row is short)", columns[k])));
        let number = |k: usize| -> Result<f64, WorkloadError> {
            let text = cell(k)?;
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(bad(format!("{}: expected a number of at least 0, not {text:?}", columns[k]))),
            }
        };
        let at_us = match format {
            TraceFormat::Azure => {
                let text = cell(time)?;
                datetime_us(text).ok_or_else(|| {
                    bad(format!("{}: expected a time like 2023-11-16 18:15:46.68, not {text:?}", columns[time]))
                })?
            }
            _ => (number(time)? * 1e6) as u64,
        };
        let input = tokens(number(input)?, columns[input]).map_err(&bad)?;
        let output = tokens(number(output)?, columns[output]).map_err(&bad)?;
        out.push(TraceEntry { at_us, input, output, blocks: Vec::new() });
    }
    Ok((format, out))
}

fn unknown_header(name: &str, header: usize) -> WorkloadError {
    WorkloadError::Dataset {
        path: name.to_owned(),
        line: header + 1,
        message: "header: not a known trace (BurstGPT: Timestamp,…,Request tokens,Response tokens; Azure: \
                  TIMESTAMP,ContextTokens,GeneratedTokens; or JSONL, docs/load.md \"Trace replay\")"
            .into(),
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fraction]` as µs since 1970 (UTC; only
/// differences matter).
fn datetime_us(text: &str) -> Option<u64> {
    let (date, time) = text.trim().split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.trim_end_matches('Z').split(':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let secs: f64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || !(0..24).contains(&h) || !(0..60).contains(&min) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let whole = days * 86_400 + h * 3600 + min * 60;
    u64::try_from(whole).ok().map(|s| s * 1_000_000 + (secs * 1e6).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_parses_to_offsets_and_lengths() {
        let mooncake = "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 20, \"hash_ids\": [1, 2]}\n\
                        {\"timestamp\": 0, \"input_length\": 700, \"output_length\": 10, \"hash_ids\": [1, 3]}\n";
        let t = Trace::parse("m.jsonl", mooncake).unwrap();
        assert_eq!(t.format, TraceFormat::Mooncake);
        assert_eq!(t.entries[0], TraceEntry { at_us: 0, input: 700, output: 10, blocks: vec![1, 3] }, "sorted by time");
        assert_eq!(t.entries[1].at_us, 1_000_000);
        let burst = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
                     5,ChatGPT,472,18,490,Conversation log\n5.5,GPT-4,1087,0,1087,API log\n";
        let t = Trace::parse("b.csv", burst).unwrap();
        assert_eq!(t.format, TraceFormat::BurstGpt);
        assert_eq!((t.entries[1].at_us, t.entries[1].input, t.entries[1].output), (500_000, 1087, 1));
        let azure = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n\
                     2023-11-16 18:15:50.9951690,396,109\n";
        let t = Trace::parse("a.csv", azure).unwrap();
        assert_eq!(t.format, TraceFormat::Azure);
        assert_eq!(t.entries[1].at_us, 4_314_579);
        let generic = "{\"timestamp_ms\": 0, \"input_tokens\": 50, \"output_tokens\": 5}\n";
        assert_eq!(Trace::parse("g.jsonl", generic).unwrap().format, TraceFormat::Generic);
        assert_eq!(datetime_us("1970-01-02 00:00:01.5"), Some(86_401_500_000));
    }

    #[test]
    fn a_malformed_line_names_the_file_line_and_key() {
        let cases = [
            (
                "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n{\"timestamp\": 1, \"input_length\": \"x\", \"output_length\": 1}",
                "m.jsonl:2: input_length: missing or not a number",
            ),
            (
                "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [1, -2]}",
                "m.jsonl:1: hash_ids[1]",
            ),
            (
                "{\"timestamp_ms\": -4, \"input_tokens\": 5, \"output_tokens\": 1}",
                "m.jsonl:1: timestamp_ms: must be a number",
            ),
            (
                "Timestamp,Model,Request tokens,Response tokens\n1,m,abc,3",
                "m.jsonl:2: Request tokens: expected a number",
            ),
            ("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,2", "m.jsonl:2: TIMESTAMP: expected a time"),
            ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1", "m.jsonl:2: GeneratedTokens: missing"),
            ("when,what\n1,2", "m.jsonl:1: header: not a known trace"),
            ("{\"timestamp\": 0, \"input_length\": 5", "m.jsonl:1: not valid JSON"),
        ];
        for (text, expected) in cases {
            let err = Trace::parse("m.jsonl", text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
    }

    #[test]
    fn the_sample_traces_parse_in_their_formats() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/datasets/traces");
        for (file, format) in [
            ("mooncake_sample.jsonl", TraceFormat::Mooncake),
            ("burstgpt_sample.csv", TraceFormat::BurstGpt),
            ("azure_sample.csv", TraceFormat::Azure),
            ("generic_sample.jsonl", TraceFormat::Generic),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let t = Trace::parse(file, &text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(t.format, format, "{file}");
            assert!(t.entries.len() >= 10 && t.mean_rate() > 0.0, "{file}: {} requests", t.entries.len());
        }
    }

    #[test]
    fn offsets_scale_and_wrap() {
        let text = "{\"timestamp_ms\": 0, \"input_tokens\": 5, \"output_tokens\": 1}\n\
                    {\"timestamp_ms\": 1000, \"input_tokens\": 5, \"output_tokens\": 1}\n\
                    {\"timestamp_ms\": 3000, \"input_tokens\": 5, \"output_tokens\": 1}\n";
        let t = Trace::parse("g.jsonl", text).unwrap();
        assert_eq!(t.mean_rate(), 2.0 / 3.0);
        assert_eq!(t.offset(2, 1.0), Duration::from_secs(3));
        assert_eq!(t.offset(2, 2.0), Duration::from_millis(1500));
        assert_eq!(t.offset(3, 1.0), Duration::from_millis(4500), "a second lap, one mean gap after the end");
    }

    #[test]
    fn shared_blocks_make_shared_prefixes() {
        let text = "{\"timestamp_ms\": 0, \"input_tokens\": 700, \"output_tokens\": 1, \"hash_ids\": [7, 8]}\n\
                    {\"timestamp_ms\": 1, \"input_tokens\": 600, \"output_tokens\": 1, \"hash_ids\": [7, 9]}\n";
        let t = Trace::parse("g.jsonl", text).unwrap();
        let tk = Tokenizer::default();
        let a = t.prompt(&t.entries[0], 0, &mut Rng::new(1), &tk);
        let b = t.prompt(&t.entries[1], 0, &mut Rng::new(2), &tk);
        let first = t.block(7, BLOCK_TOKENS, 0, &tk);
        assert!(a.starts_with(&*first) && b.starts_with(&*first), "block 7 opens both prompts");
        assert_ne!(a[first.len()..].get(..40), b[first.len()..].get(..40));
        let n = tk.count(&a);
        assert!((690..=710).contains(&n), "{n} tokens for 700");
    }
}
