//! One module per protocol's client. A provider turns one [`GenRequest`]
//! into timed events on a [`Timeline`] and nothing else: it knows nothing of
//! load shape, statistics or reports. It owns the transport (HTTP client or
//! AWS SDK) and the stamping: each read is stamped when it returns, then its
//! bytes go to the protocol's decoder in [`crate::wire`], whose findings
//! land on the timeline through [`Stamp`].

pub(crate) mod anthropic;
#[cfg(all(test, feature = "_eventstream"))]
mod anthropic_tests;
#[cfg(feature = "_aws")]
pub(crate) mod aws;
#[cfg(feature = "bedrock")]
pub(crate) mod bedrock;
pub(crate) mod http;
pub(crate) mod openai;
#[cfg(feature = "sagemaker")]
pub(crate) mod sagemaker;

use std::time::Instant;

use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};
pub(crate) use crate::request::{GenRequest, Message, Role};
pub(crate) use crate::wire::Progress;

/// The timeline, and when the read being decoded returned: the
/// [`Sink`](crate::wire::Sink) every decoder writes to. Everything a read
/// carried is stamped with its time.
pub(crate) struct Stamp<'a> {
    pub(crate) tl: &'a mut Timeline,
    pub(crate) at: Instant,
}

impl crate::wire::Sink for Stamp<'_> {
    fn content(&mut self, kind: ContentKind, text: &str) {
        self.tl.on_content(self.at, kind, text);
    }

    fn usage(&mut self, usage: Usage) {
        self.tl.on_usage(usage);
    }

    fn stop_reason(&mut self, reason: &str) {
        self.tl.set_stop_reason(reason);
    }

    fn response_id(&mut self, id: &str) {
        self.tl.set_response_id(id);
    }

    fn server_latency_ms(&mut self, ms: f64) {
        self.tl.set_server_latency_ms(ms);
    }

    fn tool_call_start(&mut self, id: &str, name: &str) {
        self.tl.on_tool_call_start(self.at, id, name);
    }

    fn tool_call_end(&mut self) {
        self.tl.on_tool_call_end(self.at);
    }

    fn server_first_byte_ms(&mut self, ms: f64) {
        self.tl.set_server_first_byte_ms(ms);
    }
}

/// A configured client for one target.
#[derive(Debug, Clone)]
pub(crate) enum Provider {
    OpenAi(openai::OpenAiProvider),
    Anthropic(anthropic::AnthropicProvider),
    #[cfg(feature = "bedrock")]
    Bedrock(bedrock::BedrockProvider),
    #[cfg(feature = "sagemaker")]
    SageMaker(sagemaker::SageMakerProvider),
}

impl Provider {
    /// Sends one request and records its stream on `timeline`. Returns when
    /// the stream ended or failed; a failure is classified, never a panic.
    pub(crate) async fn send(&self, req: &GenRequest, timeline: &mut Timeline) -> Result<(), RequestError> {
        timeline.set_input_tokens_planned(req.input_tokens_requested, req.input_tokens_generated);
        match self {
            Provider::OpenAi(p) => p.send(req, timeline).await,
            Provider::Anthropic(p) => p.send(req, timeline).await,
            #[cfg(feature = "bedrock")]
            Provider::Bedrock(p) => p.send(req, timeline).await,
            #[cfg(feature = "sagemaker")]
            Provider::SageMaker(p) => p.send(req, timeline).await,
        }
        // Where error text is born, once per failed request: a server may
        // echo the key it was sent, an error may quote a URL with
        // credentials (docs/security.md).
        .map_err(crate::redact::redact_error)
    }
}

/// Registers the secrets of an HTTP target for redaction: its API key and
/// any password (or token-like user name) in its `base_url`.
pub(crate) fn register_secrets(api_key: Option<&str>, base_url: &str) {
    if let Some(key) = api_key {
        crate::redact::register(key);
    }
    if let Ok(url) = reqwest::Url::parse(base_url) {
        crate::redact::register(url.username());
        if let Some(password) = url.password() {
            crate::redact::register(password);
        }
    }
}

/// The error of a request whose connection could not be made: `local` when
/// a client-side resource ran out (too many open files, no memory), which
/// is never the endpoint's fault; otherwise `server`.
pub(crate) fn connection_failed(e: &reqwest::Error) -> RequestError {
    let detail = openai::describe(e);
    if crate::process::is_local_exhaustion(e) {
        RequestError::new(ErrorClass::Local, format!("{LOCAL_EXHAUSTION}: {CONNECTION_FAILED}: {detail}"))
    } else {
        RequestError::new(ErrorClass::Server, format!("{CONNECTION_FAILED}: {detail}"))
    }
}

/// The start of the message of a `server` error whose connection could not
/// be made (refused, reset, unreachable): nothing reached the endpoint.
pub(crate) const CONNECTION_FAILED: &str = "connection failed";
/// The start of the message of a `timeout` whose connection was never
/// established within `connect_timeout`.
pub(crate) const CONNECT_TIMED_OUT: &str = "connect timed out";

/// Whether a request failed before reaching the endpoint at all: its
/// connection failed or timed out, or a client-side resource ran out
/// (class `local`). What a dead endpoint looks like (docs/metrics.md).
pub(crate) fn is_connection_failure(e: &RequestError) -> bool {
    match e.class {
        ErrorClass::Local => true,
        ErrorClass::Server => e.message.starts_with(CONNECTION_FAILED),
        ErrorClass::Timeout => e.message.starts_with(CONNECT_TIMED_OUT),
        _ => false,
    }
}

/// The start of a `local` error's message.
pub(crate) const LOCAL_EXHAUSTION: &str =
    "a client-side resource ran out (not the endpoint's fault; raise `ulimit -n` or lower the load)";

/// A header value carrying a secret: marked sensitive so it is never logged.
pub(crate) fn secret_header(value: &str) -> Result<reqwest::header::HeaderValue, String> {
    let mut header = reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| "api key contains characters not allowed in an HTTP header".to_string())?;
    header.set_sensitive(true);
    Ok(header)
}
