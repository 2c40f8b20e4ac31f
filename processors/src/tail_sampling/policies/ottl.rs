//! `ottl_condition`: spans in arrival order; each span's conditions, then each of its events'
//! conditions; the first that holds samples the trace. Conditions read the held bytes through
//! [`WireRecord`], as the `filter` processor's do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use weir_core::telemetry;
use weir_ottl::Condition;

use super::wire::{SPAN_EVENTS, repeated};
use crate::error_mode::ErrorMode;
use crate::tail_sampling::trace::{Decision, Evaluate, TraceView};
use crate::wire_record::WireRecord;

/// How often `ignore` logs a failing condition.
const LOG_EVERY: Duration = Duration::from_secs(10);

pub(super) struct Ottl {
    name: String,
    span: Vec<Condition>,
    spanevent: Vec<Condition>,
    mode: ErrorMode,
    last_logged: Option<Instant>,
    unlogged: u64,
    /// `weir_processor_ottl_errors_total{processor}`, as the `filter` processor counts.
    errors: Arc<AtomicU64>,
}

impl Ottl {
    /// `name` labels the log lines of `ignore`; `processor` the failures counted.
    pub(super) fn new(
        name: &str,
        span: Vec<Condition>,
        spanevent: Vec<Condition>,
        mode: ErrorMode,
        processor: &str,
    ) -> Ottl {
        Ottl {
            name: name.to_string(),
            span,
            spanevent,
            mode,
            last_logged: None,
            unlogged: 0,
            errors: telemetry::counter(
                "weir_processor_ottl_errors_total",
                "OTTL conditions and statements that failed on a record at run time.",
                &[("processor", processor)],
            ),
        }
    }

    /// Whether any of `conditions` holds for `record`, as otelcol's condition sequence: a
    /// failure stops the policy under `propagate`, else counts as false.
    fn any(&mut self, events: bool, record: &WireRecord<'_>, now: Instant) -> Result<bool, String> {
        let conditions = if events { &self.spanevent } else { &self.span };
        let mut failed = None;
        let mut hit = false;
        for condition in conditions {
            match condition.evaluate(record) {
                Ok(true) => {
                    hit = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    if self.mode == ErrorMode::Propagate {
                        return Err(format!(
                            "OTTL condition `{}` failed: {e} (error_mode: propagate)",
                            condition.text()
                        ));
                    }
                    failed.get_or_insert((condition.text().to_string(), e.to_string()));
                }
            }
        }
        if let Some((text, error)) = failed {
            self.failed(&text, &error, now);
        }
        Ok(hit)
    }

    fn failed(&mut self, text: &str, error: &str, now: Instant) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if self.mode != ErrorMode::Ignore {
            return;
        }
        if self
            .last_logged
            .is_some_and(|at| now.saturating_duration_since(at) < LOG_EVERY)
        {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(
            policy = %self.name,
            condition = text,
            error = error,
            since_last_logged = self.unlogged,
            "OTTL condition failed on a span; it counts as false (error_mode: ignore)"
        );
        self.last_logged = Some(now);
        self.unlogged = 0;
    }
}

impl Evaluate for Ottl {
    fn evaluate(&mut self, trace: &TraceView<'_>, now: Instant) -> Result<Decision, String> {
        for view in trace.spans() {
            let span = WireRecord {
                view,
                event: None,
                index: 0,
            };
            if !self.span.is_empty() && self.any(false, &span, now)? {
                return Ok(Decision::Sampled);
            }
            if self.spanevent.is_empty() {
                continue;
            }
            for (index, event) in repeated(view.item, SPAN_EVENTS).enumerate() {
                let record = WireRecord {
                    view,
                    event: Some(event),
                    index,
                };
                if self.any(true, &record, now)? {
                    return Ok(Decision::Sampled);
                }
            }
        }
        Ok(Decision::NotSampled)
    }
}
