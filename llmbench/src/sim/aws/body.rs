//! The paced body of one AWS response: start frames, one frame group per
//! content chunk on the [`Schedule`], then the tail with server metrics; or
//! the failure after about half the chunks. The pacing is `stream::Pacer`'s,
//! as for the OpenAI stream (absolute deadlines, no timer for zero delays).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::wire::{ServerTimes, Wire};
use crate::rng::Rng;
use crate::sim::stream::{MidStream, Pacer, Schedule, StreamCut, StreamSpec, next_word};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Content,
    Cut,
    Done,
}

/// A paced `application/vnd.amazon.eventstream` body.
pub(crate) struct FramedBody {
    wire: Wire,
    phase: Phase,
    pacer: Pacer,
    words: Rng,
    chunk_tokens: u32,
    tokens_left: u32,
    chunks_sent: u32,
    fail_at: u32,
    failure: Option<MidStream>,
    permit: Option<OwnedSemaphorePermit>,
    /// When the request was read: server latencies count from here.
    accepted: Instant,
    first_content: Option<Instant>,
    /// The text of the chunk being built, reused.
    text: String,
}

impl FramedBody {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        wire: Wire,
        output_tokens: u32,
        chunk_tokens: u32,
        failure: Option<MidStream>,
        schedule: Schedule,
        words: Rng,
        permit: Option<OwnedSemaphorePermit>,
        accepted: Instant,
    ) -> FramedBody {
        let chunks = output_tokens.div_ceil(chunk_tokens.max(1));
        FramedBody {
            wire,
            phase: Phase::Start,
            pacer: Pacer::new(schedule),
            words,
            chunk_tokens: chunk_tokens.max(1),
            tokens_left: output_tokens,
            chunks_sent: 0,
            fail_at: StreamSpec::failure_chunk(chunks),
            failure,
            permit,
            accepted,
            first_content: None,
            text: String::with_capacity(64),
        }
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.permit = None;
    }

    fn frame(bytes: Vec<u8>) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(bytes)))))
    }
}

impl Body for FramedBody {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        let this = self.get_mut();
        match this.phase {
            Phase::Done => return Poll::Ready(None),
            Phase::Cut => {
                this.finish();
                return Poll::Ready(Some(Err(StreamCut)));
            }
            Phase::Start => {
                this.phase = Phase::Content;
                let mut out = Vec::new();
                this.wire.start(&mut out);
                if !out.is_empty() {
                    return FramedBody::frame(out);
                }
            }
            Phase::Content => {}
        }
        std::task::ready!(this.pacer.poll_due(cx));
        match this.failure {
            Some(MidStream::ModelError) if this.chunks_sent == this.fail_at => {
                let mut out = Vec::new();
                this.wire.model_error(&mut out);
                this.finish();
                return FramedBody::frame(out);
            }
            Some(MidStream::Cut) if this.chunks_sent == this.fail_at => {
                // Half a frame, then the connection drops: a stream that
                // ends inside a frame, as when a connection breaks.
                let mut out = Vec::new();
                this.wire.content(" cut", 1, &mut out);
                out.truncate(out.len() / 2);
                this.phase = Phase::Cut;
                cx.waker().wake_by_ref();
                return FramedBody::frame(out);
            }
            _ => {}
        }
        let now = Instant::now();
        if this.tokens_left == 0 {
            let first = this.first_content.unwrap_or(now);
            let times = ServerTimes {
                latency_ms: now.saturating_duration_since(this.accepted).as_millis() as u64,
                first_byte_ms: first.saturating_duration_since(this.accepted).as_millis() as u64,
            };
            let mut out = Vec::new();
            this.wire.tail(times, &mut out);
            this.finish();
            return FramedBody::frame(out);
        }
        let tokens = this.wire.next_chunk_tokens(this.chunk_tokens).min(this.tokens_left);
        this.tokens_left -= tokens;
        this.text.clear();
        for _ in 0..tokens {
            this.text.push_str(next_word(&mut this.words));
        }
        let mut out = Vec::with_capacity(160);
        this.wire.content(&this.text, tokens, &mut out);
        this.chunks_sent += 1;
        this.first_content.get_or_insert(now);
        if this.tokens_left > 0 {
            this.pacer.advance();
        }
        FramedBody::frame(out)
    }

    fn is_end_stream(&self) -> bool {
        self.phase == Phase::Done
    }
}
