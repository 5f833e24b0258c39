//! One compact timeline per request.
//!
//! A provider fills a [`Timeline`] while it reads a response: it stamps the
//! moments of docs/metrics.md ("Clock") as bytes arrive, before parsing them, and
//! reports usage and errors. The runner turns a finished timeline into a
//! [`RequestRecord`], the line written to `requests.jsonl`.
//!
//! This module must not know which provider produced the events, nor how
//! load was shaped: it only stores times and counts.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The error classes of docs/metrics.md, one per failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// HTTP 429, `ThrottlingException` (also SageMaker's HTTP 400 one).
    Throttled,
    /// The model is loading or not ready (`ModelNotReadyException`, llama.cpp 503 "Loading model").
    NotReady,
    /// 400/401/403/404/422 and validation or access errors: the request was refused.
    Client,
    /// 5xx and the services' internal or unavailable errors.
    Server,
    /// An error reported after the stream began.
    ModelStream,
    /// A connect, first-content or total deadline passed on the client.
    Timeout,
    /// The connection closed before the stream's end marker.
    Cut,
    /// Bytes that do not parse as the protocol promises.
    Protocol,
    /// The response arrived but failed a response check.
    Check,
    /// A client-side resource ran out (file descriptors, memory, ports):
    /// not the endpoint's fault.
    Local,
    /// llmbench itself ended the request: still in flight when a
    /// duration-bounded level (plus its grace) ran out. Not a failure of the
    /// endpoint; reported apart.
    CutAtEnd,
    /// llmbench itself ended the request: in flight when the run was
    /// interrupted (SIGINT, SIGTERM, SIGHUP). Not a failure of the endpoint.
    Interrupted,
}

impl ErrorClass {
    /// Every class, in the order reports list them.
    pub const ALL: [ErrorClass; 12] = [
        ErrorClass::Throttled,
        ErrorClass::NotReady,
        ErrorClass::Client,
        ErrorClass::Server,
        ErrorClass::ModelStream,
        ErrorClass::Timeout,
        ErrorClass::Cut,
        ErrorClass::Protocol,
        ErrorClass::Check,
        ErrorClass::Local,
        ErrorClass::CutAtEnd,
        ErrorClass::Interrupted,
    ];

    /// The docs/metrics.md key of this class.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::NotReady => "not_ready",
            ErrorClass::Client => "client",
            ErrorClass::Server => "server",
            ErrorClass::ModelStream => "model_stream",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Cut => "cut",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Check => "check",
            ErrorClass::Local => "local",
            ErrorClass::CutAtEnd => "cut_at_end",
            ErrorClass::Interrupted => "interrupted",
        }
    }

    /// Whether llmbench, not the endpoint, ended the request (the end of a
    /// duration-bounded level, an interruption): such records are kept but
    /// count neither as attempted nor as failed.
    pub fn is_llmbench_cut(self) -> bool {
        matches!(self, ErrorClass::CutAtEnd | ErrorClass::Interrupted)
    }

    /// The class of an HTTP error status received before the stream began.
    pub fn from_http_status(status: u16) -> ErrorClass {
        match status {
            429 => ErrorClass::Throttled,
            408 => ErrorClass::Timeout,
            500..=599 => ErrorClass::Server,
            _ => ErrorClass::Client,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified request failure. The message never carries credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestError {
    /// The docs/metrics.md class.
    pub class: ErrorClass,
    /// The HTTP status, when the failure came with one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    /// What happened, for people.
    pub message: String,
}

impl RequestError {
    /// A new error of `class`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        RequestError { class, status: None, message: message.into() }
    }

    /// The same error, with the HTTP status it came with.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (HTTP {status}): {}", self.class, self.message),
            None => write!(f, "{}: {}", self.class, self.message),
        }
    }
}

impl std::error::Error for RequestError {}

/// Whether a content chunk carried the answer, a tool call's arguments or
/// the model's reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// Visible output text.
    Answer,
    /// Reasoning ("thinking") text: counts for `ttft`, not for `ttfo`.
    Reasoning,
    /// A tool call's argument text: answer content (it counts for `ttft`
    /// and `ttfo`), kept apart from the text so its JSON can be checked.
    ToolCall,
}

/// Where a token count came from (docs/metrics.md `output_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Server-reported usage: the figure of record.
    Usage,
    /// A local tokenizer or estimate.
    Tokenizer,
    /// The count of content chunks (no usage, no tokenizer).
    #[default]
    Chunks,
    /// A share of a server-reported count: reasoning tokens of a server
    /// that reports none (Anthropic, Bedrock) are the output count split by
    /// the reasoning share of the streamed text.
    Estimate,
}

impl TokenSource {
    /// The key it is written as.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Tokenizer => "tokenizer",
            TokenSource::Chunks => "chunks",
            TokenSource::Estimate => "estimate",
        }
    }
}

/// Token usage as a server reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: Option<u64>,
    /// Generated tokens (reasoning included).
    pub output_tokens: Option<u64>,
    /// Prompt tokens read from a cache.
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to a cache.
    pub cache_write_tokens: Option<u64>,
    /// Output tokens spent reasoning (OpenAI
    /// `completion_tokens_details.reasoning_tokens`), part of `output_tokens`.
    pub reasoning_tokens: Option<u64>,
    /// Whether `input_tokens` leaves out the cache counts (Anthropic,
    /// Bedrock), rather than including them (OpenAI's `prompt_tokens`).
    pub input_excludes_cache: bool,
}

/// A tool call as it streamed: its id, the tool's name and its argument text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ToolCallText {
    /// The call's id (empty when the server sent none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The tool called.
    pub name: String,
    /// The argument JSON, as streamed (possibly invalid).
    pub arguments: String,
}

/// The deadlines of one request, all measured from its `scheduled` time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Until the first content chunk.
    pub first_content: Duration,
    /// Until the end of the stream.
    pub total: Duration,
    /// The longest wait for the next content chunk once content has begun
    /// (`idle_timeout`): a stream that stalls mid-way fails after this,
    /// not after the whole `total`, and frees its slot.
    pub idle: Duration,
}

/// What a provider records while it streams one response.
///
/// Times are stamped by the provider with [`Instant::now`] at the moment a
/// read returns, before the bytes are parsed; every event decoded from one
/// read carries that read's stamp. Chunk arrivals are kept as microsecond
/// offsets from `scheduled` in a vector sized once per request, so the
/// measured path does not allocate per token.
#[derive(Debug)]
pub struct Timeline {
    scheduled: Instant,
    deadlines: Deadlines,
    sent: Option<Instant>,
    headers: Option<Instant>,
    first_content: Option<Instant>,
    first_answer: Option<Instant>,
    first_tool_call: Option<Instant>,
    tool_call_done: Option<Instant>,
    last_content: Option<Instant>,
    /// The last read that returned bytes (or an event) of the body.
    last_read: Option<Instant>,
    end: Option<Instant>,
    chunk_offsets_us: Vec<u32>,
    usage: Usage,
    text: Option<String>,
    /// Bytes of reasoning and of answer (text and tool-call) content, to
    /// split an output count that does not say how much was reasoning.
    reasoning_bytes: u64,
    answer_bytes: u64,
    tool_calls: u32,
    /// Tool calls' names and arguments, kept when text is captured.
    tool_call_text: Vec<ToolCallText>,
    input_tokens_requested: Option<u32>,
    input_tokens_generated: Option<u32>,
    stop_reason: Option<String>,
    server_latency_ms: Option<f64>,
    server_first_byte_ms: Option<f64>,
    response_id: Option<String>,
    attempts: Option<u32>,
    variant: Option<String>,
    connection: Option<(bool, Option<f64>)>,
}

impl Timeline {
    /// A timeline for a request due at `scheduled`, expecting about
    /// `expected_chunks` content chunks. `capture_text` keeps the output text
    /// (for response checks and test mode); otherwise only lengths are kept.
    pub fn new(scheduled: Instant, deadlines: Deadlines, expected_chunks: usize, capture_text: bool) -> Self {
        Timeline {
            scheduled,
            deadlines,
            sent: None,
            headers: None,
            first_content: None,
            first_answer: None,
            first_tool_call: None,
            tool_call_done: None,
            last_content: None,
            last_read: None,
            end: None,
            chunk_offsets_us: Vec::with_capacity(expected_chunks + 8),
            usage: Usage::default(),
            text: capture_text.then(|| String::with_capacity(expected_chunks * 6)),
            reasoning_bytes: 0,
            answer_bytes: 0,
            tool_calls: 0,
            tool_call_text: Vec::new(),
            input_tokens_requested: None,
            input_tokens_generated: None,
            stop_reason: None,
            server_latency_ms: None,
            server_first_byte_ms: None,
            response_id: None,
            attempts: None,
            variant: None,
            connection: None,
        }
    }

    /// How many attempts the client made (only recorded when client-side
    /// retries are on: then one measured request may hide several).
    pub fn set_attempts(&mut self, attempts: u32) {
        self.attempts = Some(attempts);
    }

    /// Which deployment served the request, as the server said (SageMaker's
    /// `x-Amzn-Invoked-Production-Variant`).
    pub fn set_variant(&mut self, variant: &str) {
        self.variant = Some(variant.to_owned());
    }

    /// The server's id for the response (e.g. `chatcmpl-…`), kept to pair
    /// the client's measurements with server logs. Only the first one counts.
    pub fn set_response_id(&mut self, id: &str) {
        if self.response_id.is_none() {
            self.response_id = Some(id.to_owned());
        }
    }

    /// When the request was due.
    pub fn scheduled(&self) -> Instant {
        self.scheduled
    }

    /// The request was handed to the connection.
    pub fn mark_sent(&mut self, at: Instant) {
        self.sent = Some(at);
    }

    /// The status line and headers arrived.
    pub fn mark_headers(&mut self, at: Instant) {
        self.headers = Some(at);
    }

    /// Whether the request opened its connection, and how long opening it
    /// took (ms), when the client can tell.
    pub fn mark_connection(&mut self, new: bool, connect_ms: Option<f64>) {
        self.connection = Some((new, connect_ms));
    }

    /// A content chunk read at `at`. Empty text is not content (docs/metrics.md:
    /// role-only chunks never count) and is ignored.
    pub fn on_content(&mut self, at: Instant, kind: ContentKind, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.first_content.is_none() {
            self.first_content = Some(at);
        }
        if kind != ContentKind::Reasoning && self.first_answer.is_none() {
            self.first_answer = Some(at);
        }
        self.last_content = Some(at);
        self.chunk_offsets_us.push(micros_between(self.scheduled, at));
        match kind {
            ContentKind::Reasoning => self.reasoning_bytes += text.len() as u64,
            _ => self.answer_bytes += text.len() as u64,
        }
        if kind == ContentKind::ToolCall {
            // A delta before any start event still belongs to a call.
            if self.tool_calls == 0 {
                self.on_tool_call_start(at, "", "");
            }
            if let Some(call) = self.tool_call_text.last_mut() {
                call.arguments.push_str(text);
            }
        } else if let Some(buf) = &mut self.text {
            buf.push_str(text);
        }
    }

    /// A tool call opened at `at` (the event naming the tool): the first
    /// one is `ttftc`'s end.
    pub fn on_tool_call_start(&mut self, at: Instant, id: &str, name: &str) {
        self.first_tool_call.get_or_insert(at);
        self.tool_calls += 1;
        if self.text.is_some() {
            // One allocation per call, not per delta; arguments are short.
            let arguments = String::with_capacity(128);
            self.tool_call_text.push(ToolCallText { id: id.to_owned(), name: name.to_owned(), arguments });
        }
    }

    /// A tool call's arguments are complete (its block closed, or the
    /// stream finished with it): the first is `tool_call`'s end.
    pub fn on_tool_call_end(&mut self, at: Instant) {
        if self.tool_calls > 0 {
            self.tool_call_done.get_or_insert(at);
        }
    }

    /// The prompt length the workload asked for and the one its text has
    /// by the local tokenizer (docs/metrics.md `input_tokens_requested`).
    pub fn set_input_tokens_planned(&mut self, requested: Option<u32>, generated: Option<u32>) {
        self.input_tokens_requested = requested;
        self.input_tokens_generated = generated;
    }

    /// Server-reported usage. Later reports overwrite earlier fields they set.
    pub fn on_usage(&mut self, usage: Usage) {
        let u = &mut self.usage;
        u.input_tokens = usage.input_tokens.or(u.input_tokens);
        u.output_tokens = usage.output_tokens.or(u.output_tokens);
        u.cache_read_tokens = usage.cache_read_tokens.or(u.cache_read_tokens);
        u.cache_write_tokens = usage.cache_write_tokens.or(u.cache_write_tokens);
        u.reasoning_tokens = usage.reasoning_tokens.or(u.reasoning_tokens);
        u.input_excludes_cache |= usage.input_excludes_cache;
    }

    /// Why generation stopped, as the server said it.
    pub fn set_stop_reason(&mut self, reason: &str) {
        self.stop_reason = Some(reason.to_owned());
    }

    /// What the service says it spent on the request, in milliseconds.
    pub fn set_server_latency_ms(&mut self, ms: f64) {
        self.server_latency_ms = Some(ms);
    }

    /// The service's own time to first byte, in milliseconds.
    pub fn set_server_first_byte_ms(&mut self, ms: f64) {
        self.server_first_byte_ms = Some(ms);
    }

    /// The stream is complete (end marker, or a clean close where the
    /// protocol allows one).
    pub fn mark_end(&mut self, at: Instant) {
        if self.end.is_none() {
            self.end = Some(at);
        }
    }

    /// Whether any content arrived yet.
    pub fn has_content(&self) -> bool {
        self.first_content.is_some()
    }

    /// The instant the next read must finish by: the first-content deadline
    /// until content arrives, then the total deadline or, if sooner, the
    /// idle deadline (the last content plus `idle`).
    pub fn next_deadline(&self) -> Instant {
        let total = self.scheduled + self.deadlines.total;
        match self.idle_deadline() {
            Some(idle) => total.min(idle),
            None => total.min(self.scheduled + self.deadlines.first_content),
        }
    }

    /// A read of the body returned bytes at `at`: the stream is not idle.
    pub fn mark_read(&mut self, at: Instant) {
        self.last_read = Some(at);
    }

    /// When the stream counts as stalled: the last read (or content) plus
    /// the idle timeout; `None` before any content (the first-content
    /// deadline covers that wait, which includes the server's prefill).
    fn idle_deadline(&self) -> Option<Instant> {
        let last = self.last_content?.max(self.last_read.unwrap_or(self.scheduled));
        Some(last.checked_add(self.deadlines.idle).unwrap_or(last))
    }

    /// The timeout error for a deadline that passed now.
    pub fn timeout_error(&self) -> RequestError {
        if let Some(idle) = self.idle_deadline()
            && idle < self.scheduled + self.deadlines.total
            && Instant::now() >= idle
        {
            return RequestError::new(
                ErrorClass::Timeout,
                format!("stream stalled: no content for {} ms (idle_timeout)", self.deadlines.idle.as_millis()),
            );
        }
        if self.first_content.is_none() && self.deadlines.first_content < self.deadlines.total {
            RequestError::new(
                ErrorClass::Timeout,
                format!("no content within {} ms", self.deadlines.first_content.as_millis()),
            )
        } else {
            RequestError::new(
                ErrorClass::Timeout,
                format!("stream not complete within {} ms", self.deadlines.total.as_millis()),
            )
        }
    }

    /// The captured output text, when capture was asked for.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Turns the timeline into the record kept on disk. `error` is the
    /// request's failure, if any; `ended` is when the runner saw it finish.
    pub(crate) fn into_record(
        self,
        index: u64,
        phase: Phase,
        error: Option<RequestError>,
        ended: Instant,
        start_offset_us: u64,
    ) -> RequestRecord {
        let ms = |at: Option<Instant>| at.map(|t| millis_between(self.scheduled, t));
        let end = self.end.unwrap_or(ended);
        let chunks = self.chunk_offsets_us.len() as u64;
        let (output_tokens, output_source) = match self.usage.output_tokens {
            Some(n) => (n, TokenSource::Usage),
            None => (chunks, TokenSource::Chunks),
        };
        let gaps_us = self.chunk_offsets_us.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
        let (reasoning_tokens, reasoning_source) = match (self.usage.reasoning_tokens, self.reasoning_bytes) {
            (Some(n), _) => (Some(n), Some(TokenSource::Usage)),
            (None, 0) => (None, None),
            (None, reasoning) => {
                // The output count split by the reasoning share of the text.
                let share = reasoning as f64 / (reasoning + self.answer_bytes) as f64;
                (Some((output_tokens as f64 * share).round() as u64), Some(TokenSource::Estimate))
            }
        };
        let u = &self.usage;
        let prompt_tokens = u.input_tokens.map(|n| {
            if u.input_excludes_cache {
                n + u.cache_read_tokens.unwrap_or(0) + u.cache_write_tokens.unwrap_or(0)
            } else {
                n
            }
        });
        RequestRecord {
            index,
            phase,
            concurrency: 1,
            level: 0,
            start_us: start_offset_us,
            queue_ms: ms(self.sent).unwrap_or(0.0),
            ttfb_ms: match (self.sent, self.headers) {
                (Some(s), Some(h)) => Some(h.saturating_duration_since(s).as_secs_f64() * 1e3),
                _ => None,
            },
            ttft_ms: ms(self.first_content),
            ttfo_ms: ms(self.first_answer),
            last_content_ms: ms(self.last_content),
            e2e_ms: millis_between(self.scheduled, end),
            chunks,
            gaps_us,
            output_tokens,
            output_source,
            input_tokens: self.usage.input_tokens,
            cache_read_tokens: self.usage.cache_read_tokens,
            cache_write_tokens: self.usage.cache_write_tokens,
            prompt_tokens,
            reasoning_tokens,
            reasoning_source,
            ttftc_ms: ms(self.first_tool_call),
            tool_call_ms: ms(self.tool_call_done),
            tool_calls: self.tool_calls,
            tool_call_text: self.tool_call_text,
            input_tokens_requested: self.input_tokens_requested.map(u64::from),
            input_tokens_generated: self.input_tokens_generated.map(u64::from),
            stop_reason: self.stop_reason,
            server_latency_ms: self.server_latency_ms,
            server_first_byte_ms: self.server_first_byte_ms,
            error,
            response_id: self.response_id,
            text: self.text,
            attempts: self.attempts,
            variant: self.variant,
            new_connection: self.connection.map(|c| c.0),
            connect_ms: self.connection.and_then(|c| c.1),
            shard: None,
            session: None,
            turn: None,
            session_turns: None,
            tool_step: None,
            dispatch_lag_us: None,
        }
    }
}

/// Which part of a run a request belonged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The very first request of a benchmark × target: kept apart.
    ColdStart,
    /// Warm-up: run and discarded from the statistics.
    Warmup,
    /// Measured.
    #[default]
    Measured,
}

/// One request as written to `requests.jsonl`. Times are milliseconds from
/// the request's `scheduled` instant unless named otherwise. The default
/// is a measured request that has nothing yet (for literals that set a few
/// fields: `RequestRecord { e2e_ms: 10.0, ..RequestRecord::default() }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RequestRecord {
    /// Order in which the request was scheduled within its concurrency level.
    pub index: u64,
    /// Cold start, warm-up or measured.
    pub phase: Phase,
    /// The concurrency level the request ran at (0 in an open loop).
    pub concurrency: u32,
    /// The row of `summary.json`'s `levels` the request belongs to (a
    /// sweep's level or a stage), from 0; 0 for the cold start.
    #[serde(default)]
    pub level: u32,
    /// `scheduled`, in microseconds since the level began.
    pub start_us: u64,
    /// `sent − scheduled`.
    pub queue_ms: f64,
    /// `headers − sent`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttfb_ms: Option<f64>,
    /// Whether the request was the first on a newly opened connection
    /// (HTTP providers; absent where the client cannot tell).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub new_connection: Option<bool>,
    /// How long opening that connection took (TCP and TLS), when it was new.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connect_ms: Option<f64>,
    /// `first_content − scheduled`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttft_ms: Option<f64>,
    /// `first_answer − scheduled`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttfo_ms: Option<f64>,
    /// `last_content − scheduled`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_content_ms: Option<f64>,
    /// `end − scheduled` (for a failed request: when the failure was seen).
    pub e2e_ms: f64,
    /// Content chunks received.
    pub chunks: u64,
    /// Gaps between successive content chunks, in microseconds (ITL).
    pub gaps_us: Vec<u32>,
    /// Output tokens, from `output_source`.
    pub output_tokens: u64,
    /// Where `output_tokens` came from.
    pub output_source: TokenSource,
    /// Server-reported prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens: Option<u64>,
    /// Server-reported cache-read prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache_read_tokens: Option<u64>,
    /// Server-reported cache-write prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache_write_tokens: Option<u64>,
    /// Every prompt token, cached or not: `input_tokens`, plus the cache
    /// counts where the protocol reports them apart (Anthropic, Bedrock).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prompt_tokens: Option<u64>,
    /// Output tokens spent reasoning, part of `output_tokens`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reasoning_tokens: Option<u64>,
    /// Where `reasoning_tokens` came from: `usage`, or `estimate` (the
    /// output count split by the reasoning share of the streamed text).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reasoning_source: Option<TokenSource>,
    /// `first_tool_call − scheduled`: the first tool-call delta.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttftc_ms: Option<f64>,
    /// `tool_call_done − scheduled`: the first tool call complete.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool_call_ms: Option<f64>,
    /// Tool calls the response made.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub tool_calls: u32,
    /// The tool calls' names and arguments, when captured (like `text`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tool_call_text: Vec<ToolCallText>,
    /// The prompt length the workload asked for, in tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens_requested: Option<u64>,
    /// The prompt length its text has by the local tokenizer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens_generated: Option<u64>,
    /// Why generation stopped, as the server said.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_reason: Option<String>,
    /// Service-reported latency.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_latency_ms: Option<f64>,
    /// Service-reported time to first byte.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_first_byte_ms: Option<f64>,
    /// The failure, for a failed request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<RequestError>,
    /// The server's id for the response.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_id: Option<String>,
    /// The output text, when it was captured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
    /// Attempts the client made, when client-side retries were on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attempts: Option<u32>,
    /// The deployment that served the request (SageMaker production variant).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub variant: Option<String>,
    /// The shard that sent it (`2/4`), in a sharded run and in the run
    /// `cargo llmbench merge` makes of the shards (docs/distributed.md).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<String>,
    /// Conversations: the session the turn belongs to, numbered from 0 in
    /// start order within its level (warm-up sessions first) (docs/metrics.md "Conversations").
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session: Option<u64>,
    /// Conversations: the turn's place in its session, from 0.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub turn: Option<u32>,
    /// Conversations: how many turns the session was to have, so a
    /// session that ended early (a failed turn, the end of the run) shows.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_turns: Option<u32>,
    /// Agent sessions: the turn's request that fed the results of the
    /// model's tool calls back (1 for the first), after the user's request
    /// (which has none) (docs/metrics.md "Conversations").
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool_step: Option<u32>,
    /// Open loop: how late the request's task began after its scheduled
    /// instant, µs (the generator's own lag, for its self-check; not
    /// written: the self-check in `summary.json` says what it found).
    #[serde(skip)]
    pub dispatch_lag_us: Option<u64>,
}

impl RequestRecord {
    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// `(last_content − first_content) / (output_tokens − 1)`, for requests
    /// with at least two output tokens.
    pub fn tpot_ms(&self) -> Option<f64> {
        match (self.ttft_ms, self.last_content_ms) {
            (Some(first), Some(last)) if self.output_tokens >= 2 => {
                Some((last - first) / (self.output_tokens - 1) as f64)
            }
            _ => None,
        }
    }

    /// `e2e / output_tokens`.
    pub fn ntpot_ms(&self) -> Option<f64> {
        (self.output_tokens > 0).then(|| self.e2e_ms / self.output_tokens as f64)
    }

    /// `(output_tokens − 1) / (last_content − first_content)`, tokens per second.
    pub fn decode_tps(&self) -> Option<f64> {
        match (self.ttft_ms, self.last_content_ms) {
            (Some(first), Some(last)) if self.output_tokens >= 2 && last > first => {
                Some((self.output_tokens - 1) as f64 / ((last - first) / 1e3))
            }
            _ => None,
        }
    }

    /// `first_answer − first_content`: time spent reasoning before the
    /// answer (0 for a response without reasoning).
    pub fn thinking_ms(&self) -> Option<f64> {
        match (self.ttft_ms, self.ttfo_ms) {
            (Some(first), Some(answer)) => Some((answer - first).max(0.0)),
            _ => None,
        }
    }

    /// Output tokens that were not reasoning.
    pub fn answer_tokens(&self) -> u64 {
        self.output_tokens.saturating_sub(self.reasoning_tokens.unwrap_or(0))
    }

    /// Whether part of the prompt was read from a cache (`None` when the
    /// server reported nothing about caching).
    pub fn cache_hit(&self) -> Option<bool> {
        match (self.cache_read_tokens, self.cache_write_tokens) {
            (None, None) => None,
            (read, _) => Some(read.unwrap_or(0) > 0),
        }
    }

    /// `e2e − server_latency`, where the server reports its latency.
    pub fn network_overhead_ms(&self) -> Option<f64> {
        self.server_latency_ms.map(|s| self.e2e_ms - s)
    }

    /// When the request ended, in microseconds since its level began
    /// (saturating: a results file may hold any number).
    pub fn end_us(&self) -> u64 {
        self.start_us.saturating_add((self.e2e_ms * 1e3) as u64)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn micros_between(from: Instant, to: Instant) -> u32 {
    u32::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u32::MAX)
}

fn millis_between(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadlines() -> Deadlines {
        Deadlines {
            first_content: Duration::from_secs(1),
            total: Duration::from_secs(10),
            idle: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_end_of_a_record_with_an_absurd_e2e_saturates() {
        // Found by the `results` fuzz target: an e2e of 5.5e16 ms in a
        // results file overflowed the end's microseconds.
        let r = RequestRecord { start_us: 550_278, e2e_ms: 5.492_391_908e16, ..RequestRecord::default() };
        assert_eq!(r.end_us(), u64::MAX);
        let ok = RequestRecord { start_us: 1_000, e2e_ms: 2.5, ..RequestRecord::default() };
        assert_eq!(ok.end_us(), 3_500);
    }

    #[test]
    fn role_only_and_empty_chunks_are_not_content() {
        let t0 = Instant::now();
        let mut tl = Timeline::new(t0, deadlines(), 4, true);
        tl.on_content(t0 + Duration::from_millis(5), ContentKind::Answer, "");
        assert!(!tl.has_content());
        tl.on_content(t0 + Duration::from_millis(10), ContentKind::Reasoning, "hmm");
        tl.on_content(t0 + Duration::from_millis(30), ContentKind::Answer, "Hi");
        tl.on_content(t0 + Duration::from_millis(40), ContentKind::Answer, "!");
        tl.mark_end(t0 + Duration::from_millis(50));
        let rec = tl.into_record(0, Phase::Measured, None, t0 + Duration::from_millis(60), 0);
        assert_eq!(rec.ttft_ms.map(f64::round), Some(10.0));
        assert_eq!(rec.ttfo_ms.map(f64::round), Some(30.0));
        assert_eq!(rec.e2e_ms.round(), 50.0);
        assert_eq!(rec.chunks, 3);
        assert_eq!(rec.gaps_us, vec![20_000, 10_000]);
        assert_eq!(rec.output_source, TokenSource::Chunks);
        assert_eq!(rec.text.as_deref(), Some("hmmHi!"));
        // (40 - 10) / (3 - 1)
        assert_eq!(rec.tpot_ms().map(f64::round), Some(15.0));
    }

    #[test]
    fn usage_is_the_figure_of_record() {
        let t0 = Instant::now();
        let mut tl = Timeline::new(t0, deadlines(), 4, false);
        tl.on_content(t0 + Duration::from_millis(10), ContentKind::Answer, "a b c");
        tl.on_usage(Usage { input_tokens: Some(7), output_tokens: Some(3), ..Usage::default() });
        let rec = tl.into_record(0, Phase::Measured, None, t0 + Duration::from_millis(20), 0);
        assert_eq!((rec.output_tokens, rec.output_source), (3, TokenSource::Usage));
        assert_eq!(rec.input_tokens, Some(7));
        assert_eq!(rec.text, None);
    }

    #[test]
    fn deadline_moves_from_first_content_to_idle_then_total() {
        let t0 = Instant::now();
        let mut tl = Timeline::new(t0, deadlines(), 1, false);
        assert_eq!(tl.next_deadline(), t0 + Duration::from_secs(1));
        assert!(tl.timeout_error().message.contains("no content"));
        // Once content flows, each chunk moves the idle deadline on...
        tl.on_content(t0, ContentKind::Answer, "x");
        assert_eq!(tl.next_deadline(), t0 + Duration::from_secs(5));
        tl.on_content(t0 + Duration::from_secs(3), ContentKind::Answer, "y");
        assert_eq!(tl.next_deadline(), t0 + Duration::from_secs(8));
        // ...but never past the total deadline.
        tl.on_content(t0 + Duration::from_secs(7), ContentKind::Answer, "z");
        assert_eq!(tl.next_deadline(), t0 + Duration::from_secs(10));
    }

    #[test]
    fn a_stall_after_content_is_an_idle_timeout() {
        let t0 = Instant::now() - Duration::from_secs(6);
        let deadlines = Deadlines { idle: Duration::from_secs(2), ..deadlines() };
        let mut tl = Timeline::new(t0, deadlines, 1, false);
        tl.on_content(t0 + Duration::from_secs(1), ContentKind::Answer, "x");
        let e = tl.timeout_error();
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(e.message.contains("idle_timeout"), "{e}");
        // Bytes still arriving (a long event, keep-alive pings) are not a stall.
        let mut tl = Timeline::new(t0, deadlines, 1, false);
        tl.on_content(t0, ContentKind::Answer, "x");
        tl.mark_read(t0 + Duration::from_secs(3));
        assert_eq!(tl.next_deadline(), t0 + Duration::from_secs(5));
    }

    #[test]
    fn http_status_classes() {
        assert_eq!(ErrorClass::from_http_status(429), ErrorClass::Throttled);
        assert_eq!(ErrorClass::from_http_status(503), ErrorClass::Server);
        assert_eq!(ErrorClass::from_http_status(401), ErrorClass::Client);
    }
}
