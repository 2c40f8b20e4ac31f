//! What one `spanmetrics` series costs in memory, and that the series held stay bounded: the
//! growth of the process's anonymous resident memory (`RssAnon`) after
//! `dimensions_cache_size` distinct series (service, span name, kind, status and three
//! dimensions, explicit histogram) were aggregated, then again after three times as many
//! more, which must not grow it much. Prints the figure the README quotes:
//!
//! `cargo test -p weir-connectors --test spanmetrics_memory -- --nocapture`

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use weir_connectors::spanmetrics::{SpanMetrics, SpanMetricsConfig};
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{Connector, Outputs};

/// The process's anonymous resident memory (`RssAnon`), in bytes.
fn rss_anon() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: i64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("an RssAnon line");
    kib * 1024
}

fn kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

/// 1000 spans, each its own series: names `/api/v1/items/{n}` and dimension values that
/// vary with `n`.
fn batch(from: usize) -> Batch {
    let spans = (from..from + 1000)
        .map(|n| Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: format!("/api/v1/items/{n}"),
            kind: 2,
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_000_000_000 + (n as u64 % 2000) * 1_000_000,
            attributes: vec![
                kv("http.request.method", ["GET", "POST"][n % 2].into()),
                kv("http.response.status_code", format!("{}", 200 + n % 5)),
                kv("http.route", format!("/api/v1/items/{n}")),
            ],
            ..Default::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout".into())],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Batch::from_encoded(
        Signal::Traces,
        request.encode_to_vec().into(),
        Arc::new(BatchMeta::default()),
    )
    .expect("valid")
}

#[tokio::test]
async fn one_series_costs_a_bounded_number_of_bytes_and_the_series_held_are_bounded() {
    const SERIES: usize = 20_000;
    let config: SpanMetricsConfig = serde_json::from_value(serde_json::json!({
        "dimensions_cache_size": SERIES,
        "dimensions": [
            {"name": "http.request.method"},
            {"name": "http.response.status_code"},
            {"name": "http.route"},
        ],
    }))
    .expect("parses");
    let outputs = Outputs::default();
    // Warm the allocator with what reading a batch takes, outside the measurement.
    let warm = SpanMetrics::new(&config).expect("valid");
    for from in (0..5000).step_by(1000) {
        warm.consume(Signal::Traces, batch(from), &outputs)
            .await
            .expect("aggregated");
    }
    drop(warm);
    let connector = SpanMetrics::new(&config).expect("valid");
    let before = rss_anon();
    for from in (0..SERIES).step_by(1000) {
        connector
            .consume(Signal::Traces, batch(from), &outputs)
            .await
            .expect("aggregated");
    }
    let full = rss_anon() - before;
    let per_series = full / SERIES as i64;
    println!(
        "spanmetrics: {SERIES} series (3 dimensions, explicit histogram) hold {full} bytes, \
         {per_series} bytes per series"
    );
    assert!(
        per_series > 200,
        "a series holds its attributes and buckets"
    );
    assert!(per_series < 4096, "{per_series} bytes per series");
    for from in (SERIES..4 * SERIES).step_by(1000) {
        connector
            .consume(Signal::Traces, batch(from), &outputs)
            .await
            .expect("aggregated");
    }
    let after = rss_anon() - before;
    println!("after {} distinct series: {after} bytes", 4 * SERIES);
    assert!(
        after < full + full / 4,
        "the cache bound holds memory: {after} bytes after, {full} when first full"
    );
}
