//! Weir's own telemetry: the counters the runtime keeps, rendered with otelcol's metric names
//! in the Prometheus text format on `service.telemetry.metrics` (default `localhost:8888`),
//! with the process's own metrics (uptime, CPU, memory) read from `/proc`.

mod auth;
mod counters;
mod process;
mod prometheus;
mod server;

pub use auth::{unauthenticated_counter, unauthenticated_counts};
pub use counters::{
    CounterSample, Histogram, HistogramSample, counter, counters, gauge, histogram, histograms,
};
pub use prometheus::render;
pub use server::serve_metrics;
