//! Authentication end to end: `bearertokenauth` and `basicauth` on the `otlp` receiver's gRPC
//! and HTTP sides, with real clients; refusals answered with `UNAUTHENTICATED` / 401 and counted
//! in `weir_receiver_unauthenticated_requests_total`; credentials never in Weir's logs.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::capture::{Capture, Signal, Transport};
use common::grpc::{RawCodec, TRACES_EXPORT};
use common::otlp::trace_request;
use common::weir::Weir;
use common::{DEADLINE, Ports, prom, wait_until_async, weir_yaml};
use prost::Message;

const JSON_TRACE: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"authed","kind":2}]}]}]}"#;

const TOKEN: &str = "s3cret-token-value";

/// Weir whose receiver requires `authenticator` on both protocols, with `extensions` defined
/// (YAML lines under `extensions:`), logging at debug level.
fn start(authenticator: &str, extensions: &str, capture: &Capture, ports: &Ports) -> Weir {
    let auth = format!("auth: {{ authenticator: {authenticator} }}");
    let yaml = weir_yaml(
        ports,
        &auth,
        &auth,
        None,
        &[("otlp", format!("endpoint: \"{}\"", capture.grpc_endpoint()))],
        &[("traces", &["otlp"])],
    );
    let yaml = yaml.replace(
        "service:\n",
        &format!("extensions:\n{extensions}service:\n  extensions: [{authenticator}]\n"),
    );
    Weir::builder()
        .config(yaml)
        .arg("--log-level")
        .arg("debug")
        .wait_for(ports.grpc)
        .wait_for(ports.http)
        .wait_for(ports.metrics)
        .start()
}

async fn post(ports: &Ports, authorization: Option<&str>) -> u16 {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    common::http_client::send(
        http::Method::POST,
        &ports.http_url("traces"),
        &headers,
        JSON_TRACE,
    )
    .await
    .expect("answer from weir")
    .status
}

async fn grpc_export(ports: &Ports, authorization: Option<&str>) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(common::grpc::channel(ports.grpc));
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(trace_request(1, 1).encode_to_vec());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().expect("metadata value"));
    }
    grpc.unary(
        request,
        http::uri::PathAndQuery::from_static(TRACES_EXPORT),
        RawCodec,
    )
    .await
    .map(|_| ())
}

fn unauthenticated(ports: &Ports, transport: &str) -> Option<f64> {
    prom::counter(
        ports.metrics,
        "weir_receiver_unauthenticated_requests_total",
        &[("receiver", "otlp"), ("transport", transport)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_required_on_grpc_and_http_and_refusals_are_counted() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = start(
        "bearertokenauth",
        &format!("  bearertokenauth:\n    token: {TOKEN}\n"),
        &capture,
        &ports,
    );
    let right = format!("Bearer {TOKEN}");

    assert_eq!(post(&ports, None).await, 401);
    assert_eq!(post(&ports, Some("Bearer wrong-token")).await, 401);
    assert_eq!(post(&ports, Some(&right)).await, 200);

    let status = grpc_export(&ports, None).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    let status = grpc_export(&ports, Some("Bearer wrong-token"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    grpc_export(&ports, Some(&right))
        .await
        .expect("the right token is accepted over gRPC");

    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 2, DEADLINE)
            .await
    );
    assert_eq!(capture.accepted_items(Transport::Grpc, Signal::Traces), 2);
    let counted = wait_until_async(DEADLINE, || {
        unauthenticated(&ports, "http") == Some(2.0) && unauthenticated(&ports, "grpc") == Some(2.0)
    })
    .await;
    assert!(
        counted,
        "refusals not counted: http={:?} grpc={:?}",
        unauthenticated(&ports, "http"),
        unauthenticated(&ports, "grpc")
    );
    let stopped = weir.stop();
    assert!(
        stopped.logs.contains("request refused: not authenticated"),
        "refusals are logged at debug level:\n{}",
        stopped.logs
    );
    assert!(
        !stopped.logs.contains(TOKEN) && !stopped.logs.contains("wrong-token"),
        "a token appeared in the logs:\n{}",
        stopped.logs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_accepts_htpasswd_users_and_refuses_others() {
    let capture = Capture::start();
    let ports = Ports::free();
    let hash = bcrypt::hash("opensesame", 4).expect("bcrypt hash");
    let weir = start(
        "basicauth",
        &format!("  basicauth:\n    htpasswd:\n      inline: \"alice:{hash}\"\n"),
        &capture,
        &ports,
    );
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    assert_eq!(post(&ports, Some(&basic("alice", "opensesame"))).await, 200);
    assert_eq!(post(&ports, Some(&basic("alice", "guess"))).await, 401);
    assert_eq!(
        post(&ports, Some(&basic("mallory", "opensesame"))).await,
        401
    );
    assert_eq!(post(&ports, None).await, 401);
    grpc_export(&ports, Some(&basic("alice", "opensesame")))
        .await
        .expect("basic auth over gRPC metadata");
    let status = grpc_export(&ports, Some(&basic("alice", "nope")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 2, DEADLINE)
            .await
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(capture.accepted_items(Transport::Grpc, Signal::Traces), 2);
    let stopped = weir.stop();
    assert!(
        !stopped.logs.contains("opensesame"),
        "a password appeared in the logs:\n{}",
        stopped.logs
    );
}
