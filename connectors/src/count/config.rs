//! Configuration of the `count` connector: otelcol-contrib's metric definitions per kind of
//! item, each with OTTL conditions compiled when the config loads and the attributes to count
//! by.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_ottl::{Condition, Context};

/// Counts spans, span events, metrics, data points and log records into sum metrics, one data
/// point per set of attribute values, sent to the metrics pipelines it feeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CountConfig {
    /// Metrics counting spans, by name. Absent: `trace.span.count` ("The number of spans
    /// observed."); `{}`: none.
    pub spans: Option<BTreeMap<String, MetricInfo>>,
    /// Metrics counting span events. Absent: `trace.span.event.count`.
    pub spanevents: Option<BTreeMap<String, MetricInfo>>,
    /// Metrics counting metrics (no `attributes`). Absent: `metric.count`.
    pub metrics: Option<BTreeMap<String, MetricInfo>>,
    /// Metrics counting data points. Absent: `metric.datapoint.count`.
    pub datapoints: Option<BTreeMap<String, MetricInfo>>,
    /// Metrics counting log records. Absent: `log.record.count`.
    pub logs: Option<BTreeMap<String, MetricInfo>>,
}

/// One count metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetricInfo {
    /// The metric's description.
    pub description: String,
    /// OTTL conditions in the context of the items counted: an item is counted when any holds
    /// (all items when there are none). A condition that fails on an item fails the batch.
    pub conditions: Vec<String>,
    /// Item attributes to count by: one data point per set of their values (as text). An item
    /// without one of them is counted under its `default_value`, or not at all without one.
    pub attributes: Vec<AttributeConfig>,
}

/// An attribute counted by.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeConfig {
    /// The attribute's key. Required.
    pub key: String,
    /// The value used for items without the attribute (empty: such items are not counted).
    pub default_value: String,
}

/// The kinds of item counted, their YAML keys, OTTL contexts and default metrics.
pub(super) const KINDS: [(&str, Context, &str, &str); 5] = [
    (
        "spans",
        Context::Span,
        "trace.span.count",
        "The number of spans observed.",
    ),
    (
        "spanevents",
        Context::SpanEvent,
        "trace.span.event.count",
        "The number of span events observed.",
    ),
    (
        "metrics",
        Context::Metric,
        "metric.count",
        "The number of metrics observed.",
    ),
    (
        "datapoints",
        Context::DataPoint,
        "metric.datapoint.count",
        "The number of data points observed.",
    ),
    (
        "logs",
        Context::Log,
        "log.record.count",
        "The number of log records observed.",
    ),
];

impl CountConfig {
    /// The definitions of each kind, in [`KINDS`] order, defaults filled in.
    pub(super) fn kinds(&self) -> [BTreeMap<String, MetricInfo>; 5] {
        let given = [
            &self.spans,
            &self.spanevents,
            &self.metrics,
            &self.datapoints,
            &self.logs,
        ];
        std::array::from_fn(|i| match given[i] {
            Some(defs) => defs.clone(),
            None => {
                let (_, _, name, description) = KINDS[i];
                BTreeMap::from([(
                    name.to_string(),
                    MetricInfo {
                        description: description.to_string(),
                        ..MetricInfo::default()
                    },
                )])
            }
        })
    }
}

impl ComponentConfig for CountConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for ((section, context, _, _), defs) in KINDS.iter().zip(self.kinds()) {
            for (name, info) in &defs {
                if name.is_empty() {
                    problems.push(format!("{section}: a metric name must not be empty"));
                }
                let at = format!("{section}.{name}.conditions");
                Condition::compile_list(&at, *context, &info.conditions, &mut problems);
                if *section == "metrics" && !info.attributes.is_empty() {
                    problems.push(format!(
                        "{section}.{name}.attributes: metrics are not counted by attributes \
                         (they have none); count data points instead"
                    ));
                }
                for (i, attribute) in info.attributes.iter().enumerate() {
                    if attribute.key.is_empty() {
                        problems.push(format!(
                            "{section}.{name}.attributes.{i}.key must not be empty"
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
