//! Weir's built-in connectors, one module folder each. `register` is this crate's one list.

pub mod count;
pub mod forward;
pub mod routing;
pub mod spanmetrics;

use weir_core::component::Registry;

/// Adds every built-in connector type to `registry`.
pub fn register(registry: &mut Registry) {
    registry.connector(count::CountFactory);
    registry.connector(forward::ForwardFactory);
    registry.connector(routing::RoutingFactory);
    registry.connector(spanmetrics::SpanMetricsFactory);
}
