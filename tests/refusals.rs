//! No silent refusals, through the real binary: every refused TLS handshake, failed
//! authentication and request refused on a limit is logged with the client's address and the
//! reason in words, and counted by reason on the internal metrics endpoint
//! (`weir_receiver_tls_handshake_failures_total`, `weir_receiver_unauthenticated_requests_total`,
//! `weir_receiver_refused_requests_total`). Credentials never reach the log.

mod common;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::certs::{Issued, Pki, Role};
use common::grpc::TRACES_EXPORT;
use common::otlp::trace_request;
use common::weir::{Weir, strip_ansi};
use common::{DEADLINE, Ports, prom, wait_until_async, weir_yaml};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "s3cret-token-value";

/// `tls: { cert_file, key_file, client_ca_file }`: mutual TLS with `pki`'s CA.
fn mutual_tls(pki: &Pki, server: &Issued) -> String {
    format!(
        "tls: {{ cert_file: \"{}\", key_file: \"{}\", client_ca_file: \"{}\" }}",
        server.cert.display(),
        server.key.display(),
        pki.ca_file().display()
    )
}

fn debug_pipeline(ports: &Ports, grpc: &str, http: &str) -> String {
    weir_yaml(
        ports,
        grpc,
        http,
        None,
        &[("debug", String::new())],
        &[("traces", &["debug"])],
    )
}

/// One log line holding every needle, if there is one by the deadline.
async fn log_line(weir: &Weir, needles: &[&str]) -> Option<String> {
    let find = || {
        strip_ansi(&weir.logs())
            .lines()
            .find(|line| needles.iter().all(|n| line.contains(n)))
            .map(str::to_string)
    };
    wait_until_async(DEADLINE, || find().is_some()).await;
    find()
}

/// Opens a TLS connection to `port` with `config` and, if the client's side of the handshake
/// completes, waits for the server's answer (with TLS 1.3 a client certificate is refused after
/// the client is done, by an alert on the next read). Returns the client's address.
async fn tls_attempt(port: u16, config: Arc<rustls::ClientConfig>) -> SocketAddr {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("TCP connect");
    let local = tcp.local_addr().expect("local address");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    if let Ok(mut tls) = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
    {
        let _ = tls
            .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await;
        let mut buf = [0u8; 512];
        let _ = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf)).await;
    }
    local
}

/// `POST /v1/traces` on its own connection; the client's address and the status.
async fn post_from(port: u16, headers: &[(&str, &str)], body: Vec<u8>) -> (SocketAddr, u16) {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("TCP connect");
    let local = tcp.local_addr().expect("local address");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(connection);
    let mut request = http::Request::post("/v1/traces").header("host", format!("127.0.0.1:{port}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).expect("request");
    let response = sender.send_request(request).await.expect("an answer");
    (local, response.status().as_u16())
}

fn tls_failures(ports: &Ports, reason: &str) -> Option<f64> {
    prom::counter(
        ports.metrics,
        "weir_receiver_tls_handshake_failures_total",
        &[("server", "otlp/http"), ("reason", reason)],
    )
}

fn refused(ports: &Ports, transport: &str, reason: &str) -> Option<f64> {
    prom::counter(
        ports.metrics,
        "weir_receiver_refused_requests_total",
        &[
            ("receiver", "otlp"),
            ("transport", transport),
            ("reason", reason),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tls_handshakes_are_logged_with_peer_and_reason_and_counted() {
    let pki = Pki::new("weir");
    let server = pki.issue(Role::Server, "server");
    let other = Pki::new("other");
    let ports = Ports::free();
    let weir = Weir::start(
        &debug_pipeline(&ports, "", &mutual_tls(&pki, &server)),
        &ports.all(),
    );
    let alpn: &[&[u8]] = &[b"http/1.1"];

    let cases: Vec<(&str, Option<Issued>, &str)> = vec![
        ("no_client_certificate", None, "client_ca_file"),
        (
            "unknown_ca",
            Some(other.issue(Role::Client, "other-client")),
            "client_ca_file",
        ),
        (
            "expired",
            Some(pki.issue_expired(Role::Client, "expired-client")),
            "renew",
        ),
        (
            "not_x509_v3",
            Some(pki.issue_v1_with_openssl("v1-client")),
            "X.509 v3",
        ),
    ];
    for (reason, client, advice) in &cases {
        let config = match client {
            Some(client) => pki.client_config_presenting_unchecked(client, alpn),
            None => pki.client_config(None, alpn),
        };
        let peer = tls_attempt(ports.http, config).await;
        let line = log_line(
            &weir,
            &["TLS handshake refused", &format!("peer={peer}"), reason],
        )
        .await;
        let line = line.unwrap_or_else(|| {
            panic!(
                "no log line names {peer} and {reason}; weir logs:\n{}",
                weir.logs()
            )
        });
        assert!(line.contains("WARN"), "not a warning: {line}");
        assert!(line.contains(advice), "`{advice}` not in: {line}");
        assert_eq!(tls_failures(&ports, reason), Some(1.0), "{reason}");
    }

    // Plain HTTP to the TLS port.
    let mut tcp = TcpStream::connect(("127.0.0.1", ports.http))
        .await
        .expect("TCP connect");
    let peer = tcp.local_addr().expect("local address");
    tcp.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest)).await;
    let line = log_line(
        &weir,
        &["TLS handshake refused", &format!("peer={peer}"), "not_tls"],
    )
    .await
    .unwrap_or_else(|| panic!("plain HTTP not logged; weir logs:\n{}", weir.logs()));
    assert!(line.contains("https://"), "{line}");
    assert_eq!(tls_failures(&ports, "not_tls"), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bearer_token_is_logged_with_peer_and_authenticator_but_not_the_token() {
    let ports = Ports::free();
    let auth = "auth: { authenticator: bearertokenauth }";
    let yaml = debug_pipeline(&ports, auth, auth).replace(
        "service:\n",
        &format!(
            "extensions:\n  bearertokenauth:\n    token: {TOKEN}\nservice:\n  extensions: [bearertokenauth]\n"
        ),
    );
    let weir = Weir::start(&yaml, &ports.all());
    let wrong = "Bearer not-the-right-token-xyz";
    let (peer, status) = post_from(
        ports.http,
        &[
            ("content-type", "application/json"),
            ("authorization", wrong),
        ],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 401);
    let line = log_line(
        &weir,
        &[
            "not authenticated",
            &format!("peer={peer}"),
            "bearertokenauth",
        ],
    )
    .await
    .unwrap_or_else(|| panic!("refusal not logged; weir logs:\n{}", weir.logs()));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("invalid `authorization` header"), "{line}");
    let logs = weir.logs();
    assert!(
        !logs.contains("not-the-right-token-xyz"),
        "the sent token is in the log:\n{logs}"
    );
    assert!(
        !logs.contains(TOKEN),
        "the configured token is in the log:\n{logs}"
    );
    assert_eq!(
        prom::counter(
            ports.metrics,
            "weir_receiver_unauthenticated_requests_total",
            &[("receiver", "otlp"), ("transport", "http")],
        ),
        Some(1.0)
    );
}

/// A reason, the request's headers and body, and the status it must get.
type LimitCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
);

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_on_limits_are_logged_and_counted_by_reason() {
    let ports = Ports::free();
    let weir = Weir::start(
        &debug_pipeline(
            &ports,
            "max_recv_msg_size_mib: 1",
            "max_request_body_size: 1000",
        ),
        &ports.all(),
    );
    let protobuf = ("content-type", "application/x-protobuf");
    let bomb = gzip(&vec![0u8; 500_000]);
    assert!(
        bomb.len() < 1000,
        "the bomb is {} bytes compressed",
        bomb.len()
    );

    let cases: Vec<LimitCase> = vec![
        ("too_large", vec![protobuf], vec![0u8; 5000], 413),
        (
            "unsupported_content_type",
            vec![("content-type", "text/plain")],
            b"hello".to_vec(),
            415,
        ),
        (
            "decompressed_too_large",
            vec![protobuf, ("content-encoding", "gzip")],
            bomb,
            413,
        ),
        (
            "unsupported_encoding",
            vec![protobuf, ("content-encoding", "br")],
            b"x".to_vec(),
            400,
        ),
        ("malformed", vec![protobuf], vec![0xff, 0xff, 0xff], 400),
    ];
    for (reason, headers, body, want) in cases {
        let (peer, status) = post_from(ports.http, &headers, body).await;
        assert_eq!(status, want, "{reason}");
        let line = log_line(&weir, &["request refused", &format!("peer={peer}"), reason])
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{reason} from {peer} not logged; weir logs:\n{}",
                    weir.logs()
                )
            });
        assert!(line.contains("WARN"), "{line}");
        assert_eq!(refused(&ports, "http", reason), Some(1.0), "{reason}");
    }

    // gRPC: a message over max_recv_msg_size_mib.
    let big = trace_request(1, 1).encode_to_vec();
    let mut message = big.clone();
    while message.len() < 2 * 1024 * 1024 {
        message.extend_from_slice(&big);
    }
    let status = common::grpc::raw_unary(common::grpc::channel(ports.grpc), TRACES_EXPORT, message)
        .await
        .expect_err("an oversize message is refused");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let line = log_line(
        &weir,
        &["request refused", "transport=\"grpc\"", "too_large"],
    )
    .await;
    assert!(
        line.is_some(),
        "gRPC oversize not logged; weir logs:\n{}",
        weir.logs()
    );
    assert_eq!(refused(&ports, "grpc", "too_large"), Some(1.0));
}
