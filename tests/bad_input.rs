//! Malformed, oversized and unsupported input to the `otlp` receiver, over raw hyper and tonic
//! clients: every one is refused with the status OTLP prescribes and an explanation, nothing of
//! it reaches the exporter, and the process keeps serving valid requests afterwards.

mod common;

use std::io::Write as _;

use common::capture::{Capture, Signal, Transport};
use common::grpc::{self, TRACES_EXPORT};
use common::http_client::{self, Answer};
use common::otlp::{self, RpcStatus};
use common::weir::Weir;
use common::{DEADLINE, Ports, weir_yaml};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message as _;
use tonic::codec::CompressionEncoding;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// Weir with the `otlp` receiver (plus `http_extra`/`grpc_extra` settings) → batch → `otlp`
/// exporter to a capture backend, and a count of the spans that should have arrived.
struct Fixture {
    weir: Weir,
    capture: Capture,
    ports: Ports,
    delivered: usize,
    seed: u8,
}

impl Fixture {
    fn start(grpc_extra: &str, http_extra: &str) -> Fixture {
        let capture = Capture::start();
        let ports = Ports::free();
        let yaml = weir_yaml(
            &ports,
            grpc_extra,
            http_extra,
            Some("timeout: 20ms"),
            &[("otlp", format!("endpoint: \"{}\"", capture.grpc_endpoint()))],
            &[
                ("traces", &["otlp"]),
                ("logs", &["otlp"]),
                ("metrics", &["otlp"]),
            ],
        );
        let weir = Weir::start(&yaml, &ports.all());
        Fixture {
            weir,
            capture,
            ports,
            delivered: 0,
            seed: 100,
        }
    }

    fn traces_url(&self) -> String {
        self.ports.http_url("traces")
    }

    /// A valid request over HTTP and one over gRPC are accepted and reach the backend, and
    /// nothing else did (refused input included).
    async fn assert_still_serving(&mut self) {
        self.seed += 1;
        let body = otlp::trace_request(self.seed, 2).encode_to_vec();
        let answer = http_client::post(&self.traces_url(), PROTOBUF, body)
            .await
            .expect("valid HTTP request");
        assert_eq!(
            answer.status,
            200,
            "a valid HTTP request after bad input was refused: {}",
            answer.text()
        );
        self.seed += 1;
        let mut client = TraceServiceClient::new(grpc::channel(self.ports.grpc));
        client
            .export(otlp::trace_request(self.seed, 3))
            .await
            .unwrap_or_else(|s| panic!("a valid gRPC request after bad input was refused: {s:?}"));
        self.delivered += 5;
        let arrived = self
            .capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, self.delivered, DEADLINE)
            .await;
        assert!(
            arrived,
            "valid spans did not reach the backend: {}\nlogs:\n{}",
            self.capture.summary(),
            self.weir.logs()
        );
        assert_eq!(
            self.capture.accepted_items(Transport::Grpc, Signal::Traces),
            self.delivered,
            "the backend got spans that were never sent validly: {}",
            self.capture.summary()
        );
    }
}

/// The `google.rpc.Status` in an error answer, decoded per its content type.
fn status_body(answer: &Answer) -> RpcStatus {
    let content_type = answer.header("content-type").unwrap_or_default();
    if content_type.starts_with(JSON) {
        let value: serde_json::Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {}", answer.text()));
        RpcStatus {
            code: value["code"].as_i64().map_or(-1, |c| c as i32),
            message: value["message"].as_str().unwrap_or_default().to_string(),
            details: vec![],
        }
    } else {
        assert!(
            content_type.starts_with(PROTOBUF),
            "error body has content type {content_type:?}"
        );
        RpcStatus::decode(&answer.body[..]).unwrap_or_else(|e| {
            panic!(
                "error body is not a google.rpc.Status ({e}): {:?}",
                answer.body
            )
        })
    }
}

/// A 400 whose Status says INVALID_ARGUMENT and explains itself.
fn assert_bad_request(answer: &Answer, what: &str) -> RpcStatus {
    assert_eq!(
        answer.status,
        400,
        "{what}: expected 400, got {} {}",
        answer.status,
        answer.text()
    );
    let status = status_body(answer);
    assert_eq!(
        status.code,
        tonic::Code::InvalidArgument as i32,
        "{what}: Status code in {status:?}"
    );
    assert!(
        status.message.len() >= 10,
        "{what}: the Status message does not explain: {status:?}"
    );
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_malformed_protobuf_is_400_with_a_status_that_explains() {
    let mut f = Fixture::start("", "");
    // Field 1 (resource_spans) claims 2^35 bytes; then an invalid wire type 7.
    for (what, body) in [
        (
            "overlong length",
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01],
        ),
        ("invalid wire type", vec![0x0f, 0x00]),
        (
            "span with a bad nested field",
            vec![0x0a, 0x04, 0x12, 0x02, 0x12, 0x7f],
        ),
    ] {
        let answer = http_client::post(&f.traces_url(), PROTOBUF, body)
            .await
            .expect("answer");
        assert_bad_request(&answer, what);
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_truncated_protobuf_is_400() {
    let mut f = Fixture::start("", "");
    let full = otlp::trace_request(1, 4).encode_to_vec();
    for cut in [1, 7, full.len() / 2] {
        let answer =
            http_client::post(&f.traces_url(), PROTOBUF, full[..full.len() - cut].to_vec())
                .await
                .expect("answer");
        assert_bad_request(&answer, &format!("request truncated by {cut} bytes"));
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_garbage_is_400_with_a_json_status() {
    let mut f = Fixture::start("", "");
    for (what, body) in [
        ("not JSON", "this is not json".as_bytes().to_vec()),
        ("cut-off JSON", br#"{"resourceSpans": [{"scopeSpans": ["#.to_vec()),
        ("wrong shape", br#"{"resourceSpans": "should be a list"}"#.to_vec()),
        ("bad trace id", br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708","name":"x"}]}]}]}"#.to_vec()),
    ] {
        let answer = http_client::post(&f.traces_url(), JSON, body).await.expect("answer");
        assert!(
            answer.header("content-type").is_some_and(|c| c.starts_with(JSON)),
            "{what}: a JSON request's error should be JSON, got {:?}",
            answer.header("content-type")
        );
        assert_bad_request(&answer, what);
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_unknown_content_type_is_415() {
    let mut f = Fixture::start("", "");
    let body = otlp::trace_request(1, 1).encode_to_vec();
    for content_type in ["text/plain", "application/xml", "application/grpc"] {
        let answer = http_client::post(&f.traces_url(), content_type, body.clone())
            .await
            .expect("answer");
        assert_eq!(
            answer.status,
            415,
            "content type {content_type}: {} {}",
            answer.status,
            answer.text()
        );
    }
    let no_type = http_client::send(http::Method::POST, &f.traces_url(), &[], body)
        .await
        .expect("answer");
    assert_eq!(
        no_type.status,
        415,
        "no content type: {} {}",
        no_type.status,
        no_type.text()
    );
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_get_is_405_with_allow_post() {
    let mut f = Fixture::start("", "");
    for method in [http::Method::GET, http::Method::PUT, http::Method::DELETE] {
        let answer = http_client::send(
            method.clone(),
            &f.traces_url(),
            &[("content-type", PROTOBUF)],
            Vec::new(),
        )
        .await
        .expect("answer");
        assert_eq!(
            answer.status,
            405,
            "{method}: {} {}",
            answer.status,
            answer.text()
        );
        // RFC 9110 §15.5.6: a 405 MUST say which methods are allowed.
        assert!(
            answer.header("allow").is_some_and(|a| a.contains("POST")),
            "{method}: Allow header {:?}",
            answer.headers
        );
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_body_over_max_request_body_size_is_413() {
    let mut f = Fixture::start("", "max_request_body_size: 1048576");
    let mut big = otlp::trace_request(1, 1);
    big.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .push(otlp::kv("blob", otlp::s(&"x".repeat(1_100_000))));
    let body = big.encode_to_vec();
    assert!(body.len() > 1 << 20);
    let answer = http_client::post(&f.traces_url(), PROTOBUF, body)
        .await
        .expect("answer");
    assert_eq!(
        answer.status,
        413,
        "{} bytes over a 1 MiB limit: {} {}",
        big.encoded_len(),
        answer.status,
        answer.text()
    );
    // Just under the limit is fine.
    let mut fits = otlp::trace_request(2, 1);
    fits.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .push(otlp::kv("blob", otlp::s(&"x".repeat(1_000_000))));
    let answer = http_client::post(&f.traces_url(), PROTOBUF, fits.encode_to_vec())
        .await
        .expect("answer");
    assert_eq!(
        answer.status,
        200,
        "a request under the limit: {}",
        answer.text()
    );
    f.delivered += 1;
    f.assert_still_serving().await;
}

/// `mib` MiB of zeros, compressed with `encoding`.
fn bomb(encoding: &str, mib: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    match encoding {
        "gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            for _ in 0..mib {
                encoder.write_all(&zeros).expect("compressing");
            }
            encoder.finish().expect("compressing")
        }
        "zstd" => {
            let mut encoder = zstd::Encoder::new(Vec::new(), 1).expect("zstd encoder");
            for _ in 0..mib {
                encoder.write_all(&zeros).expect("compressing");
            }
            encoder.finish().expect("compressing")
        }
        other => panic!("no bomb for {other}"),
    }
}

async fn decompression_bomb_is_413(encoding: &'static str) {
    let mut f = Fixture::start("", "");
    // 200 MiB of zeros against the default 20 MiB limit, compressed to well under it.
    let body = tokio::task::spawn_blocking(move || bomb(encoding, 200))
        .await
        .expect("compressing");
    assert!(
        body.len() < 2 << 20,
        "the bomb itself is small: {} bytes",
        body.len()
    );
    let answer = http_client::send(
        http::Method::POST,
        &f.traces_url(),
        &[("content-type", PROTOBUF), ("content-encoding", encoding)],
        body,
    )
    .await
    .expect("answer");
    assert_eq!(
        answer.status,
        413,
        "{encoding} bomb: {} {}",
        answer.status,
        answer.text()
    );
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_gzip_bomb_is_413_because_the_limit_applies_after_decompression() {
    decompression_bomb_is_413("gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_zstd_bomb_is_413_because_the_limit_applies_after_decompression() {
    decompression_bomb_is_413("zstd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_corrupt_or_unknown_compression_is_refused_as_bad_request() {
    let mut f = Fixture::start("", "");
    let body = otlp::trace_request(1, 1).encode_to_vec();
    // Claims gzip but is plain protobuf.
    let answer = http_client::send(
        http::Method::POST,
        &f.traces_url(),
        &[("content-type", PROTOBUF), ("content-encoding", "gzip")],
        body.clone(),
    )
    .await
    .expect("answer");
    assert_bad_request(&answer, "body that is not gzip");
    // An encoding otelcol does not accept either.
    let answer = http_client::send(
        http::Method::POST,
        &f.traces_url(),
        &[("content-type", PROTOBUF), ("content-encoding", "br")],
        body,
    )
    .await
    .expect("answer");
    assert!(
        answer.status == 400 || answer.status == 415,
        "unsupported content-encoding should be refused as a client error, got {} {}",
        answer.status,
        answer.text()
    );
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_compressed_valid_requests_are_accepted() {
    let mut f = Fixture::start("", "");
    for (encoding, seed) in [("gzip", 1u8), ("zstd", 2)] {
        let plain = otlp::trace_request(seed, 3).encode_to_vec();
        let body = match encoding {
            "gzip" => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&plain).expect("gzip");
                e.finish().expect("gzip")
            }
            _ => zstd::encode_all(&plain[..], 3).expect("zstd"),
        };
        let answer = http_client::send(
            http::Method::POST,
            &f.traces_url(),
            &[("content-type", PROTOBUF), ("content-encoding", encoding)],
            body,
        )
        .await
        .expect("answer");
        assert_eq!(answer.status, 200, "{encoding}: {}", answer.text());
        f.delivered += 3;
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_malformed_message_is_invalid_argument() {
    let mut f = Fixture::start("", "");
    for (what, body) in [
        (
            "overlong length",
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01],
        ),
        ("invalid wire type", vec![0x0f, 0x00]),
        (
            "truncated",
            otlp::trace_request(1, 3).encode_to_vec()[..20].to_vec(),
        ),
    ] {
        let error = grpc::raw_unary(grpc::channel(f.ports.grpc), TRACES_EXPORT, body)
            .await
            .expect_err(&format!("{what}: a malformed message was accepted"));
        assert_eq!(
            error.code(),
            tonic::Code::InvalidArgument,
            "{what}: {error:?}"
        );
        assert!(
            error.message().len() >= 10,
            "{what}: the status message does not explain: {error:?}"
        );
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_message_over_max_recv_msg_size_is_resource_exhausted() {
    let mut f = Fixture::start("max_recv_msg_size_mib: 1", "");
    let mut big = otlp::trace_request(1, 1);
    big.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .push(otlp::kv("blob", otlp::s(&"x".repeat(1_200_000))));
    // gRPC (and otelcol, through grpc-go) answers RESOURCE_EXHAUSTED for a message over the
    // receiver's limit, whether it was that large on the wire or only once decompressed.
    let mut gzip = TraceServiceClient::new(grpc::channel(f.ports.grpc))
        .send_compressed(CompressionEncoding::Gzip);
    let error = gzip
        .export(big.clone())
        .await
        .expect_err("a message over 1 MiB once decompressed was accepted");
    assert_eq!(
        error.code(),
        tonic::Code::ResourceExhausted,
        "gzip-compressed: {error:?}"
    );
    let mut plain = TraceServiceClient::new(grpc::channel(f.ports.grpc));
    let error = plain
        .export(big)
        .await
        .expect_err("a message over 1 MiB was accepted");
    assert_eq!(
        error.code(),
        tonic::Code::ResourceExhausted,
        "uncompressed: {error:?}"
    );
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unknown_method_is_unimplemented() {
    let mut f = Fixture::start("", "");
    let error = grpc::raw_unary(
        grpc::channel(f.ports.grpc),
        "/opentelemetry.proto.collector.trace.v1.TraceService/Nope",
        Vec::new(),
    )
    .await
    .expect_err("an unknown method succeeded");
    assert_eq!(error.code(), tonic::Code::Unimplemented, "{error:?}");
    f.assert_still_serving().await;
}
