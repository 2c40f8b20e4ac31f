//! Plugins that misbehave or should never load: every refusal names the file and the reason;
//! a panicking instance is poisoned, logged and counted while Weir and its other pipelines keep
//! running; `FULL` reaches the client as backpressure; `RETRYABLE` is retried by the runtime's
//! queue like a built-in exporter's failure; a config that breaks the plugin's schema never
//! reaches `create`; a plugin connector's emits are held to its signal pairs, and what it emits
//! from its own threads and at shutdown reaches the pipelines it feeds.

mod common;

use std::path::Path;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use prost::Message;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{
    Built, ComponentId, Connector, CreateSettings, DynFactory, Output, Outputs,
};
use weir_core::plugin::{self, PluginError, PluginFactory};
use weir_plugin_testkit as testkit;

use common::capture::{Capture, Signal as CaptureSignal, Transport};
use common::weir::{Weir, run_cli};
use common::{DEADLINE, FAST_RETRY, Ports, prom, wait_until};

fn factory(path: &Path, ty: &str) -> Arc<PluginFactory> {
    plugin::load(path)
        .unwrap()
        .into_iter()
        .find(|f| f.type_name() == ty)
        .unwrap_or_else(|| panic!("{} has no `{ty}`", path.display()))
}

fn settings(id: &str, signal: Signal) -> CreateSettings {
    CreateSettings {
        id: id.parse::<ComponentId>().unwrap(),
        signal: Some(signal),
        pipeline: Some(signal.as_str().to_string()),
        host: Default::default(),
    }
}

fn traces(spans: usize) -> Vec<u8> {
    common::otlp::trace_request(7, spans).encode_to_vec()
}

fn logs(body: &str) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: Some(AnyValue {
                        value: Some(common::otlp::s(body)),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn batch(signal: Signal, bytes: Vec<u8>) -> Batch {
    Batch::from_encoded(signal, bytes.into(), Arc::new(BatchMeta::default())).unwrap()
}

// ---- libraries that must be refused -------------------------------------------------------------

#[test]
fn missing_file_is_refused_with_its_path() {
    let err = plugin::load(Path::new("/nonexistent/libweir_nothing.so")).unwrap_err();
    assert!(matches!(err, PluginError::NotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/libweir_nothing.so"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_shared_library_is_refused() {
    let path = testkit::not_a_library();
    let err = plugin::load(&path).unwrap_err();
    assert!(matches!(err, PluginError::Open { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    let path = testkit::no_entry();
    let err = plugin::load(&path).unwrap_err();
    assert!(matches!(err, PluginError::NoEntry { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("weir_plugin_entry_v1") && text.contains(&path.display().to_string()),
        "{text}"
    );
}

#[test]
fn another_abi_major_is_refused_with_both_versions_and_the_file() {
    let path = testkit::wrong_major();
    let err = plugin::load(&path).unwrap_err();
    assert!(
        matches!(
            err,
            PluginError::AbiMajor {
                major: 2,
                minor: 3,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("ABI 2.3"), "{text}");
    assert!(
        text.contains(&format!(
            "ABI {}.{}",
            weir_plugin_abi::ABI_MAJOR,
            weir_plugin_abi::ABI_MINOR
        )),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn a_library_built_with_panic_abort_is_refused_by_its_flag() {
    let path = testkit::panic_abort();
    let err = plugin::load(&path).unwrap_err();
    assert!(matches!(err, PluginError::PanicAbort { .. }), "{err}");
    assert!(err.to_string().contains("panic = \"abort\""), "{err}");
}

#[test]
fn the_binary_refuses_a_bad_plugin_before_reading_the_components() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n  - {}\nreceivers:\n  otlp:\n    protocols:\n      grpc:\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n",
            testkit::wrong_major().display()
        ),
    )
    .unwrap();
    let out = run_cli(&["validate", "--config", config.to_str().unwrap()], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("ABI 2.3"), "{}", out.stderr);
    let out = run_cli(&["components", "--plugin", "/nonexistent/libx.so"], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("/nonexistent/libx.so: no such file"),
        "{}",
        out.stderr
    );
}

// ---- configs are checked against the plugin's schema before create ------------------------------

#[test]
fn config_violating_the_schema_is_refused_with_the_field_path() {
    let redact = factory(&testkit::cdylib("weir-plugin-redact"), "redact");
    let errors = redact
        .parse(json!({"patterns": "not-a-list", "mask": 3}))
        .unwrap_err();
    let mut paths: Vec<String> = errors.iter().map(|e| e.path.join(".")).collect();
    paths.sort();
    assert_eq!(paths, vec!["mask", "patterns"], "{errors:?}");
    assert!(
        redact.parse(json!({"patterns": []})).is_err(),
        "minItems from the schema"
    );
    let drop_spans = factory(&testkit::c_example(), "drop_spans");
    let errors = drop_spans
        .parse(json!({"prefix": "x", "extra": 1}))
        .unwrap_err();
    assert!(errors[0].message.contains("extra"), "{errors:?}");
    assert!(drop_spans.parse(json!({})).is_err(), "`prefix` is required");
}

#[test]
fn a_misspelt_plugin_field_gets_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "receivers:\n  otlp:\n    protocols:\n      grpc:\nprocessors:\n  drop_spans:\n    prefx: GET\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [drop_spans]\n      exporters: [debug]\n",
    )
    .unwrap();
    let c = testkit::c_example();
    let out = run_cli(
        &[
            "validate",
            "--plugin",
            c.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("processors.drop_spans: unknown field `prefx`; did you mean `prefix`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("config.yaml:7:5"), "{}", out.stderr);
}

#[test]
fn the_binary_reports_a_schema_violation_and_never_creates_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "receivers:\n  otlp:\n    protocols:\n      grpc:\nprocessors:\n  drop_spans:\n    prefix: 42\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [drop_spans]\n      exporters: [debug]\n",
    )
    .unwrap();
    let c = testkit::c_example();
    // Running (not only validating): had the instance been created, the C plugin would have
    // logged its own complaint about the prefix; the schema stops the config first.
    let out = run_cli(
        &[
            "--plugin",
            c.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("invalid configuration"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("processors.drop_spans.prefix"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("drop_spans: config needs"),
        "{}",
        out.stderr
    );
}

// ---- a panicking instance -----------------------------------------------------------------------

#[tokio::test]
async fn a_panic_poisons_only_that_instance_and_is_logged_and_counted() {
    let fault = factory(&testkit::cdylib("weir-plugin-fault"), "fault");
    let Built::Processor(mut bad) = fault
        .build(
            &fault.parse(json!({"mode": "panic", "after": 1})).unwrap(),
            &settings("fault/poisoned", Signal::Traces),
        )
        .unwrap()
    else {
        panic!("not a processor");
    };
    let Built::Processor(mut good) = fault
        .build(
            &fault.parse(json!({})).unwrap(),
            &settings("fault/healthy", Signal::Traces),
        )
        .unwrap()
    else {
        panic!("not a processor");
    };
    let input = batch(Signal::Traces, traces(2));
    let mut out = Vec::new();
    bad.process(input.clone(), &mut out).await.unwrap();
    assert_eq!(
        out.len(),
        1,
        "the first batch passes before the configured panic"
    );
    for _ in 0..2 {
        let err = bad.process(input.clone(), &mut out).await.unwrap_err();
        assert!(err.0.contains("panicked"), "{err}");
    }
    out.clear();
    good.process(input.clone(), &mut out).await.unwrap();
    assert_eq!(out.len(), 1, "the other instance keeps flowing");
    let counters = plugin::counters();
    let count = |name: &str| {
        counters
            .iter()
            .find(|c| c.component == "fault/poisoned" && c.name == name)
            .map(|c| c.value)
    };
    assert_eq!(count("panics"), Some(1), "{counters:?}");
    assert_eq!(count("panicked_calls"), Some(2), "{counters:?}");
    bad.flush(&mut out).await.ok();
    good.flush(&mut out).await.unwrap();
}

#[test]
fn weir_survives_a_panicking_plugin_and_its_other_pipelines_keep_flowing() {
    let capture = Capture::start();
    let ports = Ports::free();
    let yaml = format!(
        "receivers:\n  otlp:\n    protocols:\n      http: {{ endpoint: \"127.0.0.1:{http}\" }}\nprocessors:\n  fault:\n    mode: panic\nexporters:\n  otlp:\n    endpoint: {backend}\n    compression: none\nservice:\n  telemetry:\n    metrics:\n      address: \"127.0.0.1:{metrics}\"\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [fault]\n      exporters: [otlp]\n    logs:\n      receivers: [otlp]\n      exporters: [otlp]\n",
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    );
    let mut weir = Weir::builder()
        .config(yaml)
        .arg("--plugin")
        .arg(testkit::cdylib("weir-plugin-fault").display().to_string())
        .wait_for(ports.http)
        .wait_for(ports.metrics)
        .start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let post = |signal: &str, body: Vec<u8>| {
        rt.block_on(common::http_client::post(
            &ports.http_url(signal),
            "application/x-protobuf",
            body,
        ))
        .unwrap()
    };
    for round in 1..=2 {
        assert_eq!(post("traces", traces(3)).status, 200);
        assert_eq!(post("logs", logs(&format!("round {round}"))).status, 200);
        assert!(
            capture.wait_for_items(Transport::Grpc, CaptureSignal::Logs, round, DEADLINE),
            "logs still flow after the traces pipeline's plugin panicked: {}",
            capture.summary()
        );
    }
    assert!(weir.wait_for_log("panicked", DEADLINE), "{}", weir.logs());
    assert!(weir.wait_for_log("poisoned", DEADLINE), "{}", weir.logs());
    assert!(
        wait_until(DEADLINE, || prom::counter(
            ports.metrics,
            "otelcol_processor_incoming_items_total",
            &[("processor", "fault")]
        ) == Some(6.0)),
        "both trace batches reached the processor"
    );
    assert_eq!(
        capture.accepted_items(Transport::Grpc, CaptureSignal::Traces),
        0
    );
    assert!(weir.exited().is_none(), "weir must not crash");
    let stopped = weir.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}

// ---- backpressure and retries -------------------------------------------------------------------

#[test]
fn a_plugin_answering_full_pushes_back_to_the_client() {
    let capture = Capture::start();
    let ports = Ports::free();
    let yaml = format!(
        "receivers:\n  otlp:\n    protocols:\n      http: {{ endpoint: \"127.0.0.1:{http}\" }}\nprocessors:\n  fault:\n    mode: full\nexporters:\n  otlp:\n    endpoint: {backend}\nservice:\n  telemetry:\n    metrics:\n      address: \"127.0.0.1:{metrics}\"\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [fault]\n      exporters: [otlp]\n",
        http = ports.http,
        metrics = ports.metrics,
        backend = capture.grpc_endpoint(),
    );
    let weir = Weir::builder()
        .config(yaml)
        .arg("--plugin")
        .arg(testkit::cdylib("weir-plugin-fault").display().to_string())
        .wait_for(ports.http)
        .start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // One batch sits in the plugin, the pipeline's input (16 batches) fills up behind it, and
    // what comes after waits for admission and is refused with a retryable answer.
    let url = ports.http_url("traces");
    let answers = rt.block_on(async {
        let sends =
            (0..24).map(|_| common::http_client::post(&url, "application/x-protobuf", traces(1)));
        futures::future::join_all(sends).await
    });
    let refused: Vec<_> = answers
        .iter()
        .filter_map(|a| a.as_ref().ok())
        .filter(|a| a.status == 503)
        .collect();
    assert!(
        !refused.is_empty(),
        "{:?}",
        answers
            .iter()
            .map(|a| a.as_ref().map(|a| a.status))
            .collect::<Vec<_>>()
    );
    assert!(refused.iter().all(|a| a.header("retry-after").is_some()));
    assert_eq!(
        capture.accepted_items(Transport::Grpc, CaptureSignal::Traces),
        0
    );
    drop(weir);
}

/// A retryable failure's delay reaches the runtime's retry whether the exporter answers at once
/// (ABI 1.1 `answer`) or later (`complete`).
#[tokio::test]
async fn a_retry_delay_comes_through_answered_at_once_or_later() {
    let flaky = factory(&testkit::cdylib("weir-plugin-fault"), "flaky");
    for asynchronous in [false, true] {
        let config = flaky
            .parse(json!({"fail_first": 1, "retry_after_ms": 1500, "asynchronous": asynchronous}))
            .unwrap();
        let Built::Exporter(exporter) = flaky
            .build(&config, &settings("flaky/delay", Signal::Traces))
            .unwrap()
        else {
            panic!("flaky is an exporter");
        };
        let input = batch(Signal::Traces, traces(1));
        match exporter.export(&input).await {
            Err(weir_core::component::ExportError::Retryable {
                retry_after,
                reason,
            }) => {
                assert_eq!(
                    retry_after,
                    Some(std::time::Duration::from_millis(1500)),
                    "asynchronous: {asynchronous}"
                );
                assert!(reason.contains("failing export 1"), "{reason}");
            }
            other => panic!("asynchronous: {asynchronous}: {other:?}"),
        }
        assert!(exporter.export(&input).await.is_ok());
        exporter.shutdown().await;
    }
}

#[test]
fn retryable_plugin_exports_are_retried_by_the_runtime() {
    let ports = Ports::free();
    let yaml = format!(
        "receivers:\n  otlp:\n    protocols:\n      http: {{ endpoint: \"127.0.0.1:{http}\" }}\nexporters:\n  flaky/sync:\n    fail_first: 2\n    {FAST_RETRY}\n  flaky/async:\n    fail_first: 2\n    asynchronous: true\n    {FAST_RETRY}\n  flaky/permanent:\n    fail_first: 1\n    failure: permanent\n    {FAST_RETRY}\nservice:\n  telemetry:\n    metrics:\n      address: \"127.0.0.1:{metrics}\"\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [flaky/sync, flaky/async, flaky/permanent]\n",
        http = ports.http,
        metrics = ports.metrics,
    );
    let weir = Weir::builder()
        .config(yaml)
        .arg("--plugin")
        .arg(testkit::cdylib("weir-plugin-fault").display().to_string())
        .wait_for(ports.http)
        .wait_for(ports.metrics)
        .start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = rt
        .block_on(common::http_client::post(
            &ports.http_url("traces"),
            "application/x-protobuf",
            traces(3),
        ))
        .unwrap();
    assert_eq!(answer.status, 200);
    let metric =
        |name: &str, exporter: &str| prom::counter(ports.metrics, name, &[("exporter", exporter)]);
    for exporter in ["flaky/sync", "flaky/async"] {
        assert!(
            wait_until(DEADLINE, || metric(
                "otelcol_exporter_sent_spans_total",
                exporter
            ) == Some(3.0)),
            "{exporter} delivered after its retries; logs:\n{}",
            weir.logs()
        );
        assert_eq!(
            metric("weir_exporter_retries_total", exporter),
            Some(2.0),
            "{exporter}"
        );
    }
    assert!(wait_until(DEADLINE, || metric(
        "otelcol_exporter_send_failed_spans_total",
        "flaky/permanent"
    ) == Some(3.0)));
    assert_eq!(
        metric("weir_exporter_retries_total", "flaky/permanent"),
        Some(0.0)
    );
    assert_eq!(
        metric("otelcol_exporter_sent_spans_total", "flaky/permanent"),
        Some(0.0)
    );
    let stopped = weir.stop();
    assert!(stopped.status.success());
}

// ---- the crossing itself ------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_passed_on_unchanged_crosses_without_a_copy() {
    let fault = factory(&testkit::cdylib("weir-plugin-fault"), "fault");
    let Built::Processor(mut pass) = fault
        .build(
            &fault.parse(json!({"mode": "pass"})).unwrap(),
            &settings("fault/zero_copy", Signal::Logs),
        )
        .unwrap()
    else {
        panic!("not a processor");
    };
    let input = batch(Signal::Logs, logs("hello"));
    let mut out = Vec::new();
    pass.process(input.clone(), &mut out).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].to_bytes().as_ptr(),
        input.to_bytes().as_ptr(),
        "the same buffer"
    );
    assert_eq!(out[0].items(), 1);
    pass.flush(&mut out).await.unwrap();
}

// ---- connectors -----------------------------------------------------------------------------------

fn connector(path: &Path, ty: &str, id: &str, config: serde_json::Value) -> Arc<dyn Connector> {
    let factory = factory(path, ty);
    let settings = CreateSettings {
        id: id.parse::<ComponentId>().unwrap(),
        signal: None,
        pipeline: None,
        host: Default::default(),
    };
    match factory
        .build(&factory.parse(config).unwrap(), &settings)
        .unwrap()
    {
        Built::Connector(connector) => connector,
        _ => panic!("`{ty}` is not a connector"),
    }
}

/// One pipeline of each of `signals`, with what reaches it.
fn outputs(signals: &[Signal]) -> (Outputs, Vec<tokio::sync::mpsc::Receiver<Batch>>) {
    let mut outputs = Outputs::default();
    let mut receivers = Vec::new();
    for signal in signals {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        outputs.add(*signal, Output::new(format!("{signal}/out"), tx));
        receivers.push(rx);
    }
    (outputs, receivers)
}

#[tokio::test]
async fn a_plugin_connector_passes_its_input_on_without_a_copy() {
    let join = connector(
        &testkit::cdylib("weir-plugin-fault"),
        "fault_join",
        "fault_join/zero_copy",
        json!({}),
    );
    let (outputs, mut received) = outputs(&[Signal::Logs]);
    let input = batch(Signal::Logs, logs("hello"));
    join.consume(Signal::Logs, input.clone(), &outputs)
        .await
        .unwrap();
    let out = received[0].try_recv().unwrap();
    assert_eq!(
        out.to_bytes().as_ptr(),
        input.to_bytes().as_ptr(),
        "the same buffer"
    );
    assert_eq!(out.items(), 1);
}

#[tokio::test]
async fn a_panicking_plugin_connector_fails_its_batches_and_is_counted() {
    let join = connector(
        &testkit::cdylib("weir-plugin-fault"),
        "fault_join",
        "fault_join/poisoned",
        json!({"mode": "panic", "after": 1}),
    );
    let (outputs, mut received) = outputs(&[Signal::Traces]);
    let input = batch(Signal::Traces, traces(2));
    join.consume(Signal::Traces, input.clone(), &outputs)
        .await
        .unwrap();
    assert!(received[0].try_recv().is_ok(), "the first batch passes");
    for _ in 0..2 {
        let err = join
            .consume(Signal::Traces, input.clone(), &outputs)
            .await
            .unwrap_err();
        assert!(err.0.contains("panicked"), "{err}");
    }
    assert!(
        received[0].try_recv().is_err(),
        "nothing passes once poisoned"
    );
    let counters = plugin::counters();
    let panics = counters
        .iter()
        .find(|c| c.component == "fault_join/poisoned" && c.name == "panics")
        .map(|c| c.value);
    assert_eq!(panics, Some(1), "{counters:?}");
}

#[tokio::test]
async fn a_plugin_connector_may_not_emit_a_signal_it_does_not_pair_with_its_input() {
    let join = connector(
        &testkit::cdylib("weir-plugin-fault"),
        "fault_join",
        "fault_join/unpaired",
        json!({"mode": "unpaired"}),
    );
    let (outputs, mut received) = outputs(&[Signal::Traces, Signal::Logs]);
    let err = join
        .consume(Signal::Traces, batch(Signal::Traces, traces(1)), &outputs)
        .await
        .unwrap_err();
    assert!(err.0.contains("INVALID_ARGUMENT"), "{err}");
    assert!(received.iter_mut().all(|r| r.try_recv().is_err()));
}

#[tokio::test]
async fn a_plugin_connector_answering_full_holds_its_upstream_back() {
    let join = connector(
        &testkit::cdylib("weir-plugin-fault"),
        "fault_join",
        "fault_join/full",
        json!({"mode": "full"}),
    );
    let (outputs, _received) = outputs(&[Signal::Traces]);
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        join.consume(Signal::Traces, batch(Signal::Traces, traces(1)), &outputs),
    )
    .await;
    assert!(waited.is_err(), "consume waits while the plugin is full");
}

#[tokio::test]
async fn a_plugin_connector_emits_from_its_own_thread_and_at_shutdown() {
    let tally = connector(
        &testkit::cdylib("weir-plugin-tally"),
        "tally",
        "tally",
        json!({"interval": "20ms"}),
    );
    let (outputs, mut received) = outputs(&[Signal::Metrics]);
    let outputs = Arc::new(outputs);
    let stop = CancellationToken::new();
    let run = tokio::spawn({
        let (tally, outputs, stop) = (tally.clone(), outputs.clone(), stop.clone());
        async move { tally.run(outputs, stop).await }
    });
    tally
        .consume(Signal::Traces, batch(Signal::Traces, traces(3)), &outputs)
        .await
        .unwrap();
    // The timer thread's emit goes through the bridge `run` serves.
    let timed = tokio::time::timeout(DEADLINE, received[0].recv())
        .await
        .expect("a timed emission")
        .unwrap();
    assert_eq!(timed.items(), 1, "one point: one service, one signal");
    tally
        .consume(Signal::Traces, batch(Signal::Traces, traces(2)), &outputs)
        .await
        .unwrap();
    stop.cancel();
    run.await.unwrap();
    // The last emission is the shutdown's: it counts every span.
    let mut last = None;
    while let Ok(batch) = received[0].try_recv() {
        last = Some(batch);
    }
    let request = ExportMetricsServiceRequest::decode(last.unwrap().to_bytes()).unwrap();
    let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
    let Some(metric::Data::Sum(sum)) = &metric.data else {
        panic!("not a sum: {metric:?}");
    };
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(5))
    );
}
