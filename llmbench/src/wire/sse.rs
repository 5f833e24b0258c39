//! An incremental decoder for Server-Sent Events (the WHATWG `text/event-stream`
//! format), fed with whatever bytes each network read returned.
//!
//! Hand-written because it sits on the measured path: it works on the `&[u8]`
//! of a read, hands each event to a callback as borrowed slices, and reuses
//! two buffers for the whole stream, so decoding allocates nothing per event
//! once the buffers have grown to the largest event (general-purpose crates
//! such as `eventsource-stream` build a `String` per event and field).
//! An event, or a line, may be split across reads at any byte; the decoder
//! carries the unfinished part over to the next read.
//!
//! It knows SSE framing and nothing of the JSON inside: `id:` and `retry:`
//! fields and `:` comment lines (keep-alive pings) are dropped here.
//!
//! [`write_event`] is the other direction, for the mock.

use std::ops::ControlFlow;

/// One dispatched event. Both slices borrow the decoder's buffers and are
/// valid only for the duration of the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event<'a> {
    /// The `event:` field; empty when the server sent none (SSE's default
    /// type, "message").
    pub(crate) name: &'a [u8],
    /// The `data:` lines, joined with `\n`.
    pub(crate) data: &'a [u8],
}

/// Decoder state that outlives one read.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// The start of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The data of the event being built.
    data: Vec<u8>,
    /// The name of the event being built.
    name: Vec<u8>,
    /// Whether the event being built has a `data:` field (it may be empty).
    has_data: bool,
    /// The previous read ended on `\r`: a `\n` opening the next one belongs
    /// to that CRLF and must not end a second, empty line.
    after_cr: bool,
    /// No line has been completed yet: a UTF-8 byte order mark may lead.
    first_line: bool,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub(crate) fn new() -> Self {
        SseDecoder { first_line: true, ..SseDecoder::default() }
    }

    /// Decodes the bytes of one read, calling `on_event` for every event
    /// they complete, in order. Stops early, returning the break value, when
    /// `on_event` breaks; the decoder should not be fed again after that.
    pub(crate) fn feed<B>(
        &mut self,
        mut input: &[u8],
        mut on_event: impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.after_cr && !input.is_empty() {
            self.after_cr = false;
            if let Some(rest) = input.strip_prefix(b"\n") {
                input = rest;
            }
        }
        while let Some(end) = input.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (part, rest) = (&input[..end], &input[end + 1..]);
            input = if input[end] == b'\r' {
                match rest.first() {
                    Some(b'\n') => &rest[1..],
                    Some(_) => rest,
                    None => {
                        self.after_cr = true;
                        rest
                    }
                }
            } else {
                rest
            };
            if self.line.is_empty() {
                self.on_line(part, &mut on_event)?;
            } else {
                // The line began in an earlier read: complete it in place,
                // then hand the buffer back so its capacity is reused.
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(part);
                let flow = self.on_line(&line, &mut on_event);
                line.clear();
                self.line = line;
                flow?;
            }
        }
        self.line.extend_from_slice(input);
        ControlFlow::Continue(())
    }

    /// Ends the stream: dispatches an event the server did not close with a
    /// blank line, including one whose last line has no line ending. (The
    /// SSE spec drops such an event; servers that close the connection right
    /// after their last event are common enough to be lenient. Whether a
    /// truncated event makes sense is for the caller's parser to decide.)
    pub(crate) fn finish<B>(&mut self, mut on_event: impl FnMut(Event<'_>) -> ControlFlow<B>) -> ControlFlow<B> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line, &mut on_event)?;
        }
        self.dispatch(&mut on_event)
    }

    /// Bytes held for an event that is not complete yet. A caller bounds
    /// this so that a server that never ends a line cannot exhaust memory.
    pub(crate) fn pending_len(&self) -> usize {
        self.line.len() + self.data.len()
    }

    fn on_line<B>(
        &mut self,
        mut line: &[u8],
        on_event: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if std::mem::take(&mut self.first_line) {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return ControlFlow::Continue(()), // a comment
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.name.clear();
                self.name.extend_from_slice(value);
            }
            _ => {} // `id`, `retry` and unknown fields mean nothing here
        }
        ControlFlow::Continue(())
    }

    /// Dispatches the event being built, if it has data (the spec drops an
    /// event without any), and resets it.
    fn dispatch<B>(&mut self, on_event: &mut impl FnMut(Event<'_>) -> ControlFlow<B>) -> ControlFlow<B> {
        let flow = if self.has_data {
            on_event(Event { name: &self.name, data: &self.data })
        } else {
            ControlFlow::Continue(())
        };
        self.data.clear();
        self.name.clear();
        self.has_data = false;
        flow
    }
}

/// Appends one event: an `event:` line when it has a name, one `data:` line
/// (`data` holds no line break), and the blank line that ends it.
pub(crate) fn write_event(out: &mut Vec<u8>, name: Option<&str>, data: &[u8]) {
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of an event, to compare across feeds.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Owned {
        name: String,
        data: String,
    }

    fn own(ev: Event<'_>) -> Owned {
        Owned { name: String::from_utf8_lossy(ev.name).into(), data: String::from_utf8_lossy(ev.data).into() }
    }

    /// Decodes `reads` one after the other, then finishes the stream.
    fn decode(reads: &[&[u8]]) -> Vec<Owned> {
        let mut out = Vec::new();
        let mut dec = SseDecoder::new();
        for read in reads {
            let flow: ControlFlow<()> = dec.feed(read, |ev| {
                out.push(own(ev));
                ControlFlow::Continue(())
            });
            assert!(flow.is_continue());
        }
        let flow: ControlFlow<()> = dec.finish(|ev| {
            out.push(own(ev));
            ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        out
    }

    fn ev(name: &str, data: &str) -> Owned {
        Owned { name: name.into(), data: data.into() }
    }

    /// Asserts that every way of cutting `stream` into reads gives `expected`:
    /// one read, one byte per read, and every split into two reads.
    fn assert_split_invariant(stream: &[u8], expected: &[Owned]) {
        assert_eq!(decode(&[stream]), expected, "one read");
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode(&bytes), expected, "byte by byte");
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(decode(&[a, b]), expected, "split at byte {at}");
        }
    }

    #[test]
    fn openai_stream_decodes_the_same_however_it_is_split() {
        let stream = include_bytes!("../../tests/fixtures/openai/role_first.sse");
        let events = decode(&[stream]);
        assert_eq!(events.len(), 6);
        assert!(events[0].data.contains(r#""role":"assistant""#));
        assert!(events[4].data.contains(r#""choices":[]"#));
        assert_eq!(events[5], ev("", "[DONE]"));
        assert_split_invariant(stream, &events);
    }

    #[test]
    fn crlf_lf_and_cr_line_endings_are_equivalent() {
        let expected = [ev("", "a"), ev("", "b\nc")];
        for stream in [
            &b"data: a\n\ndata: b\ndata: c\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n",
            b"data: a\r\rdata: b\rdata: c\r\r",
            b"data: a\r\n\ndata: b\rdata: c\n\r\n",
        ] {
            assert_split_invariant(stream, &expected);
        }
    }

    #[test]
    fn comments_ids_and_retries_are_dropped_and_names_kept() {
        let stream = b": ping\n\nid: 7\nretry: 100\ndata: one\n\n: keep-alive\nevent: error\ndata: {\"x\":1}\n\n";
        assert_split_invariant(stream, &[ev("", "one"), ev("error", "{\"x\":1}")]);
    }

    #[test]
    fn field_syntax_follows_the_spec() {
        // One optional space after the colon; no colon means an empty value;
        // an empty `data` still makes an event; a blank line alone does not.
        let stream = b"data:tight\n\ndata:  two spaces\n\ndata\n\n\n\n\xEF\xBB\xBF";
        assert_split_invariant(stream, &[ev("", "tight"), ev("", " two spaces"), ev("", "")]);
        // A byte order mark is dropped at the start of the stream only.
        assert_split_invariant(b"\xEF\xBB\xBFdata: x\n\n", &[ev("", "x")]);
    }

    #[test]
    fn finish_flushes_an_event_without_blank_line_or_line_end() {
        assert_eq!(decode(&[b"data: a\n"]), [ev("", "a")]);
        assert_eq!(decode(&[b"data: [DONE]"]), [ev("", "[DONE]")]);
        assert_eq!(decode(&[b"data: {\"cut", b" here"]), [ev("", "{\"cut here")]);
        assert_eq!(decode(&[b"event: x\n"]), []);
    }

    #[test]
    fn a_break_stops_decoding_at_that_event() {
        let mut dec = SseDecoder::new();
        let mut seen = Vec::new();
        let flow = dec.feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", |ev| {
            seen.push(ev.data.to_vec());
            if ev.data == b"2" { ControlFlow::Break("stopped") } else { ControlFlow::Continue(()) }
        });
        assert_eq!(flow, ControlFlow::Break("stopped"));
        assert_eq!(seen, [b"1".to_vec(), b"2".to_vec()]);
    }

    #[test]
    fn pending_len_counts_the_unfinished_event() {
        let mut dec = SseDecoder::new();
        let flow: ControlFlow<()> = dec.feed(b"data: abc\ndata: de", |_| ControlFlow::Continue(()));
        assert!(flow.is_continue());
        assert_eq!(dec.pending_len(), "abc".len() + "data: de".len());
        let flow: ControlFlow<()> = dec.feed(b"\n\n", |_| ControlFlow::Continue(()));
        assert!(flow.is_continue());
        assert_eq!(dec.pending_len(), 0);
    }
}
