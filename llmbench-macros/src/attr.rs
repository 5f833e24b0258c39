//! The options of `#[llm_bench(...)]`: parsing and compile-time validation.
//!
//! Everything that can be checked without types is checked here, with an
//! error spanned at the offending key or value. What needs types (`ignore`
//! being a `bool`, the function returning a `Workload`) is left to rustc
//! through the expansion. This module knows nothing about the code generated.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Ident, Lit, LitInt, LitStr, Path, Result, Token, UnOp};

/// Every key `#[llm_bench]` accepts, in the order the docs present them.
const VALID_KEYS: &str = "name, samples, warmup, concurrency, targets, timeout, rate, arrival, duration, grace, \
                          stages, sweep, max_in_flight, slo, check, params, limits, ignore, crate";

/// The generation parameters a grid can vary (`Workload::with_param`).
const PARAM_KEYS: [&str; 7] =
    ["temperature", "top_p", "max_tokens", "output_tokens", "input_tokens", "seed", "exact_output"];

/// The validated options of one `#[llm_bench(...)]`.
#[derive(Default)]
pub(crate) struct Options {
    /// `crate = path`: where the `llmbench` crate is (default `::llmbench`).
    pub(crate) krate: Option<Path>,
    /// `name = "…"`: the benchmark id instead of the function name.
    pub(crate) name: Option<LitStr>,
    /// `samples = N`, N ≥ 1.
    pub(crate) samples: Option<u32>,
    /// `warmup = N`, N ≥ 0.
    pub(crate) warmup: Option<u32>,
    /// `concurrency = [1, 8]`: distinct levels, each ≥ 1; empty if absent.
    pub(crate) concurrency: Vec<u32>,
    /// `targets = ["a", "b"]`: distinct non-empty names; empty if absent.
    pub(crate) targets: Vec<LitStr>,
    /// `timeout = "30s"`, in milliseconds, > 0.
    pub(crate) timeout_ms: Option<u64>,
    /// `limits = ["ttft.p90<=500ms"]`: distinct non-empty strings; their
    /// grammar is checked when the benchmark binary starts (exit 2).
    pub(crate) limits: Vec<LitStr>,
    /// `ignore = <bool expr>`, evaluated at run time.
    pub(crate) ignore: Option<Expr>,
    /// `rate = "20/s"` or a list of rates (open loop), joined with `, `.
    pub(crate) rate: Option<LitStr>,
    /// `arrival = "poisson"`: constant, poisson or gamma:<burstiness>.
    pub(crate) arrival: Option<LitStr>,
    /// `duration = "30s"`, in milliseconds.
    pub(crate) duration_ms: Option<u64>,
    /// `grace = "10s"`, in milliseconds.
    pub(crate) grace_ms: Option<u64>,
    /// `stages = "30s@5/s, 1m@50/s"` (or a list of stages), checked at run time.
    pub(crate) stages: Option<LitStr>,
    /// `sweep = [1, 2, 4]`, `"5/s, 10/s"`, `"auto"`, `"3x:20/s"`, checked at run time.
    pub(crate) sweep: Option<LitStr>,
    /// `max_in_flight = N`, N ≥ 1.
    pub(crate) max_in_flight: Option<u32>,
    /// `slo = "ttft <= 500ms, goodput >= 99%"` (or a list), checked at run time.
    pub(crate) slo: Option<LitStr>,
    /// `check = |resp| …`: a closure or function of `&Response`.
    pub(crate) check: Option<Expr>,
    /// `params = { temperature = [0.0, 0.7] }`: key and values as text.
    pub(crate) params: Vec<(String, Vec<String>)>,
}

/// Parses and validates the attribute's arguments, reporting every invalid
/// option at once rather than the first one only.
pub(crate) fn parse(args: TokenStream) -> Result<Options> {
    let raw = Punctuated::<RawOption, Token![,]>::parse_terminated.parse2(args)?;
    let mut options = Options::default();
    let mut errors = Errors::default();
    let mut seen: Vec<String> = Vec::new();
    for option in raw {
        let key = option.key.unraw().to_string();
        if !is_known(&key) {
            errors.push(Error::new(option.key.span(), format!("unknown option `{key}` (valid: {VALID_KEYS})")));
            continue;
        }
        if seen.contains(&key) {
            errors.push(Error::new(option.key.span(), format!("duplicate option `{key}`")));
            continue;
        }
        seen.push(key.clone());
        if let Err(error) = options.set(&key, option) {
            errors.push(error);
        }
    }
    errors.finish()?;
    Ok(options)
}

fn is_known(key: &str) -> bool {
    VALID_KEYS.split(", ").any(|valid| valid == key)
}

/// One `key = value` (or a bare `key`, an error reported once the key is
/// known to be valid) before any validation.
struct RawOption {
    key: Ident,
    value: Option<Expr>,
    /// `params = { … }`, which is not an expression.
    braced: Option<(proc_macro2::Span, TokenStream)>,
}

impl Parse for RawOption {
    fn parse(input: ParseStream) -> Result<Self> {
        // `*_any` so that the keyword `crate` is a key like the others.
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected an option, e.g. `samples = 100`"));
        }
        let key = Ident::parse_any(input)?;
        if input.is_empty() || input.peek(Token![,]) {
            return Ok(RawOption { key, value: None, braced: None });
        }
        if !input.peek(Token![=]) {
            return Err(input.error(format!("expected `=` after `{key}`")));
        }
        input.parse::<Token![=]>()?;
        if input.peek(syn::token::Brace) {
            let content;
            let brace = syn::braced!(content in input);
            let tokens: TokenStream = content.parse()?;
            return Ok(RawOption { key, value: None, braced: Some((brace.span.join(), tokens)) });
        }
        let value = input.parse()?;
        Ok(RawOption { key, value: Some(value), braced: None })
    }
}

impl Options {
    /// Validates the value of a known, not yet seen `key`.
    fn set(&mut self, key: &str, option: RawOption) -> Result<()> {
        if let Some((span, tokens)) = option.braced {
            if key != "params" {
                return Err(Error::new(
                    span,
                    format!("`{key}` does not take a `{{ … }}` table, e.g. `{}`", example(key)),
                ));
            }
            self.params = params(tokens)?;
            return Ok(());
        }
        let Some(value) = option.value else {
            return Err(Error::new(option.key.span(), format!("`{key}` needs a value, e.g. `{}`", example(key))));
        };
        match key {
            "name" => self.name = Some(name(&value)?),
            "samples" => self.samples = Some(integer(key, &value, 1)?),
            "warmup" => self.warmup = Some(integer(key, &value, 0)?),
            "concurrency" => self.concurrency = concurrency(&value)?,
            "targets" => self.targets = targets(&value)?,
            "timeout" => self.timeout_ms = Some(timeout(&value)?),
            "ignore" => self.ignore = Some(value),
            "rate" => self.rate = Some(strings(key, &value, ", ", false)?),
            "arrival" => self.arrival = Some(arrival(&value)?),
            "duration" => self.duration_ms = Some(duration(key, &value)?),
            "grace" => self.grace_ms = Some(duration(key, &value)?),
            "stages" => self.stages = Some(strings(key, &value, ", ", false)?),
            "sweep" => self.sweep = Some(strings(key, &value, ",", true)?),
            "max_in_flight" => self.max_in_flight = Some(integer(key, &value, 1)?),
            "slo" => self.slo = Some(strings(key, &value, ", ", false)?),
            "check" => self.check = Some(value),
            "params" => {
                return Err(Error::new_spanned(value, format!("`params` must be a table, e.g. `{}`", example(key))));
            }
            "crate" => self.krate = Some(crate_path(&value)?),
            "limits" => self.limits = limits(&value)?,
            _ => unreachable!("`is_known` admitted `{key}`"),
        }
        Ok(())
    }
}

/// A correct use of `key`, quoted in error messages.
fn example(key: &str) -> &'static str {
    match key {
        "name" => r#"name = "short""#,
        "samples" => "samples = 100",
        "warmup" => "warmup = 10",
        "concurrency" => "concurrency = [1, 8]",
        "targets" => r#"targets = ["local"]"#,
        "timeout" => r#"timeout = "30s""#,
        "rate" => r#"rate = "20/s""#,
        "arrival" => r#"arrival = "poisson""#,
        "duration" => r#"duration = "30s""#,
        "grace" => r#"grace = "10s""#,
        "stages" => r#"stages = "30s@5/s, 1m@50/s""#,
        "sweep" => "sweep = [1, 2, 4, 8]",
        "max_in_flight" => "max_in_flight = 64",
        "slo" => r#"slo = "ttft <= 500ms, tpot <= 100ms""#,
        "check" => r#"check = |resp| resp.text.contains("refund")"#,
        "params" => "params = { temperature = [0.0, 0.7], max_tokens = [256, 1024] }",
        "limits" => r#"limits = ["ttft.p90<=500ms"]"#,
        "ignore" => r#"ignore = std::env::var("API_KEY").is_err()"#,
        "crate" => "crate = ::llmbench",
        _ => "key = value",
    }
}

/// Sees through the invisible groups `macro_rules!` wraps `$x:expr` in, and
/// through parentheses.
fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => strip(&group.expr),
        Expr::Paren(paren) => strip(&paren.expr),
        other => other,
    }
}

fn lit(expr: &Expr) -> Option<&Lit> {
    match strip(expr) {
        Expr::Lit(lit) => Some(&lit.lit),
        _ => None,
    }
}

fn name(value: &Expr) -> Result<LitStr> {
    match lit(value) {
        Some(Lit::Str(name)) if name.value().trim().is_empty() => {
            Err(Error::new(name.span(), "`name` cannot be empty"))
        }
        Some(Lit::Str(name)) => Ok(name.clone()),
        _ => Err(Error::new_spanned(value, format!("`name` must be a string literal, e.g. `{}`", example("name")))),
    }
}

/// An integer literal for `key`, at least `min`.
fn integer(key: &str, value: &Expr, min: u32) -> Result<u32> {
    let negative = matches!(
        strip(value),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) && matches!(lit(&unary.expr), Some(Lit::Int(_)))
    );
    if negative {
        return Err(Error::new_spanned(value, at_least(key, min)));
    }
    let Some(Lit::Int(int)) = lit(value) else {
        return Err(Error::new_spanned(value, format!("`{key}` must be an integer literal, e.g. `{}`", example(key))));
    };
    let n = u32_of(key, int)?;
    if n < min {
        return Err(Error::new(int.span(), at_least(key, min)));
    }
    Ok(n)
}

fn at_least(key: &str, min: u32) -> String {
    if min == 0 { format!("`{key}` cannot be negative") } else { format!("`{key}` must be at least {min}") }
}

fn u32_of(key: &str, int: &LitInt) -> Result<u32> {
    int.base10_parse::<u32>()
        .map_err(|_| Error::new(int.span(), format!("`{key}` is too large (at most {})", u32::MAX)))
}

/// `[1, 8]`, or a single level `4`.
fn concurrency(value: &Expr) -> Result<Vec<u32>> {
    let elems: Vec<&Expr> = match strip(value) {
        Expr::Array(array) if array.elems.is_empty() => {
            return Err(Error::new_spanned(
                value,
                "`concurrency` needs at least one level, e.g. `concurrency = [1, 8]`",
            ));
        }
        Expr::Array(array) => array.elems.iter().collect(),
        Expr::Lit(_) => vec![value],
        _ => {
            return Err(Error::new_spanned(
                value,
                "`concurrency` must be a list of integer literals, e.g. `concurrency = [1, 8]`",
            ));
        }
    };
    let mut levels = Vec::with_capacity(elems.len());
    let mut errors = Errors::default();
    for elem in elems {
        match integer("concurrency", elem, 1) {
            Ok(level) if levels.contains(&level) => {
                errors.push(Error::new_spanned(elem, format!("duplicate concurrency level {level}")));
            }
            Ok(level) => levels.push(level),
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    Ok(levels)
}

/// `["a", "b"]`, or a single target `"a"`.
fn targets(value: &Expr) -> Result<Vec<LitStr>> {
    let elems: Vec<&Expr> = match strip(value) {
        Expr::Array(array) if array.elems.is_empty() => {
            return Err(Error::new_spanned(
                value,
                r#"`targets` needs at least one target, e.g. `targets = ["local"]`; leave it out to use the configured default"#,
            ));
        }
        Expr::Array(array) => array.elems.iter().collect(),
        Expr::Lit(_) => vec![value],
        _ => {
            return Err(Error::new_spanned(
                value,
                r#"`targets` must be a list of string literals, e.g. `targets = ["local", "haiku"]`"#,
            ));
        }
    };
    let mut targets: Vec<LitStr> = Vec::with_capacity(elems.len());
    let mut errors = Errors::default();
    for elem in elems {
        match lit(elem) {
            Some(Lit::Str(target)) if target.value().trim().is_empty() => {
                errors.push(Error::new(target.span(), "a target name cannot be empty"));
            }
            Some(Lit::Str(target)) if targets.iter().any(|t| t.value() == target.value()) => {
                errors.push(Error::new(target.span(), format!("duplicate target {:?}", target.value())));
            }
            Some(Lit::Str(target)) => targets.push(target.clone()),
            _ => errors.push(Error::new_spanned(elem, r#"a target must be a string literal, e.g. `"local"`"#)),
        }
    }
    errors.finish()?;
    Ok(targets)
}

/// `["ttft.p90<=500ms", "error_rate<=1%"]`, or a single limit.
fn limits(value: &Expr) -> Result<Vec<LitStr>> {
    let elems: Vec<&Expr> = match strip(value) {
        Expr::Array(array) if array.elems.is_empty() => {
            return Err(Error::new_spanned(
                value,
                r#"`limits` needs at least one limit, e.g. `limits = ["ttft.p90<=500ms"]`"#,
            ));
        }
        Expr::Array(array) => array.elems.iter().collect(),
        Expr::Lit(_) => vec![value],
        _ => {
            return Err(Error::new_spanned(
                value,
                r#"`limits` must be a list of string literals, e.g. `limits = ["ttft.p90<=500ms", "error_rate<=1%"]`"#,
            ));
        }
    };
    let mut limits: Vec<LitStr> = Vec::with_capacity(elems.len());
    let mut errors = Errors::default();
    for elem in elems {
        match lit(elem) {
            Some(Lit::Str(limit)) if limit.value().trim().is_empty() => {
                errors.push(Error::new(limit.span(), "a limit cannot be empty"));
            }
            Some(Lit::Str(limit)) if !limit.value().contains(['<', '>', '=']) => errors.push(Error::new(
                limit.span(),
                format!("{:?} is not a limit: write `metric<=value`, `metric>=value` or `metric=+N%`", limit.value()),
            )),
            Some(Lit::Str(limit)) if limits.iter().any(|l| l.value() == limit.value()) => {
                errors.push(Error::new(limit.span(), format!("duplicate limit {:?}", limit.value())));
            }
            Some(Lit::Str(limit)) => limits.push(limit.clone()),
            _ => errors.push(Error::new_spanned(elem, r#"a limit must be a string literal, e.g. `"ttft.p90<=500ms"`"#)),
        }
    }
    errors.finish()?;
    Ok(limits)
}

/// `"30s"`, `"500ms"`, `"2m"`, a bare integer of seconds `30`, or the
/// unquoted `30s` (an integer literal with a unit suffix), in milliseconds.
fn timeout(value: &Expr) -> Result<u64> {
    duration("timeout", value)
}

/// A duration option (`timeout`, `duration`, `grace`) in milliseconds.
fn duration(key: &str, value: &Expr) -> Result<u64> {
    let named = |why: String| if key == "timeout" { why } else { why.replace("timeout", key) };
    match lit(value) {
        Some(Lit::Str(text)) => duration_ms(&text.value(), false).map_err(|why| Error::new(text.span(), named(why))),
        Some(Lit::Int(int)) => {
            let text = format!("{}{}", int.base10_digits(), int.suffix());
            duration_ms(&text, true).map_err(|why| Error::new(int.span(), named(why)))
        }
        _ => Err(Error::new_spanned(value, format!(r#"`{key}` must be a duration like `"30s"`, `"500ms"` or `"2m"`"#))),
    }
}

/// A string literal, or a list of string literals (and, when `numbers`,
/// integer literals) joined with `sep` — the DSL options, whose full
/// checking is done at run time by the same parser as config and flags.
fn strings(key: &str, value: &Expr, sep: &str, numbers: bool) -> Result<LitStr> {
    let item = |e: &Expr| -> Result<String> {
        match lit(e) {
            Some(Lit::Str(s)) if !s.value().trim().is_empty() => Ok(s.value()),
            Some(Lit::Str(s)) => Err(Error::new(s.span(), format!("`{key}` cannot be empty"))),
            Some(Lit::Int(i)) if numbers || key == "rate" => Ok(i.base10_digits().to_owned()),
            _ => Err(Error::new_spanned(
                e,
                format!("`{key}` must be a string literal or a list of them, e.g. `{}`", example(key)),
            )),
        }
    };
    let text = match strip(value) {
        Expr::Array(array) if array.elems.is_empty() => {
            return Err(Error::new_spanned(value, format!("`{key}` cannot be empty, e.g. `{}`", example(key))));
        }
        Expr::Array(array) => {
            let mut parts = Vec::new();
            let mut errors = Errors::default();
            for e in &array.elems {
                match item(e) {
                    Ok(p) => parts.push(p),
                    Err(error) => errors.push(error),
                }
            }
            errors.finish()?;
            parts.join(sep)
        }
        _ => item(value)?,
    };
    Ok(LitStr::new(&text, value_span(value)))
}

fn value_span(value: &Expr) -> proc_macro2::Span {
    use syn::spanned::Spanned;
    value.span()
}

/// `"constant"`, `"poisson"` or `"gamma:<burstiness>"`.
fn arrival(value: &Expr) -> Result<LitStr> {
    let Some(Lit::Str(text)) = lit(value) else {
        return Err(Error::new_spanned(
            value,
            format!("`arrival` must be a string literal, e.g. `{}`", example("arrival")),
        ));
    };
    let v = text.value();
    let ok = match v.trim() {
        "constant" | "poisson" => true,
        other => other
            .strip_prefix("gamma:")
            .and_then(|b| b.trim().parse::<f64>().ok())
            .is_some_and(|b| b.is_finite() && b > 0.0),
    };
    if ok {
        Ok(text.clone())
    } else {
        Err(Error::new(
            text.span(),
            format!(
                "unknown arrival {v:?} (use \"constant\", \"poisson\" or \"gamma:<burstiness>\", e.g. \"gamma:0.5\")"
            ),
        ))
    }
}

/// The inside of `params = { key = [values], … }`.
fn params(tokens: TokenStream) -> Result<Vec<(String, Vec<String>)>> {
    struct Entry {
        key: Ident,
        values: syn::ExprArray,
    }
    impl Parse for Entry {
        fn parse(input: ParseStream) -> Result<Self> {
            let key = Ident::parse_any(input)?;
            input.parse::<Token![=]>()?;
            let values =
                input.parse().map_err(|e| Error::new(e.span(), "expected a list of values, e.g. `[0.0, 0.7]`"))?;
            Ok(Entry { key, values })
        }
    }
    let entries = Punctuated::<Entry, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut errors = Errors::default();
    for entry in entries {
        let key = entry.key.unraw().to_string();
        if !PARAM_KEYS.contains(&key.as_str()) {
            errors.push(Error::new(
                entry.key.span(),
                format!("unknown param `{key}` (valid: {})", PARAM_KEYS.join(", ")),
            ));
            continue;
        }
        if out.iter().any(|(k, _)| *k == key) {
            errors.push(Error::new(entry.key.span(), format!("duplicate param `{key}`")));
            continue;
        }
        if entry.values.elems.is_empty() {
            errors.push(Error::new_spanned(&entry.values, format!("param `{key}` needs at least one value")));
            continue;
        }
        let mut values = Vec::new();
        for e in &entry.values.elems {
            let (negative, inner) = match strip(e) {
                Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => (true, &*u.expr),
                other => (false, other),
            };
            let text = match lit(inner) {
                Some(Lit::Float(f)) => f.base10_digits().to_owned(),
                Some(Lit::Int(i)) => i.base10_digits().to_owned(),
                Some(Lit::Bool(b)) if !negative => b.value.to_string(),
                Some(Lit::Str(s)) if !negative => s.value(),
                _ => {
                    errors.push(Error::new_spanned(e, "a param value must be a literal: a number, a bool or a string"));
                    continue;
                }
            };
            let text = if negative { format!("-{text}") } else { text };
            if values.contains(&text) {
                errors.push(Error::new_spanned(e, format!("duplicate value {text} for param `{key}`")));
                continue;
            }
            values.push(text);
        }
        out.push((key, values));
    }
    errors.finish()?;
    Ok(out)
}

/// Parses `<digits><unit>` with unit `ms`, `s` or `m`; without a unit the
/// number is seconds when `bare_is_seconds`, an error otherwise.
fn duration_ms(text: &str, bare_is_seconds: bool) -> std::result::Result<u64, String> {
    let usage = r#"expected a duration like "30s", "500ms" or "2m""#;
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(format!("invalid timeout {text:?}: {usage}"));
    }
    let per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "" if bare_is_seconds => 1_000,
        "" => return Err(format!("timeout {text:?} needs a unit: ms, s or m")),
        _ => {
            return Err(format!("unknown timeout unit `{unit}` in {text:?} (units: ms, s, m)"));
        }
    };
    let ms = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(|| format!("timeout {text:?} is too large"))?;
    if ms == 0 {
        return Err("`timeout` must be greater than zero".to_owned());
    }
    Ok(ms)
}

fn crate_path(value: &Expr) -> Result<Path> {
    match strip(value) {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(path.path.clone()),
        _ => {
            Err(Error::new_spanned(value, "`crate` must be a path to the llmbench crate, e.g. `crate = ::my_llmbench`"))
        }
    }
}

/// Several errors reported together as one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `Err` with every error pushed, if any.
    pub(crate) fn finish(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(args: TokenStream) -> Options {
        match parse(args) {
            Ok(options) => options,
            Err(error) => panic!("unexpected error: {error}"),
        }
    }

    /// Every message of the (possibly combined) error.
    fn messages(args: TokenStream) -> Vec<String> {
        match parse(args) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn all_options() {
        let options = parse_ok(quote! {
            samples = 100, warmup = 0, concurrency = [1, 8], targets = ["local", "haiku"],
            timeout = "30s", name = "short", ignore = std::env::var("K").is_err(), crate = ::x::y,
        });
        assert_eq!(options.samples, Some(100));
        assert_eq!(options.warmup, Some(0));
        assert_eq!(options.concurrency, [1, 8]);
        let targets: Vec<String> = options.targets.iter().map(LitStr::value).collect();
        assert_eq!(targets, ["local", "haiku"]);
        assert_eq!(options.timeout_ms, Some(30_000));
        assert_eq!(options.name.map(|n| n.value()).as_deref(), Some("short"));
        assert!(options.ignore.is_some());
        let krate = options.krate.expect("crate");
        assert_eq!(quote!(#krate).to_string(), quote!(::x::y).to_string());
    }

    #[test]
    fn limits_are_strings() {
        let options = parse_ok(quote! { limits = ["ttft.p90<=500ms", "error_rate<=1%"] });
        let limits: Vec<String> = options.limits.iter().map(LitStr::value).collect();
        assert_eq!(limits, ["ttft.p90<=500ms", "error_rate<=1%"]);
        assert_eq!(parse_ok(quote! { limits = "ttft.p50=+5%" }).limits.len(), 1);
        assert_eq!(
            messages(quote!(limits = [5, "", "a<1", "a<1"])),
            [
                "a limit must be a string literal, e.g. `\"ttft.p90<=500ms\"`",
                "a limit cannot be empty",
                "duplicate limit \"a<1\"",
            ]
        );
        assert_eq!(
            messages(quote!(limits = [])),
            ["`limits` needs at least one limit, e.g. `limits = [\"ttft.p90<=500ms\"]`"]
        );
    }

    #[test]
    fn no_options() {
        let options = parse_ok(quote! {});
        assert!(options.samples.is_none() && options.concurrency.is_empty());
    }

    #[test]
    fn single_values_without_brackets() {
        let options = parse_ok(quote! { concurrency = 4, targets = "local" });
        assert_eq!(options.concurrency, [4]);
        assert_eq!(options.targets[0].value(), "local");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("500ms", false), Ok(500));
        assert_eq!(duration_ms("30s", false), Ok(30_000));
        assert_eq!(duration_ms("2m", false), Ok(120_000));
        assert_eq!(duration_ms("30", true), Ok(30_000));
        assert!(duration_ms("30", false).unwrap_err().contains("needs a unit"));
        assert!(duration_ms("3h", false).unwrap_err().contains("unknown timeout unit `h`"));
        assert!(duration_ms("0s", false).unwrap_err().contains("greater than zero"));
        assert!(duration_ms("s", false).unwrap_err().contains("invalid timeout"));
        assert!(duration_ms("1.5s", false).unwrap_err().contains("unit `.5s`"));
        assert!(duration_ms("99999999999999999999m", false).unwrap_err().contains("too large"));
    }

    #[test]
    fn load_options() {
        let o = parse_ok(quote! {
            rate = ["5/s", "10/s"], arrival = "gamma:0.5", duration = "30s", grace = 5, stages = "10s@2/s, 20s@8/s",
            sweep = [1, 2, 4], max_in_flight = 64, slo = ["ttft <= 300ms", "goodput >= 95%"],
            check = |resp| resp.text.contains("x"),
            params = { temperature = [0.0, 0.7], max_tokens = [256, 1024], exact_output = [true], seed = [-1] },
        });
        assert_eq!(o.rate.unwrap().value(), "5/s, 10/s");
        assert_eq!(o.arrival.unwrap().value(), "gamma:0.5");
        assert_eq!((o.duration_ms, o.grace_ms, o.max_in_flight), (Some(30_000), Some(5_000), Some(64)));
        assert_eq!(o.stages.unwrap().value(), "10s@2/s, 20s@8/s");
        assert_eq!(o.sweep.unwrap().value(), "1,2,4");
        assert_eq!(o.slo.unwrap().value(), "ttft <= 300ms, goodput >= 95%");
        assert!(o.check.is_some());
        assert_eq!(
            o.params,
            [
                ("temperature".to_owned(), vec!["0.0".to_owned(), "0.7".to_owned()]),
                ("max_tokens".to_owned(), vec!["256".to_owned(), "1024".to_owned()]),
                ("exact_output".to_owned(), vec!["true".to_owned()]),
                ("seed".to_owned(), vec!["-1".to_owned()]),
            ]
        );
        assert_eq!(parse_ok(quote!(sweep = "auto")).sweep.unwrap().value(), "auto");
        assert_eq!(parse_ok(quote!(rate = 20)).rate.unwrap().value(), "20");
    }

    #[test]
    fn bad_load_options() {
        assert_eq!(
            messages(quote!(arrival = "bursty", duration = "1h", max_in_flight = 0, stages = [], slo = [1])),
            [
                r#"unknown arrival "bursty" (use "constant", "poisson" or "gamma:<burstiness>", e.g. "gamma:0.5")"#,
                "unknown duration unit `h` in \"1h\" (units: ms, s, m)",
                "`max_in_flight` must be at least 1",
                r#"`stages` cannot be empty, e.g. `stages = "30s@5/s, 1m@50/s"`"#,
                r#"`slo` must be a string literal or a list of them, e.g. `slo = "ttft <= 500ms, tpot <= 100ms"`"#,
            ]
        );
        assert_eq!(
            messages(quote!(params = { temprature = [1.0], top_p = [], seed = [x], seed = [1] })),
            [
                "unknown param `temprature` (valid: temperature, top_p, max_tokens, output_tokens, input_tokens, seed, exact_output)",
                "param `top_p` needs at least one value",
                "a param value must be a literal: a number, a bool or a string",
                "duplicate param `seed`",
            ]
        );
        assert_eq!(
            messages(quote!(params = [1])),
            ["`params` must be a table, e.g. `params = { temperature = [0.0, 0.7], max_tokens = [256, 1024] }`"]
        );
        assert_eq!(
            messages(quote!(rate = { x = [1] })),
            [r#"`rate` does not take a `{ … }` table, e.g. `rate = "20/s"`"#]
        );
    }

    #[test]
    fn timeout_forms() {
        assert_eq!(parse_ok(quote!(timeout = 45)).timeout_ms, Some(45_000));
        assert_eq!(parse_ok(quote!(timeout = 250ms)).timeout_ms, Some(250));
        assert_eq!(parse_ok(quote!(timeout = "2m")).timeout_ms, Some(120_000));
    }

    #[test]
    fn every_error_is_reported() {
        let errors = messages(quote! {
            sample = 1, samples = 0, samples = 2, warmup = -1, concurrency = [], limits = ["x"],
            targets = ["a", "a", ""], timeout = "5h", name = "", crate = 1, ignore,
        });
        assert_eq!(
            errors,
            [
                "unknown option `sample` (valid: name, samples, warmup, concurrency, targets, timeout, rate, arrival, duration, grace, stages, sweep, max_in_flight, slo, check, params, limits, ignore, crate)",
                "`samples` must be at least 1",
                "duplicate option `samples`",
                "`warmup` cannot be negative",
                "`concurrency` needs at least one level, e.g. `concurrency = [1, 8]`",
                "\"x\" is not a limit: write `metric<=value`, `metric>=value` or `metric=+N%`",
                "duplicate target \"a\"",
                "a target name cannot be empty",
                "unknown timeout unit `h` in \"5h\" (units: ms, s, m)",
                "`name` cannot be empty",
                "`crate` must be a path to the llmbench crate, e.g. `crate = ::my_llmbench`",
                "`ignore` needs a value, e.g. `ignore = std::env::var(\"API_KEY\").is_err()`",
            ]
        );
    }

    #[test]
    fn wrong_value_types() {
        assert_eq!(messages(quote!(samples = "100")), ["`samples` must be an integer literal, e.g. `samples = 100`"]);
        assert_eq!(
            messages(quote!(concurrency = [1, 0, 1, x])),
            [
                "`concurrency` must be at least 1",
                "duplicate concurrency level 1",
                "`concurrency` must be an integer literal, e.g. `concurrency = [1, 8]`",
            ]
        );
        assert_eq!(messages(quote!(samples = 4294967296)), ["`samples` is too large (at most 4294967295)"]);
        assert_eq!(messages(quote!(targets = [local])), ["a target must be a string literal, e.g. `\"local\"`"]);
    }

    #[test]
    fn syntax_errors_are_errors() {
        assert_eq!(messages(quote!(samples 100)), ["expected `=` after `samples`"]);
        assert_eq!(messages(quote!("x")), ["expected an option, e.g. `samples = 100`"]);
        assert_eq!(messages(quote!(samples = 1 2)), ["expected `,`"]);
    }
}
