//! The exporter against a hyper server on 127.0.0.1 answering 200, 400, 429 with
//! `Retry-After` and 503; what it sends (headers, snappy protobuf body, split requests); and
//! the pure classification of responses.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::TcpListener;
use weir_core::batch::{Batch, BatchMeta, Request};
use weir_core::component::{
    ComponentConfig, ComponentId, CreateSettings, ExportError, Exporter, ExporterFactory,
};

use super::client::classify;
use super::prompb::WriteRequest;
use super::*;
use crate::prometheus::accumulator::tests::{gauge, kv, point, request};

/// A remote write receiver answering `status` (with `Retry-After` when given) and keeping
/// what it was sent.
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(HeaderMap, WriteRequest)>>>,
}

impl Receiver {
    async fn start(
        status: StatusCode,
        retry_after: Option<&'static str>,
        reason: &'static str,
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let record = record.clone();
                let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    let record = record.clone();
                    async move {
                        let headers = req.headers().clone();
                        let body = req.into_body().collect().await.map(|b| b.to_bytes());
                        let raw = snap::raw::Decoder::new()
                            .decompress_vec(&body.unwrap_or_default())
                            .unwrap_or_default();
                        let decoded = WriteRequest::decode(&raw[..]).unwrap_or_default();
                        record.lock().expect("lock").push((headers, decoded));
                        let mut response = Response::builder().status(status);
                        if let Some(after) = retry_after {
                            response = response.header("retry-after", after);
                        }
                        Ok::<_, Infallible>(
                            response
                                .body(Full::new(Bytes::from_static(reason.as_bytes())))
                                .expect("response"),
                        )
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Receiver { addr, seen }
    }

    fn seen(&self) -> Vec<(HeaderMap, WriteRequest)> {
        self.seen.lock().expect("lock").clone()
    }
}

fn exporter(name: &str, config: serde_json::Value) -> Arc<dyn Exporter> {
    let config: RemoteWriteConfig = serde_json::from_value(config).expect("parses");
    assert_eq!(config.validate(), Ok(()));
    let settings = CreateSettings {
        id: ComponentId::new("prometheusremotewrite", Some(name.to_string())),
        signal: None,
        pipeline: None,
        host: Default::default(),
    };
    RemoteWriteExporterFactory
        .create(&config, &settings)
        .expect("created")
}

/// `n` gauge series `g{i="…"}` of one sample each.
fn batch(n: usize) -> Batch {
    let points = (0..n)
        .map(|i| point(vec![kv("i", &format!("{i:04}"))], 0, 1_000_000_000, 1.0))
        .collect();
    let request = request(
        vec![kv("service.name", "svc")],
        vec![gauge("g", "", points)],
    );
    Batch::from_request(Request::Metrics(request), Arc::new(BatchMeta::default()))
}

/// The value of this exporter's counter `name` with the extra label, if any.
fn counted(name: &str, exporter: &str, extra: Option<(&str, &str)>) -> u64 {
    let id = format!("prometheusremotewrite/{exporter}");
    weir_core::telemetry::counters()
        .into_iter()
        .filter(|c| c.name == name)
        .filter(|c| c.labels.iter().any(|(k, v)| *k == "exporter" && *v == id))
        .filter(|c| extra.is_none_or(|(k, v)| c.labels.iter().any(|(lk, lv)| *lk == k && lv == v)))
        .map(|c| c.value)
        .sum()
}

#[tokio::test]
async fn accepted_requests_carry_remote_write_headers_and_a_snappy_body() {
    let receiver = Receiver::start(StatusCode::NO_CONTENT, None, "").await;
    let exporter = exporter(
        "ok",
        serde_json::json!({"endpoint": format!("http://{}/api/v1/write", receiver.addr), "headers": {"X-Scope-OrgID": "t1"}}),
    );
    exporter.export(&batch(3)).await.expect("accepted");
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    let (headers, request) = &seen[0];
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert_eq!(header("content-encoding"), "snappy");
    assert_eq!(header("content-type"), "application/x-protobuf");
    assert_eq!(header("x-prometheus-remote-write-version"), "0.1.0");
    assert!(header("user-agent").starts_with("weir/"));
    assert_eq!(header("x-scope-orgid"), "t1");
    assert_eq!(request.timeseries.len(), 3);
    let first: Vec<(&[u8], &[u8])> = request.timeseries[0]
        .labels
        .iter()
        .map(|l| (&l.name[..], &l.value[..]))
        .collect();
    assert_eq!(
        first,
        [
            (&b"__name__"[..], &b"g"[..]),
            (b"i", b"0000"),
            (b"job", b"svc")
        ]
    );
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_sent_samples_total",
            "ok",
            None
        ),
        3
    );
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_sent_requests_total",
            "ok",
            None
        ),
        1
    );
}

#[tokio::test]
async fn a_large_batch_is_split_into_several_requests_under_the_limit() {
    let receiver = Receiver::start(StatusCode::OK, None, "").await;
    let exporter = exporter(
        "split",
        serde_json::json!({
            "endpoint": format!("http://{}/api/v1/write", receiver.addr),
            "max_batch_size_bytes": 1000,
            "remote_write_queue": {"num_consumers": 3},
        }),
    );
    exporter.export(&batch(100)).await.expect("accepted");
    let seen = receiver.seen();
    assert!(seen.len() > 3, "{} requests", seen.len());
    let mut series = 0;
    for (_, request) in &seen {
        assert!(request.encoded_len() <= 1000);
        series += request.timeseries.len();
    }
    assert_eq!(series, 100);
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_sent_samples_total",
            "split",
            None
        ),
        100
    );
}

#[tokio::test]
async fn a_400_is_permanent_with_the_servers_reason_and_counted() {
    let receiver = Receiver::start(StatusCode::BAD_REQUEST, None, "out of order sample").await;
    let exporter = exporter(
        "bad",
        serde_json::json!({"endpoint": format!("http://{}/api/v1/write", receiver.addr)}),
    );
    match exporter.export(&batch(2)).await {
        Err(ExportError::Permanent { reason }) => {
            assert_eq!(reason, "HTTP 400 Bad Request: out of order sample");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_failed_samples_total",
            "bad",
            Some(("failure", "permanent"))
        ),
        2
    );
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_sent_samples_total",
            "bad",
            None
        ),
        0
    );
}

#[tokio::test]
async fn a_429_is_retried_after_the_servers_delay() {
    let receiver = Receiver::start(StatusCode::TOO_MANY_REQUESTS, Some("7"), "slow down").await;
    let exporter = exporter(
        "busy",
        serde_json::json!({"endpoint": format!("http://{}/api/v1/write", receiver.addr)}),
    );
    match exporter.export(&batch(1)).await {
        Err(ExportError::Retryable {
            retry_after,
            reason,
        }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
            assert!(reason.contains("429"), "{reason}");
        }
        other => panic!("expected a retryable failure, got {other:?}"),
    }
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_failed_samples_total",
            "busy",
            Some(("failure", "retryable"))
        ),
        1
    );
}

#[tokio::test]
async fn a_503_and_a_refused_connection_are_retryable() {
    let receiver = Receiver::start(StatusCode::SERVICE_UNAVAILABLE, None, "").await;
    let exporter_503 = exporter(
        "down",
        serde_json::json!({"endpoint": format!("http://{}/api/v1/write", receiver.addr)}),
    );
    assert!(matches!(
        exporter_503.export(&batch(1)).await,
        Err(ExportError::Retryable {
            retry_after: None,
            ..
        })
    ));
    // A port nobody listens on.
    let free = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = free.local_addr().expect("address");
    drop(free);
    let nobody = exporter(
        "nobody",
        serde_json::json!({"endpoint": format!("http://{addr}/w")}),
    );
    assert!(matches!(
        nobody.export(&batch(1)).await,
        Err(ExportError::Retryable { .. })
    ));
}

#[tokio::test]
async fn a_batch_with_nothing_convertible_sends_nothing_and_counts_the_drop() {
    let receiver = Receiver::start(StatusCode::OK, None, "").await;
    let exporter = exporter(
        "empty",
        serde_json::json!({"endpoint": format!("http://{}/api/v1/write", receiver.addr)}),
    );
    let delta = crate::prometheus::accumulator::tests::sum(
        "d",
        "",
        true,
        true,
        vec![point(vec![], 0, 1, 1.0)],
    );
    let batch = Batch::from_request(
        Request::Metrics(request(vec![], vec![delta])),
        Arc::new(BatchMeta::default()),
    );
    exporter
        .export(&batch)
        .await
        .expect("nothing to send is a success");
    assert!(receiver.seen().is_empty());
    assert_eq!(
        counted(
            "weir_exporter_prometheusremotewrite_dropped_points_total",
            "empty",
            Some(("reason", "not_cumulative"))
        ),
        1
    );
}

#[test]
fn classification_of_statuses() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let none = HeaderMap::new();
    assert!(classify(StatusCode::OK, &none, b"", now).is_ok());
    assert!(classify(StatusCode::NO_CONTENT, &none, b"", now).is_ok());
    for status in [
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_FOUND,
        StatusCode::MOVED_PERMANENTLY,
    ] {
        assert!(
            matches!(
                classify(status, &none, b"", now),
                Err(ExportError::Permanent { .. })
            ),
            "{status}"
        );
    }
    for status in [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::GATEWAY_TIMEOUT,
    ] {
        assert!(
            matches!(
                classify(status, &none, b"", now),
                Err(ExportError::Retryable { .. })
            ),
            "{status}"
        );
    }
    let mut dated = HeaderMap::new();
    let at = httpdate::fmt_http_date(now + Duration::from_secs(30));
    dated.insert("retry-after", HeaderValue::from_str(&at).expect("header"));
    match classify(StatusCode::SERVICE_UNAVAILABLE, &dated, b"", now) {
        Err(ExportError::Retryable { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(30)));
        }
        other => panic!("{other:?}"),
    }
    // A long reason is cut and kept on one line.
    let long = format!("line one\nline two {}", "x".repeat(2000));
    let Err(ExportError::Permanent { reason }) =
        classify(StatusCode::BAD_REQUEST, &none, long.as_bytes(), now)
    else {
        panic!("permanent");
    };
    assert!(
        reason.starts_with("HTTP 400 Bad Request: line one line two x"),
        "{reason}"
    );
    assert!(reason.ends_with('…') && !reason.contains('\n'));
}
