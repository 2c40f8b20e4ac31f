//! Weir's own telemetry: the counters the runtime keeps, rendered with otelcol's metric names
//! in the Prometheus text format on `service.telemetry.metrics` (default `localhost:8888`),
//! with the process's own metrics (uptime, CPU, memory) read from `/proc`.

mod auth;
mod counters;
mod process;
mod prometheus;
mod refusals;
mod server;

pub use auth::{unauthenticated_counter, unauthenticated_counts};
pub use counters::{
    CounterSample, Histogram, HistogramSample, counter, counters, gauge, histogram, histograms,
};
pub use prometheus::render;
pub use refusals::{
    LOG_INTERVAL, LogLimit, admit_log, count_refused_request, count_tls_handshake_failure,
    refused_request,
};
pub use server::serve_metrics;
