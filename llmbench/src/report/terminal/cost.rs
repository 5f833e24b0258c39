//! Cost in the terminal: the `$/ok req` column, the price a run used with
//! its source and date, per-level totals and projections, or "no price".

use std::fmt::Write;

use crate::cost::{LevelCost, Origin, Price, PriceFrom, PriceTier};
use crate::results::RunSummary;
use crate::stats::LevelSummary;
use crate::units::format_usd as usd;

/// Title of the cost column.
pub(crate) const COLUMN: &str = "$/ok req";

/// A price as given: `$0.80`, `$0.00875`, `$1.4084` (no rounding, at least cents).
pub(crate) fn rate(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0');
    let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
    format!("${s}{}", "0".repeat(2usize.saturating_sub(decimals)))
}

/// The `$/ok req` cell of a level: `—` when the figure is absent.
pub(crate) fn ok_request_cell(level: &LevelSummary) -> String {
    level.cost.as_ref().and_then(|c| c.cost_per_ok_request).map(usd).unwrap_or_else(|| "—".into())
}

/// The lines under a run's table: the price and its provenance, each
/// level's figures, projection and warnings — or "no price".
pub(crate) fn lines(run: &RunSummary) -> String {
    let mut out = String::new();
    let Some(price) = &run.price else {
        let model = &run.target.model;
        let _ = writeln!(
            out,
            "cost: no price for model {model:?} (add [prices.{model:?}] to llmbench.toml with input/output USD per 1M tokens, price_per_hour or price_model)"
        );
        return out;
    };
    out.push_str(&price_lines(price));
    for level in &run.levels {
        let Some(cost) = &level.cost else { continue };
        let _ = writeln!(out, "{}", level_line(level, cost));
        for w in &cost.warnings {
            let _ = writeln!(out, "  ! {}: {w}", super::load_label(level));
        }
    }
    out
}

/// The price a run used, where it came from, and its caveats.
fn price_lines(price: &Price) -> String {
    let mut out = String::new();
    let origin = price.origin();
    let provenance = provenance(origin);
    match price {
        Price::PerToken { model, rates, tier, scope, .. } => {
            let mut r = format!("{} in · {} out", rate(rates.input), rate(rates.output));
            if let Some(p) = rates.cache_read {
                let _ = write!(r, " · {} cache read", rate(p));
            }
            if let Some(p) = rates.cache_write {
                let _ = write!(r, " · {} cache write", rate(p));
            }
            let mut kind = String::from("per token");
            if *tier == PriceTier::Batch {
                kind.push_str(", batch");
            }
            if let Some(scope) = scope {
                let _ = write!(kind, ", {scope}");
            }
            let _ = writeln!(out, "cost: {kind}, {model} — {r} per 1M tokens ({provenance})");
        }
        Price::PerInstanceHour { instance_type, instances, price_per_hour, .. } => {
            let what = instance_type.as_deref().unwrap_or("instance");
            let _ = writeln!(
                out,
                "cost: per instance-hour, {instances} × {what} at {}/h ({provenance})",
                rate(*price_per_hour)
            );
        }
    }
    if let Some(reason) = &origin.unconfirmed {
        let _ = writeln!(out, "  ! price unconfirmed: {reason}");
    }
    if let Some(note) = &origin.note {
        let _ = writeln!(out, "  note: {note}");
    }
    out
}

/// Where a price came from, and its date when the source does not say it.
fn provenance(origin: &Origin) -> String {
    let source = match origin.from {
        // The table's sources read "KEY: description"; the key is enough here.
        PriceFrom::Table => {
            let key = origin.source.split(':').next().unwrap_or_default();
            match &origin.name {
                Some(name) => format!("bundled table: {name}, {key}"),
                None => format!("bundled table: {key}"),
            }
        }
        PriceFrom::Config | PriceFrom::Litellm => origin.source.clone(),
    };
    match &origin.date {
        Some(date) if !source.contains(date.as_str()) => format!("{source}, {date}"),
        _ => source,
    }
}

/// A level's cost figures and projection, on one line.
fn level_line(level: &LevelSummary, cost: &LevelCost) -> String {
    let mut line = format!("  {}:", super::load_label(level));
    match cost.cost_total {
        Some(total) => {
            let _ = write!(line, " total {}", usd(total));
        }
        None => line.push_str(" total unknown"),
    }
    if let Some(v) = cost.cost_per_request {
        let _ = write!(line, " · per request {}", usd(v));
    }
    if let Some(v) = cost.cost_per_1m_output_tokens {
        let _ = write!(line, " · per 1M output tokens {}", usd(v));
    }
    if let Some(hours) = cost.instance_hours {
        let _ = write!(line, " · {hours:.4} instance-hours");
    }
    if let Some(p) = &cost.projection {
        let volume = crate::cost::Volume::per_hour(p.requests_per_hour);
        match (p.cost_per_hour, p.cost_per_month) {
            (Some(h), Some(m)) => {
                let _ = write!(line, " │ at {volume}: {}/h, {}/month", usd(h), usd(m));
                if let Some(n) = p.instances_needed {
                    let _ = write!(line, " with {n} instance(s) (from this level's {:.2} ok req/s)", level.req_per_s);
                }
            }
            _ => {
                let _ = write!(line, " │ at {volume}: {}", p.basis);
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{Projection, TokenRates};
    use crate::record::{Phase, RequestRecord, TokenSource};
    use crate::stats::summarize_level;

    #[test]
    fn money() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(1234.56), "$1235");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.5), "$0.500");
        assert_eq!(usd(0.0123456), "$0.0123");
        assert_eq!(usd(0.000412345), "$0.000412");
        assert_eq!(rate(0.8), "$0.80");
        assert_eq!(rate(0.00875), "$0.00875");
        assert_eq!(rate(1.4084), "$1.4084");
        assert_eq!(rate(15.0), "$15.00");
    }

    fn level() -> LevelSummary {
        let rec = RequestRecord {
            index: 0,
            phase: Phase::Measured,
            concurrency: 1,
            level: 0,
            start_us: 0,
            queue_ms: 0.0,
            ttfb_ms: None,
            ttft_ms: Some(10.0),
            ttfo_ms: Some(10.0),
            last_content_ms: Some(90.0),
            e2e_ms: 100.0,
            chunks: 5,
            gaps_us: vec![20_000; 4],
            output_tokens: 5,
            output_source: TokenSource::Usage,
            input_tokens: Some(10),
            cache_read_tokens: None,
            cache_write_tokens: None,
            prompt_tokens: None,
            reasoning_tokens: None,
            reasoning_source: None,
            ttftc_ms: None,
            tool_call_ms: None,
            tool_calls: 0,
            tool_call_text: Vec::new(),
            input_tokens_requested: None,
            input_tokens_generated: None,
            stop_reason: None,
            server_latency_ms: None,
            server_first_byte_ms: None,
            error: None,
            response_id: None,
            attempts: None,
            variant: None,
            text: None,
        };
        summarize_level(1, &[rec])
    }

    #[test]
    fn a_run_without_a_price_says_no_price_and_shows_no_figure() {
        let mut run = RunSummary::example();
        run.target.model = "meta-llama/Llama-3.1-8B-Instruct".into();
        run.levels.push(level());
        let text = lines(&run);
        assert!(text.starts_with("cost: no price for model \"meta-llama/Llama-3.1-8B-Instruct\""), "{text}");
        assert!(!text.contains('$'), "no figure, not even zero: {text}");
        assert_eq!(ok_request_cell(&run.levels[0]), "—");
    }

    #[test]
    fn a_priced_run_shows_rates_source_figures_and_projection() {
        let mut run = RunSummary::example();
        run.price = Some(Price::PerToken {
            model: "us.anthropic.claude-3-5-haiku-20241022-v1:0".into(),
            rates: TokenRates { input: 0.8, output: 4.0, cache_read: Some(0.08), cache_write: Some(1.0) },
            tier: PriceTier::OnDemand,
            scope: None,
            origin: Origin {
                from: PriceFrom::Table,
                entry: "anthropic.claude-3-5-haiku-20241022-v1:0".into(),
                name: Some("Claude 3.5 Haiku".into()),
                date: Some("2025-11-20".into()),
                source: "GENAI-AWS: pydantic/genai-prices …".into(),
                unconfirmed: None,
                note: None,
            },
        });
        let mut l = level();
        l.cost = Some(LevelCost {
            cost_total: Some(0.000028),
            cost_per_request: Some(0.000028),
            cost_per_ok_request: Some(0.000028),
            cost_per_1m_output_tokens: Some(5.6),
            projection: Some(Projection {
                requests_per_hour: 1000.0,
                cost_per_hour: Some(0.028),
                cost_per_month: Some(20.44),
                instances_needed: None,
                basis: String::new(),
            }),
            ..LevelCost::default()
        });
        run.levels.push(l);
        let text = lines(&run);
        assert!(
            text.starts_with("cost: per token, us.anthropic.claude-3-5-haiku-20241022-v1:0 — $0.80 in · $4.00 out · $0.08 cache read · $1.00 cache write per 1M tokens (bundled table: Claude 3.5 Haiku, GENAI-AWS, 2025-11-20)\n"),
            "{text}"
        );
        assert!(text.contains("  c=1: total $0.0000280 · per request $0.0000280 · per 1M output tokens $5.60 │ at 1000/h: $0.0280/h, $20.44/month\n"), "{text}");
        assert_eq!(ok_request_cell(&run.levels[0]), "$0.0000280");
    }
}
