//! The `routing` connector through the real binary: spans go to a tenant's pipeline by the
//! `X-Tenant` header a client sent (gRPC metadata and HTTP headers, kept by the OTLP
//! receiver's `include_metadata`), to another by a resource attribute, and what no route
//! takes to the default pipeline; every span arrives once, on its route.

mod common;

use std::collections::BTreeMap;

use common::capture::{Capture, Signal, Transport};
use common::grpc;
use common::http_client;
use common::otlp;
use common::weir::Weir;
use common::{DEADLINE, Ports};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;

fn config(ports: &Ports, capture: &Capture) -> String {
    let stamp = |name: &str| {
        format!(
            "  attributes/{name}:\n    actions: [{{ key: routed, value: {name}, action: insert }}]\n"
        )
    };
    let pipeline = |name: &str| {
        format!(
            "    traces/{name}:\n      receivers: [routing]\n      processors: [attributes/{name}]\n      exporters: [otlp]\n"
        )
    };
    let names = ["acme", "ecorp", "billing", "other"];
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: "127.0.0.1:{grpc}", include_metadata: true }}
      http: {{ endpoint: "127.0.0.1:{http}", include_metadata: true }}
processors:
{stamps}connectors:
  routing:
    default_pipelines: [traces/other]
    table:
      - context: request
        condition: request["X-Tenant"] == "acme"
        pipelines: [traces/acme]
      - context: request
        condition: request["X-Tenant"] == "ecorp"
        pipelines: [traces/ecorp]
      - statement: route() where attributes["service.name"] == "billing"
        pipelines: [traces/billing]
exporters:
  otlp:
    endpoint: "{backend}"
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces/in:
      receivers: [otlp]
      exporters: [routing]
{pipelines}"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
        stamps = names.map(stamp).concat(),
        pipelines = names.map(pipeline).concat(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_the_pipeline_of_their_tenant_header_or_resource_or_the_default() {
    let capture = Capture::start();
    let ports = Ports::free();
    let weir = Weir::start(
        &config(&ports, &capture),
        &[ports.grpc, ports.http, ports.metrics],
    );
    let mut client = TraceServiceClient::new(grpc::channel(ports.grpc));
    // gRPC with the tenant in its metadata: 2 spans.
    let mut acme = tonic::Request::new(otlp::trace_request(1, 2));
    acme.metadata_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    client.export(acme).await.expect("acme accepted");
    // HTTP with the tenant as a header: 3 spans.
    let ecorp = http_client::send(
        http::Method::POST,
        &format!("http://127.0.0.1:{}/v1/traces", ports.http),
        &[
            ("content-type", "application/x-protobuf"),
            ("X-Tenant", "ecorp"),
        ],
        otlp::trace_request(2, 3).encode_to_vec(),
    )
    .await
    .expect("ecorp sent");
    assert_eq!(ecorp.status, 200, "{}", ecorp.text());
    // No tenant: one resource of `billing` (4 spans), one of `e2e` (1 span), in one request.
    let mut mixed = otlp::trace_request(3, 1);
    let mut billing = otlp::trace_request(4, 4).resource_spans.remove(0);
    billing.resource = Some(otlp::resource("billing"));
    mixed.resource_spans.push(billing);
    client.export(mixed).await.expect("mixed accepted");

    let arrived = capture
        .wait_for_items_async(Transport::Grpc, Signal::Traces, 10, DEADLINE)
        .await;
    assert!(arrived, "{}\nlogs:\n{}", capture.summary(), weir.logs());
    let mut by_route: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for request in capture.traces(Transport::Grpc) {
        for rs in &request.resource_spans {
            for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                let routed = span
                    .attributes
                    .iter()
                    .find(|a| a.key == "routed")
                    .and_then(|a| a.value.clone())
                    .and_then(|v| v.value);
                let Some(any_value::Value::StringValue(routed)) = routed else {
                    panic!("span {} was not stamped by a route", span.name);
                };
                by_route.entry(routed).or_default().push(span.name.clone());
            }
        }
    }
    let names = |seed: u8, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("span-{seed}-{i}")).collect()
    };
    let expected: BTreeMap<String, Vec<String>> = [
        ("acme".to_string(), names(1, 2)),
        ("ecorp".to_string(), names(2, 3)),
        ("billing".to_string(), names(4, 4)),
        ("other".to_string(), names(3, 1)),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_route, expected, "{}", weir.logs());
    weir.stop();
}
