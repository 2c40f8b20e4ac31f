//! Configuration of the `filter` processor, OTTL form: otelcol-contrib's `error_mode` and the
//! condition lists per context (`traces.span`, `traces.spanevent`, `metrics.metric`,
//! `metrics.datapoint`, `logs.log_record`). Each condition is compiled when the config loads;
//! one that does not is reported at its place (`traces.span.1 …`) with the column inside it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_ottl::{Condition, Context};

use crate::error_mode::ErrorMode;

/// Drops spans, span events, metrics, data points and log records that match any of the OTTL
/// conditions of their context, deciding on the encoded batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// What a condition that fails on a record does: `propagate` (the default, as in
    /// otelcol: the batch is refused with a permanent error), `ignore` (logged at most every
    /// 10 s and counted; the condition counts as false) or `silent` (counted only).
    pub error_mode: ErrorMode,
    /// Conditions on traces.
    pub traces: TracesConditions,
    /// Conditions on metrics.
    pub metrics: MetricsConditions,
    /// Conditions on logs.
    pub logs: LogsConditions,
}

/// `traces:` conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConditions {
    /// OTTL conditions in the span context: a span matching any is dropped, with its events.
    pub span: Vec<String>,
    /// OTTL conditions in the span event context: an event matching any is dropped from its
    /// span (the span stays, even with no events left). Checked only on spans that stay.
    pub spanevent: Vec<String>,
}

/// `metrics:` conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConditions {
    /// OTTL conditions in the metric context: a metric matching any is dropped with all its
    /// data points.
    pub metric: Vec<String>,
    /// OTTL conditions in the data point context: a data point matching any is dropped; a
    /// metric left without data points is dropped too. Checked only on metrics that stay.
    pub datapoint: Vec<String>,
}

/// `logs:` conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConditions {
    /// OTTL conditions in the log context: a log record matching any is dropped.
    pub log_record: Vec<String>,
}

impl FilterConfig {
    /// Each condition list with its place in the config and its context.
    pub(crate) fn lists(&self) -> [(&'static str, Context, &[String]); 5] {
        [
            ("traces.span", Context::Span, &self.traces.span),
            (
                "traces.spanevent",
                Context::SpanEvent,
                &self.traces.spanevent,
            ),
            ("metrics.metric", Context::Metric, &self.metrics.metric),
            (
                "metrics.datapoint",
                Context::DataPoint,
                &self.metrics.datapoint,
            ),
            ("logs.log_record", Context::Log, &self.logs.log_record),
        ]
    }
}

impl ComponentConfig for FilterConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (at, context, list) in self.lists() {
            Condition::compile_list(at, context, list, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
