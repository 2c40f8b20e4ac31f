//! Weir's built-in receivers, one module folder per receiver type, and [`register`], the one
//! list the binary adds to its registry.
//!
//! - [`filelog`]: tails log files, otelcol-contrib's `filelog` receiver;
//! - [`otlp`]: OTLP over gRPC and HTTP (protobuf and JSON), otelcol's `otlp` receiver;
//! - [`prometheus`]: scrapes Prometheus targets, otelcol-contrib's `prometheus` receiver.

pub mod filelog;
pub mod otlp;
pub mod prometheus;

use weir_core::component::Registry;

/// Adds every built-in receiver type to `registry`.
pub fn register(registry: &mut Registry) {
    registry.receiver(filelog::FilelogReceiverFactory);
    registry.receiver(otlp::OtlpReceiverFactory);
    registry.receiver(prometheus::PrometheusReceiverFactory);
}
