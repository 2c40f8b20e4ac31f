//! What the runtime wraps around every exporter, built-in or plugin: the sending queue, retry
//! with backoff that honours the server, and their configuration (otelcol's exporterhelper).

mod config;
mod drop_log;
mod duration;
mod queue;
mod retry;
mod store;

pub use config::{ExporterHelperConfig, RetryConfig, SendingQueueConfig, Sizer};
pub use duration::{DurationString, format_duration, humantime_serde, parse_duration};
pub use queue::{ExportSink, QueueStats, SendingQueue};
pub use retry::{Backoff, ExportOutcome, RetryPolicy};
pub use store::{MemoryStore, QueueStore, Ticket};
