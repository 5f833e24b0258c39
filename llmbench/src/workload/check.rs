//! Response checks: fast garbage is still garbage. A response that arrived
//! but fails a check becomes a request of class `check`, counted in the
//! level's correctness rate and never in its goodput.
//!
//! Checks run after the level, on the captured output text, off the
//! measured path.
//!
//! `json_schema` supports a documented subset of JSON Schema, enough for
//! "the model answered in the shape my app parses": `type` (a name or a
//! list), `properties`, `required`, `additionalProperties` (a boolean),
//! `items`, `enum`, `const`, `minimum`, `maximum`, `minLength`,
//! `maxLength`, `minItems` and `maxItems`. Other keywords are ignored.

use std::fmt;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::record::ToolCallText;
use crate::request::Tool;

/// What a response check sees.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The output text (reasoning included, as streamed; tool-call
    /// arguments are in `tool_calls`).
    pub text: &'a str,
    /// The dataset entry's `expected` field, if any.
    pub expected: Option<&'a str>,
    /// Output tokens, as counted for the record.
    pub output_tokens: u64,
    /// The request's index in its level.
    pub index: u64,
    /// The tool calls the response made, with their argument text.
    pub tool_calls: &'a [ToolCallText],
    /// The tools the workload declared.
    pub tools: &'a [Tool],
}

/// What a check closure may return: `bool`, or `Result<(), E>` with a
/// displayable error that says what was wrong.
pub trait CheckOutcome {
    /// `Ok` when the response passed.
    fn into_outcome(self) -> Result<(), String>;
}

impl CheckOutcome for bool {
    fn into_outcome(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("the check returned false".into()) }
    }
}

impl<E: fmt::Display> CheckOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// A check function, as `#[llm_bench(check = …)]` registers it.
pub type CheckFn = fn(&Response<'_>) -> Result<(), String>;

/// A declarative response check, set on a [`Workload`](super::Workload).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Check {
    /// The text contains this substring.
    Contains {
        /// The substring.
        needle: String,
    },
    /// The text matches this regular expression.
    Regex {
        /// The pattern.
        #[serde(serialize_with = "regex_str")]
        pattern: Regex,
    },
    /// The text is valid JSON (surrounding whitespace and a Markdown code
    /// fence are tolerated).
    Json,
    /// The text is JSON matching this schema (the subset in the module docs).
    JsonSchema {
        /// The schema.
        schema: Value,
    },
    /// The text contains the dataset entry's `expected` (case-insensitive);
    /// entries without one pass.
    Expected,
    /// The response called a declared tool, and each call's arguments are
    /// JSON matching that tool's schema (the subset above).
    ToolCall,
}

fn regex_str<S: serde::Serializer>(re: &Regex, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(re.as_str())
}

impl Check {
    /// Applies the check.
    pub fn apply(&self, resp: &Response<'_>) -> Result<(), String> {
        match self {
            Check::Contains { needle } => {
                if resp.text.contains(needle.as_str()) {
                    Ok(())
                } else {
                    Err(format!("response does not contain {needle:?}"))
                }
            }
            Check::Regex { pattern } => {
                if pattern.is_match(resp.text) {
                    Ok(())
                } else {
                    Err(format!("response does not match /{}/", pattern.as_str()))
                }
            }
            Check::Json => parse_json(resp.text).map(|_| ()),
            Check::JsonSchema { schema } => validate(schema, &parse_json(resp.text)?, "$"),
            Check::Expected => match resp.expected {
                Some(expected) if !resp.text.to_lowercase().contains(&expected.to_lowercase()) => {
                    Err(format!("response does not contain the expected {expected:?}"))
                }
                _ => Ok(()),
            },
            Check::ToolCall => {
                if resp.tool_calls.is_empty() {
                    return Err("the response called no tool".into());
                }
                for call in resp.tool_calls {
                    let Some(tool) = resp.tools.iter().find(|t| t.name == call.name) else {
                        return Err(format!("the response called {:?}, which is not a declared tool", call.name));
                    };
                    let args: Value = serde_json::from_str(call.arguments.trim())
                        .map_err(|e| format!("the arguments of {} are not valid JSON: {e}", call.name))?;
                    validate(&tool.parameters, &args, "$").map_err(|e| format!("{} arguments: {e}", call.name))?;
                }
                Ok(())
            }
        }
    }
}

/// Parses a response as JSON, tolerating a Markdown code fence.
fn parse_json(text: &str) -> Result<Value, String> {
    let mut t = text.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        t = rest.strip_suffix("```").unwrap_or(rest).trim();
    }
    serde_json::from_str(t).map_err(|e| format!("response is not valid JSON: {e}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Validates `v` at JSON path `at` against the schema subset.
fn validate(schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else { return Ok(()) };
    if let Some(ty) = s.get("type") {
        let allowed: Vec<&str> = match ty {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = type_name(v);
        let ok = allowed.iter().any(|&t| t == actual || (t == "number" && actual == "integer"));
        if !allowed.is_empty() && !ok {
            return Err(format!("{at}: expected {}, got {actual}", allowed.join(" or ")));
        }
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {}", Value::Array(options.clone())));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return Err(format!("{at}: expected {c}, got {v}"));
    }
    let bound = |key: &str| s.get(key).and_then(Value::as_f64);
    if let Some(n) = v.as_f64() {
        if let Some(min) = bound("minimum").filter(|m| n < *m) {
            return Err(format!("{at}: {n} is below the minimum {min}"));
        }
        if let Some(max) = bound("maximum").filter(|m| n > *m) {
            return Err(format!("{at}: {n} is above the maximum {max}"));
        }
    }
    let count = |len: usize, lo: &str, hi: &str, what: &str| -> Result<(), String> {
        if let Some(min) = bound(lo).filter(|m| (len as f64) < *m) {
            return Err(format!("{at}: {len} {what}, fewer than {min}"));
        }
        if let Some(max) = bound(hi).filter(|m| (len as f64) > *m) {
            return Err(format!("{at}: {len} {what}, more than {max}"));
        }
        Ok(())
    };
    match v {
        Value::String(text) => count(text.chars().count(), "minLength", "maxLength", "characters")?,
        Value::Array(items) => {
            count(items.len(), "minItems", "maxItems", "items")?;
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{at}[{i}]"))?;
                }
            }
        }
        Value::Object(map) => {
            if let Some(Value::Array(required)) = s.get("required") {
                for key in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(key) {
                        return Err(format!("{at}: missing required property {key:?}"));
                    }
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (key, value) in map {
                match props.and_then(|p| p.get(key)) {
                    Some(prop_schema) => validate(prop_schema, value, &format!("{at}.{key}"))?,
                    None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return Err(format!("{at}: unexpected property {key:?}"));
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(text: &str) -> Response<'_> {
        Response { text, expected: None, output_tokens: 1, index: 0, tool_calls: &[], tools: &[] }
    }

    #[test]
    fn tool_calls_are_checked_against_the_declared_schema() {
        let tools = [Tool {
            name: "get_weather".into(),
            description: "d".into(),
            parameters: serde_json::json!({"type": "object", "required": ["city"],
                                           "properties": {"city": {"type": "string"}}}),
        }];
        let call = |name: &str, arguments: &str| ToolCallText {
            name: name.into(),
            arguments: arguments.into(),
            ..ToolCallText::default()
        };
        let check =
            |calls: &[ToolCallText]| Check::ToolCall.apply(&Response { tool_calls: calls, tools: &tools, ..resp("") });
        assert_eq!(check(&[call("get_weather", r#"{"city": "Paris"}"#)]), Ok(()));
        assert_eq!(check(&[]), Err("the response called no tool".into()));
        assert!(check(&[call("get_time", "{}")]).unwrap_err().contains("not a declared tool"));
        assert!(check(&[call("get_weather", r#"{"city": "Par"#)]).unwrap_err().contains("not valid JSON"));
        assert_eq!(
            check(&[call("get_weather", r#"{"city": 7}"#)]),
            Err("get_weather arguments: $.city: expected string, got integer".into())
        );
        assert!(check(&[call("get_weather", "{}")]).unwrap_err().contains("missing required property \"city\""));
    }

    #[test]
    fn text_checks() {
        assert!(Check::Contains { needle: "refund".into() }.apply(&resp("we will refund you")).is_ok());
        assert!(Check::Contains { needle: "refund".into() }.apply(&resp("no")).unwrap_err().contains("\"refund\""));
        let re = Check::Regex { pattern: Regex::new(r"^\d+$").unwrap() };
        assert!(re.apply(&resp("42")).is_ok());
        assert!(re.apply(&resp("forty-two")).unwrap_err().contains(r"/^\d+$/"));
        let e = Check::Expected;
        assert!(e.apply(&Response { expected: Some("Paris"), ..resp("it is paris.") }).is_ok());
        assert!(e.apply(&Response { expected: Some("Paris"), ..resp("Lyon") }).is_err());
        assert!(e.apply(&resp("anything")).is_ok());
        assert_eq!(true.into_outcome(), Ok(()));
        assert_eq!(Err::<(), _>("bad").into_outcome(), Err("bad".to_owned()));
    }

    #[test]
    fn json_and_schema() {
        assert!(Check::Json.apply(&resp("```json\n{\"a\": 1}\n```")).is_ok());
        assert!(Check::Json.apply(&resp("{\"a\": ")).unwrap_err().contains("not valid JSON"));
        let schema = serde_json::json!({
            "type": "object",
            "required": ["category", "priority"],
            "additionalProperties": false,
            "properties": {
                "category": { "enum": ["billing", "bug", "account"] },
                "priority": { "type": "integer", "minimum": 1, "maximum": 4 },
                "tags": { "type": "array", "items": { "type": "string", "maxLength": 12 }, "maxItems": 3 }
            }
        });
        let c = Check::JsonSchema { schema };
        assert!(c.apply(&resp(r#"{"category": "bug", "priority": 2, "tags": ["login"]}"#)).is_ok());
        for (text, why) in [
            (r#"{"category": "bug"}"#, "missing required property \"priority\""),
            (r#"{"category": "spam", "priority": 2}"#, "$.category: \"spam\" is not one of"),
            (r#"{"category": "bug", "priority": 9}"#, "$.priority: 9 is above the maximum 4"),
            (r#"{"category": "bug", "priority": 1.5}"#, "$.priority: expected integer, got number"),
            (r#"{"category": "bug", "priority": 1, "x": 0}"#, "unexpected property \"x\""),
            (r#"{"category": "bug", "priority": 1, "tags": ["a-very-long-tag"]}"#, "$.tags[0]: 15 characters"),
            ("[1]", "$: expected object, got array"),
        ] {
            let err = c.apply(&resp(text)).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
