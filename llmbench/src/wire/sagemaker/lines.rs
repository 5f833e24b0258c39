//! Lines out of SageMaker `PayloadPart`s. A part's boundaries need not
//! match the container's lines: a JSON object, or a UTF-8 character, may be
//! split across parts (docs/providers.md). This buffer joins the
//! bytes and hands on complete lines only, with SSE framing removed: blank
//! lines and `:` comments are skipped, a `data:` prefix is stripped. Text is
//! never decoded before its line is complete, so a character split across
//! parts is whole again by then.

use std::ops::ControlFlow;

/// Bytes of a line whose end has not arrived yet.
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Feeds the bytes of one part, calling `on_line` with the payload of
    /// every line they complete, in order.
    pub(crate) fn feed<B>(
        &mut self,
        mut input: &[u8],
        mut on_line: impl FnMut(&[u8]) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        while let Some(end) = input.iter().position(|&b| b == b'\n') {
            let (part, rest) = (&input[..end], &input[end + 1..]);
            input = rest;
            if self.pending.is_empty() {
                line(part, &mut on_line)?;
            } else {
                let mut joined = std::mem::take(&mut self.pending);
                joined.extend_from_slice(part);
                let flow = line(&joined, &mut on_line);
                joined.clear();
                self.pending = joined;
                flow?;
            }
        }
        self.pending.extend_from_slice(input);
        ControlFlow::Continue(())
    }

    /// The stream ended: a last line without its newline is handed on too.
    pub(crate) fn finish<B>(&mut self, mut on_line: impl FnMut(&[u8]) -> ControlFlow<B>) -> ControlFlow<B> {
        let rest = std::mem::take(&mut self.pending);
        line(&rest, &mut on_line)
    }

    /// Bytes held for an unfinished line.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

/// One raw line: SSE framing off, blank and comment lines skipped.
fn line<B>(raw: &[u8], on_line: &mut impl FnMut(&[u8]) -> ControlFlow<B>) -> ControlFlow<B> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    if raw.first() == Some(&b':') {
        return ControlFlow::Continue(());
    }
    let payload = match raw.strip_prefix(b"data:") {
        Some(rest) => rest.strip_prefix(b" ").unwrap_or(rest),
        None if raw.starts_with(b"event:") || raw.starts_with(b"id:") || raw.starts_with(b"retry:") => {
            return ControlFlow::Continue(());
        }
        None => raw,
    };
    let payload = payload.trim_ascii();
    if payload.is_empty() {
        return ControlFlow::Continue(());
    }
    on_line(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(parts: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = LineBuffer::default();
        for part in parts {
            let flow: ControlFlow<()> = buf.feed(part, |l| {
                out.push(String::from_utf8(l.to_vec()).expect("whole UTF-8 lines"));
                ControlFlow::Continue(())
            });
            assert!(flow.is_continue());
        }
        let flow: ControlFlow<()> = buf.finish(|l| {
            out.push(String::from_utf8(l.to_vec()).expect("whole UTF-8 lines"));
            ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        out
    }

    #[test]
    fn every_split_gives_the_same_lines_even_mid_character() {
        let stream =
            "data:{\"token\":{\"text\":\"Grüße\"}}\n\n: keep-alive\n{\"token\":{\"text\":\"日本\"}}\r\ndata: [DONE]\n";
        let expected = vec![r#"{"token":{"text":"Grüße"}}"#, r#"{"token":{"text":"日本"}}"#, "[DONE]"];
        let bytes = stream.as_bytes();
        assert_eq!(lines(&[bytes]), expected);
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(lines(&[a, b]), expected, "split at byte {at}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(lines(&singles), expected);
    }

    #[test]
    fn a_last_line_without_newline_is_kept() {
        assert_eq!(lines(&[b"{\"outputs\": ", b"[\" problem\"]}"]), vec![r#"{"outputs": [" problem"]}"#]);
    }
}
