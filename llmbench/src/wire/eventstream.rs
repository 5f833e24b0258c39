//! Writing `application/vnd.amazon.eventstream` frames, the binary framing of
//! Bedrock's and SageMaker's streaming responses, with the smithy crate the
//! AWS SDK itself decodes them with. Used by the simulator and by
//! [`mock`](crate::mock); the providers only read frames (through the SDK).
//!
//! A frame is a prelude (lengths and a CRC), typed headers, the payload and a
//! second CRC. Three shapes matter here:
//!
//! - an event: `:message-type: event`, `:event-type: <member>`,
//!   `:content-type` (`application/json` for Bedrock, and it must be
//!   `application/octet-stream` for SageMaker's `PayloadPart`);
//! - a modelled exception: `:message-type: exception` and
//!   `:exception-type: <member>` (camelCase for Bedrock, PascalCase for
//!   SageMaker), with a JSON payload;
//! - an unmodelled error: `:message-type: error`, `:error-code`,
//!   `:error-message`, no payload.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};

/// The content type of an event stream response.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

fn string(value: &str) -> HeaderValue {
    HeaderValue::String(value.to_owned().into())
}

fn write(message: &Message, out: &mut Vec<u8>) {
    // Writing fails only for headers or payloads past the format's limits
    // (16 MiB), which nothing here comes near.
    write_message_to(message, out).expect("an event stream frame within the format's limits");
}

/// Appends an event frame to `out`.
pub(crate) fn event(out: &mut Vec<u8>, event_type: &str, content_type: &str, payload: &[u8]) {
    let message = Message::new(payload.to_vec())
        .add_header(Header::new(":message-type", string("event")))
        .add_header(Header::new(":event-type", string(event_type)))
        .add_header(Header::new(":content-type", string(content_type)));
    write(&message, out);
}

/// Appends a modelled exception frame to `out`.
pub(crate) fn exception(out: &mut Vec<u8>, exception_type: &str, payload: &[u8]) {
    let message = Message::new(payload.to_vec())
        .add_header(Header::new(":message-type", string("exception")))
        .add_header(Header::new(":exception-type", string(exception_type)))
        .add_header(Header::new(":content-type", string("application/json")));
    write(&message, out);
}

/// Appends an unmodelled error frame to `out`.
#[cfg_attr(not(any(test, feature = "mock")), allow(dead_code))]
pub(crate) fn error(out: &mut Vec<u8>, code: &str, message: &str) {
    let frame = Message::new(Vec::new())
        .add_header(Header::new(":message-type", string("error")))
        .add_header(Header::new(":error-code", string(code)))
        .add_header(Header::new(":error-message", string(message)));
    write(&frame, out);
}

/// Appends a Bedrock `InvokeModelWithResponseStream` chunk: the model's
/// JSON, base64-encoded in `{"bytes": …}` (the SDK decodes it).
pub(crate) fn bedrock_chunk(out: &mut Vec<u8>, model_json: &[u8]) {
    let payload = format!("{{\"bytes\":\"{}\"}}", aws_smithy_types::base64::encode(model_json));
    event(out, "chunk", "application/json", payload.as_bytes());
}

/// Appends a SageMaker `PayloadPart`: raw bytes, not JSON-wrapped.
pub(crate) fn sagemaker_part(out: &mut Vec<u8>, bytes: &[u8]) {
    event(out, "PayloadPart", "application/octet-stream", bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    #[test]
    fn frames_read_back_with_their_headers() {
        let mut out = Vec::new();
        event(&mut out, "contentBlockDelta", "application/json", br#"{"delta":{"text":"hi"}}"#);
        exception(&mut out, "throttlingException", br#"{"message":"slow down"}"#);
        bedrock_chunk(&mut out, br#"{"type":"message_stop"}"#);
        let mut buf = &out[..];
        let first = read_message_from(&mut buf).unwrap();
        assert_eq!(first.payload().as_ref(), br#"{"delta":{"text":"hi"}}"#);
        let header = |m: &Message, name: &str| {
            m.headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .map(|h| h.value().as_string().unwrap().as_str().to_owned())
        };
        assert_eq!(header(&first, ":event-type").as_deref(), Some("contentBlockDelta"));
        let second = read_message_from(&mut buf).unwrap();
        assert_eq!(header(&second, ":exception-type").as_deref(), Some("throttlingException"));
        let third = read_message_from(&mut buf).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(third.payload()).unwrap();
        let bytes = aws_smithy_types::base64::decode(payload["bytes"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, br#"{"type":"message_stop"}"#);
        assert!(buf.is_empty());
    }
}
