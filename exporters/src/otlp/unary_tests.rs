//! The uncopied gRPC call ([`super::unary`]) against tonic's own client: a scripted HTTP/2 server
//! on 127.0.0.1 gives each answer (gRPC, proxy and broken ones) to both, and the request each
//! sent and the `Result<Bytes, Status>` each got must be the same. Also: the batch's bytes are
//! handed to the transport without a copy.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Body as HttpBody, Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{
    AuthError, ClientAuthenticator, ComponentId, CreateSettings, Delivered, ExportError, Exporter,
    Extension, ExtensionContext, ExtensionError, Host,
};
use weir_core::net::RpcStatus;
use weir_core::net::grpc_codec::TRACES_EXPORT_PATH;

use super::OtlpGrpcConfig;
use super::grpc::GrpcExporter;
use super::unary::{self, MessageBody};
use weir_core::net::grpc_codec::{MESSAGE_PREFIX_LEN as PREFIX_LEN, framed_message};

type Frames = BoxStream<'static, Result<Frame<Bytes>, Infallible>>;

/// What the scripted server answers to every request.
#[derive(Clone)]
enum Answer {
    /// HTTP 200 with these extra headers, these DATA frames, then these trailers (`None`: the
    /// stream just ends).
    Stream {
        headers: HeaderMap,
        data: Vec<Bytes>,
        trailers: Option<HeaderMap>,
    },
    /// An HTTP status and a text body (maybe empty), no gRPC headers: a proxy's answer.
    Http(StatusCode, &'static [u8]),
    /// HTTP 200 and these DATA frames, then the TCP connection closes.
    Close(Vec<Bytes>),
    /// No answer at all.
    Hang,
}

/// One request as the server read it.
#[derive(Clone, Debug, PartialEq)]
struct Received {
    method: http::Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

struct Server {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    async fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorded = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let close = Arc::new(Notify::new());
                let answer = answer.clone();
                let recorded = recorded.clone();
                let closer = close.clone();
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let answer = answer.clone();
                        let recorded = recorded.clone();
                        let close = closer.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.expect("request body").to_bytes();
                            recorded.lock().expect("not poisoned").push(Received {
                                method: parts.method,
                                path: parts.uri.path().to_string(),
                                headers: parts.headers,
                                body,
                            });
                            if let Answer::Hang = answer {
                                std::future::pending::<()>().await;
                            }
                            Ok::<_, Infallible>(respond(answer, close))
                        }
                    });
                let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service);
                tokio::spawn(async move {
                    // Dropping the connection closes the socket.
                    tokio::select! {
                        _ = connection => {}
                        _ = close.notified() => {}
                    }
                });
            }
        });
        Server { addr, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }
}

fn respond(answer: Answer, close: Arc<Notify>) -> http::Response<StreamBody<Frames>> {
    let data =
        |data: Vec<Bytes>| futures::stream::iter(data.into_iter().map(|d| Ok(Frame::data(d))));
    let (status, headers, frames): (StatusCode, HeaderMap, Frames) = match answer {
        Answer::Stream {
            headers,
            data: chunks,
            trailers,
        } => {
            let trailers = futures::stream::iter(trailers.map(|t| Ok(Frame::trailers(t))));
            (
                StatusCode::OK,
                headers,
                data(chunks).chain(trailers).boxed(),
            )
        }
        Answer::Http(status, text) => {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_static("text/plain"));
            let text = Some(Bytes::from_static(text)).filter(|t| !t.is_empty());
            (status, headers, data(text.into_iter().collect()).boxed())
        }
        Answer::Close(chunks) => {
            let then_close = futures::stream::once(async move {
                // Long enough for the frames to be written first.
                tokio::time::sleep(Duration::from_millis(250)).await;
                close.notify_one();
                std::future::pending::<Result<Frame<Bytes>, Infallible>>().await
            });
            (
                StatusCode::OK,
                grpc_headers(),
                data(chunks).chain(then_close).boxed(),
            )
        }
        Answer::Hang => unreachable!("the server never answers"),
    };
    let mut response = http::Response::new(StreamBody::new(frames));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn grpc_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    headers
}

/// Headers (or trailers) carrying `status`, as a gRPC server writes them.
fn status_headers(status: &Status, mut into: HeaderMap) -> HeaderMap {
    status
        .add_header(&mut into)
        .expect("status fits in headers");
    into
}

/// One length-prefixed, uncompressed gRPC message.
fn framed(message: &[u8]) -> Bytes {
    Bytes::from(framed_message(false, message))
}

fn ok_trailers() -> Option<HeaderMap> {
    Some(status_headers(&Status::ok(""), HeaderMap::new()))
}

fn traces_bytes() -> Bytes {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..50)
                    .map(|i| Span {
                        name: format!("span {i}"),
                        trace_id: vec![1; 16],
                        span_id: vec![i as u8 + 1; 8],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut bytes = request.encode_to_vec();
    // An unknown field that a decode and re-encode would drop.
    bytes.extend_from_slice(&[15 << 3, 1]);
    Bytes::from(bytes)
}

fn traces_batch() -> Batch {
    Batch::from_walked(
        Signal::Traces,
        traces_bytes(),
        50,
        Arc::new(BatchMeta::default()),
    )
}

/// Adds `authorization: Bearer <token>` to each request, as `bearertokenauth` does.
struct Bearer(&'static str);

impl ClientAuthenticator for Bearer {
    fn headers(&self) -> Result<Vec<(http::HeaderName, HeaderValue)>, AuthError> {
        Ok(vec![(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", self.0)).expect("valid"),
        )])
    }
}

#[async_trait]
impl Extension for Bearer {
    async fn start(&self, _ctx: ExtensionContext) -> Result<(), ExtensionError> {
        Ok(())
    }

    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        Some(Arc::new(Bearer(self.0)))
    }
}

fn headers() -> serde_json::Value {
    serde_json::json!({"x-tenant": "acme", "x-scope": "a b"})
}

/// An uncompressed exporter to `addr` with configured headers and bearer auth.
fn exporter(addr: SocketAddr) -> GrpcExporter {
    exporter_with(addr, headers())
}

/// An uncompressed exporter to `addr` with these configured headers and bearer auth.
fn exporter_with(addr: SocketAddr, headers: serde_json::Value) -> GrpcExporter {
    exporter_timing_out(addr, headers, "5s")
}

/// [`exporter_with`] with this `timeout`.
fn exporter_timing_out(
    addr: SocketAddr,
    headers: serde_json::Value,
    timeout: &str,
) -> GrpcExporter {
    let config: OtlpGrpcConfig = serde_json::from_value(serde_json::json!({
        "endpoint": format!("http://{addr}"),
        "compression": "none",
        "timeout": timeout,
        "headers": headers,
        "auth": {"authenticator": "bearertokenauth"},
    }))
    .expect("config parses");
    let host = Host::new(vec![(
        ComponentId::new("bearertokenauth", None),
        Arc::new(Bearer("t0ken")) as Arc<dyn Extension>,
    )]);
    let settings = CreateSettings {
        id: ComponentId::new("otlp", None),
        signal: None,
        pipeline: None,
        host,
    };
    GrpcExporter::new(&config, &settings).expect("created")
}

/// A `Result<Bytes, Status>` in a comparable form. The response's `date` header is left out
/// of a status's metadata: the two calls may straddle a second.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(Bytes),
    Err {
        code: Code,
        message: String,
        details: Bytes,
        metadata: Vec<(String, Vec<u8>)>,
    },
}

impl From<Result<Bytes, Status>> for Outcome {
    fn from(result: Result<Bytes, Status>) -> Self {
        match result {
            Ok(bytes) => Outcome::Ok(bytes),
            Err(status) => {
                let mut metadata: Vec<_> = status
                    .metadata()
                    .clone()
                    .into_headers()
                    .iter()
                    .filter(|(name, _)| name.as_str() != "date")
                    .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                    .collect();
                metadata.sort();
                Outcome::Err {
                    code: status.code(),
                    message: status.message().to_string(),
                    details: status.details().to_vec().into(),
                    metadata,
                }
            }
        }
    }
}

/// Sends the batch both ways (each on its own connection) to a server answering `answer`;
/// asserts both requests and both outcomes are the same, and returns the outcome.
async fn both_ways(answer: Answer) -> Result<Bytes, Status> {
    both_ways_with(answer, headers()).await
}

/// [`both_ways`] with these configured headers.
async fn both_ways_with(answer: Answer, headers: serde_json::Value) -> Result<Bytes, Status> {
    let tonic_server = Server::start(answer.clone()).await;
    let tonic_result = exporter_with(tonic_server.addr, headers.clone())
        .call_tonic(Signal::Traces, traces_bytes())
        .await;
    let server = Server::start(answer).await;
    let result = exporter_with(server.addr, headers)
        .call_uncopied(Signal::Traces, traces_bytes())
        .await;

    let (by_tonic, ours) = (tonic_server.received(), server.received());
    assert_eq!(ours.len(), 1, "one request");
    assert_eq!(ours, by_tonic, "the requests differ");
    assert_eq!(ours[0].body, framed(&traces_bytes()), "the batch changed");

    let description = format!("{result:?}");
    assert_eq!(
        Outcome::from(result.clone()),
        Outcome::from(tonic_result),
        "outcomes differ; ours: {description}"
    );
    result
}

fn retry_status(code: Code, message: &str, delay: Duration) -> Status {
    RpcStatus::new(code, message)
        .with_retry_delay(delay)
        .to_tonic()
}

#[tokio::test]
async fn the_request_is_the_one_tonic_sends_with_headers_and_auth() {
    let response = Bytes::new();
    let answer = Answer::Stream {
        headers: grpc_headers(),
        data: vec![framed(&response)],
        trailers: ok_trailers(),
    };
    assert_eq!(both_ways(answer.clone()).await.expect("ok"), response);

    let server = Server::start(answer).await;
    exporter(server.addr)
        .call_uncopied(Signal::Traces, traces_bytes())
        .await
        .expect("ok");
    let request = &server.received()[0];
    assert_eq!(request.method, http::Method::POST);
    assert_eq!(request.path, TRACES_EXPORT_PATH);
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.to_str().expect("text").to_string())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/grpc"));
    assert_eq!(header("te").as_deref(), Some("trailers"));
    assert_eq!(header("x-tenant").as_deref(), Some("acme"));
    assert_eq!(header("x-scope").as_deref(), Some("a b"));
    assert_eq!(header("authorization").as_deref(), Some("Bearer t0ken"));
    assert_eq!(header("grpc-timeout").as_deref(), Some("5000000u"));
    assert!(
        header("user-agent").is_some_and(|ua| ua.starts_with("weir/") && ua.contains("tonic/")),
        "{:?}",
        header("user-agent")
    );
    assert_eq!(header("grpc-encoding"), None);
    assert_eq!(header("content-length"), None, "tonic sends none");
    // The body on the wire: the prefix (uncompressed, length) and exactly the batch.
    let batch = traces_bytes();
    assert_eq!(request.body[0], 0);
    assert_eq!(
        u32::from_be_bytes(request.body[1..PREFIX_LEN].try_into().expect("4 bytes")) as usize,
        batch.len()
    );
    assert_eq!(request.body.slice(PREFIX_LEN..), batch);
}

/// Configured headers that gRPC owns are dropped, and a configured user-agent is kept in
/// front of the channel's, as tonic does.
#[tokio::test]
async fn configured_headers_that_grpc_owns_are_treated_as_tonic_treats_them() {
    let answer = Answer::Stream {
        headers: grpc_headers(),
        data: vec![framed(b"")],
        trailers: ok_trailers(),
    };
    let configured = serde_json::json!({
        "content-type": "text/plain",
        "te": "deflate",
        "grpc-status": "3",
        "grpc-message": "x",
        "user-agent": "custom/1",
    });
    both_ways_with(answer.clone(), configured.clone())
        .await
        .expect("ok");
    let server = Server::start(answer).await;
    exporter_with(server.addr, configured)
        .call_uncopied(Signal::Traces, traces_bytes())
        .await
        .expect("ok");
    let headers = &server.received()[0].headers;
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["te"], "trailers");
    assert_eq!(headers.get("grpc-status"), None);
    assert_eq!(headers.get("grpc-message"), None);
    let user_agent = headers["user-agent"].to_str().expect("text");
    assert!(user_agent.starts_with("custom/1 weir/"), "{user_agent}");
}

#[tokio::test]
async fn partial_success_reads_the_same() {
    let response = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 3,
            error_message: "too old".into(),
        }),
    }
    .encode_to_vec();
    // Split across frames, with the trailers after.
    let framed = framed(&response);
    let answer = Answer::Stream {
        headers: grpc_headers(),
        data: vec![framed.slice(..3), framed.slice(3..)],
        trailers: ok_trailers(),
    };
    assert_eq!(both_ways(answer.clone()).await.expect("ok"), response);

    let server = Server::start(answer).await;
    assert_eq!(
        exporter(server.addr).export(&traces_batch()).await,
        Ok(Delivered {
            rejected_items: 3,
            message: "too old".into()
        })
    );
}

#[tokio::test]
async fn trailers_only_status_reads_the_same() {
    let status = retry_status(Code::Unavailable, "draining", Duration::from_millis(1500));
    let answer = Answer::Stream {
        headers: status_headers(&status, grpc_headers()),
        data: vec![],
        trailers: None,
    };
    let got = both_ways(answer.clone()).await.expect_err("refused");
    assert_eq!((got.code(), got.message()), (Code::Unavailable, "draining"));

    let server = Server::start(answer).await;
    assert_eq!(
        exporter(server.addr).export(&traces_batch()).await,
        Err(ExportError::Retryable {
            retry_after: Some(Duration::from_millis(1500)),
            reason: "gRPC status Unavailable: draining".into(),
        })
    );
}

#[tokio::test]
async fn status_in_trailers_with_retry_info_reads_the_same() {
    let status = retry_status(Code::ResourceExhausted, "slow down", Duration::from_secs(3));
    // No message, then the status in the trailers (as a server that started a response).
    let answer = Answer::Stream {
        headers: grpc_headers(),
        data: vec![],
        trailers: Some(status_headers(&status, HeaderMap::new())),
    };
    let got = both_ways(answer.clone()).await.expect_err("refused");
    assert_eq!(got.code(), Code::ResourceExhausted);
    let server = Server::start(answer).await;
    assert_eq!(
        exporter(server.addr).export(&traces_batch()).await,
        Err(ExportError::Retryable {
            retry_after: Some(Duration::from_secs(3)),
            reason: "gRPC status ResourceExhausted: slow down".into(),
        })
    );

    // After a message, an error in the trailers still wins.
    let answer = Answer::Stream {
        headers: grpc_headers(),
        data: vec![framed(b"")],
        trailers: Some(status_headers(
            &Status::internal("failed late"),
            HeaderMap::new(),
        )),
    };
    let got = both_ways(answer).await.expect_err("refused");
    assert_eq!((got.code(), got.message()), (Code::Internal, "failed late"));
}

#[tokio::test]
async fn http_statuses_from_a_proxy_read_the_same() {
    for (http_status, code) in [
        (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable),
        (StatusCode::BAD_GATEWAY, Code::Unavailable),
        (StatusCode::TOO_MANY_REQUESTS, Code::Unavailable),
        (StatusCode::BAD_REQUEST, Code::Internal),
        (StatusCode::UNAUTHORIZED, Code::Unauthenticated),
        (StatusCode::NOT_FOUND, Code::Unimplemented),
        (StatusCode::INTERNAL_SERVER_ERROR, Code::Unknown),
    ] {
        let got = both_ways(Answer::Http(http_status, b""))
            .await
            .expect_err("refused");
        assert_eq!(got.code(), code, "{http_status}: {got:?}");
    }
    let server = Server::start(Answer::Http(StatusCode::SERVICE_UNAVAILABLE, b"")).await;
    assert!(matches!(
        exporter(server.addr).export(&traces_batch()).await,
        Err(ExportError::Retryable {
            retry_after: None,
            ..
        })
    ));

    // A proxy's error page: tonic alone would read the text as a gRPC message and fail on it
    // (INTERNAL, permanent, the batch dropped); the HTTP status decides instead, on both paths.
    for (http_status, code) in [
        (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable),
        (StatusCode::GATEWAY_TIMEOUT, Code::Unavailable),
        (StatusCode::FORBIDDEN, Code::PermissionDenied),
        (StatusCode::BAD_REQUEST, Code::Internal),
    ] {
        let got = both_ways(Answer::Http(http_status, b"upstream connect error"))
            .await
            .expect_err("refused");
        assert_eq!(got.code(), code, "{http_status} with a text body: {got:?}");
        assert!(got.message().contains(http_status.as_str()), "{got:?}");
    }
    let server = Server::start(Answer::Http(
        StatusCode::SERVICE_UNAVAILABLE,
        b"<html>upstream connect error</html>",
    ))
    .await;
    let outcome = exporter(server.addr).export(&traces_batch()).await;
    assert!(
        matches!(outcome, Err(ExportError::Retryable { .. })),
        "a proxy's 503 page is retried: {outcome:?}"
    );
}

#[tokio::test]
async fn broken_answers_read_the_same() {
    let cases = [
        (
            "OK in the headers but no message",
            Answer::Stream {
                headers: status_headers(&Status::ok(""), grpc_headers()),
                data: vec![],
                trailers: None,
            },
            Code::Internal,
        ),
        (
            "a message but no trailers",
            Answer::Stream {
                headers: grpc_headers(),
                data: vec![framed(b"")],
                trailers: None,
            },
            Code::Unknown,
        ),
        (
            "the body ends inside the message",
            Answer::Stream {
                headers: grpc_headers(),
                data: vec![framed(&[7; 100]).slice(..20)],
                trailers: None,
            },
            Code::Internal,
        ),
        (
            "a message over tonic's 4 MiB limit",
            Answer::Stream {
                headers: grpc_headers(),
                data: vec![Bytes::from_static(&[0, 0, 0x50, 0, 0])],
                trailers: ok_trailers(),
            },
            Code::OutOfRange,
        ),
        (
            "a compressed response we did not ask for",
            Answer::Stream {
                headers: {
                    let mut headers = grpc_headers();
                    headers.insert("grpc-encoding", HeaderValue::from_static("gzip"));
                    headers
                },
                data: vec![framed(b"")],
                trailers: ok_trailers(),
            },
            Code::Unimplemented,
        ),
        (
            "an invalid compression flag",
            Answer::Stream {
                headers: grpc_headers(),
                data: vec![Bytes::from_static(&[2, 0, 0, 0, 0])],
                trailers: ok_trailers(),
            },
            Code::Internal,
        ),
    ];
    for (what, answer, code) in cases {
        let got = both_ways(answer).await.expect_err(what);
        assert_eq!(got.code(), code, "{what}: {got:?}");
    }
}

#[tokio::test]
async fn a_connection_closed_mid_response_reads_the_same() {
    let got = both_ways(Answer::Close(vec![framed(&[7; 100]).slice(..20)]))
        .await
        .expect_err("broken");
    // tonic reports the broken body as UNKNOWN ("h2 protocol error: ..."), with the transport
    // error as its source: the server never answered, so the export is worth retrying.
    assert_eq!(got.code(), Code::Unknown, "{got:?}");
    let server = Server::start(Answer::Close(vec![framed(&[7; 100]).slice(..20)])).await;
    let outcome = exporter(server.addr).export(&traces_batch()).await;
    assert_eq!(outcome, Err(super::grpc::classify(&got)), "{got:?}");
    assert!(
        matches!(outcome, Err(ExportError::Retryable { .. })),
        "a broken connection is retried: {outcome:?}"
    );
}

/// The channel enforces the `grpc-timeout` both calls send; the export reports the deadline.
#[tokio::test]
async fn a_server_that_never_answers_times_out_the_same() {
    let server = Server::start(Answer::Hang).await;
    let ours = exporter_timing_out(server.addr, headers(), "200ms")
        .call_uncopied(Signal::Traces, traces_bytes())
        .await;
    let tonic = exporter_timing_out(server.addr, headers(), "200ms")
        .call_tonic(Signal::Traces, traces_bytes())
        .await;
    assert_eq!(Outcome::from(ours.clone()), Outcome::from(tonic));
    assert_eq!(ours.expect_err("timed out").code(), Code::Cancelled);
    match exporter_timing_out(server.addr, headers(), "200ms")
        .export(&traces_batch())
        .await
    {
        Err(ExportError::Retryable {
            retry_after: None,
            reason,
        }) => assert!(reason.contains("timed out after 200ms"), "{reason}"),
        other => panic!("expected a retryable timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_server_reads_the_same() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let ours = exporter(addr)
        .call_uncopied(Signal::Traces, traces_bytes())
        .await;
    let tonic = exporter(addr)
        .call_tonic(Signal::Traces, traces_bytes())
        .await;
    assert_eq!(Outcome::from(ours.clone()), Outcome::from(tonic));
    assert_eq!(ours.expect_err("refused").code(), Code::Unavailable);
}

#[tokio::test]
async fn the_body_is_the_prefix_and_the_batch_itself() {
    let batch = traces_batch();
    let mut body = MessageBody::new(batch.to_bytes()).expect("fits");
    assert!(!body.is_end_stream());
    assert_eq!(body.size_hint().exact(), None, "no content-length");
    let prefix = body.frame().await.expect("a frame").expect("infallible");
    let mut expected = vec![0];
    expected.extend_from_slice(&(batch.to_bytes().len() as u32).to_be_bytes());
    assert_eq!(prefix.into_data().expect("data"), expected);
    let message = body.frame().await.expect("a frame").expect("infallible");
    let message = message.into_data().expect("data");
    assert_eq!(
        message.as_ptr(),
        batch.to_bytes().as_ptr(),
        "the batch was copied"
    );
    assert_eq!(message.len(), batch.to_bytes().len());
    assert!(body.is_end_stream());
    assert!(body.frame().await.is_none());

    // An empty message is the prefix alone.
    let mut empty = MessageBody::new(Bytes::new()).expect("fits");
    let prefix = empty.frame().await.expect("a frame").expect("infallible");
    assert_eq!(
        prefix.into_data().expect("data"),
        Bytes::from_static(&[0; 5])
    );
    assert!(empty.frame().await.is_none());
}

/// The request the exporter builds, as the channel receives it: the message frame is the
/// batch's own allocation.
#[tokio::test]
async fn the_batch_reaches_the_transport_uncopied() {
    let batch = traces_batch();
    let seen: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let recorded = seen.clone();
    let mut transport = tower::service_fn(move |request: http::Request<tonic::body::Body>| {
        let recorded = recorded.clone();
        async move {
            let mut body = request.into_body();
            while let Some(frame) = body.frame().await {
                let data = frame.expect("no error").into_data().expect("only data");
                recorded.lock().expect("not poisoned").push(data);
            }
            let answer = Answer::Stream {
                headers: grpc_headers(),
                data: vec![framed(b"reply")],
                trailers: ok_trailers(),
            };
            Ok::<_, Infallible>(respond(answer, Arc::new(Notify::new())))
        }
    });
    let request =
        unary::request(TRACES_EXPORT_PATH, MetadataMap::new(), batch.to_bytes()).expect("request");
    let reply = unary::call(&mut transport, request).await;
    assert_eq!(reply.expect("ok"), Bytes::from_static(b"reply"));

    let seen = seen.lock().expect("not poisoned");
    assert_eq!(seen.len(), 2, "prefix and message");
    assert_eq!(seen[0].len(), PREFIX_LEN);
    assert_eq!(
        seen[1].as_ptr(),
        batch.to_bytes().as_ptr(),
        "the batch was copied"
    );
    assert_eq!(seen[1].len(), batch.to_bytes().len());
}
