//! Weir's built-in exporters, one module folder each:
//!
//! - [`otlp`]: OTLP over gRPC (`otlp`, alias `otlp_grpc`);
//! - [`otlp_http`]: OTLP over HTTP, protobuf or JSON (`otlphttp`, alias `otlp_http`);
//! - [`debug`]: writes batches to Weir's log (`debug`);
//! - [`prometheus`]: serves metrics on `/metrics` for Prometheus to scrape (`prometheus`);
//! - [`prometheusremotewrite`]: pushes metrics to Prometheus remote write 1.0 endpoints
//!   (`prometheusremotewrite`).
//!
//! Exporters only send once and classify the outcome; the runtime wraps each one in the sending
//! queue and retry.

pub mod debug;
mod http_client;
pub mod otlp;
pub mod otlp_http;
pub mod prometheus;
pub mod prometheusremotewrite;

use weir_core::component::Registry;

/// Adds every built-in exporter type to `registry`.
pub fn register(registry: &mut Registry) {
    registry
        .exporter(otlp::OtlpGrpcExporterFactory)
        .exporter(otlp_http::OtlpHttpExporterFactory)
        .exporter(debug::DebugExporterFactory)
        .exporter(prometheus::PrometheusExporterFactory)
        .exporter(prometheusremotewrite::RemoteWriteExporterFactory);
}

#[cfg(test)]
mod tests {
    use weir_core::component::Kind;

    use super::*;

    #[test]
    fn registers_types_and_otelcol_aliases() {
        let mut registry = Registry::new();
        register(&mut registry);
        for name in [
            "otlp",
            "otlp_grpc",
            "otlphttp",
            "otlp_http",
            "debug",
            "prometheus",
            "prometheusremotewrite",
        ] {
            assert!(
                registry.get(Kind::Exporter, name).is_some(),
                "{name} is not registered"
            );
        }
        assert!(registry.get(Kind::Receiver, "otlp").is_none());
    }

    /// Doc comments are the README reference: a field without one would be undocumented.
    #[test]
    fn every_config_field_is_described_in_the_schema() {
        let mut registry = Registry::new();
        register(&mut registry);
        for factory in registry.all() {
            let schema = serde_json::to_value(factory.schema()).expect("schema is JSON");
            let mut objects = vec![schema.clone()];
            if let Some(defs) = schema.get("$defs").and_then(|d| d.as_object()) {
                objects.extend(defs.values().cloned());
            }
            let mut fields = 0;
            for object in objects {
                let Some(properties) = object.get("properties").and_then(|p| p.as_object()) else {
                    continue;
                };
                for (name, property) in properties {
                    fields += 1;
                    assert!(
                        property.get("description").is_some(),
                        "{}: field `{name}` has no description",
                        factory.type_name()
                    );
                }
            }
            assert!(fields >= 3, "{}: schema has no fields", factory.type_name());
        }
    }
}
