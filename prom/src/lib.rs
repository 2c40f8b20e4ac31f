//! Prometheus for Weir: what the `prometheus` receiver needs from Prometheus itself, kept
//! apart from the receiver so that it can be tested (and benchmarked) on its own.
//!
//! # Parsing a scrape
//!
//! [`parse`] reads a response body in the format its `Content-Type` names: OpenMetrics 1.0
//! for `application/openmetrics-text`, the Prometheus text format 0.0.4 for anything else.
//! The [`Exposition`] it returns borrows the body; it holds [`Family`]s (name, [`MetricType`],
//! HELP, UNIT) and their [`Sample`]s (full name, [`Suffix`], labels, value, timestamp in
//! milliseconds, OpenMetrics [`Exemplar`]):
//!
//! ```
//! let body = b"# TYPE rpc_seconds histogram\n\
//!     rpc_seconds_bucket{le=\"0.1\"} 3\n\
//!     rpc_seconds_bucket{le=\"+Inf\"} 5\n\
//!     rpc_seconds_sum 0.9\n\
//!     rpc_seconds_count 5\n";
//! let exposition = weir_prom::parse(body, Some("text/plain; version=0.0.4")).unwrap();
//! let family = &exposition.families()[0];
//! assert_eq!(family.kind, weir_prom::MetricType::Histogram);
//! let points = exposition.points(family);
//! assert_eq!(points[0].buckets.len(), 2);
//! assert_eq!(points[0].count, Some(5.0));
//! ```
//!
//! [`Exposition::points`] gathers a family's samples into one [`Point`] per label set
//! (buckets, quantiles, sum, count, `_created`), the shape of an OTLP data point. A malformed
//! body is a [`ParseError`] with its line number; no input makes the parser panic. Staleness
//! markers are never parsed from a body; [`stale_nan`] and [`is_stale_nan`] are Prometheus's
//! bit pattern for the scraper that writes them.
//!
//! # Relabelling
//!
//! [`relabel::RelabelConfig`] is one entry of `relabel_configs` or `metric_relabel_configs`
//! as Prometheus's YAML spells it (serde, unknown fields refused). [`relabel::compile`] checks
//! a list as Prometheus does and gives every problem with the field's path; the compiled
//! [`relabel::Rule`]s are applied with [`relabel::apply`] to a label set, which comes back
//! changed, or `None` when a rule dropped it:
//!
//! ```
//! use weir_prom::relabel::{self, RelabelConfig};
//! let configs: Vec<RelabelConfig> = serde_json::from_str(r#"[
//!     {"source_labels": ["__meta_env"], "regex": "prod", "action": "keep"},
//!     {"source_labels": ["__address__"], "target_label": "instance"}
//! ]"#).unwrap();
//! let rules = relabel::compile(&configs, "relabel_configs").unwrap();
//! let labels = vec![
//!     ("__address__".to_string(), "db:9100".to_string()),
//!     ("__meta_env".to_string(), "prod".to_string()),
//! ];
//! let out = relabel::apply(&rules, labels).unwrap();
//! assert!(out.contains(&("instance".to_string(), "db:9100".to_string())));
//! ```
//!
//! [`relabel::sample_labels`] gives a sample's label set as `metric_relabel_configs` sees it,
//! `__name__` first. For targets, [`relabel::discovered_labels`] adds the scrape config's
//! defaults (`job`, `__scheme__`, `__metrics_path__`, `__param_*`, ...) to what discovery
//! found, [`relabel::target_labels`] runs `relabel_configs` and defaults `instance` to
//! `__address__` as Prometheus's `PopulateLabels` does, and [`relabel::series_labels`] is what
//! the target's series carry (no `__` labels).
//!
//! # Converting to OTLP
//!
//! [`otlp::Converter`] turns scrapes into OTLP metrics as OpenTelemetry's Prometheus
//! compatibility specification says and otelcol-contrib's `prometheus` receiver does. One
//! converter lives per target (it remembers start times across scrapes);
//! [`otlp::Converter::begin`] opens a scrape, [`otlp::Scrape::append`] takes each sample as
//! `metric_relabel_configs` left it, and [`otlp::Scrape::finish`] gives one `ResourceMetrics`
//! per `(job, instance)`:
//!
//! ```
//! use weir_prom::otlp::{Converter, FamilyRef, Options};
//! let body = b"# TYPE rpc_seconds histogram\n\
//!     rpc_seconds_bucket{le=\"0.1\"} 3\n\
//!     rpc_seconds_bucket{le=\"+Inf\"} 5\n\
//!     rpc_seconds_sum 0.9\n\
//!     rpc_seconds_count 5\n";
//! let exposition = weir_prom::parse(body, None).unwrap();
//! let mut converter = Converter::new(Options { scope_version: "0.1.0".into(), ..Options::default() });
//! let mut scrape = converter.begin("http", 1_700_000_000_000);
//! for family in exposition.families() {
//!     let help = family.help.as_deref();
//!     let fam = FamilyRef { name: family.name, kind: family.kind, help, unit: family.unit };
//!     for sample in exposition.samples(family) {
//!         let mut labels = vec![("job", "api"), ("instance", "db:9100")];
//!         labels.extend(exposition.labels(sample).iter().map(|l| (l.name, l.value.as_ref())));
//!         let at = sample.timestamp_ms.unwrap_or(1_700_000_000_000);
//!         scrape.append(&fam, sample.name, &labels, sample.value, at, None);
//!     }
//! }
//! let resources = scrape.finish();
//! assert_eq!(resources[0].scope_metrics[0].metrics[0].name, "rpc_seconds");
//! ```
//!
//! The [`otlp`] module's documentation lists the rules, and where each comes from.
//!
//! # Not here (yet)
//!
//! - Prometheus 3's quoted UTF-8 metric and label names (`{"my.metric", a="b"}`), which a
//!   target sends only when the scraper's `Accept` offers `escaping=allow-utf-8`; label names
//!   are checked against the classic character set throughout.
//! - The protobuf exposition format and native histograms.
//! - Some OpenMetrics MUSTs that Prometheus does not enforce either: stateset values of 0 or
//!   1, info values of 1, exemplars only on counters and buckets, escapes other than `\\`,
//!   `\"` and `\n` in label values (kept as written, as Prometheus keeps them).
//! - Decompression and size limits: the receiver reads the body (gzip, `body_size_limit`)
//!   and hands the bytes here.

mod group;
mod model;
pub mod otlp;
mod parse;
pub mod relabel;

pub use group::{Bucket, Point};
pub use model::{
    Exemplar, Exposition, Family, Format, Label, MetricType, STALE_NAN_BITS, Sample, Suffix,
    is_stale_nan, stale_nan,
};
pub use parse::{ParseError, parse, parse_as};
