//! The cost figures of one level from its measured request records.
//!
//! Per token, every measured request bills what its server reported:
//! a failed request that reported usage bills its tokens, a throttled one
//! without usage bills nothing. Requests that should have billed but
//! reported no usage are counted in a warning, never priced by guess.

use super::projection::{Volume, project};
use super::{BilledTokens, LevelCost, Price, TokenRates};
use crate::record::{Phase, RequestRecord, TokenSource};
use crate::stats::LevelSummary;

/// Whether `provider`'s usage counts cached prompt tokens inside its input
/// count. OpenAI-compatible servers do (`prompt_tokens` includes
/// `prompt_tokens_details.cached_tokens`); Bedrock and Anthropic report
/// `inputTokens` / `input_tokens` beside the cache counts.
pub(crate) fn input_includes_cache(provider: &str) -> bool {
    matches!(provider, "openai" | "sim")
}

/// The cost figures of `level`, whose measured requests are among
/// `records`, billed at `price`; projected to `project` when given.
pub(crate) fn level_cost(
    price: &Price,
    provider: &str,
    level: &LevelSummary,
    records: &[RequestRecord],
    project_to: Option<Volume>,
) -> LevelCost {
    let mut tally = CostTally::new(provider);
    records.iter().for_each(|r| tally.add(r));
    tally.finish(price, level, project_to)
}

/// What a level's cost needs, gathered request by request: the tokens
/// billed and the requests that reported no usage.
#[derive(Debug, Clone)]
pub(crate) struct CostTally {
    includes_cache: bool,
    billed: BilledTokens,
    ok_output: u64,
    no_usage_ok: u64,
    no_input_ok: u64,
    no_output_ok: u64,
    no_usage_failed: u64,
}

impl CostTally {
    /// An empty tally for a target of `provider`.
    pub(crate) fn new(provider: &str) -> CostTally {
        CostTally {
            includes_cache: input_includes_cache(provider),
            billed: BilledTokens::default(),
            ok_output: 0,
            no_usage_ok: 0,
            no_input_ok: 0,
            no_output_ok: 0,
            no_usage_failed: 0,
        }
    }

    /// Counts one finished request (measured ones only).
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        if r.phase != Phase::Measured {
            return;
        }
        if r.is_ok() {
            self.ok_output += r.output_tokens;
        }
        let output = (r.output_source == TokenSource::Usage).then_some(r.output_tokens);
        if output.is_none() && r.input_tokens.is_none() {
            if r.is_ok() {
                self.no_usage_ok += 1;
            } else if r.chunks > 0 {
                self.no_usage_failed += 1;
            }
            return;
        }
        let billed = &mut self.billed;
        billed.requests += 1;
        let cache_read = r.cache_read_tokens.unwrap_or(0);
        let cache_write = r.cache_write_tokens.unwrap_or(0);
        billed.cache_read += cache_read;
        billed.cache_write += cache_write;
        match r.input_tokens {
            Some(n) if self.includes_cache => billed.input += n.saturating_sub(cache_read + cache_write),
            Some(n) => billed.input += n,
            None if r.is_ok() => self.no_input_ok += 1,
            None => {}
        }
        match output {
            Some(n) => billed.output += n,
            None if r.is_ok() => self.no_output_ok += 1,
            None => {}
        }
    }

    /// The cost figures of `level` billed at `price`; projected to
    /// `project_to` when given.
    pub(crate) fn finish(&self, price: &Price, level: &LevelSummary, project_to: Option<Volume>) -> LevelCost {
        let mut cost = LevelCost::default();
        match price {
            Price::PerToken { rates, origin, .. } => {
                let (total, billed, warnings) = self.per_token(rates, &origin.entry);
                cost.cost_total = total;
                cost.billed_tokens = Some(billed);
                cost.warnings = warnings;
            }
            Price::PerInstanceHour { instances, price_per_hour, .. } => {
                let hours = level.window_s / 3600.0 * f64::from(*instances);
                cost.instance_hours = Some(hours);
                cost.cost_total = Some(hours * price_per_hour);
            }
        }
        let per = |n: u64| cost.cost_total.filter(|_| n > 0).map(|c| c / n as f64);
        cost.cost_per_request = per(level.requests.attempted);
        cost.cost_per_ok_request = per(level.requests.ok);
        cost.cost_per_1m_output_tokens = per(self.ok_output).map(|c| c * 1e6);
        if let Some(volume) = project_to {
            cost.projection = Some(project(price, level, &cost, volume));
        }
        cost
    }

    /// Σ billed tokens × rates, the tokens billed, and warnings. The total
    /// is `None` when requests needed pricing and none reported usage.
    fn per_token(&self, rates: &TokenRates, entry: &str) -> (Option<f64>, BilledTokens, Vec<String>) {
        let billed = self.billed;
        let lower_bound = "so the cost is a lower bound";
        let unbilled = [
            (
                self.no_usage_ok,
                format!(
                    "ok request(s) reported no token usage and are not priced, {lower_bound} (have the server report \
                     usage, e.g. include_usage)"
                ),
            ),
            (
                self.no_input_ok,
                format!("ok request(s) reported no input token count: their prompts are not priced, {lower_bound}"),
            ),
            (
                self.no_output_ok,
                format!("ok request(s) reported no output token count: their output is not priced, {lower_bound}"),
            ),
            (
                self.no_usage_failed,
                "failed request(s) streamed output but reported no usage: what the provider billed for them is not \
                 counted"
                    .to_owned(),
            ),
        ];
        let mut warnings: Vec<String> =
            unbilled.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
        let mut unpriced = |tokens: u64, price: Option<f64>, kind: &str, key: &str| match price {
            Some(p) => tokens as f64 * p,
            None => {
                if tokens > 0 {
                    warnings.push(format!(
                        "{tokens} {kind} tokens are not priced: the price of {entry} has no {key} rate, {lower_bound}"
                    ));
                }
                0.0
            }
        };
        let cache = unpriced(billed.cache_read, rates.cache_read, "cache-read", "cache_read")
            + unpriced(billed.cache_write, rates.cache_write, "cache-write", "cache_write");
        let total = (billed.input as f64 * rates.input + billed.output as f64 * rates.output + cache) / 1e6;
        if billed.requests == 0 && self.no_usage_ok + self.no_usage_failed > 0 {
            warnings.push("no request reported usage: nothing to price".into());
            return (None, billed, warnings);
        }
        (Some(total), billed, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{Origin, PriceFrom, PriceTier};
    use crate::record::{ErrorClass, RequestError};
    use crate::stats::summarize_level;

    /// A measured request that started at `start_ms` and took 1 s.
    fn rec(
        start_ms: u64,
        usage: Option<(u64, u64)>,
        cache: (Option<u64>, Option<u64>),
        error: Option<ErrorClass>,
    ) -> RequestRecord {
        RequestRecord {
            concurrency: 1,
            start_us: start_ms * 1000,
            ttft_ms: Some(100.0),
            ttfo_ms: Some(100.0),
            last_content_ms: Some(900.0),
            e2e_ms: 1000.0,
            chunks: 10,
            output_tokens: usage.map(|u| u.1).unwrap_or(10),
            output_source: if usage.is_some() { TokenSource::Usage } else { TokenSource::Chunks },
            input_tokens: usage.map(|u| u.0),
            cache_read_tokens: cache.0,
            cache_write_tokens: cache.1,
            error: error.map(|c| RequestError::new(c, "x")),
            ..RequestRecord::default()
        }
    }

    fn origin() -> Origin {
        Origin {
            from: PriceFrom::Config,
            entry: "prices.m".into(),
            name: None,
            date: None,
            source: "test".into(),
            unconfirmed: None,
            note: None,
        }
    }

    fn per_token_price(cache_read: Option<f64>, cache_write: Option<f64>) -> Price {
        Price::PerToken {
            model: "m".into(),
            rates: TokenRates { input: 3.0, output: 15.0, cache_read, cache_write },
            tier: PriceTier::OnDemand,
            scope: None,
            origin: origin(),
        }
    }

    fn cost_of(price: &Price, provider: &str, records: &[RequestRecord], volume: Option<Volume>) -> LevelCost {
        let level = summarize_level(1, records);
        level_cost(price, provider, &level, records, volume)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12 * b.abs().max(1.0))
    }

    #[test]
    fn tokens_times_rates_with_failures_that_bill_and_throttles_that_do_not() {
        let records = vec![
            rec(0, Some((1000, 200)), (None, None), None),
            rec(1000, Some((1000, 200)), (None, None), None),
            // Failed mid-stream but reported usage: it bills.
            rec(2000, Some((1000, 50)), (None, None), Some(ErrorClass::ModelStream)),
            // Throttled before the stream: no usage, no content, no bill.
            RequestRecord { chunks: 0, ..rec(3000, None, (None, None), Some(ErrorClass::Throttled)) },
        ];
        let c = cost_of(&per_token_price(None, None), "openai", &records, None);
        // 3000 input × $3 + 450 output × $15, per 1M.
        let total = (3000.0 * 3.0 + 450.0 * 15.0) / 1e6;
        assert!(close(c.cost_total, total), "{c:?}");
        assert!(close(c.cost_per_request, total / 4.0));
        assert!(close(c.cost_per_ok_request, total / 2.0), "failures count against the ok requests");
        assert!(close(c.cost_per_1m_output_tokens, total / 400.0 * 1e6), "per 1M output tokens of ok requests");
        assert_eq!(
            c.billed_tokens,
            Some(BilledTokens { input: 3000, cache_read: 0, cache_write: 0, output: 450, requests: 3 })
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.instance_hours, None);
    }

    #[test]
    fn cache_tokens_are_priced_as_such_and_counted_per_provider_convention() {
        let price = per_token_price(Some(0.30), Some(3.75));
        // OpenAI-style: prompt_tokens (1000) includes the 600 cached and 100 written.
        let records = [rec(0, Some((1000, 100)), (Some(600), Some(100)), None)];
        let c = cost_of(&price, "openai", &records, None);
        assert_eq!(c.billed_tokens.map(|b| (b.input, b.cache_read, b.cache_write)), Some((300, 600, 100)));
        assert!(close(c.cost_total, (300.0 * 3.0 + 600.0 * 0.30 + 100.0 * 3.75 + 100.0 * 15.0) / 1e6), "{c:?}");
        // Bedrock-style: inputTokens (1000) excludes the cache counts.
        let c = cost_of(&price, "bedrock", &records, None);
        assert_eq!(c.billed_tokens.map(|b| (b.input, b.cache_read, b.cache_write)), Some((1000, 600, 100)));
        assert!(close(c.cost_total, (1000.0 * 3.0 + 600.0 * 0.30 + 100.0 * 3.75 + 100.0 * 15.0) / 1e6));
    }

    #[test]
    fn cache_tokens_without_a_rate_are_not_guessed() {
        let records = [rec(0, Some((1000, 100)), (Some(600), None), None)];
        let c = cost_of(&per_token_price(None, None), "bedrock", &records, None);
        assert!(close(c.cost_total, (1000.0 * 3.0 + 100.0 * 15.0) / 1e6));
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0]
                .starts_with("600 cache-read tokens are not priced: the price of prices.m has no cache_read rate"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn missing_usage_is_a_warning_and_no_usage_at_all_is_no_figure() {
        let price = per_token_price(None, None);
        let records = [rec(0, Some((1000, 100)), (None, None), None), rec(1000, None, (None, None), None)];
        let c = cost_of(&price, "openai", &records, None);
        assert!(close(c.cost_total, (1000.0 * 3.0 + 100.0 * 15.0) / 1e6));
        assert!(c.warnings[0].starts_with("1 ok request(s) reported no token usage"), "{:?}", c.warnings);

        let records = [rec(0, None, (None, None), None), rec(1000, None, (None, None), Some(ErrorClass::Cut))];
        let c = cost_of(&price, "openai", &records, None);
        assert_eq!((c.cost_total, c.cost_per_request, c.cost_per_ok_request), (None, None, None), "never zero");
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
        assert!(c.warnings[1].contains("1 failed request(s) streamed output but reported no usage"));
        assert_eq!(c.warnings[2], "no request reported usage: nothing to price");

        // Only throttled requests: truly nothing billed.
        let throttled = RequestRecord { chunks: 0, ..rec(0, None, (None, None), Some(ErrorClass::Throttled)) };
        let c = cost_of(&price, "openai", &[throttled], None);
        assert_eq!((c.cost_total, c.cost_per_request, c.cost_per_ok_request), (Some(0.0), Some(0.0), None));
    }

    #[test]
    fn instance_hours_are_window_times_instances_times_rate() {
        // Four 1 s requests back to back: a 4 s window.
        let records: Vec<_> = (0..4).map(|i| rec(i * 1000, Some((100, 100)), (None, None), None)).collect();
        let price = Price::PerInstanceHour {
            instance_type: Some("ml.g5.xlarge".into()),
            instances: 2,
            price_per_hour: 1.8,
            origin: origin(),
        };
        let c = cost_of(&price, "sagemaker", &records, None);
        assert!(close(c.instance_hours, 4.0 / 3600.0 * 2.0));
        assert!(close(c.cost_total, 4.0 / 3600.0 * 2.0 * 1.8), "{c:?}");
        assert!(close(c.cost_per_ok_request, 4.0 / 3600.0 * 2.0 * 1.8 / 4.0));
        assert!(close(c.cost_per_1m_output_tokens, 4.0 / 3600.0 * 2.0 * 1.8 / 400.0 * 1e6));
        assert_eq!(c.billed_tokens, None);
    }

    #[test]
    fn projections() {
        let records: Vec<_> = (0..4).map(|i| rec(i * 1000, Some((1000, 100)), (None, None), None)).collect();
        let c = cost_of(&per_token_price(None, None), "openai", &records, Some("1000/h".parse().unwrap()));
        let p = c.projection.clone().unwrap();
        let per_ok = (1000.0 * 3.0 + 100.0 * 15.0) / 1e6;
        assert!(close(p.cost_per_hour, per_ok * 1000.0) && close(p.cost_per_month, per_ok * 1000.0 * 730.0), "{p:?}");
        assert_eq!((p.requests_per_hour, p.instances_needed), (1000.0, None));
        assert_eq!(c.value("cost_per_month"), p.cost_per_month);

        // 1 ok req/s measured on 2 instances = 0.5 req/s each; 9000/h = 2.5 req/s needs 5.
        let price = Price::PerInstanceHour { instance_type: None, instances: 2, price_per_hour: 2.0, origin: origin() };
        let c = cost_of(&price, "sagemaker", &records, Some("9000/h".parse().unwrap()));
        let p = c.projection.unwrap();
        assert_eq!(p.instances_needed, Some(5), "{p:?}");
        assert!(close(p.cost_per_hour, 10.0) && close(p.cost_per_month, 7300.0));
        assert!(p.basis.contains("concurrency 1") && p.basis.contains("not a sweep"), "{}", p.basis);
        // Exactly the measured throughput needs no extra instance.
        let c = cost_of(&price, "sagemaker", &records, Some("3600/h".parse().unwrap()));
        assert_eq!(c.projection.unwrap().instances_needed, Some(2));
    }
}
