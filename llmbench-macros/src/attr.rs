//! The options of `#[llm_bench(...)]`.
//!
//! Four options belong to the attribute itself: `name`, `check`, `ignore`
//! and `crate`. Every other option is a benchmark *setting*: its value,
//! a literal or a list of literals, is turned into TOML text here and
//! parsed by llmbench with the same grammar as `llmbench.toml` and the flags
//! (so the three views cannot disagree), before any request is sent; a bad
//! value is an error naming this file, line and key (exit code 2). What
//! needs no grammar is checked here, spanned at the offending token: the
//! option's name (an unknown one is a compile error through
//! `__private::setting_keys`), duplicates, and that values are literals.
//! This module knows nothing about the code generated.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Ident, Lit, LitStr, Path, Result, Token, UnOp};

/// The options of the attribute itself (every other key is a setting).
const OWN_KEYS: [&str; 4] = ["name", "check", "ignore", "crate"];

/// One setting option: its key and its value as TOML.
pub(crate) struct Setting {
    /// The key as written, for the compile-time check of its name.
    pub(crate) key: Ident,
    /// The value as TOML text (`100`, `"30s"`, `[1, 8]`, `{ temperature = [0.0, 0.7] }`).
    pub(crate) toml: String,
}

/// The validated options of one `#[llm_bench(...)]`.
#[derive(Default)]
pub(crate) struct Options {
    /// `crate = path`: where the `llmbench` crate is (default `::llmbench`).
    pub(crate) krate: Option<Path>,
    /// `name = "…"`: the benchmark id instead of the function name.
    pub(crate) name: Option<LitStr>,
    /// `ignore = <bool expr>`, evaluated at run time.
    pub(crate) ignore: Option<Expr>,
    /// `check = |resp| …`: a closure or function of `&Response`.
    pub(crate) check: Option<Expr>,
    /// Every other option, in order.
    pub(crate) settings: Vec<Setting>,
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

/// One `key = value` (or a bare `key`, an error) before any validation.
struct RawOption {
    key: Ident,
    value: Option<Expr>,
    /// `params = { … }`, which is not an expression.
    braced: Option<(Span, TokenStream)>,
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
    /// Validates the value of a not yet seen `key`.
    fn set(&mut self, key: &str, option: RawOption) -> Result<()> {
        let own = OWN_KEYS.contains(&key);
        if let Some((span, tokens)) = option.braced {
            if own {
                return Err(Error::new(span, format!("`{key}` does not take a `{{ … }}` table")));
            }
            self.settings.push(Setting { key: option.key, toml: table(tokens)? });
            return Ok(());
        }
        let Some(value) = option.value else {
            return Err(Error::new(option.key.span(), format!("`{key}` needs a value, e.g. `{}`", example(key))));
        };
        match key {
            "name" => self.name = Some(name(&value)?),
            "ignore" => self.ignore = Some(value),
            "check" => self.check = Some(value),
            "crate" => self.krate = Some(crate_path(&value)?),
            _ => self.settings.push(Setting { toml: toml_value(key, &value)?, key: option.key }),
        }
        Ok(())
    }
}

/// A correct use of `key`, quoted in error messages.
fn example(key: &str) -> &'static str {
    match key {
        "name" => r#"name = "short""#,
        "check" => r#"check = |resp| resp.text.contains("refund")"#,
        "ignore" => r#"ignore = std::env::var("API_KEY").is_err()"#,
        "crate" => "crate = ::llmbench",
        _ => "samples = 100",
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

fn crate_path(value: &Expr) -> Result<Path> {
    match strip(value) {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(path.path.clone()),
        _ => {
            Err(Error::new_spanned(value, "`crate` must be a path to the llmbench crate, e.g. `crate = ::my_llmbench`"))
        }
    }
}

/// A setting's value as TOML: a literal, or a list of literals.
fn toml_value(key: &str, value: &Expr) -> Result<String> {
    match strip(value) {
        Expr::Array(array) => {
            let mut items = Vec::new();
            let mut errors = Errors::default();
            for e in &array.elems {
                match scalar(key, e) {
                    Ok(item) => items.push(item),
                    Err(error) => errors.push(error),
                }
            }
            errors.finish()?;
            Ok(format!("[{}]", items.join(", ")))
        }
        _ => scalar(key, value),
    }
}

/// A literal as TOML. An integer with a unit suffix (`30s`, `500ms`) is the
/// duration it spells; a negative number keeps its sign (for the grammar to
/// refuse where it must).
fn scalar(key: &str, expr: &Expr) -> Result<String> {
    let (negative, inner) = match strip(expr) {
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => (true, &*u.expr),
        other => (false, other),
    };
    let sign = if negative { "-" } else { "" };
    match lit(inner) {
        Some(Lit::Int(i)) if is_number_suffix(i.suffix()) => Ok(format!("{sign}{}", i.base10_digits())),
        Some(Lit::Int(i)) => Ok(quoted(&format!("{sign}{}{}", i.base10_digits(), i.suffix()))),
        Some(Lit::Float(f)) if is_number_suffix(f.suffix()) => Ok(format!("{sign}{}", f.base10_digits())),
        Some(Lit::Float(f)) => Ok(quoted(&format!("{sign}{}{}", f.base10_digits(), f.suffix()))),
        Some(Lit::Str(s)) if !negative => Ok(quoted(&s.value())),
        Some(Lit::Bool(b)) if !negative => Ok(b.value.to_string()),
        _ => Err(Error::new_spanned(
            expr,
            format!(
                "`{key}` must be a literal (a string, a number, a boolean) or a list of them, read as in llmbench.toml"
            ),
        )),
    }
}

/// Rust's own numeric suffixes (`100u32`, `0.5f64`), which are not units.
fn is_number_suffix(suffix: &str) -> bool {
    suffix.is_empty()
        || ["u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64"]
            .contains(&suffix)
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The inside of `key = { name = value, … }` as a TOML inline table.
fn table(tokens: TokenStream) -> Result<String> {
    struct Entry {
        key: Ident,
        value: Expr,
    }
    impl Parse for Entry {
        fn parse(input: ParseStream) -> Result<Self> {
            let key = Ident::parse_any(input)?;
            input.parse::<Token![=]>()?;
            Ok(Entry { key, value: input.parse()? })
        }
    }
    let entries = Punctuated::<Entry, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut errors = Errors::default();
    for entry in entries {
        let key = entry.key.unraw().to_string();
        if parts.iter().any(|(k, _)| *k == key) {
            errors.push(Error::new(entry.key.span(), format!("duplicate key `{key}`")));
            continue;
        }
        match toml_value(&key, &entry.value) {
            Ok(value) => parts.push((key, value)),
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    let body: Vec<String> = parts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    Ok(format!("{{ {} }}", body.join(", ")))
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

    fn settings(args: TokenStream) -> Vec<(String, String)> {
        parse_ok(args).settings.into_iter().map(|s| (s.key.to_string(), s.toml)).collect()
    }

    /// Every message of the (possibly combined) error.
    fn messages(args: TokenStream) -> Vec<String> {
        match parse(args) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn own_options() {
        let options = parse_ok(quote! {
            name = "short", ignore = std::env::var("K").is_err(), crate = ::x::y, check = |r| true,
        });
        assert_eq!(options.name.map(|n| n.value()).as_deref(), Some("short"));
        assert!(options.ignore.is_some() && options.check.is_some() && options.settings.is_empty());
        let krate = options.krate.expect("crate");
        assert_eq!(quote!(#krate).to_string(), quote!(::x::y).to_string());
    }

    #[test]
    fn settings_become_toml() {
        assert_eq!(
            settings(quote! {
                samples = 100, warmup = 0u32, concurrency = [1, 8], targets = ["local", "haiku"],
                timeout = 30s, grace = "10s", rate = ["5/s", "10/s"], arrival = "gamma:0.5",
                max_in_flight = -1, exact = true, slo = "ttft <= \"500ms\"",
            }),
            [
                ("samples", "100"),
                ("warmup", "0"),
                ("concurrency", "[1, 8]"),
                ("targets", r#"["local", "haiku"]"#),
                ("timeout", r#""30s""#),
                ("grace", r#""10s""#),
                ("rate", r#"["5/s", "10/s"]"#),
                ("arrival", r#""gamma:0.5""#),
                ("max_in_flight", "-1"),
                ("exact", "true"),
                ("slo", r#""ttft <= \"500ms\"""#),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn tables_become_inline_tables() {
        assert_eq!(
            settings(quote! { params = { temperature = [0.0, 0.7], r#seed = 3, exact_output = [true, false] } }),
            [("params".to_owned(), "{ temperature = [0.0, 0.7], seed = 3, exact_output = [true, false] }".to_owned())]
        );
        assert_eq!(messages(quote! { params = { a = [1], a = [2] } }), ["duplicate key `a`"]);
        assert_eq!(messages(quote! { name = { a = 1 } }), ["`name` does not take a `{ … }` table"]);
    }

    #[test]
    fn values_must_be_literals_and_keys_unique() {
        assert_eq!(
            messages(quote!(samples = N, limits = [ttft_p50, "ok"], samples = 3, warmup)),
            [
                "`samples` must be a literal (a string, a number, a boolean) or a list of them, read as in llmbench.toml",
                "`limits` must be a literal (a string, a number, a boolean) or a list of them, read as in llmbench.toml",
                "duplicate option `samples`",
                "`warmup` needs a value, e.g. `samples = 100`",
            ]
        );
        assert_eq!(messages(quote!(name = "")), ["`name` cannot be empty"]);
        assert_eq!(messages(quote!(name = 3)), ["`name` must be a string literal, e.g. `name = \"short\"`"]);
    }
}
