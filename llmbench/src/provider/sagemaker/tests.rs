//! The SageMaker provider through the real SDK client against wiremock.

use std::time::{Duration, Instant};

use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::mock::{HttpError, MockError, MockLlm, SageMakerFormat};
use crate::provider::{Message, Role};
use crate::record::{Deadlines, Phase, RequestRecord, TokenSource};

const GENEROUS: Deadlines =
    Deadlines { first_content: Duration::from_secs(10), total: Duration::from_secs(20), idle: Duration::from_secs(20) };

fn settings(url: String, format: Format) -> SageMakerSettings {
    let aws = AwsSettings {
        endpoint_url: Some(url),
        hermetic: true,
        connect_timeout: Duration::from_secs(2),
        ..AwsSettings::default()
    };
    SageMakerSettings::new(aws, "my-endpoint", format)
}

fn request() -> GenRequest {
    GenRequest { messages: vec![Message::new(Role::User, "Say hello.")], max_tokens: Some(16), ..GenRequest::default() }
}

async fn run(settings: SageMakerSettings) -> RequestRecord {
    let provider = SageMakerProvider::new(settings).await.expect("hermetic settings");
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, true);
    let outcome = provider.send(&request(), &mut tl).await;
    tl.into_record(0, Phase::Measured, outcome.err(), Instant::now(), 0)
}

async fn mocked(mock: MockLlm, format: Format) -> RequestRecord {
    let server = MockServer::start().await;
    mock.mount(&server).await;
    run(settings(server.uri(), format)).await
}

const FORMATS: [(SageMakerFormat, Format, &str); 3] = [
    (SageMakerFormat::Tgi, Format::Tgi, "eos_token"),
    (SageMakerFormat::Lmi, Format::Lmi, "eos_token"),
    (SageMakerFormat::OpenAi, Format::OpenAi, "stop"),
];

#[tokio::test]
async fn every_format_gives_tokens_usage_stop_reason_and_variant() {
    for (mock_format, format, stop) in FORMATS {
        let mock = MockLlm::sagemaker("my-endpoint", mock_format)
            .tokens(["Hello", ",", " world"])
            .usage(7, 3)
            .production_variant("blue")
            .expect_max_tokens(16);
        let rec = mocked(mock, format).await;
        assert_eq!(rec.error, None, "{format:?}");
        assert_eq!(rec.text.as_deref(), Some("Hello, world"), "{format:?}");
        assert_eq!((rec.chunks, rec.output_tokens, rec.output_source), (3, 3, TokenSource::Usage), "{format:?}");
        assert_eq!(rec.input_tokens, Some(7), "{format:?}");
        assert_eq!(rec.stop_reason.as_deref(), Some(stop), "{format:?}");
        assert_eq!(rec.variant.as_deref(), Some("blue"), "{format:?}");
    }
}

#[tokio::test]
async fn lines_split_across_parts_mid_line_and_mid_character_are_rebuilt() {
    let tokens = ["Grüße", " aus", " 日本", " 🦀", "!"];
    for (mock_format, format, _) in FORMATS {
        for size in [1, 2, 3, 5, 7, 13] {
            let mock = MockLlm::sagemaker("my-endpoint", mock_format).tokens(tokens).part_size(size);
            let rec = mocked(mock, format).await;
            assert_eq!(rec.error, None, "{format:?} parts of {size}");
            assert_eq!(rec.text.as_deref(), Some("Grüße aus 日本 🦀!"), "{format:?} parts of {size}");
            assert_eq!(rec.chunks, 5, "{format:?} parts of {size}");
        }
    }
}

#[tokio::test]
async fn lmi_batch_lines_end_cleanly_without_a_marker() {
    let mock = MockLlm::sagemaker("my-endpoint", SageMakerFormat::LmiBatch).tokens(["a", "b"]).part_size(4);
    let rec = mocked(mock, Format::Lmi).await;
    assert_eq!((rec.error, rec.text.as_deref()), (None, Some("ab")));
    assert_eq!(rec.output_source, TokenSource::Chunks);
}

#[tokio::test]
async fn the_request_carries_the_body_and_sagemaker_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amzn-sagemaker-target-variant", "blue"))
        .and(header("x-amzn-sagemaker-inference-component", "ic-1"))
        .and(header("x-amzn-sagemaker-custom-attributes", "trace=1"))
        .and(header("x-amzn-sagemaker-accept", "application/jsonlines"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            MockLlm::sagemaker("my-endpoint", SageMakerFormat::Lmi).body(),
            crate::wire::eventstream::CONTENT_TYPE,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(server.uri(), Format::Lmi);
    s.target_variant = Some("blue".into());
    s.inference_component = Some("ic-1".into());
    s.custom_attributes = Some("trace=1".into());
    let rec = run(s).await;
    assert_eq!(rec.error, None);
    let requests = server.received_requests().await.expect("recording");
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    assert_eq!(body["inputs"], "Say hello.");
    assert_eq!(body["parameters"]["max_new_tokens"], 16);
    assert_eq!(body["parameters"]["details"], true);
    assert_eq!(body["stream"], true);
}

#[tokio::test]
async fn http_errors_are_classified_throttling_on_400_included() {
    let cases = [
        (HttpError::Throttled, ErrorClass::Throttled, 400),
        (HttpError::NotReady, ErrorClass::NotReady, 429),
        (HttpError::Validation, ErrorClass::Client, 400),
        (HttpError::Server, ErrorClass::Server, 500),
        (HttpError::ServiceUnavailable, ErrorClass::Server, 503),
        (HttpError::ModelError, ErrorClass::Server, 424),
    ];
    for (error, class, status) in cases {
        let rec = mocked(MockLlm::sagemaker("my-endpoint", SageMakerFormat::Tgi).http_error(error), Format::Tgi).await;
        let e = rec.error.expect("an error");
        assert_eq!((e.class, e.status), (class, Some(status)), "{error:?}: {e}");
    }
}

#[tokio::test]
async fn in_stream_errors_are_model_stream_errors() {
    for (mock_format, format, _) in FORMATS {
        for error in [MockError::ModelStream, MockError::Server] {
            let mock = MockLlm::sagemaker("my-endpoint", mock_format).fail_after(2, error);
            let rec = mocked(mock, format).await;
            let e = rec.error.as_ref().expect("an error");
            assert_eq!(e.class, ErrorClass::ModelStream, "{format:?} {error:?}: {e}");
            assert_eq!(rec.text.as_deref(), Some("Hello,"), "{format:?} {error:?}");
        }
    }
}

#[tokio::test]
async fn a_truncated_stream_is_cut() {
    for (mock_format, format, _) in FORMATS {
        let rec = mocked(MockLlm::sagemaker("my-endpoint", mock_format).truncate_after(2), format).await;
        let e = rec.error.expect("an error");
        assert_eq!(e.class, ErrorClass::Cut, "{format:?}: {e}");
    }
}

#[tokio::test]
async fn a_wrong_content_type_on_parts_is_a_protocol_error() {
    let mut body = Vec::new();
    crate::wire::eventstream::event(&mut body, "PayloadPart", "application/json", b"data:{}\n\n");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, crate::wire::eventstream::CONTENT_TYPE))
        .mount(&server)
        .await;
    let rec = run(settings(server.uri(), Format::Tgi)).await;
    assert_eq!(rec.error.map(|e| e.class), Some(ErrorClass::Protocol));
}
