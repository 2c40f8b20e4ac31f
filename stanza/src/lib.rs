//! The stanza log operators, as otelcol-contrib's `pkg/stanza` defines them, for Weir's log
//! receivers (`filelog`, later `syslog`, `tcplog`, `udplog`): parsers (`regex_parser`,
//! `json_parser`, `key_value_parser`, `csv_parser`, `syslog_parser`, `time_parser`,
//! `severity_parser`, `trace_parser`), transformers (`move`, `copy`, `add`, `remove`, `retain`, `flatten`,
//! `recombine`, `filter`, `noop`) and `router`, joined by `id`/`output` into a graph, with
//! `if` conditions and `on_error` in the expression language of `expr/`.
//!
//! # Using it from a receiver
//!
//! ```
//! use weir_stanza::{Entry, Pipeline};
//!
//! // The receiver's `operators:` value, as the config loader hands it over (JSON).
//! let operators = serde_json::json!([
//!     {"type": "regex_parser", "regex": "^(?P<sev>[A-Z]+) (?P<msg>.*)$",
//!      "severity": {"parse_from": "attributes.sev"}}
//! ]);
//! // Validation and building are the same call; errors carry a path from the receiver's
//! // config root, like `operators[0].regex`.
//! let mut pipeline = Pipeline::build(&operators).expect("valid operators");
//! let out = pipeline.process(vec![Entry::new("WARN disk almost full", 0)]);
//! assert_eq!(out[0].severity_text, "WARN");
//! let logs = weir_stanza::otlp::to_resource_logs(out);
//! assert_eq!(logs[0].scope_logs[0].log_records.len(), 1);
//! ```
//!
//! - [`Pipeline::build`] takes the `operators` list and returns every problem as a
//!   [`ConfigError`]: `path` (its [`Path::keys`] is the shape of `weir_core`'s
//!   `FieldError::path`, so the receiver's `validate` maps each one to file, line and column),
//!   `message` (with "did you mean"), `expected` (the names that exist, for an unknown field
//!   or type) and, for expressions, `column` inside the string.
//! - [`Pipeline::process`] (or `process_at`/`process_into`) runs a batch in graph order and
//!   returns what leaves it. `recombine` holds entries across calls: call
//!   [`Pipeline::flush`] at [`Pipeline::next_deadline`] and [`Pipeline::flush_all`] at
//!   shutdown.
//! - [`Pipeline::parse_errors`] counts, per operator id, the entries each one failed on.
//! - [`otlp`] turns entries into OTLP `LogRecord`s and `ResourceLogs`.
//!
//! A pipeline is used from one task at a time (`&mut self`); it is `Send`.

mod config;
pub mod entry;
pub mod error;
pub mod expr;
pub mod field;
mod operators;
pub mod otlp;
mod pipeline;
mod severity;
mod time;
mod trace;
pub mod value;

pub use entry::{Entry, Severity};
pub use error::{ConfigError, ConfigErrors, Path, Segment};
pub use field::Field;
pub use pipeline::Pipeline;
pub use value::{Map, Value};
