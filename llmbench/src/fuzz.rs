//! Not public API: the entry points of the fuzz targets in `fuzz/` and of
//! the corpus replay test (`llmbench/tests/fuzz_corpus.rs`). Each takes
//! arbitrary bytes and drives one input path of llmbench the way the
//! harness does; none may panic, whatever the bytes (a malformed input is a
//! classified error). They are small wrappers: the decoders, parsers and
//! grammars they call are the ones the harness uses.
//!
//! Where a stream arrives in network reads, the first byte of the input
//! seeds how the rest is cut into reads, so the fuzzer also explores where
//! reads split events, lines and characters.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::provider::Stamp;
use crate::record::{Deadlines, Phase, RequestError, Timeline};
use crate::wire::Progress;
use crate::wire::sse::SseDecoder;

/// A fuzz target's entry point.
pub type Entry = fn(&[u8]);

/// Every target: its name (the directory of its corpus under
/// `fuzz/corpus/`) and its entry point.
pub const TARGETS: &[(&str, Entry)] = &[
    ("sse", sse),
    ("openai", openai),
    ("anthropic", anthropic),
    #[cfg(feature = "sagemaker")]
    ("sagemaker", sagemaker),
    ("bedrock_invoke", bedrock_invoke),
    #[cfg(feature = "bedrock")]
    ("bedrock_converse", bedrock_converse),
    #[cfg(all(feature = "bedrock", feature = "sagemaker"))]
    ("eventstream", eventstream),
    ("config", config),
    ("dataset", dataset),
    ("settings", settings),
    ("results", results),
];

/// `data` cut into reads of 1 to 64 bytes, the sizes drawn from `seed`.
fn reads(seed: u8, data: &[u8]) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 0x100;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // A small LCG: deterministic, so a crash input replays the same way.
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = ((state >> 16) as usize % 64 + 1).min(rest.len());
        let (read, tail) = rest.split_at(n);
        out.push(read);
        rest = tail;
    }
    out
}

fn split_seed(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&seed, rest)) => (seed, rest),
        None => (0, data),
    }
}

fn timeline() -> Timeline {
    let deadlines = Deadlines {
        first_content: Duration::from_secs(60),
        total: Duration::from_secs(60),
        idle: Duration::from_secs(60),
    };
    Timeline::new(Instant::now(), deadlines, 16, true)
}

/// Turns a finished timeline into its record, as the runner does.
fn record(tl: Timeline, outcome: Result<(), RequestError>) {
    let record = tl.into_record(0, Phase::Measured, outcome.err(), Instant::now(), 0);
    let _ = serde_json::to_string(&record);
}

/// The SSE decoder: whole, then in reads, must give the same events.
pub fn sse(data: &[u8]) {
    let (seed, data) = split_seed(data);
    let decode = |reads: &[&[u8]]| {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut decoder = SseDecoder::new();
        for read in reads {
            let flow: ControlFlow<()> = decoder.feed(read, |e| {
                out.push((e.name.to_vec(), e.data.to_vec()));
                ControlFlow::Continue(())
            });
            assert!(flow.is_continue());
        }
        let flow: ControlFlow<()> = decoder.finish(|e| {
            out.push((e.name.to_vec(), e.data.to_vec()));
            ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        out
    };
    let whole = decode(&[data]);
    let split = decode(&reads(seed, data));
    assert_eq!(whole, split, "the events depend on where reads split the stream");
}

/// An OpenAI-compatible stream, through the provider's own read handling.
pub fn openai(data: &[u8]) {
    use crate::provider::openai::StreamState;
    let (seed, data) = split_seed(data);
    let mut tl = timeline();
    let mut decoder = SseDecoder::new();
    let mut state = StreamState::default();
    for read in reads(seed, data) {
        let at = Instant::now();
        if let ControlFlow::Break(outcome) = state.on_read(&mut decoder, read, at, &mut tl) {
            return record(tl, outcome);
        }
    }
    let outcome = state.at_end(&mut decoder, Instant::now(), &mut tl);
    record(tl, outcome);
}

/// An Anthropic Messages stream, through the provider's event handling.
pub fn anthropic(data: &[u8]) {
    use crate::provider::anthropic::on_sse;
    use crate::wire::anthropic::MessagesDecoder;
    let (seed, data) = split_seed(data);
    let mut tl = timeline();
    let mut decoder = SseDecoder::new();
    let mut messages = MessagesDecoder::default();
    for read in reads(seed, data) {
        let at = Instant::now();
        if let ControlFlow::Break(outcome) = decoder.feed(read, |e| on_sse(&mut messages, e.name, e.data, at, &mut tl))
        {
            return record(tl, outcome);
        }
    }
    let flow = decoder.finish(|e| on_sse(&mut messages, e.name, e.data, Instant::now(), &mut tl));
    let outcome = match flow {
        ControlFlow::Break(outcome) => outcome,
        ControlFlow::Continue(()) => Ok(()),
    };
    record(tl, outcome);
}

/// SageMaker `PayloadPart`s in the format the first byte picks (the line
/// buffer and the line decoder).
#[cfg(feature = "sagemaker")]
pub fn sagemaker(data: &[u8]) {
    use crate::wire::sagemaker::{Format, PartDecoder};
    let (seed, data) = split_seed(data);
    let format = [Format::Tgi, Format::Lmi, Format::OpenAi][usize::from(seed % 3)];
    let mut tl = timeline();
    let mut parts = PartDecoder::new(format);
    for part in reads(seed / 3, data) {
        if let Err(e) = parts.on_part(part, &mut Stamp { tl: &mut tl, at: Instant::now() }) {
            return record(tl, Err(e));
        }
    }
    let outcome = parts.finish(&mut Stamp { tl: &mut tl, at: Instant::now() }).map(|_| ());
    record(tl, outcome);
}

/// Bedrock `InvokeModelWithResponseStream` chunks (one per line) of the
/// model family the first byte picks.
pub fn bedrock_invoke(data: &[u8]) {
    use crate::wire::bedrock::invoke::{ChunkDecoder, Family};
    let (seed, data) = split_seed(data);
    let families =
        [Family::Anthropic, Family::Meta, Family::AmazonNova, Family::AmazonTitan, Family::Mistral, Family::OpenAi];
    let mut tl = timeline();
    let mut decoder = ChunkDecoder::new(families[usize::from(seed) % families.len()]);
    for chunk in data.split(|&b| b == b'\n') {
        match decoder.on_chunk(chunk, &mut Stamp { tl: &mut tl, at: Instant::now() }) {
            Ok(Progress::Last) => break,
            Ok(_) => {}
            Err(e) => return record(tl, Err(e)),
        }
    }
    record(tl, Ok(()));
}

/// Reads the input as a sequence of typed fields.
#[cfg(feature = "bedrock")]
struct Fields<'a>(&'a [u8]);

#[cfg(feature = "bedrock")]
impl<'a> Fields<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn int(&mut self) -> Option<i64> {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte()?;
        }
        Some(i64::from_le_bytes(bytes))
    }

    /// A string of up to 255 bytes (lossy UTF-8).
    fn text(&mut self) -> Option<String> {
        let len = usize::from(self.byte()?).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(String::from_utf8_lossy(text).into_owned())
    }
}

/// Bedrock `ConverseStream` events as the SDK hands them over, built from
/// the input's fields, through the converse event decoder.
#[cfg(feature = "bedrock")]
pub fn bedrock_converse(data: &[u8]) {
    use aws_sdk_bedrockruntime::types::{
        ContentBlockDelta, ContentBlockDeltaEvent, ConverseStreamMetadataEvent, ConverseStreamMetrics,
        ConverseStreamOutput, MessageStopEvent, ReasoningContentBlockDelta, StopReason, TokenUsage, ToolUseBlockDelta,
    };
    let mut fields = Fields(data);
    let mut tl = timeline();
    let mut next = || -> Option<Option<ConverseStreamOutput>> {
        let int = |f: &mut Fields<'_>| f.int().map(|n| n as i32);
        Some(match fields.byte()? % 7 {
            0..=2 => {
                let text = fields.text()?;
                let delta = match fields.byte()? % 3 {
                    0 => ContentBlockDelta::Text(text),
                    1 => ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(text)),
                    _ => ContentBlockDelta::ToolUse(ToolUseBlockDelta::builder().input(text).build().ok()?),
                };
                let event = ContentBlockDeltaEvent::builder().delta(delta).content_block_index(0).build().ok()?;
                Some(ConverseStreamOutput::ContentBlockDelta(event))
            }
            3 => {
                let event = MessageStopEvent::builder().stop_reason(StopReason::from(fields.text()?.as_str())).build();
                Some(ConverseStreamOutput::MessageStop(event.ok()?))
            }
            4 => {
                let usage = TokenUsage::builder()
                    .input_tokens(int(&mut fields)?)
                    .output_tokens(int(&mut fields)?)
                    .total_tokens(int(&mut fields)?)
                    .set_cache_read_input_tokens(Some(int(&mut fields)?))
                    .set_cache_write_input_tokens(Some(int(&mut fields)?))
                    .build()
                    .ok()?;
                let metrics = ConverseStreamMetrics::builder().latency_ms(fields.int()?).build().ok()?;
                Some(ConverseStreamOutput::Metadata(
                    ConverseStreamMetadataEvent::builder().usage(usage).metrics(metrics).build(),
                ))
            }
            5 => Some(ConverseStreamOutput::ContentBlockStop(
                aws_sdk_bedrockruntime::types::ContentBlockStopEvent::builder()
                    .content_block_index(int(&mut fields)?)
                    .build()
                    .ok()?,
            )),
            _ => None,
        })
    };
    let mut decoder = crate::wire::bedrock::converse::ConverseDecoder::default();
    while let Some(event) = next() {
        let Some(event) = event else { continue };
        let progress = decoder.on_event(event, &mut Stamp { tl: &mut tl, at: Instant::now() });
        if progress == Progress::Last {
            break;
        }
    }
    record(tl, Ok(()));
}

/// AWS event stream frames, decoded by the smithy decoder the SDKs use,
/// then what llmbench owns: the classification of exception and error
/// frames, and the payloads of Bedrock invoke chunks (base64 JSON) and
/// SageMaker parts (raw bytes) through their decoders.
#[cfg(all(feature = "bedrock", feature = "sagemaker"))]
pub fn eventstream(data: &[u8]) {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::event_stream::RawMessage;

    use crate::provider::aws::stream_error;
    use crate::wire::bedrock::invoke::{ChunkDecoder, Family};
    use crate::wire::sagemaker::{Format, PartDecoder};

    let (seed, data) = split_seed(data);
    let mut tl = timeline();
    let mut chunks = ChunkDecoder::new(Family::Meta);
    let mut parts = PartDecoder::new([Format::Tgi, Format::Lmi, Format::OpenAi][usize::from(seed % 3)]);
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = bytes::BytesMut::new();
    for read in reads(seed / 3, data) {
        buf.extend_from_slice(read);
        loop {
            let message = match decoder.decode_frame(&mut buf) {
                Ok(DecodedFrame::Complete(message)) => message,
                Ok(DecodedFrame::Incomplete) => break,
                Err(e) => {
                    let raw = RawMessage::invalid(Some(buf.clone().freeze()));
                    return record(tl, Err(stream_error(SdkError::<ErrorMetadata, _>::response_error(e, raw))));
                }
            };
            let header = |name: &str| {
                let h = message.headers().iter().find(|h| h.name().as_str() == name)?;
                h.value().as_string().ok().map(|s| s.as_str().to_owned())
            };
            let at = Instant::now();
            let outcome = match header(":message-type").as_deref() {
                Some("event") => match header(":event-type").as_deref() {
                    Some("chunk") => match serde_json::from_slice::<serde_json::Value>(message.payload()) {
                        Ok(v) => match v["bytes"].as_str().map(aws_smithy_types::base64::decode) {
                            Some(Ok(json)) => chunks.on_chunk(&json, &mut Stamp { tl: &mut tl, at }).map(|_| ()),
                            _ => Ok(()),
                        },
                        Err(_) => Ok(()),
                    },
                    Some("PayloadPart") => parts.on_part(message.payload(), &mut Stamp { tl: &mut tl, at }).map(|_| ()),
                    _ => Ok(()),
                },
                Some("exception") => {
                    let mut meta = ErrorMetadata::builder();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(message.payload())
                        && let Some(m) = v["message"].as_str()
                    {
                        meta = meta.message(m);
                    }
                    let raw = RawMessage::Decoded(message);
                    Err(stream_error(SdkError::service_error(meta.build(), raw)))
                }
                _ => {
                    let raw = RawMessage::Decoded(message);
                    Err(stream_error(SdkError::<ErrorMetadata, _>::response_error("unmodelled frame", raw)))
                }
            };
            if let Err(e) = outcome {
                return record(tl, Err(e));
            }
        }
    }
    let outcome = parts.finish(&mut Stamp { tl: &mut tl, at: Instant::now() }).map(|_| ());
    record(tl, outcome);
}

/// `llmbench.toml` text, parsed and validated, then every target in it
/// resolved with the default settings.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = crate::config::file::Config::parse(Path::new("llmbench.toml"), text) else { return };
    let (source, defaults) = config.defaults_layer();
    let layers = [crate::settings::Layer { source: &source, settings: defaults }];
    let Ok(settings) = crate::settings::Settings::resolve(&layers, |_, _| Ok(())) else { return };
    for name in crate::config::known_names(&config) {
        let _ = crate::config::resolve(&config, &name, &settings);
    }
}

/// A dataset (JSONL) and, before a first line `---`, a user prompt
/// template: parsed, validated and rendered as a run would.
pub fn dataset(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, jsonl) = match text.split_once("\n---\n") {
        Some((template, jsonl)) => (Some(template), jsonl),
        None => (None, text),
    };
    let mut workload = crate::Workload::dataset_str("fuzz.jsonl", jsonl).shuffle(false);
    if let Some(template) = template {
        workload = workload.template_str("fuzz.j2", template);
    }
    if workload.validate(Some(4)).is_ok() {
        for i in 0..4 {
            let _ = workload.request(i);
        }
    }
}

/// A value of the setting grammar the first byte picks, parsed, then
/// resolved into the settings and load plan a run reads.
pub fn settings(data: &[u8]) {
    use crate::settings::value::{Count, Levels, Positive, PositiveTime, Rates, Spec, Time};
    use crate::settings::{Arrival, Limit, SettingsLayer, Slo, StagesPlan, SweepSpec, Volume};
    let (seed, data) = split_seed(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut layer = SettingsLayer::default();
    let parsed = match seed % 12 {
        0 => Spec::<StagesPlan>::parse(text).map(|s| layer.stages = Some(s)),
        1 => Spec::<SweepSpec>::parse(text).map(|s| layer.sweep = Some(s)),
        2 => Spec::<Limit>::parse(text).map(|s| layer.limits = vec![s]),
        3 => Spec::<Slo>::parse(text).map(|s| layer.slo = Some(s)),
        4 => Spec::<Rates>::parse(text).map(|s| layer.rate = Some(s)),
        5 => Spec::<PositiveTime>::parse(text).map(|s| layer.duration = Some(s)),
        6 => Spec::<Volume>::parse(text).map(|s| layer.project = Some(s)),
        7 => Spec::<Arrival>::parse(text).map(|s| layer.arrival = Some(s)),
        8 => Spec::<Levels>::parse(text).map(|s| layer.concurrency = Some(s)),
        9 => {
            // The same durations, as a conversation's think time may write them.
            if let Ok(think) = Spec::<crate::delay::Delay>::parse(text) {
                let _ = think.get().sample(&mut crate::rng::Rng::new(1));
            }
            Spec::<Time>::parse(text).map(|s| layer.grace = Some(s))
        }
        10 => Spec::<Positive>::parse(text).map(|s| layer.samples = Some(s)),
        _ => Spec::<Count>::parse(text).map(|s| layer.warmup = Some(s)),
    };
    if parsed.is_err() {
        return;
    }
    let source = crate::settings::Source::Flags;
    let layers = [crate::settings::Layer { source: &source, settings: &layer }];
    if let Ok(settings) = crate::settings::Settings::resolve(&layers, |_, _| Ok(())) {
        let _ = settings.load.describe().to_string();
        for limit in &settings.limits {
            let _ = limit.limit.to_string();
        }
    }
}

/// A run's `summary.json` (first byte even) or `requests.jsonl` (odd), read
/// as a saved run or baseline is; records are then summarised as a level.
pub fn results(data: &[u8]) {
    let (seed, data) = split_seed(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    if seed % 2 == 0 {
        let _ = crate::results::parse_summary(text, Path::new("summary.json"));
    } else if let Ok(records) = crate::results::parse_requests(text, Path::new("requests.jsonl")) {
        let level = crate::stats::summarize_level(1, &records);
        let _ = serde_json::to_string(&level);
    }
}
