//! TLS end to end, with real clients and certificates made by the test: the OpenTelemetry Rust
//! SDK and tonic over TLS and mutual TLS, curl with and without a client certificate, expired and
//! wrong-CA certificates refused, certificate reload seen by a new connection while an old one
//! keeps working, and Weir's exporters delivering to a TLS backend.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::capture::{Capture, Signal, Transport};
use common::certs::{Issued, Pki, Role};
use common::grpc::{RawCodec, TRACES_EXPORT};
use common::otlp::trace_request;
use common::weir::{Weir, run_cli};
use common::{DEADLINE, FAST_RETRY, Ports, wait_until_async, weir_yaml};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const JSON_TRACE: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"over-tls","kind":2}]}]}]}"#;

/// `{ cert_file, key_file, ... }` of a receiver protocol's `tls`, as a YAML flow mapping.
fn server_tls(server: &Issued, extra: &str) -> String {
    format!(
        "tls: {{ cert_file: \"{}\", key_file: \"{}\"{extra} }}",
        server.cert.display(),
        server.key.display()
    )
}

fn client_ca(pki: &Pki) -> String {
    format!(", client_ca_file: \"{}\"", pki.ca_file().display())
}

/// Weir receiving with the given protocol settings, exporting traces to `capture` over gRPC.
fn start_weir(ports: &Ports, grpc: &str, http: &str, capture: &Capture) -> Weir {
    let yaml = weir_yaml(
        ports,
        grpc,
        http,
        None,
        &[("otlp", format!("endpoint: \"{}\"", capture.grpc_endpoint()))],
        &[("traces", &["otlp"])],
    );
    Weir::start(&yaml, &ports.all())
}

/// A tonic channel to Weir's gRPC port over TLS, trusting `pki`, presenting `client` if given.
async fn tls_channel(port: u16, ca_pem: &str, client: Option<&Issued>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some(client) = client {
        tls = tls.identity(Identity::from_pem(&client.cert_pem, &client.key_pem));
    }
    Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("{e}: {:?}", std::error::Error::source(&e)))
}

async fn export_traces(channel: Channel) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(trace_request(1, 2).encode_to_vec()),
        http::uri::PathAndQuery::from_static(TRACES_EXPORT),
        RawCodec,
    )
    .await
    .map(|_| ())
}

/// Runs curl against Weir's HTTPS endpoint; `Ok(status)` or `Err(exit code and stderr)`.
fn curl(url: &str, ca: &Path, client: Option<&Issued>, headers: &[&str]) -> Result<u16, String> {
    let mut command = Command::new("curl");
    command
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(["--output", "/dev/null", "--write-out", "%{http_code}"])
        .arg("--cacert")
        .arg(ca)
        .args(["-X", "POST", "-H", "content-type: application/json"])
        .args(["--data", JSON_TRACE]);
    for header in headers {
        command.args(["-H", header]);
    }
    if let Some(client) = client {
        command.arg("--cert").arg(&client.cert);
        command.arg("--key").arg(&client.key);
    }
    let output = command
        .arg(url)
        .output()
        .expect("curl runs (it is on the CI machine)");
    if output.status.success() {
        let code = String::from_utf8_lossy(&output.stdout);
        code.trim()
            .parse()
            .map_err(|e| format!("curl printed `{code}`: {e}"))
    } else {
        Err(format!(
            "curl exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_exports_over_tls_and_over_mutual_tls() {
    let pki = Pki::new("weir");
    let server = pki.issue(Role::Server, "server");
    let client = pki.issue(Role::Client, "client");
    let capture = Capture::start();
    let ports = Ports::free();
    // gRPC: TLS only; HTTP: mutual TLS (checked with curl below).
    let weir = start_weir(
        &ports,
        &server_tls(&server, ""),
        &server_tls(&server, &client_ca(&pki)),
        &capture,
    );

    let ca = pki.ca_pem();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("https://127.0.0.1:{}", ports.grpc))
        .with_tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&ca))
                .domain_name("localhost"),
        )
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("SDK exporter over TLS");
    tokio::task::spawn_blocking(move || {
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        let tracer = provider.tracer("weir-tls-test");
        tracer.in_span("over-tls", |_| {});
        provider.shutdown().expect("SDK flushes over TLS");
    })
    .await
    .expect("SDK task");
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 1, DEADLINE)
            .await,
        "the SDK's span did not arrive over TLS; weir logs:\n{}",
        weir.logs()
    );

    // A plaintext client is not served on a TLS port.
    let plain = common::grpc::raw_unary(
        common::grpc::channel(ports.grpc),
        TRACES_EXPORT,
        trace_request(1, 1).encode_to_vec(),
    )
    .await;
    assert!(plain.is_err(), "plaintext gRPC was answered on a TLS port");

    // The same SDK presenting a client certificate, to a mutual-TLS gRPC receiver.
    let capture2 = Capture::start();
    let ports2 = Ports::free();
    let weir2 = start_weir(
        &ports2,
        &server_tls(&server, &client_ca(&pki)),
        "",
        &capture2,
    );
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("https://127.0.0.1:{}", ports2.grpc))
        .with_tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&ca))
                .domain_name("localhost")
                .identity(Identity::from_pem(&client.cert_pem, &client.key_pem)),
        )
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("SDK exporter over mutual TLS");
    tokio::task::spawn_blocking(move || {
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        provider
            .tracer("weir-mtls-test")
            .in_span("over-mtls", |_| {});
        provider.shutdown().expect("SDK flushes over mutual TLS");
    })
    .await
    .expect("SDK task");
    assert!(
        capture2
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 1, DEADLINE)
            .await,
        "the SDK's span did not arrive over mutual TLS; weir logs:\n{}",
        weir2.logs()
    );

    // Without a client certificate, the handshake (or the first call on it) fails.
    let without = match tls_channel(ports2.grpc, &ca, None).await {
        Ok(channel) => export_traces(channel).await.map_err(|s| s.to_string()),
        Err(e) => Err(e),
    };
    assert!(
        without.is_err(),
        "mutual TLS served a client without a certificate"
    );
    assert_eq!(capture2.accepted_items(Transport::Grpc, Signal::Traces), 1);
    drop(weir);
    drop(weir2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_needs_a_valid_client_certificate_for_mutual_tls() {
    let pki = Pki::new("weir");
    let other = Pki::new("other");
    let server = pki.issue(Role::Server, "server");
    let client = pki.issue(Role::Client, "client");
    let expired = pki.issue_expired(Role::Client, "expired-client");
    let stranger = other.issue(Role::Client, "stranger");
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = start_weir(&ports, "", &server_tls(&server, &client_ca(&pki)), &capture);
    let url = format!("https://localhost:{}/v1/traces", ports.http);
    let ca = pki.ca_file();

    assert_eq!(
        curl(&url, &ca, Some(&client), &[]),
        Ok(200),
        "weir logs:\n{}",
        weir.logs()
    );
    for (what, cert) in [
        ("no client certificate", None),
        ("an expired client certificate", Some(&expired)),
        ("a client certificate from another CA", Some(&stranger)),
    ] {
        let refused = curl(&url, &ca, cert, &[]);
        assert!(refused.is_err(), "{what} was accepted: {refused:?}");
    }
    // A server certificate curl cannot verify (it trusts only the other CA) is refused too.
    let wrong_ca = curl(&url, &other.ca_file(), Some(&client), &[]);
    assert!(
        wrong_ca.is_err(),
        "curl accepted a server certificate from an unknown CA"
    );
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 1, DEADLINE)
            .await
    );
    assert_eq!(capture.accepted_items(Transport::Grpc, Signal::Traces), 1);
}

#[test]
fn weir_validate_names_an_expired_or_mismatched_certificate() {
    let pki = Pki::new("weir");
    let expired = pki.issue_expired(Role::Server, "expired");
    let server = pki.issue(Role::Server, "server");
    let other = pki.issue(Role::Server, "other");
    let config = |cert: &Path, key: &Path| {
        format!(
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        tls:\n          cert_file: {}\n          key_file: {}\n\
             exporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n",
            cert.display(),
            key.display()
        )
    };
    let write = |name: &str, yaml: String| {
        let path = pki.dir().join(name);
        std::fs::write(&path, yaml).expect("write config");
        path
    };
    let expired_yaml = write("expired.yaml", config(&expired.cert, &expired.key));
    let out = run_cli(
        &["validate", "--config", &expired_yaml.to_string_lossy()],
        None,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "expired.yaml:6:11: receivers.otlp: protocols.grpc.tls.cert_file `{}`: the certificate expired on 2001-01-01 00:00:00 UTC",
            expired.cert.display()
        )),
        "{}",
        out.stderr
    );
    let mismatched_yaml = write("mismatched.yaml", config(&server.cert, &other.key));
    let out = run_cli(
        &["validate", "--config", &mismatched_yaml.to_string_lossy()],
        None,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the key does not match the certificate in protocols.grpc.tls.cert_file"),
        "{}",
        out.stderr
    );
    let good_yaml = write("good.yaml", config(&server.cert, &server.key));
    let out = run_cli(
        &["validate", "--config", &good_yaml.to_string_lossy()],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

/// One HTTP/1.1 connection over TLS: the certificate the server presented, and a handle that
/// sends requests on that same connection.
struct TlsConnection {
    server_cert: Vec<u8>,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

async fn connect_https(port: u16, config: Arc<rustls::ClientConfig>) -> TlsConnection {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("TCP connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let server_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .expect("the server presented a certificate");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(connection);
    TlsConnection {
        server_cert,
        sender,
    }
}

impl TlsConnection {
    async fn post_trace(&mut self, port: u16) -> u16 {
        self.sender.ready().await.expect("connection still open");
        let request = http::Request::post(format!("https://localhost:{port}/v1/traces"))
            .header("host", format!("localhost:{port}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(JSON_TRACE.as_bytes())))
            .expect("request");
        let response = self.sender.send_request(request).await.expect("answer");
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_certificate_reaches_new_connections_while_an_old_one_keeps_working() {
    let pki = Pki::new("weir");
    let live = pki.issue(Role::Server, "live");
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = start_weir(
        &ports,
        "",
        &server_tls(&live, ", reload_interval: 100ms"),
        &capture,
    );
    let config = pki.client_config(None, &[b"http/1.1"]);
    let mut old = connect_https(ports.http, config.clone()).await;
    assert_eq!(old.server_cert, first_der(&live));
    assert_eq!(old.post_trace(ports.http).await, 200);

    // Rotate: the key first, then the certificate, as a careless script would; the half-done
    // state (a key that does not match) must not be served.
    let second = pki.issue(Role::Server, "second");
    std::fs::write(&live.key, &second.key_pem).expect("rotate key");
    std::fs::write(&live.cert, &second.cert_pem).expect("rotate certificate");
    let want = first_der(&second);
    let mut seen_new = false;
    let deadline = std::time::Instant::now() + DEADLINE;
    while std::time::Instant::now() < deadline {
        let fresh = connect_https(ports.http, config.clone()).await;
        if fresh.server_cert == want {
            seen_new = true;
            break;
        }
        assert_eq!(
            fresh.server_cert,
            first_der(&live),
            "a connection got neither certificate (a half-rotated pair was served?)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        seen_new,
        "the new certificate was never served; weir logs:\n{}",
        weir.logs()
    );
    assert_eq!(
        old.post_trace(ports.http).await,
        200,
        "the connection opened before the reload stopped working"
    );
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 2, DEADLINE)
            .await
    );
    assert!(weir.wait_for_log("TLS certificate reloaded", DEADLINE));
}

/// The leaf certificate's DER of an issued PEM (as first issued: rotating a file does not
/// change the PEM kept in `Issued`).
fn first_der(issued: &Issued) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(issued.cert_pem.as_bytes())
        .expect("certificate PEM")
        .to_vec()
}

/// A capturing backend that requires a client certificate from its CA, with the exporter
/// `tls:` setting that presents one. The `Pki` owns the files and must outlive the test.
fn mutual_tls_backend() -> (Pki, Capture, String) {
    let pki = Pki::new("backend");
    let backend_cert = pki.issue(Role::Server, "backend");
    let weir_client = pki.issue(Role::Client, "weir-client");
    let capture = Capture::start_tls(pki.server_config(&backend_cert, true));
    let tls = format!(
        "tls: {{ ca_file: \"{}\", cert_file: \"{}\", key_file: \"{}\" }}",
        pki.ca_file().display(),
        weir_client.cert.display(),
        weir_client.key.display()
    );
    (pki, capture, tls)
}

/// Posts one OTLP/JSON trace to Weir's HTTP receiver and asserts it was accepted.
async fn post_one_trace(ports: &Ports) {
    let answer =
        common::http_client::post(&ports.http_url("traces"), "application/json", JSON_TRACE)
            .await
            .expect("POST to weir");
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_deliver_to_a_mutual_tls_backend_with_credentials() {
    let (_pki, capture, tls) = mutual_tls_backend();
    let ports = Ports::free();
    let mut yaml = weir_yaml(
        &ports,
        "",
        "",
        None,
        &[
            (
                "otlp",
                format!(
                    "endpoint: \"{}\", {tls}, auth: {{ authenticator: bearertokenauth }}",
                    capture.grpc_endpoint()
                ),
            ),
            (
                "otlphttp",
                format!(
                    "endpoint: \"{}\", {tls}, auth: {{ authenticator: basicauth }}",
                    capture.http_endpoint()
                ),
            ),
        ],
        &[("traces", &["otlp", "otlphttp"])],
    );
    yaml.push_str(
        "extensions:\n  bearertokenauth:\n    token: exporter-token\n  basicauth:\n    client_auth: { username: weir, password: pw }\n",
    );
    let yaml = yaml.replace(
        "service:\n",
        "service:\n  extensions: [bearertokenauth, basicauth]\n",
    );
    let weir = Weir::start(&yaml, &ports.all());
    post_one_trace(&ports).await;
    for transport in [Transport::Grpc, Transport::Http] {
        assert!(
            capture
                .wait_for_items_async(transport, Signal::Traces, 1, DEADLINE)
                .await,
            "{transport:?} exporter did not deliver over mutual TLS; {}\nweir logs:\n{}",
            capture.summary(),
            weir.logs()
        );
    }
    let calls = capture.calls();
    let grpc = calls
        .iter()
        .find(|c| c.transport == Transport::Grpc)
        .expect("gRPC call");
    assert_eq!(grpc.header("authorization"), Some("Bearer exporter-token"));
    let http = calls
        .iter()
        .find(|c| c.transport == Transport::Http)
        .expect("HTTP call");
    assert_eq!(http.header("authorization"), Some("Basic d2Vpcjpwdw=="));
}

/// With `compression: none` the gRPC exporter sends the batch's bytes without tonic's encoder
/// (`otlp/unary.rs`); that path over mutual TLS with credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uncompressed_grpc_exporter_delivers_over_mutual_tls_with_credentials() {
    let (_pki, capture, tls) = mutual_tls_backend();
    let ports = Ports::free();
    let mut yaml = weir_yaml(
        &ports,
        "",
        "",
        None,
        &[(
            "otlp",
            format!(
                "endpoint: \"{}\", compression: none, {tls}, headers: {{ x-tenant: acme }}, \
                 auth: {{ authenticator: bearertokenauth }}",
                capture.grpc_endpoint()
            ),
        )],
        &[("traces", &["otlp"])],
    );
    yaml.push_str("extensions:\n  bearertokenauth:\n    token: exporter-token\n");
    let yaml = yaml.replace("service:\n", "service:\n  extensions: [bearertokenauth]\n");
    let weir = Weir::start(&yaml, &ports.all());
    post_one_trace(&ports).await;
    assert!(
        capture
            .wait_for_items_async(Transport::Grpc, Signal::Traces, 1, DEADLINE)
            .await,
        "the gRPC exporter did not deliver over mutual TLS; {}\nweir logs:\n{}",
        capture.summary(),
        weir.logs()
    );
    let calls = capture.calls();
    let grpc = calls
        .iter()
        .find(|c| c.transport == Transport::Grpc)
        .expect("gRPC call");
    assert_eq!(grpc.header("authorization"), Some("Bearer exporter-token"));
    assert_eq!(grpc.header("x-tenant"), Some("acme"));
    assert_eq!(grpc.header("grpc-encoding"), None, "sent uncompressed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exporter_refuses_a_backend_certificate_from_another_ca() {
    let trusted = Pki::new("trusted");
    let other = Pki::new("other");
    let backend_cert = other.issue(Role::Server, "backend");
    let capture = Capture::start_tls(other.server_config(&backend_cert, false));
    let ports = Ports::free();
    let yaml = weir_yaml(
        &ports,
        "",
        "",
        None,
        &[(
            "otlp",
            format!(
                "endpoint: \"{}\", tls: {{ ca_file: \"{}\" }}, {FAST_RETRY}",
                capture.grpc_endpoint(),
                trusted.ca_file().display()
            ),
        )],
        &[("traces", &["otlp"])],
    );
    let weir = Weir::start(&yaml, &ports.all());
    post_one_trace(&ports).await;
    let refused = wait_until_async(DEADLINE, || {
        let logs = weir.logs();
        logs.contains("UnknownIssuer") || logs.contains("invalid peer certificate")
    })
    .await;
    assert!(
        refused,
        "no certificate error logged; weir logs:\n{}",
        weir.logs()
    );
    assert!(
        capture.calls().is_empty(),
        "data reached a backend Weir must not trust"
    );
}
