//! CORS on the `otlp` receiver's HTTP side, end to end: the real binary on 127.0.0.1, spoken to
//! over raw TCP with the bytes a browser sends (Chrome's preflight, then the OTel JS exporter's
//! POST on the same kept-alive connection), checking what the browser checks in each answer and
//! what reached the backend. Also: a preflight passes authentication, and `weir validate` names
//! the `cors` fields that are wrong.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::capture::{Capture, Signal, Transport};
use common::otlp::{assert_same_items, flatten_spans, trace_request};
use common::weir::{Weir, run_cli};
use common::{DEADLINE, Ports, weir_yaml};
use prost::Message;

const PAGE: &str = "https://app.example.com";
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// One HTTP/1.1 answer as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    /// Every value of a header, in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }
}

/// A browser's connection to Weir: requests written as raw bytes, answers parsed by hand so
/// that nothing between the test and the server adds, drops or reorders a header.
struct Browser {
    stream: TcpStream,
    port: u16,
}

impl Browser {
    fn connect(port: u16) -> Browser {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to weir");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        Browser { stream, port }
    }

    /// Chrome's preflight for a `fetch` POST from `origin` with non-safelisted `asked` headers.
    fn preflight(&mut self, origin: &str, asked: &str) -> Answer {
        let head = format!(
            "OPTIONS /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
             Accept: */*\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: {asked}\r\nOrigin: {origin}\r\n\
             User-Agent: {USER_AGENT}\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Site: cross-site\r\n\
             Sec-Fetch-Dest: empty\r\nReferer: {origin}/\r\n\
             Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n",
            port = self.port
        );
        self.exchange(head.as_bytes(), &[])
    }

    /// The exporter's POST after the preflight: `extra` are its configured headers.
    fn post(
        &mut self,
        origin: &str,
        content_type: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
             Content-Length: {len}\r\n",
            port = self.port,
            len = body.len()
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "User-Agent: {USER_AGENT}\r\nContent-Type: {content_type}\r\nAccept: */*\r\n\
             Origin: {origin}\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\n\
             Sec-Fetch-Dest: empty\r\nReferer: {origin}/\r\n\
             Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n"
        ));
        self.exchange(head.as_bytes(), body)
    }

    fn exchange(&mut self, head: &[u8], body: &[u8]) -> Answer {
        self.stream.write_all(head).expect("write request head");
        self.stream.write_all(body).expect("write request body");
        self.read_answer()
    }

    fn read_answer(&mut self) -> Answer {
        let mut buf = Vec::new();
        let end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read answer");
            assert!(
                n > 0,
                "weir closed the connection: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..end].to_vec()).expect("answer head is text");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().expect("status code");
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("header line");
                (name.to_string(), value.trim().to_string())
            })
            .collect();
        let mut answer = Answer {
            status,
            headers,
            body: buf[end + 4..].to_vec(),
        };
        assert!(
            answer.header("transfer-encoding").is_none(),
            "chunked answers are not read here: {answer:?}"
        );
        let length: usize = answer
            .header("content-length")
            .map(|v| v.parse().expect("content-length"))
            .unwrap_or(0);
        while answer.body.len() < length {
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read body");
            assert!(n > 0, "body cut short");
            answer.body.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(answer.body.len(), length, "more bytes than content-length");
        answer
    }
}

/// Weir exporting to `capture`, with these settings (a flow mapping body) on the HTTP side.
fn start(capture: &Capture, ports: &Ports, http_extra: &str) -> Weir {
    let yaml = weir_yaml(
        ports,
        "",
        http_extra,
        None,
        &[("otlp", format!("endpoint: \"{}\"", capture.grpc_endpoint()))],
        &[("traces", &["otlp"])],
    );
    Weir::start(&yaml, &ports.all())
}

const CORS: &str = r#"cors: { allowed_origins: ["https://*.example.com", "http://localhost:5173"], allowed_headers: [x-api-key], max_age: 7200 }"#;

/// What a browser requires of an answer to a preflight it then acts on.
fn assert_preflight_allows(answer: &Answer, origin: &str, asked: &str) {
    assert_eq!(answer.status, 204, "{answer:?}");
    assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
    assert_eq!(answer.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(answer.header("access-control-allow-headers"), Some(asked));
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("7200"));
    let vary = answer.all("vary").join(", ");
    assert!(vary.contains("Origin"), "{vary}");
}

/// What a browser requires before it hands an answer to the page.
fn assert_readable_by(answer: &Answer, origin: &str) {
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some(origin),
        "{answer:?}"
    );
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(answer.all("vary").contains(&"Origin"), "{answer:?}");
}

fn arrived_spans(capture: &Capture) -> Vec<opentelemetry_proto::tonic::trace::v1::ResourceSpans> {
    let requests = capture.traces(Transport::Grpc);
    flatten_spans(requests.iter().flat_map(|r| &r.resource_spans))
}

#[test]
fn a_browser_preflight_then_post_from_allowed_origins_delivers_the_spans() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = start(&capture, &ports, CORS);

    // The OTel JS proto exporter, with an API key header, from a subdomain page.
    let mut browser = Browser::connect(ports.http);
    let preflight = browser.preflight(PAGE, "content-type,x-api-key");
    assert_preflight_allows(&preflight, PAGE, "content-type,x-api-key");
    let sent = trace_request(7, 3);
    let answer = browser.post(
        PAGE,
        "application/x-protobuf",
        &[("x-api-key", "k-123")],
        &sent.encode_to_vec(),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_readable_by(&answer, PAGE);

    // The JSON exporter from a dev server, on a new connection: only `content-type` asked.
    let dev = "http://localhost:5173";
    let mut browser = Browser::connect(ports.http);
    let preflight = browser.preflight(dev, "content-type");
    assert_preflight_allows(&preflight, dev, "content-type");
    let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web-shop"}}]},"scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-fetch"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"HTTP GET /cart","kind":3,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000","attributes":[{"key":"http.url","value":{"stringValue":"https://app.example.com/cart"}}]}]}]}]}"#;
    let answer = browser.post(dev, "application/json", &[], json.as_bytes());
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, b"{}");
    assert_readable_by(&answer, dev);

    assert!(
        capture.wait_for_items(Transport::Grpc, Signal::Traces, 4, DEADLINE),
        "spans did not arrive: {}",
        capture.summary()
    );
    let arrived = arrived_spans(&capture);
    let (protobuf, json_spans): (Vec<_>, Vec<_>) = arrived
        .into_iter()
        .partition(|rs| rs.scope_spans[0].spans[0].name.starts_with("span-7-"));
    assert_same_items(
        "protobuf spans",
        &flatten_spans(&sent.resource_spans),
        &protobuf,
    );
    assert_eq!(json_spans.len(), 1, "{json_spans:?}");
    let rs = &json_spans[0];
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(span.name, "HTTP GET /cart");
    assert_eq!(
        span.trace_id,
        [
            0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
            0xc6, 0x0c
        ]
    );
    assert_eq!(span.end_time_unix_nano, 1_700_000_000_250_000_000);
    assert_eq!(span.attributes[0].key, "http.url");
    assert_eq!(
        rs.resource.as_ref().unwrap().attributes[0].key,
        "service.name"
    );
    assert_eq!(
        rs.scope_spans[0].scope.as_ref().unwrap().name,
        "@opentelemetry/instrumentation-fetch"
    );
    weir.stop();
}

#[test]
fn a_disallowed_origin_gets_no_allow_headers_and_its_data_is_refused() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = start(&capture, &ports, CORS);

    for origin in [
        "https://evil.example.net",
        // Looks like the wildcard's suffix, but the host is someone else's.
        "https://example.com.evil.net",
        // The right host over plain http.
        "http://app.example.com",
    ] {
        let mut browser = Browser::connect(ports.http);
        let preflight = browser.preflight(origin, "content-type");
        // As otelcol (rs/cors): a 204 without any allow header, which the browser refuses.
        assert_eq!(preflight.status, 204, "{origin}: {preflight:?}");
        for name in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-allow-credentials",
            "access-control-max-age",
        ] {
            assert!(
                preflight.header(name).is_none(),
                "{origin}: {name} in {preflight:?}"
            );
        }
        // A page (or a script that ignores the preflight) posting anyway is refused. Its body
        // is left unread, so the server may close the connection after answering.
        let answer = browser.post(
            origin,
            "application/x-protobuf",
            &[],
            &trace_request(9, 2).encode_to_vec(),
        );
        assert_eq!(answer.status, 403, "{origin}: {answer:?}");
        assert!(answer.header("access-control-allow-origin").is_none());
        let mut browser = Browser::connect(ports.http);
        let answer = browser.post(origin, "application/json", &[], b"{}");
        assert_eq!(answer.status, 403, "{origin}: {answer:?}");
    }

    // An allowed page after them; once its spans are in, nothing else may be.
    let mut browser = Browser::connect(ports.http);
    let sent = trace_request(8, 2);
    let answer = browser.post(PAGE, "application/x-protobuf", &[], &sent.encode_to_vec());
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        capture.wait_for_items(Transport::Grpc, Signal::Traces, 2, DEADLINE),
        "{}",
        capture.summary()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_same_items(
        "spans at the backend",
        &flatten_spans(&sent.resource_spans),
        &arrived_spans(&capture),
    );
    weir.stop();
}

#[test]
fn a_preflight_needs_no_credentials_and_auth_refusals_are_readable() {
    let capture = Capture::start();
    let ports = Ports::free();
    let token = "browser-token-1";
    let auth = "auth: { authenticator: bearertokenauth }";
    let cors = r#"cors: { allowed_origins: ["*"], allowed_headers: [authorization] }"#;
    let yaml = weir_yaml(
        &ports,
        "",
        &format!("{auth}, {cors}"),
        None,
        &[("otlp", format!("endpoint: \"{}\"", capture.grpc_endpoint()))],
        &[("traces", &["otlp"])],
    )
    .replace(
        "service:\n",
        &format!(
            "extensions:\n  bearertokenauth:\n    token: {token}\nservice:\n  extensions: [bearertokenauth]\n"
        ),
    );
    let weir = Weir::start(&yaml, &ports.all());

    let mut browser = Browser::connect(ports.http);
    let preflight = browser.preflight(PAGE, "authorization,content-type");
    assert_eq!(preflight.status, 204, "{preflight:?}");
    // `*` alone is answered with `*`, as otelcol does; no Max-Age without `max_age`.
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("authorization,content-type")
    );
    assert!(preflight.header("access-control-max-age").is_none());

    let body = trace_request(5, 1).encode_to_vec();
    let answer = browser.post(PAGE, "application/x-protobuf", &[], &body);
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let bearer = format!("Bearer {token}");
    // The refused body was not read, so that connection may be closed: a browser opens another.
    let mut browser = Browser::connect(ports.http);
    let answer = browser.post(
        PAGE,
        "application/x-protobuf",
        &[("Authorization", &bearer)],
        &body,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert!(
        capture.wait_for_items(Transport::Grpc, Signal::Traces, 1, DEADLINE),
        "{}",
        capture.summary()
    );
    weir.stop();
}

#[test]
fn validate_names_the_cors_fields_that_are_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cors.yaml");
    let yaml = "receivers:\n  otlp:\n    protocols:\n      http:\n        cors:\n          allowed_origins: [\"https://*.*.example.com\", \"https://app.example.com/\"]\n          allowed_headers: [\"x api key\"]\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n";
    std::fs::write(&path, yaml).expect("write config");
    let out = run_cli(&["validate", "--config", path.to_str().unwrap()], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    for expected in [
        "protocols.http.cors.allowed_origins[0] `https://*.*.example.com` has more than one `*`",
        "protocols.http.cors.allowed_origins[1] `https://app.example.com/` has a path",
        "protocols.http.cors.allowed_headers[0] `x api key` is not a header name",
    ] {
        assert!(
            out.stderr.contains(expected),
            "lacks `{expected}`:\n{}",
            out.stderr
        );
    }

    std::fs::write(
        &path,
        yaml.replace("allowed_headers: [\"x api key\"]", "max_age: 2h")
            .replace(
                "[\"https://*.*.example.com\", \"https://app.example.com/\"]",
                "[\"*\"]",
            ),
    )
    .expect("write config");
    let out = run_cli(&["validate", "--config", path.to_str().unwrap()], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("max_age must be a whole number of seconds, e.g. 7200, got `2h`"),
        "{}",
        out.stderr
    );
}
