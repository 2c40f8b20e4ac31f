//! The `debug` exporter end to end through `tracing`, its sampler, and the factory's config.

use std::io;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weir_core::batch::{Batch, BatchMeta, Request, Signal};
use weir_core::component::{ComponentId, CreateSettings, ExporterFactory};

use super::*;

fn request(spans: usize) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..spans)
                    .map(|i| Span {
                        name: format!("op-{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn decoded_batch(spans: usize) -> Batch {
    Batch::from_request(request(spans), Arc::new(BatchMeta::default()))
}

fn encoded_batch(spans: usize) -> Batch {
    Batch::from_encoded(
        Signal::Traces,
        request(spans).encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .expect("valid request")
}

#[test]
fn basic_renders_only_the_summary() {
    assert_eq!(
        render(Verbosity::Basic, &decoded_batch(2)),
        vec![r#"Traces {"resource spans": 1, "spans": 2}"#]
    );
    // Counted by the wire walk, without decoding.
    assert_eq!(
        render(Verbosity::Basic, &encoded_batch(3)),
        vec![r#"Traces {"resource spans": 1, "spans": 3}"#]
    );
}

#[test]
fn normal_and_detailed_follow_the_summary() {
    let normal = render(Verbosity::Normal, &encoded_batch(2));
    assert_eq!(
        normal,
        vec![
            r#"Traces {"resource spans": 1, "spans": 2}"#,
            "ResourceSpans #0",
            "ScopeSpans #0",
            "op-0 trace_id= span_id= kind=Unspecified",
            "op-1 trace_id= span_id= kind=Unspecified",
        ]
    );
    let detailed = render(Verbosity::Detailed, &encoded_batch(1));
    assert_eq!(detailed[0], r#"Traces {"resource spans": 1, "spans": 1}"#);
    assert!(
        detailed.iter().any(|l| l == "      name: \"op-0\""),
        "{detailed:?}"
    );
}

#[test]
fn undecodable_content_is_reported_not_hidden() {
    // Tag 1, wire type 2, length 5, but only one byte follows: truncated.
    let bytes = bytes::Bytes::from_static(&[0x0a, 0x05, 0x00]);
    let batch = Batch::from_walked(Signal::Traces, bytes, 0, Arc::new(BatchMeta::default()));
    let lines = render(Verbosity::Detailed, &batch);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("content not shown"), "{lines:?}");
}

#[test]
fn sampler_logs_initial_then_every_nth_per_window() {
    let start = Instant::now();
    let mut sampler = Sampler::new(2, 3);
    let admitted: Vec<bool> = (0..8).map(|_| sampler.admit(start)).collect();
    assert_eq!(
        admitted,
        vec![true, true, false, false, true, false, false, true]
    );
    // A new window starts the count again.
    assert!(sampler.admit(start + SAMPLING_WINDOW));
    assert!(sampler.admit(start + SAMPLING_WINDOW));
    assert!(!sampler.admit(start + SAMPLING_WINDOW));
}

#[test]
fn sampler_thereafter_zero_drops_until_next_window() {
    let start = Instant::now();
    let mut sampler = Sampler::new(1, 0);
    assert!(sampler.admit(start));
    assert!(!sampler.admit(start));
    assert!(!sampler.admit(start + Duration::from_millis(999)));
    assert!(sampler.admit(start + Duration::from_millis(1000)));
}

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn exporter_logs_to_weir_debug_target_and_samples() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = DebugConfig {
        sampling_initial: 1,
        sampling_thereafter: 0,
        ..DebugConfig::default()
    };
    let settings = CreateSettings {
        id: ComponentId::new("debug", Some("x".into())),
        signal: None,
        pipeline: None,
        host: Default::default(),
    };
    let exporter = DebugExporterFactory
        .create(&config, &settings)
        .expect("created");

    assert_eq!(
        exporter.export(&decoded_batch(2)).await,
        Ok(Delivered::default())
    );
    assert_eq!(
        exporter.export(&decoded_batch(7)).await,
        Ok(Delivered::default())
    );
    let text = captured.text();
    assert!(text.contains("INFO weir::debug"), "{text}");
    assert!(
        text.contains(r#"Traces {"resource spans": 1, "spans": 2}"#),
        "{text}"
    );
    assert!(text.contains("exporter=debug/x"), "{text}");
    assert_eq!(
        text.matches("INFO").count(),
        1,
        "one event per batch: {text}"
    );
    assert!(
        !text.contains(r#""spans": 7"#),
        "sampled out, yet logged: {text}"
    );

    tokio::time::advance(SAMPLING_WINDOW).await;
    exporter
        .export(&decoded_batch(7))
        .await
        .expect("debug never fails");
    assert!(captured.text().contains(r#""spans": 7"#));
}

#[test]
fn config_defaults_and_otelcol_fields_parse() {
    let config: DebugConfig = serde_json::from_value(serde_json::json!({})).expect("empty config");
    assert_eq!(
        config,
        DebugConfig {
            verbosity: Verbosity::Basic,
            sampling_initial: 2,
            sampling_thereafter: 1
        }
    );
    let config: DebugConfig =
        serde_json::from_value(serde_json::json!({"verbosity": "detailed", "sampling_initial": 5, "sampling_thereafter": 200}))
            .expect("otelcol example");
    assert_eq!(config.verbosity, Verbosity::Detailed);
    assert_eq!(config.sampling_thereafter, 200);
    let err = serde_json::from_value::<DebugConfig>(serde_json::json!({"verbosity": "loud"}))
        .unwrap_err();
    assert!(err.to_string().contains("unknown variant `loud`"), "{err}");
    assert!(
        serde_json::from_value::<DebugConfig>(serde_json::json!({"verbose": "basic"})).is_err()
    );
}
