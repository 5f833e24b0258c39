//! What the Bedrock and SageMaker providers share: building the SDK's
//! configuration for a benchmark, counting attempts, and classifying the
//! SDK's errors into the error classes of docs/metrics.md.
//!
//! Benchmark settings differ from the SDK's defaults on purpose:
//!
//! - retries are off unless asked for: a benchmark must see throttling, not
//!   hide it in backoff (with the defaults a 429 took 3 attempts and 2.5 s);
//! - stalled-stream protection is off, so a slow but valid stream is never
//!   cut by the SDK; llmbench's own deadlines bound every wait;
//! - the only SDK timeout is the connect timeout;
//! - one HTTPS stack: hyper 1 + rustls with ring (see the root Cargo.toml).
//!
//! Credentials come from the SDK's standard chain (environment, profile, SSO,
//! container and instance roles) and never appear in anything llmbench
//! prints or writes: error messages are built from error codes and the
//! service's messages only.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::event_stream::RawMessage;

use super::Progress;
use crate::record::{ErrorClass, RequestError, Timeline};
use crate::wire::truncate;

/// How to reach an AWS service. `Debug` never prints the bearer token.
#[derive(Clone, Default)]
pub(crate) struct AwsSettings {
    /// `region`; else the SDK's chain (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// `profile`; else `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// `endpoint_url`: a local server, a VPC endpoint, the simulator.
    pub endpoint_url: Option<String>,
    /// Extra attempts the SDK may make (`retries`); 0 turns retries off.
    pub retries: u32,
    /// The connect timeout.
    pub connect_timeout: Duration,
    /// Bedrock API key, sent as `Authorization: Bearer` instead of SigV4.
    pub bearer_token: Option<String>,
    /// Fixed fake credentials and region, no environment or profile reads:
    /// for the simulator, which ignores signatures.
    pub hermetic: bool,
}

impl fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("endpoint_url", &self.endpoint_url)
            .field("retries", &self.retries)
            .field("connect_timeout", &self.connect_timeout)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .field("hermetic", &self.hermetic)
            .finish()
    }
}

/// The configuration of the built-in simulator's clients: fixed region and
/// credentials, nothing read from the environment.
fn hermetic(
    settings: &AwsSettings,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    retry: RetryConfig,
    timeouts: TimeoutConfig,
    ssp: aws_config::stalled_stream_protection::StalledStreamProtectionConfig,
) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry)
        .timeout_config(timeouts)
        .stalled_stream_protection(ssp)
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(aws_smithy_async::rt::sleep::TokioSleep::new()))
        .region(Region::new(settings.region.clone().unwrap_or_else(|| "us-east-1".into())))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "llmbench-sim",
            "llmbench-sim",
            None,
            None,
            "llmbench-sim",
        )));
    if let Some(url) = &settings.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    builder.build()
}

/// The SDK configuration for `settings`: credentials and region resolved
/// (so a missing one is a clear error now, not on every request), HTTP
/// client, retries, timeouts.
pub(crate) async fn sdk_config(settings: &AwsSettings) -> Result<SdkConfig, String> {
    // The workspace's TLS crypto provider; fails harmlessly when installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let retry = match settings.retries {
        0 => RetryConfig::disabled(),
        n => RetryConfig::standard().with_max_attempts(n.saturating_add(1)),
    };
    let timeouts = TimeoutConfig::builder().connect_timeout(settings.connect_timeout).build();
    let ssp = aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled();
    if settings.hermetic {
        return Ok(hermetic(settings, http, retry, timeouts, ssp));
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry)
        .timeout_config(timeouts)
        .stalled_stream_protection(ssp);
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err("no AWS region (set `region` in the target, or AWS_REGION, or a region in the profile)".into());
    }
    // Secrets to keep out of results and output (crate::redact): the
    // static ones from the environment, the token, what the chain resolved.
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"] {
        if let Ok(value) = std::env::var(var) {
            crate::redact::register(&value);
        }
    }
    if let Some(token) = &settings.bearer_token {
        crate::redact::register(token);
    }
    if settings.bearer_token.is_none() {
        let Some(provider) = config.credentials_provider() else {
            return Err("no AWS credentials provider could be built".into());
        };
        match provider.provide_credentials().await {
            Ok(credentials) => {
                crate::redact::register(credentials.access_key_id());
                crate::redact::register(credentials.secret_access_key());
                if let Some(token) = credentials.session_token() {
                    crate::redact::register(token);
                }
            }
            Err(e) => {
                return Err(format!(
                    "no AWS credentials ({}); set AWS_PROFILE or `profile`, run `aws sso login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                    one_line(&e)
                ));
            }
        }
    }
    Ok(config)
}

/// Counts the attempts of one operation (installed only when retries are
/// on; with them off every request is one attempt).
#[derive(Debug, Clone, Default)]
pub(crate) struct AttemptCounter(Arc<AtomicU32>);

impl AttemptCounter {
    /// Attempts made so far.
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "llmbench-attempt-counter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// How long to wait for the body's end after the last event. Reading it lets
/// the connection go back to the pool for the next request.
const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// Reads an SDK event stream to its end, on the timeline's deadlines.
/// `recv` is the receiver's `recv()`; every event it returns is stamped
/// with `Instant::now()` as `recv` returns, then handed to `on_event` with
/// that stamp. `missing_end` explains a close before the stream was
/// complete. The stream's `end` is its last event.
pub(crate) async fn read_stream<R: Receive>(
    receiver: &mut R,
    tl: &mut Timeline,
    missing_end: &'static str,
    mut on_event: impl FnMut(R::Event, Instant, &mut Timeline) -> Result<Progress, RequestError>,
) -> Result<(), RequestError> {
    let mut complete = false;
    let mut last = false;
    let mut last_event = Instant::now();
    loop {
        let until = if last { tl.next_deadline().min(last_event + DRAIN_GRACE) } else { tl.next_deadline() };
        let received = tokio::time::timeout_at(until.into(), receiver.recv()).await;
        let at = Instant::now();
        let event = match received {
            Err(_elapsed) if last => break,
            Err(_elapsed) => return Err(tl.timeout_error()),
            Ok(_) if at > until && !complete => return Err(tl.timeout_error()),
            Ok(Ok(Some(event))) => event,
            Ok(Ok(None)) if complete => break,
            Ok(Ok(None)) => return Err(RequestError::new(ErrorClass::Cut, missing_end)),
            // A broken close after the last event loses nothing.
            Ok(Err(e)) if last => match stream_error(e) {
                e if e.class == ErrorClass::Cut => break,
                e => return Err(e),
            },
            Ok(Err(e)) => return Err(stream_error(e)),
        };
        last_event = at;
        tl.mark_read(at);
        match on_event(event, at, tl)? {
            Progress::More => {}
            Progress::Complete => complete = true,
            Progress::Last => (complete, last) = (true, true),
        }
    }
    tl.mark_end(last_event);
    Ok(())
}

/// An SDK event stream receiver (each SDK crate generates its own type).
pub(crate) trait Receive: Send {
    /// The stream's event union.
    type Event;
    /// The stream's modelled exceptions.
    type Error: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    /// The next event, `None` at a clean end.
    fn recv(&mut self) -> impl Future<Output = Result<Option<Self::Event>, SdkError<Self::Error, RawMessage>>> + Send;
}

/// Implements [`Receive`] for an SDK crate's `EventReceiver`.
macro_rules! impl_receive {
    ($receiver:ty) => {
        impl<T: Send, E> $crate::provider::aws::Receive for $receiver
        where
            E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        {
            type Event = T;
            type Error = E;
            fn recv(
                &mut self,
            ) -> impl Future<
                Output = Result<
                    Option<T>,
                    aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_types::event_stream::RawMessage>,
                >,
            > + Send {
                <$receiver>::recv(self)
            }
        }
    };
}
pub(crate) use impl_receive;

/// The timeline's next deadline, on tokio's clock.
pub(crate) fn deadline(tl: &Timeline) -> tokio::time::Instant {
    tokio::time::Instant::from_std(tl.next_deadline())
}

/// The class of an AWS error code (`x-amzn-errortype`, the `__type` of an
/// error body, or an exception frame's `:exception-type`), case-insensitive
/// and with or without the `Exception` suffix. `None` for codes that say
/// nothing beyond their HTTP status.
pub(crate) fn class_of_code(code: &str) -> Option<ErrorClass> {
    let code = code.rsplit('#').next().unwrap_or(code);
    let code = code.split(':').next().unwrap_or(code).to_ascii_lowercase();
    let code = code.strip_suffix("exception").unwrap_or(&code);
    Some(match code {
        // SageMaker signals throttling with HTTP 400; quotas refuse load too.
        "throttling" | "toomanyrequests" | "servicequotaexceeded" => ErrorClass::Throttled,
        "modelnotready" => ErrorClass::NotReady,
        "modeltimeout" => ErrorClass::Timeout,
        "modelstreamerror" | "internalstreamfailure" => ErrorClass::ModelStream,
        "validation" | "validationerror" | "accessdenied" | "resourcenotfound" | "unrecognizedclient"
        | "invalidsignature" | "expiredtoken" | "unauthorized" | "conflict" => ErrorClass::Client,
        "internalserver" | "internalfailure" | "serviceunavailable" | "modelerror" | "internaldependency" => {
            ErrorClass::Server
        }
        _ => return None,
    })
}

/// Classifies an error of `send()`: before the stream began.
pub(crate) fn send_error<E>(err: SdkError<E, HttpResponse>) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = err.code().map(str::to_owned);
            let class = code.as_deref().and_then(class_of_code).unwrap_or_else(|| ErrorClass::from_http_status(status));
            let message = match (code, err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code,
                (None, Some(message)) => message.to_owned(),
                (None, None) => format!("HTTP {status} without an error code"),
            };
            RequestError::new(class, truncate(message)).with_status(status)
        }
        SdkError::TimeoutError(_) => RequestError::new(ErrorClass::Timeout, "the SDK's timeout passed"),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            RequestError::new(ErrorClass::Timeout, format!("{}: {}", super::CONNECT_TIMED_OUT, one_line(&err)))
        }
        SdkError::DispatchFailure(_) if crate::process::is_local_exhaustion(&err) => RequestError::new(
            ErrorClass::Local,
            format!("{}: {}: {}", super::LOCAL_EXHAUSTION, super::CONNECTION_FAILED, one_line(&err)),
        ),
        SdkError::DispatchFailure(_) => {
            RequestError::new(ErrorClass::Server, format!("{}: {}", super::CONNECTION_FAILED, one_line(&err)))
        }
        SdkError::ConstructionFailure(_) => {
            RequestError::new(ErrorClass::Client, format!("cannot build the request: {}", one_line(&err)))
        }
        // The service accepted the request, then the connection broke while
        // the SDK read the start of the stream: a cut, not a bad response.
        SdkError::ResponseError(ctx) if ctx.raw().status().is_success() && broke_while_reading(&err) => {
            RequestError::new(ErrorClass::Cut, format!("stream broke at its start: {}", one_line(&err)))
        }
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status().as_u16();
            RequestError::new(ErrorClass::Protocol, format!("unreadable response: {}", one_line(&err)))
                .with_status(status)
        }
        _ => RequestError::new(ErrorClass::Protocol, one_line(&err)),
    }
}

/// Whether an error's causes include a broken connection (an I/O error).
fn broke_while_reading(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = err.source();
    while let Some(cause) = source {
        let io = cause.downcast_ref::<std::io::Error>().is_some()
            || cause.downcast_ref::<ConnectorError>().is_some_and(|c| c.is_io());
        if io {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Classifies an error of the event stream's `recv()`: after it began.
pub(crate) fn stream_error<E>(err: SdkError<E, RawMessage>) -> RequestError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            // Exception frames leave `code()` empty: the type is in a header.
            let kind = header(ctx.raw(), ":exception-type").or_else(|| err.code().map(str::to_owned));
            let class = kind.as_deref().and_then(class_of_code).unwrap_or(ErrorClass::ModelStream);
            let message = match (kind, err.message()) {
                (Some(kind), Some(message)) => format!("{kind} in stream: {message}"),
                (Some(kind), None) => format!("{kind} in stream"),
                (None, Some(message)) => format!("error in stream: {message}"),
                (None, None) => "unnamed error in stream".to_owned(),
            };
            RequestError::new(class, truncate(message))
        }
        SdkError::ResponseError(ctx) => {
            if let (Some(code), message) = (header(ctx.raw(), ":error-code"), header(ctx.raw(), ":error-message")) {
                let message = format!("{code} in stream: {}", message.unwrap_or_default());
                let class = class_of_code(&code).unwrap_or(ErrorClass::ModelStream);
                return RequestError::new(class, truncate(message));
            }
            let detail = format!("{err:?}");
            if detail.contains("UnexpectedEndOfStream") {
                RequestError::new(ErrorClass::Cut, "stream closed in the middle of an event frame")
            } else if detail.contains("IO") || detail.contains("Io") || detail.contains("hyper") {
                RequestError::new(ErrorClass::Cut, format!("stream broke: {}", one_line(&err)))
            } else {
                RequestError::new(ErrorClass::Protocol, format!("unreadable event stream: {}", one_line(&err)))
            }
        }
        SdkError::TimeoutError(_) => RequestError::new(ErrorClass::Timeout, "the SDK's timeout passed"),
        _ => RequestError::new(ErrorClass::Cut, format!("stream broke: {}", one_line(&err))),
    }
}

/// A string header of a raw event stream frame.
fn header(raw: &RawMessage, name: &str) -> Option<String> {
    let RawMessage::Decoded(message) = raw else { return None };
    let header = message.headers().iter().find(|h| h.name().as_str() == name)?;
    header.value().as_string().ok().map(|s| s.as_str().to_owned())
}

/// An error and its causes on one line, bounded.
pub(crate) fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    truncate(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_broken_as_the_stream_starts_is_a_cut() {
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let response = |status: u16| HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        let eof = || {
            let io = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "unexpected EOF during chunk size line");
            ConnectorError::io(Box::new(io))
        };
        let cut = send_error::<ErrorMetadata>(SdkError::response_error(eof(), response(200)));
        assert_eq!((cut.class, cut.status), (ErrorClass::Cut, None), "{cut}");
        // A body that cannot be parsed, or a broken error response, stays a protocol error.
        let bad = send_error::<ErrorMetadata>(SdkError::response_error("not JSON", response(200)));
        assert_eq!((bad.class, bad.status), (ErrorClass::Protocol, Some(200)), "{bad}");
        let broken_error = send_error::<ErrorMetadata>(SdkError::response_error(eof(), response(500)));
        assert_eq!(broken_error.class, ErrorClass::Protocol, "{broken_error}");
    }

    #[test]
    fn codes_map_to_classes_whatever_their_spelling() {
        for (code, class) in [
            ("ThrottlingException", Some(ErrorClass::Throttled)),
            ("throttlingException", Some(ErrorClass::Throttled)),
            ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", Some(ErrorClass::Throttled)),
            ("com.amazon#ThrottlingException", Some(ErrorClass::Throttled)),
            ("ServiceQuotaExceededException", Some(ErrorClass::Throttled)),
            ("ModelNotReadyException", Some(ErrorClass::NotReady)),
            ("modelTimeoutException", Some(ErrorClass::Timeout)),
            ("modelStreamErrorException", Some(ErrorClass::ModelStream)),
            ("ModelStreamError", Some(ErrorClass::ModelStream)),
            ("InternalStreamFailure", Some(ErrorClass::ModelStream)),
            ("ValidationError", Some(ErrorClass::Client)),
            ("AccessDeniedException", Some(ErrorClass::Client)),
            ("ModelError", Some(ErrorClass::Server)),
            ("InternalFailure", Some(ErrorClass::Server)),
            ("serviceUnavailableException", Some(ErrorClass::Server)),
            ("SomethingNew", None),
        ] {
            assert_eq!(class_of_code(code), class, "{code}");
        }
    }

    #[test]
    fn the_bearer_token_is_never_printed() {
        let s = AwsSettings { bearer_token: Some("ABSKsecret".into()), ..AwsSettings::default() };
        assert!(!format!("{s:?}").contains("ABSKsecret"));
    }
}
