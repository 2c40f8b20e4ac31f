//! The stanza log operators, as otelcol-contrib's `pkg/stanza` defines them, for Weir's log
//! receivers (`filelog`, later `syslog`, `tcplog`, `udplog`): parsers (`regex_parser`,
//! `json_parser`, `key_value_parser`, `csv_parser`, `syslog_parser`, `time_parser`,
//! `severity_parser`, `trace_parser`, `scope_name_parser`), transformers (`move`, `copy`, `add`, `remove`, `retain`, `flatten`,
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
//! A pipeline is used from one task at a time (`&mut self`); it is `Send`. Failures handled by
//! `on_error` are logged through `tracing` (warn for `send`/`drop`, debug for the quiet modes)
//! with the operator's id.
//!
//! # Where Weir differs from stanza, and what it refuses
//!
//! - Refused by name (a config error): `json_array_parser`, `xml_parser`, `uri_parser`,
//!   `regex_replace`, `unquote`, `assign_keys`, `container` and the output operators.
//! - `regex_parser`'s `cache` is accepted and has no effect: it only spares stanza matching
//!   identical lines again, and results are the same without it.
//! - Expressions are the subset listed in [`expr`]; anything else (arithmetic, functions
//!   other than `env`, the `timestamp` variable) is a compile error with its column.
//!   Evaluation never fails: a missing field is `nil`, an impossible comparison is false.
//! - Time layouts: `%Z` (Go's `MST`) recognises `UTC`, `GMT` and `Z`; any other abbreviation
//!   is read in `location`. strptime accepts `%j` and `%N` beyond ctimefmt's set. A numeric
//!   offset may be written with or without a colon whatever the layout says.
//! - `recombine` takes the time an entry arrived from the caller (`process_at`) rather than
//!   from the entry's observed timestamp; `flush` replaces stanza's ticker. An entry without
//!   `combine_field` is a failure handled by `on_error` (stanza logs and drops its text).
//! - `syslog_parser` is this crate's own (see `operators/syslog.rs` for why); RFC 5424 is
//!   strict, RFC 3164 takes `Mmm dd hh:mm:ss` or an RFC 3339 stamp.

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

pub use entry::{Entry, Origin, Severity};
pub use error::{ConfigError, ConfigErrors, Path, Segment};
pub use field::Field;
pub use pipeline::Pipeline;
pub use value::{Map, Value};

/// The operator types Weir builds, by their otelcol-contrib names (for docs and schemas).
pub fn operator_types() -> &'static [&'static str] {
    operators::TYPES
}
