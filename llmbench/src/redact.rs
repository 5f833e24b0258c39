//! Keeping secrets out of everything llmbench writes or prints.
//!
//! Two things can carry a secret into results, reports, logs or a
//! terminal: a server that quotes the credentials it was sent (a 401 body
//! that echoes the API key, a proxy that prints the `Authorization`
//! header), and a URL that holds them (`https://user:pw@host/v1`,
//! `?api_key=…`, a presigned `X-Amz-Signature`). So:
//!
//! - every configured secret (API keys read from `api_key_env`, Bedrock
//!   bearer tokens, the AWS credentials the SDK resolved, a `base_url`'s
//!   password) is [`register`]ed when its provider is built, and
//!   [`redact`] replaces each occurrence with `[REDACTED]`; providers apply
//!   it to every [`RequestError`] they return, once per failed request and
//!   off the per-token path, so no record, report, log line or stdout can
//!   carry one;
//! - [`redact_url`] drops a URL's userinfo and the values of
//!   credential-looking query parameters; every URL stored in results
//!   (`target.endpoint`) goes through it, and [`redact`] applies it to the
//!   URLs inside error text.
//!
//! What is redacted and how to share results safely: docs/security.md.

use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

use crate::record::RequestError;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[REDACTED]";
/// Shorter values are not treated as secrets: replacing every `abc` would
/// mangle messages, and a key that short protects nothing anyway.
const MIN_SECRET_LEN: usize = 6;
/// Error text is cut to a few hundred bytes (`…`): a cut that falls inside
/// a secret leaves its start, which is redacted from this many bytes on.
const MIN_PARTIAL_LEN: usize = 4;

/// Query parameters whose values are credentials (compared case-
/// insensitively; `x-amz-*` covers presigned AWS URLs).
const CREDENTIAL_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "api-key",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "sig",
    "signature",
    "password",
    "passwd",
    "secret",
    "client_secret",
];

/// A set of secret values. `Debug` prints how many, never what.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    /// Longest first, so a secret that contains another is replaced whole.
    values: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

impl Secrets {
    /// An empty set.
    pub(crate) const fn new() -> Secrets {
        Secrets { values: Vec::new() }
    }

    /// Adds `value` (surrounding whitespace ignored) unless it is too short
    /// to be told from ordinary text, or already known.
    pub(crate) fn insert(&mut self, value: &str) {
        let value = value.trim();
        if value.len() < MIN_SECRET_LEN || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Whether the set holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced by `[REDACTED]`, including the start
    /// of one where a quote was cut short (`…`).
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        if let Some(head) = out.strip_suffix('…')
            && let Some(len) = self.partial_at_end(head)
        {
            out = Cow::Owned(format!("{}{REDACTED}…", &head[..head.len() - len]));
        }
        out
    }

    /// The length of the longest start of a secret that `head` ends with.
    fn partial_at_end(&self, head: &str) -> Option<usize> {
        self.values
            .iter()
            .filter_map(|secret| {
                (MIN_PARTIAL_LEN..secret.len())
                    .rev()
                    .find(|&k| secret.is_char_boundary(k) && head.ends_with(&secret[..k]))
            })
            .max()
    }
}

/// Every secret this process has been configured with.
static SECRETS: RwLock<Secrets> = RwLock::new(Secrets::new());

/// Remembers `value` as a secret of this process (an API key, a token, a
/// credential): from now on [`redact`] hides it.
pub(crate) fn register(value: &str) {
    let mut secrets = SECRETS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    secrets.insert(value);
}

/// `text` with every registered secret replaced and every URL in it passed
/// through [`redact_url`].
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let text = if secrets.is_empty() { Cow::Borrowed(text) } else { secrets.redact(text) };
    match redact_urls_in(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// A request error fit to keep and print: its message through [`redact`].
pub(crate) fn redact_error(mut error: RequestError) -> RequestError {
    if let Cow::Owned(message) = redact(&error.message) {
        error.message = message;
    }
    error
}

/// `url` without its userinfo (`user:pw@`) and with the values of
/// credential-looking query parameters replaced by `[REDACTED]`. Anything
/// else, formatting included, is kept as written.
pub(crate) fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else { return Cow::Borrowed(url) };
    let rest_at = scheme_end + 3;
    let authority_len = url[rest_at..].find(['/', '?', '#']).unwrap_or(url.len() - rest_at);
    let authority = &url[rest_at..rest_at + authority_len];
    let host = authority.rfind('@').map_or(authority, |at| &authority[at + 1..]);
    let after = &url[rest_at + authority_len..];
    let (path, query_and_fragment) = after.split_at(after.find('?').unwrap_or(after.len()));
    let query = redact_query(query_and_fragment);
    if host.len() == authority.len() && matches!(query, Cow::Borrowed(_)) {
        return Cow::Borrowed(url);
    }
    Cow::Owned(format!("{}{host}{path}{query}", &url[..rest_at]))
}

/// `?a=1&key=…#frag` with credential values replaced.
fn redact_query(query_and_fragment: &str) -> Cow<'_, str> {
    let Some(rest) = query_and_fragment.strip_prefix('?') else { return Cow::Borrowed(query_and_fragment) };
    let (query, fragment) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let mut changed = false;
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_credential_param(name) && !value.is_empty() && value != REDACTED => {
                changed = true;
                Cow::Owned(format!("{name}={REDACTED}"))
            }
            _ => Cow::Borrowed(pair),
        })
        .collect();
    if !changed {
        return Cow::Borrowed(query_and_fragment);
    }
    Cow::Owned(format!("?{}{fragment}", pairs.join("&")))
}

fn is_credential_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("x-amz-") || CREDENTIAL_PARAMS.contains(&name.as_str())
}

/// `text` with every `http://…` or `https://…` in it through [`redact_url`].
/// A URL ends at whitespace or at a character that cannot end one in prose
/// (`)`, `"`, `'`, `<`, `>`, `]`, `` ` ``).
fn redact_urls_in(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = next_url_start(&text[from..]) {
        let start = from + found;
        let len = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '<' | '>' | ']' | '`'))
            .unwrap_or(text.len() - start);
        let url = &text[start..start + len];
        if let Cow::Owned(clean) = redact_url(url) {
            out.push_str(&text[copied..start]);
            out.push_str(&clean);
            copied = start + len;
        }
        from = start + len.max(1);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Where the next `http://` or `https://` starts, case-insensitively.
fn next_url_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("http://"), lower.find("https://")].into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> Secrets {
        let mut s = Secrets::new();
        for v in values {
            s.insert(v);
        }
        s
    }

    #[test]
    fn every_occurrence_of_a_secret_is_replaced() {
        let s = set(&["sk-live-0123456789", "AKIAEXAMPLE42"]);
        let text = "Incorrect API key provided: sk-live-0123456789. You sent sk-live-0123456789 as AKIAEXAMPLE42";
        assert_eq!(s.redact(text), "Incorrect API key provided: [REDACTED]. You sent [REDACTED] as [REDACTED]");
        assert!(matches!(s.redact("nothing to hide"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_secrets_and_longer_ones_win() {
        let s = set(&["abc", "  ", "token-123456", "token-123456-extended"]);
        assert_eq!(s.redact("abc token-123456-extended token-123456"), "abc [REDACTED] [REDACTED]");
        assert!(!format!("{s:?}").contains("token"), "Debug must not print secrets");
    }

    #[test]
    fn a_quote_cut_inside_a_secret_loses_the_secrets_start_too() {
        let s = set(&["sk-proj-abcdefghijklmnop"]);
        assert_eq!(s.redact("invalid key sk-proj-abcdef…"), "invalid key [REDACTED]…");
        // Without the cut mark nothing was truncated: a coincidence is kept.
        assert_eq!(s.redact("the prefix sk-p"), "the prefix sk-p");
    }

    #[test]
    fn urls_lose_userinfo_and_credential_parameters() {
        assert_eq!(
            redact_url("https://user:pw@example.com:8443/v1/chat/completions"),
            "https://example.com:8443/v1/chat/completions"
        );
        assert_eq!(redact_url("http://tok@h/v1"), "http://h/v1");
        assert_eq!(
            redact_url("https://h/v1?api-version=2024&API_KEY=s3cr3t&X-Amz-Signature=abc&sig=x#top"),
            "https://h/v1?api-version=2024&API_KEY=[REDACTED]&X-Amz-Signature=[REDACTED]&sig=[REDACTED]#top"
        );
        for plain in ["http://127.0.0.1:8000/v1/chat/completions", "sim", "sim/bedrock-converse", "https://h/?a=1&b"] {
            assert!(matches!(redact_url(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn urls_inside_error_text_are_redacted() {
        let text = "connection failed: error sending request for url (http://alice:hunter22@10.0.0.1:9/v1/chat/completions?token=abc): tcp connect error";
        assert_eq!(
            redact_urls_in(text),
            "connection failed: error sending request for url (http://10.0.0.1:9/v1/chat/completions?token=[REDACTED]): tcp connect error"
        );
        assert!(matches!(redact_urls_in("see HTTPS://h/v1 and http://x/"), Cow::Borrowed(_)));
    }

    /// A request through the real provider and load path.
    async fn send_one(provider: crate::provider::Provider) -> crate::record::RequestRecord {
        let opts = crate::load::RequestOptions {
            deadlines: crate::record::Deadlines {
                first_content: std::time::Duration::from_secs(5),
                total: std::time::Duration::from_secs(5),
                idle: std::time::Duration::from_secs(5),
            },
            expected_chunks: 4,
            capture_text: false,
        };
        let request = crate::Workload::synthetic().request(0);
        let now = std::time::Instant::now();
        crate::load::run_one(&provider, &request, 0, crate::record::Phase::Measured, opts, now).await
    }

    /// A server that answers 401 quoting the credentials it was sent.
    async fn echoing_server(echo: &str) -> wiremock::MockServer {
        use wiremock::matchers::method;
        let server = wiremock::MockServer::start().await;
        let body = serde_json::json!({ "error": { "message": format!("Incorrect API key provided: {echo}."), "type": "invalid_request_error" } });
        wiremock::Mock::given(method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(401).set_body_json(body))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn an_openai_key_echoed_by_the_server_never_reaches_the_record() {
        use crate::provider::openai::{OpenAiProvider, OpenAiSettings};
        let key = "sk-echoed-openai-0123456789abcdef";
        let server = echoing_server(key).await;
        let settings =
            OpenAiSettings { api_key: Some(key.into()), ..OpenAiSettings::chat(format!("{}/v1", server.uri()), "m") };
        let record = send_one(crate::provider::Provider::OpenAi(OpenAiProvider::new(settings).unwrap())).await;
        let error = record.error.as_ref().expect("a 401 is an error");
        assert_eq!((error.class, error.status), (crate::record::ErrorClass::Client, Some(401)));
        assert!(error.message.starts_with("Incorrect API key provided: [REDACTED]."), "{error}");
        let line = serde_json::to_string(&record).unwrap();
        assert!(!line.contains(key) && !error.to_string().contains(key), "{line}");
    }

    #[tokio::test]
    async fn an_anthropic_key_echoed_by_the_server_never_reaches_the_record() {
        use crate::provider::anthropic::{AnthropicProvider, AnthropicSettings};
        let key = "sk-ant-echoed-0123456789abcdef";
        let server = echoing_server(key).await;
        let settings = AnthropicSettings {
            base_url: server.uri(),
            model: "claude".into(),
            api_key: Some(key.into()),
            connect_timeout: std::time::Duration::from_secs(2),
            extra_body: None,
        };
        let record = send_one(crate::provider::Provider::Anthropic(AnthropicProvider::new(settings).unwrap())).await;
        let error = record.error.as_ref().expect("a 401 is an error");
        assert!(!error.message.contains(key) && error.message.contains(REDACTED), "{error}");
    }

    #[tokio::test]
    async fn credentials_in_a_base_url_never_reach_an_error() {
        use crate::provider::openai::{OpenAiProvider, OpenAiSettings};
        // Nothing listens there: the connection error quotes the URL.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let settings = OpenAiSettings::chat(
            format!("http://alice:pw-in-the-url-42@127.0.0.1:{port}/v1?token=tok-in-the-query"),
            "m",
        );
        let record = send_one(crate::provider::Provider::OpenAi(OpenAiProvider::new(settings).unwrap())).await;
        let message = &record.error.as_ref().expect("nothing listens").message;
        assert!(!message.contains("pw-in-the-url-42") && !message.contains("tok-in-the-query"), "{message}");
    }

    #[test]
    fn registered_secrets_are_redacted_from_errors() {
        register("sk-registered-in-a-test-1234");
        let e = RequestError::new(crate::record::ErrorClass::Client, "bad key sk-registered-in-a-test-1234")
            .with_status(401);
        let e = redact_error(e);
        assert_eq!(e.message, "bad key [REDACTED]");
        assert_eq!(e.status, Some(401));
    }
}
