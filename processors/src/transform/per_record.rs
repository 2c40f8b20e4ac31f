//! Transforming only the records the statements apply to, on the encoded batch.
//!
//! When every group of a signal runs in the span or the log context and no statement writes
//! the resource or scope, each record can be handled on its own: its statements' `where`
//! clauses (and its groups' conditions) are evaluated on the wire, and a record for which
//! none holds is copied as it is; only the others are decoded, run and encoded again
//! ([`weir_core::batch::select`] writes them in place). That is exact: if no `where` holds on
//! the record as it arrived, the first statement does not run, so the record is still as it
//! arrived for the second, and so on. A `where` that fails on the wire sends the record to
//! the decoded run, which applies the error mode as usual. A record whose statements only set
//! attributes by a constant key is not even decoded ([`super::wire_set`]).

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use weir_core::batch::Signal;
use weir_core::batch::select::{ItemKind, ItemView, Selector};
use weir_ottl::Context;
use weir_ottl::decoded::{LogCtx, SpanCtx};

use super::run::{Refused, Runner};
use super::wire_set::WireItemMut;
use crate::wire_record::WireRecord;

/// Whether `runners` (the groups of one signal) can run record by record.
pub(crate) fn possible(signal: Signal, runners: &[Runner]) -> bool {
    let item = match signal {
        Signal::Traces => Context::Span,
        Signal::Logs => Context::Log,
        Signal::Metrics => return false,
    };
    !runners.is_empty()
        && runners.iter().all(|r| {
            r.group.context == item
                && r.group
                    .statements
                    .iter()
                    .all(|s| s.writes().all(|field| field.context() == item))
        })
}

/// The selector that rewrites the records the statements apply to.
pub(crate) struct PerRecord<'r> {
    pub(crate) runners: &'r mut [Runner],
    /// The first failure under `propagate`.
    pub(crate) refused: Option<String>,
    /// The resource and scope last decoded, by the bytes they came from: the records of one
    /// scope share them, and no statement here writes them (see [`possible`]).
    pub(crate) around: Option<Around>,
}

/// A decoded resource and scope and where their bytes were.
pub(crate) struct Around {
    resource_at: (usize, usize),
    scope_at: (usize, usize),
    resource: Resource,
    scope: InstrumentationScope,
}

fn at(bytes: &[u8]) -> (usize, usize) {
    (bytes.as_ptr() as usize, bytes.len())
}

impl PerRecord<'_> {
    /// Whether any statement would run on the record as it arrived (or cannot tell).
    fn applies(&self, record: &WireRecord<'_>) -> bool {
        self.runners.iter().any(|runner| {
            let group = &runner.group;
            let selected = group.conditions.is_empty()
                || group
                    .conditions
                    .iter()
                    .any(|c| c.evaluate(record).unwrap_or(true));
            selected
                && group
                    .statements
                    .iter()
                    .any(|s| s.applies(record).unwrap_or(true))
        })
    }

    fn run(&mut self, view: &ItemView<'_>) -> Result<Option<Vec<u8>>, Refused> {
        let fresh = self
            .around
            .as_ref()
            .is_none_or(|a| a.resource_at != at(view.resource) || a.scope_at != at(view.scope));
        if fresh {
            self.around = Some(Around {
                resource_at: at(view.resource),
                scope_at: at(view.scope),
                resource: Resource::decode(view.resource).unwrap_or_default(),
                scope: InstrumentationScope::decode(view.scope).unwrap_or_default(),
            });
        }
        let Some(around) = self.around.as_mut() else {
            return Ok(None);
        };
        let (resource, scope) = (&mut around.resource, &mut around.scope);
        Ok(match view.kind {
            ItemKind::Span => {
                let Ok(mut span) = Span::decode(view.item) else {
                    return Ok(None);
                };
                for runner in self.runners.iter_mut() {
                    runner.record(&mut SpanCtx {
                        resource,
                        scope,
                        span: &mut span,
                    })?;
                }
                Some(span.encode_to_vec())
            }
            ItemKind::Log => {
                let Ok(mut log) = LogRecord::decode(view.item) else {
                    return Ok(None);
                };
                for runner in self.runners.iter_mut() {
                    runner.record(&mut LogCtx {
                        resource,
                        scope,
                        log: &mut log,
                    })?;
                }
                Some(log.encode_to_vec())
            }
            _ => None,
        })
    }
}

impl Selector for PerRecord<'_> {
    fn keep(&mut self, _: &ItemView<'_>) -> bool {
        true
    }

    fn selects_items(&self) -> bool {
        false
    }

    fn replace(&mut self, item: &ItemView<'_>) -> Option<Vec<u8>> {
        if self.refused.is_some() {
            return None;
        }
        let record = WireRecord {
            view: *item,
            event: None,
            index: 0,
        };
        if !self.applies(&record) {
            return None;
        }
        if let Some(mut wire) = WireItemMut::new(record) {
            let failures: Vec<_> = self.runners.iter().map(|r| r.attempt(&mut wire)).collect();
            if wire.supported() {
                for (runner, failures) in self.runners.iter_mut().zip(failures) {
                    if let Err(Refused(why)) = runner.report(failures) {
                        self.refused = Some(why);
                        return None;
                    }
                }
                return wire.encode();
            }
        }
        match self.run(item) {
            Ok(bytes) => bytes,
            Err(Refused(why)) => {
                self.refused = Some(why);
                None
            }
        }
    }

    fn replaces_items(&self) -> bool {
        true
    }
}
