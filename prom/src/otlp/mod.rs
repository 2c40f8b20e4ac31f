//! A scrape as OTLP metrics, as OpenTelemetry's Prometheus compatibility specification says.
