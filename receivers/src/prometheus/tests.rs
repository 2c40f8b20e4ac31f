//! The receiver against targets served on 127.0.0.1 by a small hand-written HTTP server whose
//! answer each test sets (body, status, content type, gzip, delay), and which records the
//! requests it was sent.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, Request, Signal};
use weir_core::component::{
    ComponentConfig, Consumer, CreateSettings, PushOutcome, ReceiverContext, ReceiverFactory,
};

use super::config::PrometheusReceiverConfig;
use super::*;

/// What the test server answers.
#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    gzip: bool,
    delay: Duration,
}

impl Answer {
    fn text(body: &str) -> Answer {
        Answer {
            status: 200,
            content_type: "text/plain; version=0.0.4",
            body: body.as_bytes().to_vec(),
            gzip: false,
            delay: Duration::ZERO,
        }
    }
}

struct Server {
    port: u16,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = Arc::new(Mutex::new(answer));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (a, r) = (answer.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (a, r) = (a.clone(), r.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    r.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let answer = a.lock().unwrap().clone();
                    tokio::time::sleep(answer.delay).await;
                    let body = if answer.gzip {
                        let mut enc =
                            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                        enc.write_all(&answer.body).unwrap();
                        enc.finish().unwrap()
                    } else {
                        answer.body.clone()
                    };
                    let mut response = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                        answer.status,
                        answer.content_type,
                        body.len()
                    );
                    if answer.gzip {
                        response.push_str("Content-Encoding: gzip\r\n");
                    }
                    response.push_str("\r\n");
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        Server {
            port,
            answer,
            requests,
        }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct Capture {
    batches: Mutex<Vec<Batch>>,
}

#[async_trait]
impl Consumer for Capture {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        self.batches.lock().unwrap().push(batch);
        PushOutcome::Accepted
    }
}

/// One number point as the tests look at it.
#[derive(Clone, Debug)]
struct Point {
    metric: String,
    resource: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
    value: f64,
    stale: bool,
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        other => format!("{other:?}"),
    }
}

impl Capture {
    fn points(&self) -> Vec<Point> {
        let mut out = Vec::new();
        for batch in self.batches.lock().unwrap().iter() {
            let Request::Metrics(request) = &*batch.decoded().unwrap() else {
                panic!("not metrics")
            };
            for rm in &request.resource_metrics {
                let resource: BTreeMap<_, _> = rm
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .map(|kv| (kv.key.clone(), text(&kv.value)))
                    .collect();
                for sm in &rm.scope_metrics {
                    for m in &sm.metrics {
                        let points = match &m.data {
                            Some(Data::Gauge(g)) => &g.data_points,
                            Some(Data::Sum(s)) => &s.data_points,
                            _ => continue,
                        };
                        for p in points {
                            let value = match p.value {
                                Some(number_data_point::Value::AsDouble(v)) => v,
                                Some(number_data_point::Value::AsInt(v)) => v as f64,
                                None => f64::NAN,
                            };
                            out.push(Point {
                                metric: m.name.clone(),
                                resource: resource.clone(),
                                attributes: p
                                    .attributes
                                    .iter()
                                    .map(|kv| (kv.key.clone(), text(&kv.value)))
                                    .collect(),
                                value,
                                stale: p.flags & 1 == 1,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    fn last(&self, metric: &str, instance_port: u16) -> Option<Point> {
        self.points().into_iter().rev().find(|p| {
            p.metric == metric
                && p.resource
                    .get("service.instance.id")
                    .is_some_and(|i| i.ends_with(&format!(":{instance_port}")))
        })
    }
}

struct Running {
    capture: Arc<Capture>,
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) -> Arc<Capture> {
        self.stop.cancel();
        self.handle.await.unwrap();
        self.capture
    }
}

async fn start(config: serde_json::Value) -> Running {
    let capture = Arc::new(Capture::default());
    let (stop, handle) = start_into(config, capture.clone()).await;
    Running {
        capture,
        stop,
        handle,
    }
}

/// Starts a receiver with `config` feeding `consumer`; the token that stops it and its task.
async fn start_into(
    config: serde_json::Value,
    consumer: Arc<dyn Consumer>,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let config: PrometheusReceiverConfig = serde_json::from_value(config).unwrap();
    config
        .validate_fields()
        .map_err(|e| format!("{:?}", e.iter().map(|p| &p.message).collect::<Vec<_>>()))
        .unwrap();
    let id: weir_core::component::ComponentId = "prometheus".parse().unwrap();
    let settings = CreateSettings {
        id: id.clone(),
        signal: None,
        pipeline: None,
        host: Default::default(),
    };
    let receiver = PrometheusReceiverFactory
        .create(&config, &settings)
        .unwrap();
    let stop = CancellationToken::new();
    let consumers: BTreeMap<Signal, Arc<dyn Consumer>> =
        BTreeMap::from([(Signal::Metrics, consumer)]);
    let handle = receiver
        .start(ReceiverContext {
            id,
            consumers,
            shutdown: stop.clone(),
            host: Default::default(),
        })
        .await
        .unwrap();
    (stop, handle)
}

fn job(targets: &[u16], extra: serde_json::Value) -> serde_json::Value {
    let mut job = serde_json::json!({
        "job_name": "app",
        "scrape_interval": "1s",
        "scrape_timeout": "500ms",
        "static_configs": [{"targets": targets.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>()}],
    });
    if let (Some(job), Some(extra)) = (job.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            job.insert(k.clone(), v.clone());
        }
    }
    serde_json::json!({"config": {"scrape_configs": [job]}})
}

async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(v) = check() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}")
}

const BODY: &str = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
http_requests_total{code=\"200\"} 7\nhttp_requests_total{code=\"500\"} 1\n\
# TYPE temperature gauge\ntemperature 21.5\n";

#[tokio::test]
async fn a_scrape_becomes_otlp_metrics_with_up_and_the_target_as_resource() {
    let server = Server::start(Answer::text(BODY)).await;
    let running = start(job(&[server.port], serde_json::json!({}))).await;
    let up = eventually("up", || running.capture.last("up", server.port)).await;
    assert_eq!(up.value, 1.0);
    assert_eq!(up.resource["service.name"], "app");
    assert_eq!(
        up.resource["service.instance.id"],
        format!("127.0.0.1:{}", server.port)
    );
    let capture = running.stop().await;
    let points = capture.points();
    let ok = points
        .iter()
        .find(|p| {
            p.metric.starts_with("http_requests")
                && p.attributes.get("code").map(String::as_str) == Some("200")
        })
        .expect("the counter");
    assert_eq!(ok.value, 7.0);
    assert!(!ok.attributes.contains_key("job") && !ok.attributes.contains_key("instance"));
    let temp = points.iter().find(|p| p.metric == "temperature").unwrap();
    assert_eq!(temp.value, 21.5);
    for synthetic in [
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert!(
            points.iter().any(|p| p.metric == synthetic),
            "{synthetic} missing"
        );
    }
    let scraped = points
        .iter()
        .find(|p| p.metric == "scrape_samples_scraped" && !p.stale)
        .unwrap();
    assert_eq!(scraped.value, 3.0);
    // Stopping marks the target's series stale, `up` included.
    assert!(
        points
            .iter()
            .rev()
            .find(|p| p.metric == "up")
            .unwrap()
            .stale
    );
    assert!(
        points
            .iter()
            .rev()
            .find(|p| p.metric == "temperature")
            .unwrap()
            .stale
    );
}

#[tokio::test]
async fn the_request_negotiates_openmetrics_and_gzip_and_says_its_timeout() {
    let server = Server::start(Answer {
        content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
        gzip: true,
        ..Answer::text("# TYPE jobs counter\njobs_total 3\n# EOF\n")
    })
    .await;
    let running = start(job(
        &[server.port],
        serde_json::json!({"metrics_path": "/m", "params": {"module": ["a b"]}}),
    ))
    .await;
    let jobs = eventually("jobs", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric.starts_with("jobs"))
    })
    .await;
    assert_eq!(jobs.value, 3.0);
    running.stop().await;
    let request = server.requests()[0].to_ascii_lowercase();
    assert!(
        request.starts_with("get /m?module=a+b http/1.1"),
        "{request}"
    );
    assert!(
        request.contains("accept: application/openmetrics-text;version=1.0.0,"),
        "{request}"
    );
    assert!(request.contains("text/plain;version=0.0.4;q="), "{request}");
    assert!(request.contains("accept-encoding: gzip"), "{request}");
    assert!(
        request.contains("x-prometheus-scrape-timeout-seconds: 0.5"),
        "{request}"
    );
}

fn failures(reason: &str) -> u64 {
    weir_core::telemetry::counters()
        .into_iter()
        .filter(|c| c.name == "weir_receiver_prometheus_scrape_failures_total")
        .filter(|c| c.labels.iter().any(|(k, v)| *k == "reason" && v == reason))
        .map(|c| c.value)
        .sum()
}

#[tokio::test]
async fn a_down_target_gives_up_0_and_the_others_are_scraped() {
    let server = Server::start(Answer::text(BODY)).await;
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_port = down.local_addr().unwrap().port();
    drop(down);
    let before = failures("connection");
    let running = start(job(&[server.port, down_port], serde_json::json!({}))).await;
    let dead = eventually("up 0", || running.capture.last("up", down_port)).await;
    assert_eq!(dead.value, 0.0);
    let alive = eventually("up 1", || running.capture.last("up", server.port)).await;
    assert_eq!(alive.value, 1.0);
    running.stop().await;
    assert!(failures("connection") > before);
}

/// Each bad answer gives `up` 0 with its reason counted.
#[tokio::test]
async fn bad_bodies_slow_targets_and_limits_give_up_0_with_a_reason() {
    let cases: Vec<(&str, Answer, serde_json::Value)> = vec![
        ("parse", Answer::text("metric{ 1\n"), serde_json::json!({})),
        (
            "http_status",
            Answer {
                status: 503,
                ..Answer::text("busy")
            },
            serde_json::json!({}),
        ),
        (
            "sample_limit",
            Answer::text(BODY),
            serde_json::json!({"sample_limit": 2}),
        ),
        (
            "body_size_limit",
            Answer::text(BODY),
            serde_json::json!({"body_size_limit": "100B"}),
        ),
        (
            "label_limit",
            Answer::text(BODY),
            serde_json::json!({"label_limit": 2}),
        ),
        (
            "timeout",
            Answer {
                delay: Duration::from_millis(800),
                ..Answer::text(BODY)
            },
            serde_json::json!({}),
        ),
    ];
    for (reason, answer, extra) in cases {
        let server = Server::start(answer).await;
        let before = failures(reason);
        let running = start(job(&[server.port], extra)).await;
        let up = eventually(reason, || running.capture.last("up", server.port)).await;
        assert_eq!(up.value, 0.0, "{reason}");
        let capture = running.stop().await;
        assert!(failures(reason) > before, "{reason} not counted");
        assert!(
            !capture
                .points()
                .iter()
                .any(|p| p.metric.starts_with("http_requests") || p.metric == "temperature"),
            "{reason}: samples of a failed scrape went out"
        );
    }
}

#[tokio::test]
async fn a_series_that_disappears_is_marked_stale_and_a_new_one_counted_as_added() {
    let server = Server::start(Answer::text(BODY)).await;
    let running = start(job(&[server.port], serde_json::json!({}))).await;
    eventually("first scrape", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric == "temperature")
    })
    .await;
    server.set(Answer::text("# TYPE humidity gauge\nhumidity 40\n"));
    let stale = eventually("stale temperature", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric == "temperature" && p.stale)
    })
    .await;
    assert!(stale.value.is_nan() || stale.value == 0.0);
    let added = eventually("series added", || {
        running
            .capture
            .points()
            .into_iter()
            .rev()
            .find(|p| p.metric == "scrape_series_added" && p.value == 1.0)
    })
    .await;
    assert!(!added.stale);
    running.stop().await;
}

#[tokio::test]
async fn clashing_labels_are_renamed_exported_unless_honor_labels() {
    let body = "# TYPE x gauge\nx{job=\"inner\",instance=\"i\"} 1\n";
    for (honor, job_attr, instance) in [(false, Some("inner"), "app"), (true, None, "inner")] {
        let server = Server::start(Answer::text(body)).await;
        let running = start(job(
            &[server.port],
            serde_json::json!({"honor_labels": honor}),
        ))
        .await;
        let x = eventually("x", || {
            running
                .capture
                .points()
                .into_iter()
                .find(|p| p.metric == "x")
        })
        .await;
        running.stop().await;
        assert_eq!(
            x.attributes.get("exported_job").map(String::as_str),
            job_attr,
            "honor_labels {honor}"
        );
        assert_eq!(x.resource["service.name"], instance, "honor_labels {honor}");
    }
}

#[tokio::test]
async fn metric_relabel_configs_drop_and_rewrite_samples_and_external_labels_are_added() {
    let server = Server::start(Answer::text(BODY)).await;
    let mut config = job(
        &[server.port],
        serde_json::json!({
            "metric_relabel_configs": [
                {"source_labels": ["code"], "regex": "500", "action": "drop"},
                {"source_labels": ["__name__"], "regex": "temperature", "target_label": "unit", "replacement": "celsius"}
            ]
        }),
    );
    config["config"]["global"] = serde_json::json!({"external_labels": {"cluster": "eu"}});
    let running = start(config).await;
    let temp = eventually("temperature", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric == "temperature")
    })
    .await;
    let post = eventually("post relabel", || {
        running
            .capture
            .last("scrape_samples_post_metric_relabeling", server.port)
    })
    .await;
    let capture = running.stop().await;
    assert_eq!(
        temp.attributes.get("unit").map(String::as_str),
        Some("celsius")
    );
    assert_eq!(
        temp.attributes.get("cluster").map(String::as_str),
        Some("eu")
    );
    assert!(
        !capture
            .points()
            .iter()
            .any(|p| p.attributes.get("code").map(String::as_str) == Some("500"))
    );
    assert_eq!(post.value, 2.0);
}

#[tokio::test]
async fn file_sd_targets_follow_the_file() {
    let a = Server::start(Answer::text(BODY)).await;
    let b = Server::start(Answer::text(BODY)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.json");
    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["127.0.0.1:{}"], "labels": {{"team": "x"}}}}]"#,
            a.port
        ),
    )
    .unwrap();
    let config = serde_json::json!({"config": {"scrape_configs": [{
        "job_name": "sd", "scrape_interval": "1s", "scrape_timeout": "500ms",
        "file_sd_configs": [{"files": [dir.path().join("*.json").display().to_string()]}]
    }]}});
    let running = start(config).await;
    let up = eventually("a", || running.capture.last("up", a.port)).await;
    assert_eq!(up.value, 1.0);
    let temp = eventually("a's series", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric == "temperature")
    })
    .await;
    assert_eq!(temp.attributes.get("team").map(String::as_str), Some("x"));
    std::fs::write(
        &file,
        format!(r#"[{{"targets": ["127.0.0.1:{}"]}}]"#, b.port),
    )
    .unwrap();
    eventually("b", || running.capture.last("up", b.port)).await;
    eventually("a stale", || {
        running.capture.last("up", a.port).filter(|p| p.stale)
    })
    .await;
    running.stop().await;
}

#[tokio::test]
async fn credentials_are_sent_from_config_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let cases = [
        (
            serde_json::json!({"basic_auth": {"username": "u", "password": "p"}}),
            "authorization: basic dtpw",
        ),
        (
            serde_json::json!({"bearer_token_file": token.display().to_string()}),
            "authorization: bearer s3cret",
        ),
        (
            serde_json::json!({"authorization": {"type": "Token", "credentials": "abc"}}),
            "authorization: token abc",
        ),
    ];
    for (extra, header) in cases {
        let server = Server::start(Answer::text(BODY)).await;
        let running = start(job(&[server.port], extra)).await;
        eventually("a scrape", || running.capture.last("up", server.port)).await;
        running.stop().await;
        let request = server.requests()[0].to_ascii_lowercase();
        assert!(request.contains(header), "{header} not in {request}");
    }
}

#[test]
fn targets_are_spread_over_the_interval_by_their_hash() {
    use std::time::{SystemTime, UNIX_EPOCH};
    let interval = Duration::from_secs(10);
    let now = UNIX_EPOCH + Duration::from_millis(1_000_000_000_250);
    assert_eq!(
        scrape::until_next_slot(1_000, interval, now),
        Duration::from_millis(750)
    );
    assert_eq!(
        scrape::until_next_slot(0, interval, now),
        Duration::from_millis(9_750)
    );
    let waits: std::collections::BTreeSet<u128> = (0u64..50)
        .map(|i| {
            scrape::until_next_slot(
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                interval,
                SystemTime::now(),
            )
            .as_millis()
                / 1000
        })
        .collect();
    assert!(
        waits.len() > 5,
        "50 targets fell into {} seconds of 10",
        waits.len()
    );
}

fn problems(config: serde_json::Value) -> Vec<(String, String)> {
    let config: PrometheusReceiverConfig = serde_json::from_value(config).unwrap();
    match config.validate_fields() {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| (e.path.join("."), e.message))
            .collect(),
    }
}

#[test]
fn scrape_configs_take_prometheus_defaults() {
    let config: PrometheusReceiverConfig = serde_json::from_value(serde_json::json!({
        "config": {"global": {"scrape_interval": "30s"}, "scrape_configs": [{"job_name": "a"}, {"job_name": "b", "scrape_interval": "5s"}]}
    }))
    .unwrap();
    let jobs = config.jobs().unwrap();
    assert_eq!(jobs[0].interval, Duration::from_secs(30));
    assert_eq!(jobs[0].timeout, Duration::from_secs(10));
    assert_eq!(jobs[0].metrics_path, "/metrics");
    assert_eq!(jobs[0].scheme, "http");
    assert!(jobs[0].honor_timestamps && jobs[0].compression && jobs[0].follow_redirects);
    // An inherited timeout longer than the job's interval is cut to it.
    assert_eq!(jobs[1].timeout, Duration::from_secs(5));
}

#[test]
fn bad_scrape_configs_are_refused_at_their_fields() {
    let found = problems(serde_json::json!({"config": {"scrape_configs": [
        {"job_name": "a", "scrape_interval": "5s", "scrape_timeout": "10s"},
        {"job_name": "a"},
        {"job_name": "k", "kubernetes_sd_configs": [{"role": "pod"}]},
        {"job_name": "t", "static_config": []},
        {"job_name": "r", "relabel_configs": [{"action": "hashmod", "target_label": "x"}]},
        {"job_name": "s", "scheme": "ftp", "static_configs": [{"targets": ["a/b"]}]}
    ]}, "use_start_time_metric": true}));
    let has = |path: &str, text: &str| found.iter().any(|(p, m)| p == path && m.contains(text));
    assert!(
        has(
            "config.scrape_configs.0.scrape_timeout",
            "longer than scrape_interval"
        ),
        "{found:?}"
    );
    assert!(
        has("config.scrape_configs.1.job_name", "defined twice"),
        "{found:?}"
    );
    assert!(
        has(
            "config.scrape_configs.2.kubernetes_sd_configs",
            "not supported"
        ),
        "{found:?}"
    );
    assert!(
        has("config.scrape_configs.3.static_config", "unknown field"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(p, _)| p.starts_with("config.scrape_configs.4.relabel_configs.0")),
        "{found:?}"
    );
    assert!(has("config.scrape_configs.5.scheme", "ftp"), "{found:?}");
    assert!(
        has(
            "config.scrape_configs.5.static_configs.0.targets.0",
            "host:port"
        ),
        "{found:?}"
    );
    assert!(has("use_start_time_metric", "not supported"), "{found:?}");
    let unknown: PrometheusReceiverConfig = serde_json::from_value(serde_json::json!({"config": {"scrape_configs": [{"job_name": "t", "scrape_intervall": "1s"}]}})).unwrap();
    let errors = unknown.validate_fields().unwrap_err();
    assert!(errors[0].expected.contains(&"scrape_interval".to_string()));
}

#[test]
fn the_did_you_mean_list_is_every_scrape_config_field() {
    let schema = serde_json::to_value(schemars::schema_for!(config::ScrapeConfig)).unwrap();
    let mut fields: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    let mut listed = config::SCRAPE_CONFIG_FIELDS.to_vec();
    listed.sort();
    assert_eq!(fields, listed);
}

#[test]
fn scrape_urls_take_params_from_labels_over_config() {
    let config: PrometheusReceiverConfig = serde_json::from_value(serde_json::json!({"config": {"scrape_configs": [{"job_name": "a", "params": {"module": ["x"], "n": ["1", "2"]}}]}})).unwrap();
    let jobs = config.jobs().unwrap();
    let labels: weir_prom::relabel::Labels = [
        ("__scheme__", "https"),
        ("__address__", "h:9"),
        ("__metrics_path__", "/probe"),
        ("__param_module", "http 2xx"),
        ("__param_target", "a&b"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let url = scrape_url(&labels, &jobs[0]).unwrap();
    assert_eq!(
        url.to_string(),
        "https://h:9/probe?module=http+2xx&n=1&n=2&target=a%26b"
    );
}

/// Refuses every batch, as full pipelines do, counting the offers.
#[derive(Default)]
struct Refusing(std::sync::atomic::AtomicU64);

#[async_trait]
impl Consumer for Refusing {
    async fn consume(&self, _: Batch) -> PushOutcome {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        PushOutcome::Refused {
            retry_after: None,
            reason: "full".into(),
        }
    }
}

fn counter_value(name: &str, job: &str) -> u64 {
    weir_core::telemetry::counters()
        .into_iter()
        .filter(|c| c.name == name && c.labels.iter().any(|(k, v)| *k == "job" && v == job))
        .map(|c| c.value)
        .sum()
}

#[tokio::test]
async fn a_scrape_the_pipelines_refuse_is_counted_as_dropped_not_resent() {
    let server = Server::start(Answer::text(BODY)).await;
    let mut config = job(&[server.port], serde_json::json!({}));
    config["config"]["scrape_configs"][0]["job_name"] = "refused_job".into();
    let refusing = Arc::new(Refusing::default());
    let (stop, handle) = start_into(config, refusing.clone()).await;
    eventually("dropped points", || {
        (counter_value(
            "weir_receiver_prometheus_dropped_data_points_total",
            "refused_job",
        ) > 0)
            .then_some(())
    })
    .await;
    stop.cancel();
    handle.await.unwrap();
    // One offer per scrape, and one for the staleness markers at stop: a refused scrape is
    // not offered again.
    let scrapes = counter_value("weir_receiver_prometheus_scrapes_total", "refused_job");
    let offers = refusing.0.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(offers, scrapes + 1);
}

#[tokio::test]
async fn over_target_limit_no_target_is_scraped() {
    let a = Server::start(Answer::text(BODY)).await;
    let b = Server::start(Answer::text(BODY)).await;
    let running = start(job(
        &[a.port, b.port],
        serde_json::json!({"target_limit": 1}),
    ))
    .await;
    let up_a = eventually("a", || running.capture.last("up", a.port)).await;
    let up_b = eventually("b", || running.capture.last("up", b.port)).await;
    running.stop().await;
    assert_eq!((up_a.value, up_b.value), (0.0, 0.0));
    assert!(
        a.requests().is_empty() && b.requests().is_empty(),
        "a target over the limit was fetched"
    );
}

#[tokio::test]
async fn target_timestamps_are_kept_unless_honor_timestamps_is_false() {
    // A timestamp an hour old, in milliseconds.
    let then = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    let body = format!("# TYPE old gauge\nold 5 {then}\n");
    for (honor, want_old) in [(true, true), (false, false)] {
        let server = Server::start(Answer::text(&body)).await;
        let running = start(job(
            &[server.port],
            serde_json::json!({"honor_timestamps": honor}),
        ))
        .await;
        eventually("old", || {
            running
                .capture
                .points()
                .into_iter()
                .find(|p| p.metric == "old")
        })
        .await;
        let capture = running.stop().await;
        let stamp = capture
            .batches
            .lock()
            .unwrap()
            .iter()
            .find_map(|b| {
                let Request::Metrics(r) = &*b.decoded().unwrap() else {
                    return None;
                };
                r.resource_metrics
                    .iter()
                    .flat_map(|rm| &rm.scope_metrics)
                    .flat_map(|sm| &sm.metrics)
                    .find(|m| m.name == "old")
                    .and_then(|m| match &m.data {
                        Some(Data::Gauge(g)) => g.data_points.first().map(|p| p.time_unix_nano),
                        _ => None,
                    })
            })
            .unwrap();
        let is_old = stamp == (then as u64) * 1_000_000;
        assert_eq!(
            is_old, want_old,
            "honor_timestamps {honor}: stamped {stamp}"
        );
    }
}

#[tokio::test]
async fn scrape_protocols_decide_the_accept_header() {
    let server = Server::start(Answer::text(BODY)).await;
    let running = start(job(&[server.port], serde_json::json!({"scrape_protocols": ["PrometheusText0.0.4"], "enable_compression": false}))).await;
    eventually("a scrape", || running.capture.last("up", server.port)).await;
    running.stop().await;
    let request = server.requests()[0].to_ascii_lowercase();
    assert!(
        request.contains("accept: text/plain;version=0.0.4,*/*;q=0.4"),
        "{request}"
    );
    assert!(!request.contains("openmetrics"), "{request}");
    assert!(request.contains("accept-encoding: identity"), "{request}");
}

#[tokio::test]
async fn a_failed_scrape_marks_what_the_last_one_gave_stale_and_a_recovery_adds_it_again() {
    let server = Server::start(Answer::text(BODY)).await;
    let running = start(job(&[server.port], serde_json::json!({}))).await;
    eventually("first scrape", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric == "temperature")
    })
    .await;
    server.set(Answer {
        status: 503,
        ..Answer::text("down")
    });
    let stale = eventually("stale after the failure", || {
        running
            .capture
            .points()
            .into_iter()
            .find(|p| p.metric == "temperature" && p.stale)
    })
    .await;
    assert_eq!(stale.attributes.len(), 0);
    let counter_stale = running
        .capture
        .points()
        .into_iter()
        .filter(|p| p.metric.starts_with("http_requests") && p.stale)
        .count();
    assert_eq!(counter_stale, 2, "both counter series are marked stale");
    server.set(Answer::text(BODY));
    // The first scrape added 3 series; after the failure forgot them, a recovery adds 3 again.
    eventually("series added again", || {
        let threes = running
            .capture
            .points()
            .into_iter()
            .filter(|p| p.metric == "scrape_series_added" && p.value == 3.0 && !p.stale)
            .count();
        (threes >= 2).then_some(())
    })
    .await;
    running.stop().await;
}
