//! The CORS policy on its own (origin patterns, header lists, the preflight answer, config
//! problems), then through a real receiver on a loopback port.

use std::net::SocketAddr;

use http::Request;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use weir_core::batch::Signal;

use super::super::testing::{FakeConsumer, TestReceiver};
use super::super::{GrpcConfig, HttpConfig};
use super::*;

fn config(origins: &[&str], headers: &[&str], max_age: i64) -> CorsConfig {
    CorsConfig {
        allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
        allowed_headers: headers.iter().map(|s| s.to_string()).collect(),
        max_age,
    }
}

fn policy(origins: &[&str], headers: &[&str], max_age: i64) -> Cors {
    Cors::new(&config(origins, headers, max_age)).expect("origins listed")
}

fn request(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// The answer to a preflight from `origin` asking for POST with `asked` headers.
fn preflight(cors: &Cors, origin: &str, asked: Option<&str>) -> Response<Full<Bytes>> {
    let mut pairs = vec![
        ("origin", origin),
        ("access-control-request-method", "POST"),
    ];
    if let Some(asked) = asked {
        pairs.push(("access-control-request-headers", asked));
    }
    match cors.admit(&Method::OPTIONS, &request(&pairs)) {
        Admission::Answer(response) => response,
        Admission::Serve(_) => panic!("a preflight must be answered by CORS"),
    }
}

const ALLOW_HEADERS: [&str; 5] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-credentials",
    "access-control-max-age",
];

fn assert_no_allow_headers(headers: &HeaderMap) {
    for name in ALLOW_HEADERS {
        assert!(headers.get(name).is_none(), "{name} present: {headers:?}");
    }
}

#[test]
fn exact_and_wildcard_origins_match_without_regard_to_case() {
    let exact = OriginPattern::parse("https://App.Example.com");
    assert!(exact.matches("https://app.example.com"));
    assert!(!exact.matches("https://app.example.com:8443"));
    assert!(!exact.matches("http://app.example.com"));

    let sub = OriginPattern::parse("https://*.example.com");
    assert!(sub.matches("https://app.example.com"));
    assert!(sub.matches("https://a.b.example.com"));
    assert!(
        !sub.matches("https://example.com"),
        "the dot is part of the pattern"
    );
    assert!(!sub.matches("https://example.com.evil.net"));
    assert!(!sub.matches("http://app.example.com"));

    // The prefix and suffix must not overlap: `https://*s` is not matched by `https://`.
    let overlap = OriginPattern::parse("https://*s");
    assert!(!overlap.matches("https://"));
    assert!(overlap.matches("https://s"));

    let any_port = OriginPattern::parse("http://localhost:*");
    assert!(any_port.matches("http://localhost:5173"));
    assert!(!any_port.matches("http://localhost.evil.net"));
}

#[test]
fn no_origins_means_cors_is_off() {
    assert!(Cors::new(&config(&[], &["x-api-key"], 600)).is_none());
    assert!(Cors::new(&CorsConfig::default()).is_none());
}

#[test]
fn an_allowed_preflight_gets_every_allow_header() {
    let cors = policy(&["https://*.example.com"], &["x-api-key"], 7200);
    let response = preflight(
        &cors,
        "https://app.example.com",
        Some("content-type,x-api-key"),
    );
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let headers = response.headers();
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        header(headers, "access-control-allow-methods"),
        Some("POST")
    );
    assert_eq!(
        header(headers, "access-control-allow-headers"),
        Some("content-type,x-api-key")
    );
    assert_eq!(
        header(headers, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(headers, "access-control-max-age"), Some("7200"));
    assert_eq!(header(headers, "vary"), Some(PREFLIGHT_VARY));
}

#[test]
fn a_refused_preflight_is_204_with_vary_only() {
    let cors = policy(&["https://app.example.com"], &[], 600);
    for response in [
        preflight(&cors, "https://evil.example.net", Some("content-type")),
        // An allowed origin asking for a header that is not allowed.
        preflight(
            &cors,
            "https://app.example.com",
            Some("content-type,x-api-key"),
        ),
    ] {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(response.headers(), "vary"), Some(PREFLIGHT_VARY));
        assert_no_allow_headers(response.headers());
    }
    // A method other than GET, HEAD and POST.
    let headers = request(&[
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "DELETE"),
    ]);
    let Admission::Answer(response) = cors.admit(&Method::OPTIONS, &headers) else {
        panic!("preflight");
    };
    assert_no_allow_headers(response.headers());
    // No Origin at all.
    let headers = request(&[("access-control-request-method", "POST")]);
    let Admission::Answer(response) = cors.admit(&Method::OPTIONS, &headers) else {
        panic!("preflight");
    };
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_no_allow_headers(response.headers());
}

#[test]
fn always_allowed_headers_stay_allowed_when_others_are_listed() {
    let cors = policy(&["https://app.example.com"], &["X-Api-Key"], 0);
    for asked in [
        "content-type",
        "accept,accept-language,content-language,content-type",
        "content-type,x-api-key",
        // Not the sorted lowercase list browsers send: still read.
        "X-API-Key, Content-Type",
        "content-type,,x-api-key",
    ] {
        let response = preflight(&cors, "https://app.example.com", Some(asked));
        assert_eq!(
            header(response.headers(), "access-control-allow-headers"),
            Some(asked),
            "{asked}"
        );
    }
    // `x-requested-with` is a default only while nothing is listed.
    let response = preflight(&cors, "https://app.example.com", Some("x-requested-with"));
    assert_no_allow_headers(response.headers());
    let defaults = policy(&["https://app.example.com"], &[], 0);
    let response = preflight(
        &defaults,
        "https://app.example.com",
        Some("x-requested-with"),
    );
    assert!(
        header(response.headers(), "access-control-allow-origin").is_some(),
        "{response:?}"
    );
}

#[test]
fn a_star_allows_any_origin_and_header_and_answers_star() {
    let cors = policy(&["*"], &["*"], 0);
    let response = preflight(
        &cors,
        "https://anything.test",
        Some("x-whatever,traceparent"),
    );
    let headers = response.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(headers, "access-control-allow-headers"),
        Some("x-whatever,traceparent")
    );
    assert_eq!(
        header(headers, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(headers.get("access-control-max-age").is_none(), "max_age 0");
}

#[test]
fn a_preflight_without_requested_headers_allows_none() {
    let cors = policy(&["https://app.example.com"], &[], -1);
    let response = preflight(&cors, "https://app.example.com", None);
    let headers = response.headers();
    assert!(headers.get("access-control-allow-headers").is_none());
    assert_eq!(header(headers, "access-control-max-age"), Some("0"));
}

#[test]
fn other_requests_are_served_decorated_or_refused_by_origin() {
    let cors = policy(&["https://app.example.com"], &[], 0);
    let post = |pairs: &[(&str, &str)]| cors.admit(&Method::POST, &request(pairs));

    let Admission::Serve(decoration) = post(&[("origin", "https://APP.example.com")]) else {
        panic!("an allowed origin is served");
    };
    let mut headers = HeaderMap::new();
    decoration.apply(&mut headers);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("https://APP.example.com"),
        "the origin is echoed as sent"
    );
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&headers, "vary"), Some("Origin"));

    let Admission::Serve(decoration) = post(&[]) else {
        panic!("requests without an Origin are served");
    };
    assert_eq!(decoration, Decoration { allow_origin: None });

    let Admission::Answer(response) = post(&[("origin", "https://evil.example.net")]) else {
        panic!("a disallowed origin is refused");
    };
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(response.headers(), "vary"), Some("Origin"));
    assert_no_allow_headers(response.headers());

    // A method rs/cors does not allow is served (to get its 405) without CORS headers.
    let Admission::Serve(decoration) = cors.admit(
        &Method::PUT,
        &request(&[("origin", "https://app.example.com")]),
    ) else {
        panic!("served");
    };
    assert_eq!(decoration, Decoration { allow_origin: None });
}

#[test]
fn problems_name_the_field_and_what_is_wrong() {
    let bad = config(
        &[
            "https://*.*.example.com",
            "",
            "https://app.example.com/",
            "https://bad origin",
            "https://ok.example.com",
            "null",
            "http://localhost:*",
        ],
        &["x-api-key", "bad header", "*"],
        0,
    );
    let problems = problems("protocols.http.cors", &bad);
    let expected = [
        "protocols.http.cors.allowed_origins[0] `https://*.*.example.com` has more than one `*`",
        "protocols.http.cors.allowed_origins[1] is empty",
        "protocols.http.cors.allowed_origins[2] `https://app.example.com/` has a path",
        "protocols.http.cors.allowed_origins[3] `https://bad origin` is not an origin",
        "protocols.http.cors.allowed_headers[1] `bad header` is not a header name",
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for (problem, start) in problems.iter().zip(expected) {
        assert!(
            problem.starts_with(start),
            "`{problem}` should start with `{start}`"
        );
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
}

async fn send(addr: SocketAddr, method: Method, pairs: &[(&str, &str)], body: Bytes) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}/v1/traces"));
    for (name, value) in pairs {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    response.into_body().collect().await.unwrap();
    Answer { status, headers }
}

async fn receiver(
    consumer: &std::sync::Arc<FakeConsumer>,
    cors: Option<CorsConfig>,
) -> TestReceiver {
    TestReceiver::start(
        &[(Signal::Traces, consumer.clone())],
        GrpcConfig::default(),
        HttpConfig {
            cors,
            ..HttpConfig::default()
        },
    )
    .await
}

const JSON_TRACE: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"from a page"}]}]}]}"#;

#[tokio::test]
async fn the_server_answers_preflights_and_refuses_other_origins() {
    let consumer = FakeConsumer::accepting();
    let server = receiver(
        &consumer,
        Some(config(&["https://*.example.com"], &[], 600)),
    )
    .await;
    let addr = server.http_addr();

    let answer = send(
        addr,
        Method::OPTIONS,
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        header(&answer.headers, "access-control-allow-origin"),
        Some("https://app.example.com")
    );

    let answer = send(
        addr,
        Method::POST,
        &[
            ("origin", "https://evil.example.net"),
            ("content-type", "application/json"),
        ],
        Bytes::from_static(JSON_TRACE.as_bytes()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        consumer.batches().is_empty(),
        "a refused origin's data was taken"
    );

    // Errors carry the CORS headers too, so that a page can read them.
    let answer = send(
        addr,
        Method::POST,
        &[
            ("origin", "https://app.example.com"),
            ("content-type", "text/plain"),
        ],
        Bytes::from_static(b"not otlp"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        header(&answer.headers, "access-control-allow-origin"),
        Some("https://app.example.com")
    );

    let answer = send(
        addr,
        Method::POST,
        &[
            ("origin", "https://app.example.com"),
            ("content-type", "application/json"),
        ],
        Bytes::from_static(JSON_TRACE.as_bytes()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(header(&answer.headers, "vary"), Some("Origin"));
    assert_eq!(consumer.batches().len(), 1);

    // No Origin: an SDK or curl, served as always.
    let answer = send(
        addr,
        Method::POST,
        &[("content-type", "application/json")],
        Bytes::from_static(JSON_TRACE.as_bytes()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    assert_eq!(consumer.batches().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn without_origins_options_is_405_and_any_origin_is_served() {
    let consumer = FakeConsumer::accepting();
    let server = receiver(&consumer, Some(config(&[], &["x-api-key"], 600))).await;
    let addr = server.http_addr();
    let answer = send(
        addr,
        Method::OPTIONS,
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(answer.headers.get("vary").is_none());

    let answer = send(
        addr,
        Method::POST,
        &[
            ("origin", "https://anyone.test"),
            ("content-type", "application/json"),
        ],
        Bytes::from_static(JSON_TRACE.as_bytes()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(consumer.batches().len(), 1);
    server.stop().await;
}
