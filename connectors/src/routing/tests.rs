//! `routing` on real batches: by resource, by span, data point and log record, by request
//! headers; first match against every match; default pipelines and what goes nowhere;
//! `error_mode`; the batch passed on as it came when it all goes one way; config errors.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::json;
use tokio::sync::mpsc;
use weir_core::batch::{Batch, BatchMeta, ClientInfo, Signal};
use weir_core::component::{
    ComponentConfig, ComponentId, Connector, ConnectorFactory, CreateSettings, Host, Output,
    Outputs,
};

use super::{RoutingConfig, RoutingFactory};

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn config(value: serde_json::Value) -> RoutingConfig {
    serde_json::from_value(value).expect("parses")
}

fn connector(value: serde_json::Value) -> Arc<dyn Connector> {
    let config = config(value);
    config.validate().expect("valid");
    let settings = CreateSettings {
        id: ComponentId::new("routing", None),
        signal: None,
        pipeline: None,
        host: Host::default(),
    };
    RoutingFactory.create(&config, &settings).expect("builds")
}

/// Routes `request` through a connector feeding `pipelines` of `signal`; what each got.
async fn run(
    routing: &dyn Connector,
    signal: Signal,
    pipelines: &[&str],
    request: Vec<u8>,
    meta: BatchMeta,
) -> (Vec<Vec<Batch>>, Batch) {
    let mut outputs = Outputs::default();
    let mut receivers = Vec::new();
    for p in pipelines {
        let (tx, rx) = mpsc::channel(8);
        outputs.add(signal, Output::new(p.to_string(), tx));
        receivers.push(rx);
    }
    let batch = Batch::from_encoded(signal, request.into(), Arc::new(meta)).expect("valid");
    routing
        .consume(signal, batch.clone(), &outputs)
        .await
        .expect("routed");
    let got = receivers
        .iter_mut()
        .map(|rx| std::iter::from_fn(|| rx.try_recv().ok()).collect())
        .collect();
    (got, batch)
}

fn traces(resources: &[(&str, &[&str])]) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: resources
            .iter()
            .map(|(tenant, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("tenant", tenant)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: spans
                        .iter()
                        .map(|name| Span {
                            trace_id: vec![1; 16],
                            span_id: vec![2; 8],
                            name: name.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

/// (tenant, span names) of each resource in the batches.
fn spans_of(batches: &[Batch]) -> Vec<(String, Vec<String>)> {
    batches
        .iter()
        .flat_map(|b| {
            ExportTraceServiceRequest::decode(b.to_bytes().as_ref())
                .expect("decodes")
                .resource_spans
        })
        .map(|rs| {
            let tenant = rs.resource.unwrap().attributes[0]
                .value
                .clone()
                .and_then(|v| v.value);
            let Some(any_value::Value::StringValue(tenant)) = tenant else {
                panic!("no tenant");
            };
            let names = rs
                .scope_spans
                .iter()
                .flat_map(|s| s.spans.iter().map(|s| s.name.clone()))
                .collect();
            (tenant, names)
        })
        .collect()
}

fn owned(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    list.iter()
        .map(|(t, n)| (t.to_string(), n.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[tokio::test]
async fn resources_go_to_the_first_route_that_takes_them_and_the_rest_to_the_default() {
    let routing = connector(json!({
        "default_pipelines": ["traces/other"],
        "table": [
            {"statement": "route() where attributes[\"tenant\"] == \"acme\"", "pipelines": ["traces/acme"]},
            {"condition": "attributes[\"tenant\"] == \"ecorp\"", "pipelines": ["traces/ecorp"]},
        ],
    }));
    let request = traces(&[
        ("acme", &["a1", "a2"]),
        ("ecorp", &["e1"]),
        ("initech", &["i1"]),
    ]);
    let pipelines = ["traces/acme", "traces/ecorp", "traces/other"];
    let (got, _) = run(
        &*routing,
        Signal::Traces,
        &pipelines,
        request,
        BatchMeta::default(),
    )
    .await;
    assert_eq!(spans_of(&got[0]), owned(&[("acme", &["a1", "a2"])]));
    assert_eq!(spans_of(&got[1]), owned(&[("ecorp", &["e1"])]));
    assert_eq!(spans_of(&got[2]), owned(&[("initech", &["i1"])]));
    assert_eq!(got[0][0].items(), 2);
}

#[tokio::test]
async fn a_batch_that_all_goes_one_way_is_passed_on_as_it_came() {
    let routing = connector(json!({
        "table": [{"condition": "attributes[\"tenant\"] == \"acme\"", "pipelines": ["traces/a", "traces/b"]}],
    }));
    let request = traces(&[("acme", &["a1"]), ("acme", &["a2"])]);
    let (got, sent) = run(
        &*routing,
        Signal::Traces,
        &["traces/a", "traces/b"],
        request,
        BatchMeta::default(),
    )
    .await;
    for batches in &got {
        assert_eq!(batches.len(), 1);
        assert_eq!(
            batches[0].to_bytes().as_ptr(),
            sent.to_bytes().as_ptr(),
            "copied"
        );
    }
}

#[tokio::test]
async fn span_routes_split_a_resource_and_match_once_false_sends_to_every_match() {
    let table = json!([
        {"context": "span", "condition": "IsMatch(name, \"^a\")", "pipelines": ["traces/a"]},
        {"context": "span", "condition": "IsMatch(name, \"2$\")", "pipelines": ["traces/two"]},
    ]);
    let request = traces(&[("acme", &["a1", "a2", "b2", "c3"])]);
    let pipelines = ["traces/a", "traces/two", "traces/default"];
    let once = connector(json!({"table": table, "default_pipelines": ["traces/default"]}));
    let (got, _) = run(
        &*once,
        Signal::Traces,
        &pipelines,
        request.clone(),
        BatchMeta::default(),
    )
    .await;
    assert_eq!(spans_of(&got[0]), owned(&[("acme", &["a1", "a2"])]));
    assert_eq!(spans_of(&got[1]), owned(&[("acme", &["b2"])]));
    assert_eq!(spans_of(&got[2]), owned(&[("acme", &["c3"])]));

    let every = connector(json!({
        "table": table, "default_pipelines": ["traces/default"], "match_once": false,
    }));
    let (got, _) = run(
        &*every,
        Signal::Traces,
        &pipelines,
        request,
        BatchMeta::default(),
    )
    .await;
    assert_eq!(spans_of(&got[0]), owned(&[("acme", &["a1", "a2"])]));
    assert_eq!(spans_of(&got[1]), owned(&[("acme", &["a2", "b2"])]));
    assert_eq!(spans_of(&got[2]), owned(&[("acme", &["c3"])]));
}

#[tokio::test]
async fn request_routes_read_the_client_headers() {
    let routing = connector(json!({
        "default_pipelines": ["traces/other"],
        "table": [
            {"context": "request", "condition": "request[\"X-Tenant\"] == \"acme\"", "pipelines": ["traces/acme"]},
        ],
    }));
    let from = |tenant: &str| BatchMeta {
        client: ClientInfo {
            peer: None,
            headers: vec![("x-tenant".into(), tenant.into())],
        },
        ..BatchMeta::default()
    };
    let pipelines = ["traces/acme", "traces/other"];
    let request = traces(&[("r", &["s1"])]);
    let (got, _) = run(
        &*routing,
        Signal::Traces,
        &pipelines,
        request.clone(),
        from("acme"),
    )
    .await;
    assert_eq!((got[0].len(), got[1].len()), (1, 0));
    let (got, _) = run(
        &*routing,
        Signal::Traces,
        &pipelines,
        request,
        from("ecorp"),
    )
    .await;
    assert_eq!((got[0].len(), got[1].len()), (0, 1));
}

#[tokio::test]
async fn what_no_route_takes_without_a_default_goes_nowhere() {
    let routing = connector(json!({
        "table": [{"condition": "attributes[\"tenant\"] == \"acme\"", "pipelines": ["traces/acme"]}],
    }));
    let request = traces(&[("acme", &["a1"]), ("ecorp", &["e1", "e2"])]);
    let (got, _) = run(
        &*routing,
        Signal::Traces,
        &["traces/acme"],
        request,
        BatchMeta::default(),
    )
    .await;
    assert_eq!(spans_of(&got[0]), owned(&[("acme", &["a1"])]));
    let unrouted = weir_core::telemetry::counters()
        .into_iter()
        .find(|c| c.name == "weir_connector_routing_unrouted_items_total")
        .expect("counted");
    assert!(unrouted.value >= 2, "{}", unrouted.value);
}

#[tokio::test]
async fn data_points_and_log_records_are_routed_one_by_one() {
    let point = |v: i64| NumberDataPoint {
        attributes: vec![kv("host", if v % 2 == 0 { "even" } else { "odd" })],
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    };
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "m".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: (0..5).map(point).collect(),
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let routing = connector(json!({
        "default_pipelines": ["metrics/odd"],
        "table": [{"context": "datapoint", "condition": "attributes[\"host\"] == \"even\"", "pipelines": ["metrics/even"]}],
    }));
    let (got, _) = run(
        &*routing,
        Signal::Metrics,
        &["metrics/even", "metrics/odd"],
        metrics,
        BatchMeta::default(),
    )
    .await;
    let values = |b: &Batch| -> Vec<i64> {
        let r = ExportMetricsServiceRequest::decode(b.to_bytes().as_ref()).unwrap();
        let Some(metric::Data::Gauge(g)) = &r.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!("a gauge")
        };
        g.data_points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(v)) => v,
                _ => panic!("int"),
            })
            .collect()
    };
    assert_eq!(values(&got[0][0]), [0, 2, 4]);
    assert_eq!(values(&got[1][0]), [1, 3]);

    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: (1..=4)
                    .map(|n| LogRecord {
                        severity_number: n * 5,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let routing = connector(json!({
        "table": [{"context": "log", "condition": "severity_number >= SEVERITY_NUMBER_WARN", "pipelines": ["logs/loud"]}],
        "default_pipelines": ["logs/cheap"],
    }));
    let (got, _) = run(
        &*routing,
        Signal::Logs,
        &["logs/loud", "logs/cheap"],
        logs,
        BatchMeta::default(),
    )
    .await;
    assert_eq!((got[0][0].items(), got[1][0].items()), (2, 2));
}

#[tokio::test]
async fn a_failing_condition_refuses_the_batch_or_sends_the_item_to_the_default() {
    let table = json!([{"context": "span", "condition": "Substring(name, 3, 10) == \"x\"", "pipelines": ["traces/x"]}]);
    let request = traces(&[("acme", &["ab"])]);
    let pipelines = ["traces/x", "traces/default"];
    let propagate = connector(json!({"table": table, "default_pipelines": ["traces/default"]}));
    let mut outputs = Outputs::default();
    let mut rxs = Vec::new();
    for p in pipelines {
        let (tx, rx) = mpsc::channel(4);
        outputs.add(Signal::Traces, Output::new(p.into(), tx));
        rxs.push(rx);
    }
    let batch = Batch::from_encoded(
        Signal::Traces,
        request.clone().into(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap();
    let e = propagate
        .consume(Signal::Traces, batch, &outputs)
        .await
        .expect_err("refused");
    assert!(e.0.contains("Substring"), "{e}");
    assert!(
        rxs.iter_mut().all(|rx| rx.try_recv().is_err()),
        "sent anyway"
    );

    let ignore = connector(json!({
        "table": table, "default_pipelines": ["traces/default"], "error_mode": "ignore",
    }));
    let (got, _) = run(
        &*ignore,
        Signal::Traces,
        &pipelines,
        request,
        BatchMeta::default(),
    )
    .await;
    assert_eq!((got[0].len(), got[1].len()), (0, 1));
}

#[test]
fn config_errors_name_the_field() {
    let problems = |v: serde_json::Value| config(v).validate().unwrap_err().join("\n");
    let p = problems(json!({}));
    assert!(p.contains("table must list at least one route"), "{p}");
    let p = problems(json!({"table": [
        {"pipelines": ["traces/a"]},
        {"statement": "route()", "condition": "true", "pipelines": ["traces/a"]},
        {"condition": "true"},
        {"context": "request", "statement": "route()", "pipelines": ["traces/a"]},
        {"context": "request", "condition": "request[\"a\"] ~ \"b\"", "pipelines": ["traces/a"]},
        {"context": "spam", "condition": "true", "pipelines": ["traces/a"]},
        {"statement": "rout() where true", "pipelines": ["traces/a"]},
        {"context": "log", "condition": "atributes[\"a\"] == \"b\"", "pipelines": ["logs/a"]},
        {"context": "span", "condition": "true", "pipelines": ["logs/a"]},
    ]}));
    for expected in [
        "table.0 needs a `statement` or a `condition`",
        "table.1.statement and table.1.condition are both given",
        "table.2.pipelines must list at least one pipeline",
        "table.3.statement cannot be used in the `request` context",
        "table.4.condition has no `==` or `!=`",
        "table.5.context `spam` is not a routing context",
        "table.6.statement is not a valid OTTL routing statement",
        "did you mean `route`?",
        "table.7.condition is not a valid OTTL condition",
        "table.8.pipelines.0 `logs/a` is not a traces pipeline",
    ] {
        assert!(p.contains(expected), "{expected} not in:\n{p}");
    }
}

#[test]
fn the_pipelines_the_table_names_are_given_to_the_config_check_with_their_place() {
    let named = RoutingFactory.named_pipelines(&config(json!({
        "default_pipelines": ["traces/d"],
        "table": [{"condition": "true", "pipelines": ["traces/a", "traces/b"]}],
    })));
    assert_eq!(
        named,
        [
            ("table.0.pipelines.0".to_string(), "traces/a".to_string()),
            ("table.0.pipelines.1".to_string(), "traces/b".to_string()),
            ("default_pipelines.0".to_string(), "traces/d".to_string()),
        ]
    );
}
