//! Counting one batch on the wire, and the metrics request it becomes.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use weir_core::batch::select::{ItemKind, ItemView, Selector, select};
use weir_core::batch::{Batch, Signal};
use weir_core::component::ConnectorError;
use weir_ottl::Condition;
use weir_processors::value_text::push_value_text;
use weir_processors::wire_record::{WireRecord, attributes_field, entry, find_attribute};

use super::config::{CountConfig, KINDS};

/// The scope of the metrics, as otelcol names it.
const SCOPE: &str = "otelcol/countconnector";

/// One metric to count into.
struct Definition {
    name: String,
    description: String,
    conditions: Vec<Condition>,
    attributes: Vec<(String, String)>,
}

/// Every metric, by kind of item ([`KINDS`] order).
pub(super) struct Definitions([Vec<Definition>; 5]);

const SPANS: usize = 0;
const EVENTS: usize = 1;
const METRICS: usize = 2;
const POINTS: usize = 3;
const LOGS: usize = 4;

impl Definitions {
    pub(super) fn new(config: &CountConfig) -> Result<Definitions, String> {
        let mut problems = Vec::new();
        let kinds = config.kinds();
        let defs = std::array::from_fn(|i| {
            let (section, context, _, _) = KINDS[i];
            kinds[i]
                .iter()
                .map(|(name, info)| Definition {
                    name: name.clone(),
                    description: info.description.clone(),
                    conditions: Condition::compile_list(
                        &format!("{section}.{name}.conditions"),
                        context,
                        &info.conditions,
                        &mut problems,
                    ),
                    attributes: info
                        .attributes
                        .iter()
                        .map(|a| (a.key.clone(), a.default_value.clone()))
                        .collect(),
                })
                .collect()
        });
        if problems.is_empty() {
            Ok(Definitions(defs))
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Counts by metric and attribute values.
type Counts = BTreeMap<(usize, usize), BTreeMap<Vec<(String, String)>, i64>>;

/// The counts of one resource of the batch.
struct Group {
    /// Where the resource's bytes are in the request: the items of one `Resource*` entry
    /// share them.
    at: usize,
    resource: Vec<u8>,
    counts: Counts,
}

struct Counter<'d> {
    definitions: &'d Definitions,
    groups: Vec<Group>,
    text: String,
    failed: Option<String>,
    /// The span or metric whose events or points are being counted (where its bytes are), and
    /// the next one's index, which OTTL paths on an event or point may read.
    parent: usize,
    index: usize,
}

/// `attributes` of a span event.
const EVENT_ATTRIBUTES: u32 = 3;

impl Counter<'_> {
    /// The index of the next event or point of `parent` (from 0 per parent).
    fn next_index(&mut self, parent: &[u8]) -> usize {
        let at = parent.as_ptr() as usize;
        if self.parent != at {
            self.parent = at;
            self.index = 0;
        }
        self.index += 1;
        self.index - 1
    }

    fn group(&mut self, resource: &[u8]) -> &mut Counts {
        let at = resource.as_ptr() as usize;
        if self.groups.last().is_none_or(|g| g.at != at) {
            self.groups.push(Group {
                at,
                resource: resource.to_vec(),
                counts: Counts::new(),
            });
        }
        let last = self.groups.len() - 1;
        &mut self.groups[last].counts
    }

    /// Counts one item of kind `which` (`attributes`: the message holding them, and their
    /// field, if it has any).
    fn count(&mut self, which: usize, record: WireRecord<'_>, attributes: (&[u8], Option<u32>)) {
        if self.failed.is_some() {
            return;
        }
        let definitions = self.definitions;
        for (d, def) in definitions.0[which].iter().enumerate() {
            let mut values = Vec::with_capacity(def.attributes.len());
            for (key, default) in &def.attributes {
                let found = attributes
                    .1
                    .and_then(|field| find_attribute(attributes.0, field, key.as_bytes()));
                match found {
                    Some(kv) => {
                        self.text.clear();
                        push_value_text(entry(kv).1, &mut self.text);
                        values.push((key.clone(), self.text.clone()));
                    }
                    None if !default.is_empty() => values.push((key.clone(), default.clone())),
                    None => break,
                }
            }
            if values.len() != def.attributes.len() {
                continue;
            }
            let mut holds = def.conditions.is_empty();
            for condition in &def.conditions {
                match condition.evaluate(&record) {
                    Ok(true) => {
                        holds = true;
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        self.failed = Some(format!(
                            "count metric `{}`: condition `{}` failed: {e}",
                            def.name,
                            condition.text()
                        ));
                        return;
                    }
                }
            }
            if holds {
                *self
                    .group(record.view.resource)
                    .entry((which, d))
                    .or_default()
                    .entry(values)
                    .or_default() += 1;
            }
        }
    }
}

impl Selector for Counter<'_> {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        let item = *item;
        let (which, index) = match item.kind {
            ItemKind::Span => (SPANS, 0),
            ItemKind::Log => (LOGS, 0),
            ItemKind::Metric => return true,
            _ => (POINTS, self.next_index(item.metric)),
        };
        let record = WireRecord {
            view: item,
            event: None,
            index,
        };
        self.count(which, record, (item.item, attributes_field(item.kind)));
        true
    }

    fn selects_items(&self) -> bool {
        true
    }

    fn keep_metric(&mut self, metric: &ItemView<'_>) -> bool {
        let metric = *metric;
        let record = WireRecord {
            view: metric,
            event: None,
            index: 0,
        };
        self.count(METRICS, record, (metric.item, None));
        true
    }

    fn selects_metrics(&self) -> bool {
        !self.definitions.0[METRICS].is_empty()
    }

    fn keep_event(&mut self, span: &ItemView<'_>, event: &[u8]) -> bool {
        let index = self.next_index(span.item);
        let record = WireRecord {
            view: *span,
            event: Some(event),
            index,
        };
        self.count(EVENTS, record, (event, Some(EVENT_ATTRIBUTES)));
        true
    }

    fn selects_events(&self) -> bool {
        !self.definitions.0[EVENTS].is_empty()
    }
}

/// Counts `batch` (of `signal`); the metrics request of the counts, or `None` when nothing
/// was counted.
pub(super) fn count(
    definitions: &Definitions,
    signal: Signal,
    batch: &Batch,
) -> Result<Option<Vec<u8>>, ConnectorError> {
    let bytes = batch.to_bytes();
    let mut counter = Counter {
        definitions,
        groups: Vec::new(),
        text: String::new(),
        failed: None,
        parent: 0,
        index: 0,
    };
    select(signal, &bytes, &mut counter).map_err(|e| ConnectorError(e.to_string()))?;
    if let Some(failed) = counter.failed {
        return Err(ConnectorError(failed));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let resource_metrics: Vec<ResourceMetrics> = counter
        .groups
        .into_iter()
        .filter(|g| !g.counts.is_empty())
        .map(|g| {
            let attributes = Resource::decode(g.resource.as_slice())
                .map(|r| r.attributes)
                .unwrap_or_default();
            let metrics = g
                .counts
                .into_iter()
                .map(|((which, d), by_values)| {
                    let def = &definitions.0[which][d];
                    metric_of(def, by_values, now)
                })
                .collect();
            ResourceMetrics {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: SCOPE.to_string(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    if resource_metrics.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        ExportMetricsServiceRequest { resource_metrics }.encode_to_vec(),
    ))
}

fn metric_of(
    def: &Definition,
    by_values: BTreeMap<Vec<(String, String)>, i64>,
    now: u64,
) -> Metric {
    let data_points = by_values
        .into_iter()
        .map(|(values, n)| NumberDataPoint {
            attributes: values
                .into_iter()
                .map(|(key, value)| KeyValue {
                    key,
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(value)),
                    }),
                    ..Default::default()
                })
                .collect(),
            time_unix_nano: now,
            value: Some(number_data_point::Value::AsInt(n)),
            ..Default::default()
        })
        .collect();
    Metric {
        name: def.name.clone(),
        description: def.description.clone(),
        data: Some(metric::Data::Sum(Sum {
            data_points,
            aggregation_temporality: AggregationTemporality::Delta as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}
