//! The HTML pages (and their Markdown twin): minijinja templates kept as
//! files in `report/html/templates/`, embedded at build time. Auto-escaping is
//! on for every `.html.j2` template, so any string from results — bench
//! ids, target and model names, error messages, model output — renders as
//! text. Charts are the only markup inserted as-is, and the chart module
//! escapes every label it writes.

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};

use super::definitions::DEFINITIONS;
use super::trends::TrendLink;
use super::view::{BenchView, IndexView};

/// The template environment, with every template loaded.
pub(crate) fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("style.css", include_str!("templates/style.css"))?;
    env.add_template("base.html.j2", include_str!("templates/base.html.j2"))?;
    env.add_template("index.html.j2", include_str!("templates/index.html.j2"))?;
    env.add_template("bench.html.j2", include_str!("templates/bench.html.j2"))?;
    env.add_template("report.md.j2", include_str!("templates/report.md.j2"))?;
    env.add_template("trends.html.j2", include_str!("templates/trends.html.j2"))?;
    env.add_filter("md", md_escape);
    env.add_filter("code", |s: String| s.replace('`', "'").replace(['\n', '\r'], " "));
    Ok(env)
}

/// The index page.
pub(crate) fn index(env: &Environment<'_>, view: &IndexView, trends: &[TrendLink]) -> Result<String, minijinja::Error> {
    env.get_template("index.html.j2")?.render(context! {
        v => Value::from(Serde(view)),
        trends => Value::from(Serde(trends)),
        nested => false,
        version => env!("CARGO_PKG_VERSION"),
        generated_at => view.generated_at.clone(),
    })
}

/// A benchmark's page; `charts` from [`super::figures::charts`].
pub(crate) fn bench(
    env: &Environment<'_>,
    view: &BenchView,
    charts: Value,
    trends: &[&TrendLink],
    generated_at: &str,
) -> Result<String, minijinja::Error> {
    env.get_template("bench.html.j2")?.render(context! {
        v => Value::from(Serde(view)),
        trends => Value::from(Serde(trends)),
        charts => charts,
        definitions => Value::from(Serde(DEFINITIONS)),
        nested => true,
        version => env!("CARGO_PKG_VERSION"),
        generated_at => generated_at,
    })
}

/// A trend page; `page` from [`super::trends::page`].
pub(crate) fn trends(env: &Environment<'_>, page: Value, generated_at: &str) -> Result<String, minijinja::Error> {
    env.get_template("trends.html.j2")?.render(context! {
        p => page,
        nested => true,
        version => env!("CARGO_PKG_VERSION"),
        generated_at => generated_at,
    })
}

/// The Markdown twin of the index.
pub(crate) fn markdown(env: &Environment<'_>, view: &IndexView) -> Result<String, minijinja::Error> {
    env.get_template("report.md.j2")?.render(context! { v => Value::from(Serde(view)) })
}

/// Escapes text for a Markdown table cell: pipes, backslashes, and the
/// angle brackets GitHub would otherwise read as HTML; newlines become spaces.
fn md_escape(s: String) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '`' => out.push_str("\\`"),
            '*' => out.push_str("\\*"),
            '_' => out.push_str("\\_"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_load_and_escape_html() {
        let env = environment().unwrap();
        let t = env.template_from_named_str("x.html.j2", "{{ s }}").unwrap();
        assert_eq!(
            t.render(context! { s => "<script>alert(1)</script>" }).unwrap(),
            "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"
        );
    }

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(md_escape("a|b <script> [x](y) `c`\nd".into()), "a\\|b &lt;script&gt; \\[x\\](y) \\`c\\` d");
    }
}
