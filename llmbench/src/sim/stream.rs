//! One simulated response body: the OpenAI SSE stream (role chunk, content
//! chunks, finish, usage, `[DONE]`, written by
//! [`StreamWriter`](crate::wire::openai::StreamWriter)), paced on absolute
//! deadlines, with the flush log. Owns the pacing; knows nothing of sockets,
//! routing or request parsing (that is `server.rs`).

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant as StdInstant;

use bytes::{BufMut, Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::FlushRecord;
use crate::delay::Delay;
use crate::rng::Rng;
pub(crate) use crate::wire::openai::Endpoint;
use crate::wire::openai::{StreamUsage, StreamWriter};

/// The words the simulated model says, one token each. A power of two in
/// length so that picking one is a shift; no character needs JSON escaping;
/// each starts with its one space, so the text is easy to count.
pub(crate) const VOCAB: [&str; 64] = [
    " the",
    " model",
    " a",
    " token",
    " of",
    " and",
    " to",
    " in",
    " is",
    " that",
    " for",
    " it",
    " with",
    " as",
    " on",
    " this",
    " be",
    " by",
    " are",
    " from",
    " at",
    " an",
    " which",
    " data",
    " time",
    " latency",
    " stream",
    " server",
    " request",
    " response",
    " fast",
    " slow",
    " first",
    " last",
    " each",
    " every",
    " one",
    " two",
    " many",
    " few",
    " more",
    " less",
    " new",
    " old",
    " simple",
    " clear",
    " bench",
    " mark",
    " load",
    " test",
    " run",
    " wait",
    " send",
    " read",
    " write",
    " queue",
    " slot",
    " chunk",
    " word",
    " line",
    " end",
    " yes",
    " no",
    " so",
];

/// Picks the next token's text.
pub(crate) fn next_word(words: &mut Rng) -> &'static str {
    // The top six bits: VOCAB has 64 entries.
    VOCAB[(words.next_u64() >> 58) as usize]
}

/// How a stream that started fine goes wrong, after about half its chunks
/// (or the chunk a fault names, `StreamSpec::fail_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MidStream {
    /// A `data: {"error": …}` event, then `[DONE]` (what vLLM does).
    ModelError,
    /// The connection is closed without the end of the chunked body.
    Cut,
    /// Nothing for this long, then the rest of the stream.
    Stall(std::time::Duration),
    /// A `data:` line whose JSON is cut short, then the end of the body.
    InvalidJson,
    /// A chunk whose text is not UTF-8, then the end of the body.
    NonUtf8,
    /// One valid content event of this many bytes, then the rest.
    Huge(usize),
    /// An `event: error` SSE event, then the end of the body.
    ErrorEvent,
    /// Bytes that are not SSE instead of the whole stream.
    Garbage,
    /// Every content chunk, then the end of the body without the finish
    /// chunk or `[DONE]`.
    NoEnd,
}

/// The deadlines of one response's chunks: chunk 0 is due at
/// `t0 + ttft`, chunk k at `t0 + ttft + Σ_{j<k} itl_j`. Deadlines accumulate,
/// so late wake-ups never add up to drift.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    due: Instant,
    itl: Delay,
    rng: Rng,
}

impl Schedule {
    /// Starts the clock at `t0`, drawing the TTFT from `rng` first.
    pub(crate) fn start(t0: Instant, ttft: &Delay, itl: Delay, mut rng: Rng) -> Schedule {
        let due = t0 + ttft.sample(&mut rng);
        Schedule { due, itl, rng }
    }

    /// When the current chunk is due.
    pub(crate) fn due(&self) -> Instant {
        self.due
    }

    /// Moves on to the next chunk.
    pub(crate) fn advance(&mut self) {
        self.due += self.itl.sample(&mut self.rng);
    }
}

/// Waits for a [`Schedule`]'s deadlines from a body's `poll_frame`.
pub(crate) struct Pacer {
    schedule: Schedule,
    /// A timer, made on the first wait only: zero-delay streams never touch it.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Whether `sleep` is set to the current deadline.
    armed: bool,
}

impl Pacer {
    pub(crate) fn new(schedule: Schedule) -> Pacer {
        Pacer { schedule, sleep: None, armed: false }
    }

    /// Moves on to the next chunk.
    pub(crate) fn advance(&mut self) {
        self.schedule.advance();
    }

    /// Waits for the current chunk's deadline; `Ready` once it has passed.
    pub(crate) fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let due = self.schedule.due();
        if due <= Instant::now() {
            // Already due (always, with zero delays): no timer at all. Tokio
            // would otherwise round the deadline up to its next 1 ms tick.
            self.armed = false;
            return Poll::Ready(());
        }
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        if !self.armed {
            sleep.as_mut().reset(due);
            self.armed = true;
        }
        std::task::ready!(sleep.as_mut().poll(cx));
        self.armed = false;
        Poll::Ready(())
    }
}

/// What a streamed response says, fixed when the request is accepted.
#[derive(Debug, Clone)]
pub(crate) struct StreamSpec {
    pub id: String,
    pub endpoint: Endpoint,
    pub created: u64,
    /// The model name, echoed from the request.
    pub model: String,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    pub chunk_tokens: u32,
    pub finish_reason: &'static str,
    pub include_usage: bool,
    pub failure: Option<MidStream>,
    /// The content chunk a failure strikes at, if not about half way.
    pub fail_at: Option<u32>,
    /// The first output tokens are reasoning, streamed before the answer.
    pub reasoning_tokens: u32,
    /// Instead of answer text, this tool call (one argument piece a token).
    pub tool: Option<super::traffic::ToolPlan>,
    /// Prompt tokens read from the prefix cache, reported when caching is on.
    pub cached_tokens: Option<u32>,
    /// Report `completion_tokens_details.reasoning_tokens`.
    pub report_reasoning: bool,
}

impl StreamSpec {
    /// What the answer used: prompt and output tokens, and the cached and
    /// reasoning details when the simulator has them.
    pub(crate) fn usage(&self) -> StreamUsage {
        StreamUsage {
            prompt: u64::from(self.prompt_tokens),
            completion: u64::from(self.output_tokens),
            cached: self.cached_tokens.map(u64::from),
            reasoning: self.report_reasoning.then_some(u64::from(self.reasoning_tokens)),
        }
    }

    /// How many content chunks the full answer takes.
    pub(crate) fn chunks(&self) -> u32 {
        self.output_tokens.div_ceil(self.chunk_tokens.max(1))
    }

    /// The chunk a mid-stream failure replaces: about half way.
    pub(crate) fn failure_chunk(chunks: u32) -> u32 {
        chunks / 2
    }
}

/// How many bytes a fresh buffer holds: enough for a couple of dozen
/// chunks, so the per-chunk `Bytes` are carved out of one allocation.
const BUF_CAPACITY: usize = 4 * 1024;

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Role,
    Content,
    Cut,
    Done,
}

/// The streamed body of one response; hyper polls it for frames.
///
/// Each call of `poll_frame` that returns a content chunk stamps the flush
/// log first, so a stamp is the moment the chunk was handed to hyper. Hyper
/// writes it to the socket in the same task poll (it flushes when the body
/// next returns `Pending`, i.e. at once unless the next chunk is already due).
pub(crate) struct SseBody {
    spec: StreamSpec,
    writer: StreamWriter,
    buf: BytesMut,
    phase: Phase,
    pacer: Pacer,
    words: Rng,
    chunks_sent: u32,
    tokens_left: u32,
    /// Reasoning tokens still to stream.
    reasoning_left: u32,
    /// Tool-call argument pieces streamed.
    pieces_sent: usize,
    /// The chunk index at which `spec.failure` strikes.
    fail_at: u32,
    /// A `Stall` failure's timer, once it has begun; `None` after it.
    stall: Option<Pin<Box<Sleep>>>,
    /// The `Stall` failure is over: the stream goes on.
    stalled: bool,
    flush: Option<FlushLog>,
    /// The capacity slot, held until the last frame is produced.
    permit: Option<OwnedSemaphorePermit>,
}

/// Chunk times of one response, published to the server's log when the
/// stream ends, however it ends.
struct FlushLog {
    received: StdInstant,
    times: Vec<StdInstant>,
    sink: Arc<Mutex<Vec<FlushRecord>>>,
}

impl SseBody {
    /// A stream that starts with its role chunk (chat) and paces its content
    /// by `schedule`. `flush_sink` is where the flush log goes, if recorded.
    pub(crate) fn new(
        spec: StreamSpec,
        schedule: Schedule,
        words: Rng,
        flush_sink: Option<(StdInstant, Arc<Mutex<Vec<FlushRecord>>>)>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> SseBody {
        let writer = StreamWriter::new(&spec.id, spec.endpoint, spec.created, &spec.model);
        let chunks = spec.chunks();
        // Capped: a request may ask for billions of tokens.
        let capacity = chunks.min(4096) as usize;
        let flush = flush_sink.map(|(received, sink)| FlushLog { received, times: Vec::with_capacity(capacity), sink });
        SseBody {
            phase: if spec.endpoint == Endpoint::Chat { Phase::Role } else { Phase::Content },
            tokens_left: spec.output_tokens,
            reasoning_left: spec.reasoning_tokens,
            pieces_sent: 0,
            fail_at: spec.fail_at.map_or(StreamSpec::failure_chunk(chunks), |at| at.min(chunks)),
            stall: None,
            stalled: false,
            spec,
            writer,
            buf: BytesMut::with_capacity(BUF_CAPACITY),
            pacer: Pacer::new(schedule),
            words,
            chunks_sent: 0,
            flush,
            permit,
        }
    }

    /// Makes room for `events` events of up to `extra` bytes each beyond
    /// the shared head. Frozen chunks share the buffer's allocation until
    /// hyper has written them, so a new block is taken only every few dozen
    /// chunks.
    fn reserve(&mut self, events: usize, extra: usize) {
        let need = events * (self.writer.head_len() + extra);
        if self.buf.capacity() - self.buf.len() < need {
            self.buf.reserve(BUF_CAPACITY.max(need));
        }
    }

    fn role_chunk(&mut self) -> Bytes {
        self.reserve(1, 96);
        self.writer.role(&mut self.buf);
        self.buf.split().freeze()
    }

    fn content_chunk(&mut self) -> Bytes {
        if self.reasoning_left > 0 {
            let tokens = self.spec.chunk_tokens.min(self.reasoning_left);
            (self.reasoning_left, self.tokens_left) = (self.reasoning_left - tokens, self.tokens_left - tokens);
            self.reserve(1, 80 + 16 * tokens as usize);
            let words = &mut self.words;
            self.writer.reasoning(&mut self.buf, (0..tokens).map(|_| next_word(words)));
            return self.buf.split().freeze();
        }
        if self.spec.tool.is_some() {
            // One argument piece a token; the call opens with the first.
            self.tokens_left -= 1;
            self.reserve(2, 160);
            // Disjoint fields: the plan is read while the buffer is written.
            if let Some(tool) = &self.spec.tool {
                if self.pieces_sent == 0 {
                    self.writer.tool_start(&mut self.buf, &tool.id, &tool.name);
                }
                let piece = tool.pieces.get(self.pieces_sent).map_or("", String::as_str);
                self.writer.tool_args(&mut self.buf, piece);
            }
            self.pieces_sent += 1;
            return self.buf.split().freeze();
        }
        let tokens = self.spec.chunk_tokens.min(self.tokens_left);
        self.tokens_left -= tokens;
        self.reserve(1, 64 + 16 * tokens as usize);
        let words = &mut self.words;
        self.writer.content(&mut self.buf, (0..tokens).map(|_| next_word(words)));
        self.buf.split().freeze()
    }

    /// The end of a successful stream: finish chunk, usage chunk if asked
    /// for, `[DONE]` — one frame, since they are due together.
    fn tail(&mut self) -> Bytes {
        self.reserve(2, 96);
        let spec = &self.spec;
        let usage = spec.include_usage.then(|| spec.usage());
        self.writer.tail(&mut self.buf, spec.finish_reason, usage);
        self.buf.split().freeze()
    }

    /// The bytes of a fault that ends the stream at `fail_at` (the body
    /// ends cleanly after them), or `None` for the faults that do not.
    fn fault_bytes(&mut self) -> Option<Bytes> {
        match self.spec.failure? {
            MidStream::InvalidJson => self.buf.put_slice(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\n\n"),
            MidStream::NonUtf8 => {
                self.buf.put_slice(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" \xff\xfe\xc3\"}}]}\n\n")
            }
            MidStream::ErrorEvent => self.buf.put_slice(
                b"event: error\ndata: {\"error\":{\"message\":\"sim: fault error_event\",\"type\":\"server_error\"}}\n\n",
            ),
            _ => return None,
        }
        Some(self.buf.split().freeze())
    }

    /// One valid content chunk of about `size` bytes.
    fn huge_chunk(&mut self, size: usize) -> Bytes {
        let text = "x".repeat(size.saturating_sub(self.writer.head_len() + 64).max(1));
        self.buf.reserve(text.len() + self.writer.head_len() + 64);
        self.writer.content(&mut self.buf, [text.as_str()]);
        self.buf.split().freeze()
    }

    /// Publishes the flush log and frees the capacity slot: the generation
    /// is over, whatever the socket still has to send.
    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.permit = None;
        if let Some(log) = self.flush.take() {
            let record =
                FlushRecord { response_id: self.spec.id.clone(), received: log.received, chunk_times: log.times };
            log.sink.lock().unwrap_or_else(PoisonError::into_inner).push(record);
        }
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        let this = self.get_mut();
        if this.spec.failure == Some(MidStream::Garbage) && this.phase != Phase::Done {
            // A proxy's error page or a binary protocol: no line is SSE.
            this.finish();
            let mut words = this.words.clone();
            let garbage: Vec<u8> = (0..512).map(|_| 0x80 | (words.next_u64() >> 57) as u8).collect();
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(garbage)))));
        }
        let bytes = match this.phase {
            Phase::Done => return Poll::Ready(None),
            Phase::Cut => {
                this.finish();
                return Poll::Ready(Some(Err(StreamCut)));
            }
            Phase::Role => {
                this.phase = Phase::Content;
                this.role_chunk()
            }
            Phase::Content => {
                std::task::ready!(this.pacer.poll_due(cx));
                match this.spec.failure {
                    Some(MidStream::ModelError) if this.chunks_sent == this.fail_at => {
                        this.finish();
                        StreamWriter::error_and_done(&mut this.buf, "sim: model failed", "server_error", 500);
                        return Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))));
                    }
                    Some(MidStream::Cut) if this.chunks_sent == this.fail_at => {
                        // Yield once so hyper flushes the chunks it has
                        // buffered; the next poll returns the error, and hyper
                        // drops the connection without the final empty chunk.
                        this.phase = Phase::Cut;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Some(MidStream::Stall(pause)) if this.chunks_sent == this.fail_at && !this.stalled => {
                        let stall = this.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
                        std::task::ready!(stall.as_mut().poll(cx));
                        (this.stall, this.stalled) = (None, true);
                    }
                    Some(MidStream::Huge(size)) if this.chunks_sent == this.fail_at && !this.stalled => {
                        // `stalled` marks the one-shot fault as done.
                        this.stalled = true;
                        return Poll::Ready(Some(Ok(Frame::data(this.huge_chunk(size)))));
                    }
                    Some(MidStream::InvalidJson | MidStream::NonUtf8 | MidStream::ErrorEvent)
                        if this.chunks_sent == this.fail_at =>
                    {
                        this.finish();
                        let bytes = this.fault_bytes().unwrap_or_default();
                        return Poll::Ready(Some(Ok(Frame::data(bytes))));
                    }
                    _ => {}
                }
                if this.tokens_left == 0 && this.spec.failure == Some(MidStream::NoEnd) {
                    this.finish();
                    return Poll::Ready(None);
                }
                if this.tokens_left == 0 {
                    let tail = this.tail();
                    this.finish();
                    return Poll::Ready(Some(Ok(Frame::data(tail))));
                }
                let chunk = this.content_chunk();
                this.chunks_sent += 1;
                if let Some(log) = &mut this.flush {
                    log.times.push(StdInstant::now());
                }
                if this.tokens_left > 0 {
                    this.pacer.advance();
                }
                chunk
            }
        };
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.phase == Phase::Done
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        // A client that hung up mid-stream still leaves its flush log.
        if self.flush.is_some() {
            self.finish();
        }
    }
}

/// The error a `cut` stream ends with; hyper then closes the connection.
#[derive(Debug, thiserror::Error)]
#[error("sim: stream cut on purpose (error = \"cut\")")]
pub(crate) struct StreamCut;

/// Every response body the simulator sends.
pub(crate) enum SimBody {
    /// A whole body (JSON or an error), sent with a content-length.
    Full(Option<Bytes>),
    /// A paced event stream.
    Sse(Box<SseBody>),
    /// A paced AWS event stream (Bedrock, SageMaker).
    #[cfg(feature = "_eventstream")]
    Framed(Box<super::aws::FramedBody>),
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        match self.get_mut() {
            SimBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            SimBody::Sse(body) => Pin::new(body.as_mut()).poll_frame(cx),
            #[cfg(feature = "_eventstream")]
            SimBody::Framed(body) => Pin::new(body.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SimBody::Full(bytes) => bytes.is_none(),
            SimBody::Sse(body) => body.is_end_stream(),
            #[cfg(feature = "_eventstream")]
            SimBody::Framed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            SimBody::Sse(_) => SizeHint::default(),
            #[cfg(feature = "_eventstream")]
            SimBody::Framed(_) => SizeHint::default(),
        }
    }
}
