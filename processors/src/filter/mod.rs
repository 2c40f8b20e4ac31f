//! The `filter` processor, OTTL form: otelcol-contrib's `filter` (same type name, `error_mode`,
//! `traces.span`, `traces.spanevent`, `metrics.metric`, `metrics.datapoint`,
//! `logs.log_record`). A record matching any condition of its context is dropped; a dropped
//! span takes its events, a dropped metric its data points, and scopes, resources and metrics
//! left empty go too.
//!
//! It decides on the encoded batch: conditions read each record on the wire
//! ([`crate::wire_record`]) and the request is written again without what goes
//! ([`weir_core::batch::select`]); a batch nothing matches passes as the same bytes. Drops are
//! counted with otelcol's names: `otelcol_processor_filter_spans_filtered_total`,
//! `…_datapoints_filtered_total`, `…_logs_filtered_total`, labelled `filter` with the
//! processor id.
//!
//! Left out, and refused as unknown fields: the legacy `spans`/`metrics`/`logs` `include` and
//! `exclude` matching (otelcol deprecates it for these conditions).

mod config;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use weir_core::batch::select::{ItemKind, ItemView, Selector, select};
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, CreateSettings, ProcessError, Processor, ProcessorFactory, Stability,
};
use weir_core::telemetry;
use weir_ottl::Condition;

pub use config::{FilterConfig, LogsConditions, MetricsConditions, TracesConditions};

use crate::error_mode::{ErrorMode, ErrorPolicy};
use crate::wire_record::WireRecord;

/// Factory of the `filter` processor.
pub struct FilterFactory;

impl ProcessorFactory for FilterFactory {
    type Config = FilterConfig;
    const TYPE: &'static str = "filter";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &FilterConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        Ok(Box::new(FilterProcessor::new(
            config,
            &settings.id.to_string(),
        )?))
    }
}

/// The compiled conditions, per context.
struct Conditions {
    span: Vec<Condition>,
    spanevent: Vec<Condition>,
    metric: Vec<Condition>,
    datapoint: Vec<Condition>,
    log_record: Vec<Condition>,
}

/// One pipeline's `filter` processor.
pub struct FilterProcessor {
    conditions: Conditions,
    policy: ErrorPolicy,
    /// Dropped items per signal, as otelcol counts them.
    filtered: [Arc<AtomicU64>; 3],
}

impl FilterProcessor {
    /// A processor for `config` (a validated config), counting as `id`.
    pub fn new(config: &FilterConfig, id: &str) -> Result<Self, BuildError> {
        let mut problems = Vec::new();
        let [span, spanevent, metric, datapoint, log_record] = config
            .lists()
            .map(|(at, context, list)| Condition::compile_list(at, context, list, &mut problems));
        if !problems.is_empty() {
            return Err(BuildError(problems.join("; ")));
        }
        let counter = |name, help| telemetry::counter(name, help, &[("filter", id)]);
        Ok(FilterProcessor {
            conditions: Conditions {
                span,
                spanevent,
                metric,
                datapoint,
                log_record,
            },
            policy: ErrorPolicy::new(config.error_mode, id),
            filtered: [
                counter(
                    "otelcol_processor_filter_spans_filtered_total",
                    "Spans dropped by the filter processor.",
                ),
                counter(
                    "otelcol_processor_filter_datapoints_filtered_total",
                    "Metric data points dropped by the filter processor.",
                ),
                counter(
                    "otelcol_processor_filter_logs_filtered_total",
                    "Log records dropped by the filter processor.",
                ),
            ],
        })
    }

    /// The batch without what matches: the same batch when nothing does, `None` when
    /// everything does.
    pub fn apply(&mut self, batch: Batch) -> Result<Option<Batch>, ProcessError> {
        let signal = batch.signal();
        let c = &self.conditions;
        let any = match signal {
            Signal::Traces => !c.span.is_empty() || !c.spanevent.is_empty(),
            Signal::Metrics => !c.metric.is_empty() || !c.datapoint.is_empty(),
            Signal::Logs => !c.log_record.is_empty(),
        };
        if !any {
            return Ok(Some(batch));
        }
        let bytes = batch.to_bytes();
        let mut run = Run {
            conditions: c,
            signal,
            policy: &mut self.policy,
            failure: None,
            parent: std::ptr::null(),
            index: 0,
        };
        let selected = select(signal, &bytes, &mut run).map_err(|e| ProcessError(e.to_string()))?;
        if let Some(failure) = run.failure {
            return Err(ProcessError(failure));
        }
        let counter = match signal {
            Signal::Traces => &self.filtered[0],
            Signal::Metrics => &self.filtered[1],
            Signal::Logs => &self.filtered[2],
        };
        counter.fetch_add(selected.dropped_items as u64, Ordering::Relaxed);
        let items = batch.items().saturating_sub(selected.dropped_items);
        if items == 0 && selected.request.as_ref().is_some_and(Vec::is_empty) {
            return Ok(None);
        }
        Ok(Some(batch.rewritten(selected.request, items)))
    }
}

/// One batch's selection: evaluates the conditions on each record, applying the error mode.
struct Run<'c, 'p> {
    conditions: &'c Conditions,
    signal: Signal,
    policy: &'p mut ErrorPolicy,
    /// The first failure, under `propagate`.
    failure: Option<String>,
    /// The span or metric whose events or points are being counted, and the next one's index.
    parent: *const u8,
    index: usize,
}

impl Run<'_, '_> {
    /// Whether any of `conditions` holds for `record`.
    fn matches(&mut self, conditions: &[Condition], record: &WireRecord<'_>) -> bool {
        for condition in conditions {
            match condition.evaluate(record) {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => {
                    self.policy.failed(condition.text(), &e);
                    if self.policy.mode() == ErrorMode::Propagate && self.failure.is_none() {
                        self.failure = Some(format!(
                            "filter condition `{}` failed: {e} (error_mode: propagate)",
                            condition.text()
                        ));
                    }
                }
            }
        }
        false
    }

    /// The index of the next event or point of `parent` (counted from 0 per parent).
    fn next_index(&mut self, parent: &[u8]) -> usize {
        if !std::ptr::eq(self.parent, parent.as_ptr()) {
            self.parent = parent.as_ptr();
            self.index = 0;
        }
        self.index += 1;
        self.index - 1
    }
}

impl Selector for Run<'_, '_> {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        let conditions = self.conditions;
        let (list, index) = match item.kind {
            ItemKind::Span => (&conditions.span, 0),
            ItemKind::Log => (&conditions.log_record, 0),
            ItemKind::Metric => return true,
            _ => (&conditions.datapoint, self.next_index(item.metric)),
        };
        let record = WireRecord {
            view: *item,
            event: None,
            index,
        };
        !self.matches(list, &record)
    }

    fn selects_items(&self) -> bool {
        let c = self.conditions;
        match self.signal {
            Signal::Traces => !c.span.is_empty(),
            Signal::Metrics => !c.datapoint.is_empty(),
            Signal::Logs => !c.log_record.is_empty(),
        }
    }

    fn keep_metric(&mut self, metric: &ItemView<'_>) -> bool {
        let record = WireRecord {
            view: *metric,
            event: None,
            index: 0,
        };
        !self.matches(&self.conditions.metric, &record)
    }

    fn selects_metrics(&self) -> bool {
        !self.conditions.metric.is_empty()
    }

    fn keep_event(&mut self, span: &ItemView<'_>, event: &[u8]) -> bool {
        let record = WireRecord {
            view: *span,
            event: Some(event),
            index: self.next_index(span.item),
        };
        !self.matches(&self.conditions.spanevent, &record)
    }

    fn selects_events(&self) -> bool {
        !self.conditions.spanevent.is_empty()
    }
}

#[async_trait]
impl Processor for FilterProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        if let Some(batch) = self.apply(batch)? {
            out.push(batch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
