//! The HTTP client of the HTTP providers (OpenAI-compatible and Anthropic),
//! and which requests opened a connection: docs/metrics.md `new_connection`
//! and `connect_ms`.
//!
//! A connector layer times every connection it opens (TCP, and TLS for
//! https) and notes it by its local port; a response names the local port of
//! the connection it came on, so the first request on a connection takes
//! the note and the requests after it find none. One uncontended lock per
//! request, taken when the response head is in, after `headers` is stamped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::client::legacy::connect::{Connection, HttpInfo};

use crate::settings::value::Connections;

/// Where an SSE provider posts and how: its client, its URL and the largest
/// event it accepts. The part the OpenAI-compatible and Anthropic providers
/// share.
#[derive(Debug, Clone)]
pub(crate) struct HttpTarget {
    pub(crate) client: HttpClient,
    pub(crate) url: String,
    /// The largest SSE event accepted (`max_event_size`).
    pub(crate) max_event_bytes: usize,
    connect_timeout: Duration,
}

impl HttpTarget {
    /// `base_url` + `route`, refused unless it is an http(s) URL (`example`
    /// shows one in the message), with warm connections.
    pub(crate) fn new(base_url: &str, route: &str, connect_timeout: Duration, example: &str) -> Result<Self, String> {
        let url = format!("{}{route}", base_url.trim_end_matches('/'));
        match reqwest::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                let base_url = crate::redact::redact_url(base_url);
                return Err(format!("base_url {base_url:?} is not an http(s) URL{example}"));
            }
        }
        let client = HttpClient::new(connect_timeout, Connections::Warm)?;
        Ok(HttpTarget { client, url, max_event_bytes: crate::wire::DEFAULT_MAX_EVENT_BYTES, connect_timeout })
    }

    /// Pools connections (`warm`) or opens one per request (`fresh`), and
    /// accepts SSE events up to `max_event_bytes` long.
    pub(crate) fn with(mut self, connections: Connections, max_event_bytes: usize) -> Result<Self, String> {
        self.client = HttpClient::new(self.connect_timeout, connections)?;
        self.max_event_bytes = max_event_bytes;
        Ok(self)
    }

    /// A POST of `body` to the target, as an SSE stream.
    pub(crate) fn post(&self, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        use reqwest::header::{ACCEPT, CONTENT_TYPE};
        self.client
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .body(body)
    }
}

/// The HTTP client of one target, and the connections it opened.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    pub(crate) client: reqwest::Client,
    opened: Arc<Opened>,
}

/// Connections opened and not yet used by a response: local port → how
/// long opening took.
#[derive(Debug, Default)]
struct Opened(Mutex<HashMap<u16, Duration>>);

/// What a response says about its connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ConnectionUse {
    /// The request was the first on a connection opened for it (or for a
    /// request that found another connection first).
    pub(crate) new: bool,
    /// How long opening that connection took (TCP and TLS), ms.
    pub(crate) connect_ms: Option<f64>,
}

impl HttpClient {
    /// One connection pool (or none, for `fresh`), `TCP_NODELAY`, and no
    /// overall timeout, since the timeline's deadlines bound every wait.
    pub(crate) fn new(connect_timeout: Duration, connections: Connections) -> Result<HttpClient, String> {
        // reqwest is built without a crypto provider so that the workspace picks
        // one; this fails harmlessly when one is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let idle = match connections {
            Connections::Warm => usize::MAX,
            Connections::Fresh => 0,
        };
        let opened = Arc::new(Opened::default());
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(idle)
            .connector_layer(TimeConnects(opened.clone()))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(HttpClient { client, opened })
    }

    /// Whether `response` came on a connection opened for it, and how long
    /// that took; `None` when the response does not name its connection.
    pub(crate) fn connection_of(&self, response: &reqwest::Response) -> Option<ConnectionUse> {
        let port = response.extensions().get::<HttpInfo>()?.local_addr().port();
        let took = self.opened.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&port);
        Some(ConnectionUse { new: took.is_some(), connect_ms: took.map(|d| d.as_secs_f64() * 1e3) })
    }
}

/// The connector layer that notes each connection it opens.
#[derive(Clone)]
struct TimeConnects(Arc<Opened>);

impl<S> tower_layer::Layer<S> for TimeConnects {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner, opened: self.0.clone() }
    }
}

/// A connector that notes how long each connection took to open.
#[derive(Clone)]
struct Timed<S> {
    inner: S,
    opened: Arc<Opened>,
}

impl<S, R> tower_service::Service<R> for Timed<S>
where
    S: tower_service::Service<R>,
    S::Response: Connection,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let started = Instant::now();
        let connecting = self.inner.call(request);
        let opened = self.opened.clone();
        Box::pin(async move {
            let connection = connecting.await?;
            let took = started.elapsed();
            let mut extras = hyper::http::Extensions::new();
            connection.connected().get_extras(&mut extras);
            if let Some(info) = extras.get::<HttpInfo>() {
                opened.0.lock().unwrap_or_else(|e| e.into_inner()).insert(info.local_addr().port(), took);
            }
            Ok(connection)
        })
    }
}
