//! Defaults (otelcol's), validation, and the otelcol fields that are refused by name.

use std::time::Duration;

use weir_core::component::{ComponentConfig, ExporterFactory};
use weir_core::exporter::ExporterHelperConfig;

use super::RemoteWriteExporterFactory;
use super::config::RemoteWriteConfig;

fn parse(json: serde_json::Value) -> RemoteWriteConfig {
    serde_json::from_value(json).expect("config parses")
}

fn problems(json: serde_json::Value) -> Vec<String> {
    parse(json).validate().expect_err("refused")
}

#[test]
fn defaults_match_otelcol() {
    let config = parse(serde_json::json!({"endpoint": "http://prom:9090/api/v1/write"}));
    assert_eq!(config.validate(), Ok(()));
    assert!(config.add_metric_suffixes);
    assert!(!config.send_metadata);
    assert!(config.target_info.enabled);
    assert!(!config.resource_to_telemetry_conversion.enabled);
    assert_eq!(config.max_batch_size_bytes, 3_000_000);
    assert_eq!(config.remote_write_queue.num_consumers, 5);
    assert_eq!(config.timeout, Duration::from_secs(5));
    assert!(config.namespace.is_empty() && config.external_labels.is_empty());
}

#[test]
fn an_http_endpoint_is_required() {
    assert!(problems(serde_json::json!({}))[0].starts_with("endpoint is required"));
    assert!(
        problems(serde_json::json!({"endpoint": "prom:9090"}))[0].contains("http:// or https://")
    );
    assert!(
        problems(serde_json::json!({"endpoint": "ftp://prom/x"}))[0]
            .contains("http:// or https://")
    );
}

#[test]
fn otelcol_fields_weir_does_not_implement_are_refused_by_name() {
    let found = problems(serde_json::json!({
        "endpoint": "http://prom:9090/api/v1/write",
        "wal": {"directory": "./prom_rw"},
        "export_created_metric": {"enabled": true},
        "protobuf_message": "io.prometheus.write.v2.Request",
        "remote_write_version": "2.0",
        "compression": "gzip",
        "max_batch_request_parallelism": 4,
    }));
    assert_eq!(found.len(), 6, "{found:?}");
    for field in [
        "compression `gzip`",
        "wal (the write-ahead log)",
        "export_created_metric (`_created`",
        "protobuf_message `io.prometheus.write.v2.Request`",
        "remote_write_version is refused",
        "max_batch_request_parallelism is not",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(field)),
            "{field}: {found:?}"
        );
    }
    // What 1.0 is anyway is accepted.
    let same = parse(serde_json::json!({
        "endpoint": "http://prom:9090/api/v1/write",
        "compression": "snappy",
        "protobuf_message": "prometheus.WriteRequest",
    }));
    assert_eq!(same.validate(), Ok(()));
}

/// The runtime's queue and retry as the factory settles them for `config` and what the
/// YAML wrote under `sending_queue` / `retry_on_failure`.
fn helper_for(
    config: serde_json::Value,
    given: serde_json::Value,
) -> Result<ExporterHelperConfig, Vec<(String, String)>> {
    let config = parse(config);
    let mut helper: ExporterHelperConfig =
        serde_json::from_value(given.clone()).expect("helper parses");
    RemoteWriteExporterFactory
        .adjust_helper(&config, &mut helper, &given)
        .map(|()| helper)
        .map_err(|problems| {
            problems
                .into_iter()
                .map(|p| (p.path.join("."), p.message))
                .collect()
        })
}

#[test]
fn the_queue_is_otelcols_one_consumer_queue_of_10000_batches_with_its_retry_timings() {
    let endpoint = serde_json::json!({"endpoint": "http://prom:9090/api/v1/write"});
    let helper = helper_for(endpoint.clone(), serde_json::json!({})).unwrap();
    assert!(helper.sending_queue.enabled);
    assert_eq!(helper.sending_queue.queue_size, 10_000);
    assert_eq!(helper.sending_queue.num_consumers, 1);
    assert_eq!(
        helper.retry_on_failure.initial_interval,
        Duration::from_millis(50)
    );
    assert_eq!(
        helper.retry_on_failure.max_interval,
        Duration::from_millis(200)
    );
    assert_eq!(
        helper.retry_on_failure.max_elapsed_time,
        Duration::from_secs(60)
    );
    // What the user wrote under retry_on_failure stays.
    let helper = helper_for(
        endpoint,
        serde_json::json!({"retry_on_failure": {"initial_interval": "2s"}}),
    )
    .unwrap();
    assert_eq!(
        helper.retry_on_failure.initial_interval,
        Duration::from_secs(2)
    );
    assert_eq!(
        helper.retry_on_failure.max_interval,
        Duration::from_millis(200)
    );
}

#[test]
fn remote_write_queue_sets_the_sending_queue_and_contradictions_are_refused() {
    let config = serde_json::json!({
        "endpoint": "http://prom:9090/api/v1/write",
        "remote_write_queue": {"enabled": false, "queue_size": 100, "num_consumers": 3},
    });
    let helper = helper_for(config.clone(), serde_json::json!({})).unwrap();
    assert!(!helper.sending_queue.enabled);
    assert_eq!(helper.sending_queue.queue_size, 100);
    assert_eq!(parse(config.clone()).remote_write_queue.num_consumers, 3);
    // The same value in both places is fine; a persistent queue keeps its storage.
    let helper = helper_for(
        config.clone(),
        serde_json::json!({"sending_queue": {"queue_size": 100, "storage": "file_storage"}}),
    )
    .unwrap();
    assert_eq!(
        helper.sending_queue.storage.as_deref(),
        Some("file_storage")
    );
    let found = helper_for(
        config,
        serde_json::json!({"sending_queue": {"enabled": true, "queue_size": 5, "num_consumers": 4}}),
    )
    .unwrap_err();
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "remote_write_queue.enabled",
            "remote_write_queue.queue_size",
            "sending_queue.num_consumers"
        ]
    );
    assert!(
        found[0].1.contains("contradicts sending_queue.enabled"),
        "{found:?}"
    );
    assert!(found[2].1.contains("one at a time"), "{found:?}");
    assert_eq!(
        problems(
            serde_json::json!({"endpoint": "http://p/api/v1/write", "remote_write_queue": {"num_consumers": 0}})
        ),
        ["remote_write_queue.num_consumers must be at least 1"]
    );
    let err = serde_json::from_value::<RemoteWriteConfig>(
        serde_json::json!({"remote_write_queue": {"size": 1}}),
    )
    .expect_err("unknown");
    assert!(err.to_string().contains("unknown field `size`"), "{err}");
}

#[test]
fn headers_labels_sizes_and_tls_are_checked() {
    let found = problems(serde_json::json!({
        "endpoint": "http://prom:9090/api/v1/write",
        "headers": {"Content-Type": "text/plain", "X-Ok": "yes"},
        "external_labels": {"bad-name": "x", "__replica__": "r1"},
        "max_batch_size_bytes": 0,
        "timeout": "0s",
        "tls": {"ca_file": "/ca.pem"},
    }));
    assert_eq!(
        found,
        [
            "headers.Content-Type is set by the exporter itself (remote write 1.0) and cannot be changed",
            "external_labels.bad-name is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)",
            "max_batch_size_bytes must be greater than 0",
            "timeout must be greater than 0",
            "tls.ca_file set, but endpoint is not an https:// URL; remove it or use https://",
        ]
    );
    let tls = problems(serde_json::json!({
        "endpoint": "https://prom:9090/api/v1/write",
        "tls": {"ca_file": "/nonexistent/ca.pem"},
    }));
    assert_eq!(tls, ["tls.ca_file `/nonexistent/ca.pem`: file not found"]);
}
