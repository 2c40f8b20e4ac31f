//! Running compiled groups over a decoded request: each group in order, over every record of
//! its context, its statements in order per record (otelcol's transform semantics).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use weir_ottl::decoded::{
    DataPointCtx, LogCtx, MetricCtx, ResourceCtx, ScopeCtx, SpanCtx, SpanEventCtx,
};
use weir_ottl::{Context, RecordMut};

use super::config::Group;
use crate::error_mode::{ErrorMode, ErrorPolicy};

/// One group with its error policy.
pub(crate) struct Runner {
    pub(crate) group: Group,
    pub(crate) policy: ErrorPolicy,
}

/// Stops the run: the first failure under `propagate`.
pub(crate) struct Refused(pub(crate) String);

/// A condition or statement that failed on a record: its text, what it said, and whether it
/// was a condition.
pub(crate) struct Failure {
    text: String,
    error: weir_ottl::EvalError,
    condition: bool,
}

impl Runner {
    /// The group on one record, failures reported as the error mode says.
    pub(crate) fn record<R: RecordMut>(&mut self, record: &mut R) -> Result<(), Refused> {
        let failures = self.attempt(record);
        self.report(failures)
    }

    /// The group on one record, failures collected, not reported (under `propagate` it stops
    /// at the first): a caller that may throw the attempt away reports them only if it keeps it.
    pub(crate) fn attempt<R: RecordMut>(&self, record: &mut R) -> Vec<Failure> {
        let propagate = self.policy.mode() == ErrorMode::Propagate;
        let mut failures = Vec::new();
        if !self.group.conditions.is_empty() {
            let mut any = false;
            for condition in &self.group.conditions {
                match condition.evaluate(&*record) {
                    Ok(true) => {
                        any = true;
                        break;
                    }
                    Ok(false) => {}
                    Err(error) => {
                        failures.push(Failure {
                            text: condition.text().to_string(),
                            error,
                            condition: true,
                        });
                        if propagate {
                            return failures;
                        }
                    }
                }
            }
            if !any {
                return failures;
            }
        }
        for statement in &self.group.statements {
            if let Err(error) = statement.execute(record) {
                failures.push(Failure {
                    text: statement.text().to_string(),
                    error,
                    condition: false,
                });
                if propagate {
                    return failures;
                }
            }
        }
        failures
    }

    /// Counts and logs `failures`; under `propagate` the first refuses the batch.
    pub(crate) fn report(&mut self, failures: Vec<Failure>) -> Result<(), Refused> {
        for failure in failures {
            self.policy.failed(&failure.text, &failure.error);
            if self.policy.mode() == ErrorMode::Propagate {
                let what = if failure.condition {
                    "condition"
                } else {
                    "statement"
                };
                return Err(Refused(format!(
                    "transform {what} `{}` failed: {} (error_mode: propagate)",
                    failure.text, failure.error
                )));
            }
        }
        Ok(())
    }
}

/// Runs `f` on the value of `slot`, an absent one as its default; writes it back unless it
/// was absent and is still the default (so an untouched absent resource stays absent).
fn with_default<T: Default + PartialEq, R>(slot: &mut Option<T>, f: impl FnOnce(&mut T) -> R) -> R {
    let was_some = slot.is_some();
    let mut value = slot.take().unwrap_or_default();
    let out = f(&mut value);
    if was_some || value != T::default() {
        *slot = Some(value);
    }
    out
}

fn points(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// The group over one resource and its scopes: the resource and scope contexts here, the
/// records of each scope (`split` takes them out beside its scope) handed to `item`.
fn over<S, T>(
    run: &mut Runner,
    resource: &mut Option<Resource>,
    scopes: &mut [S],
    split: fn(&mut S) -> (&mut Option<InstrumentationScope>, &mut Vec<T>),
    mut item: impl FnMut(
        &mut Runner,
        &mut Resource,
        &mut InstrumentationScope,
        &mut T,
    ) -> Result<(), Refused>,
) -> Result<(), Refused> {
    let context = run.group.context;
    with_default(resource, |resource| {
        if context == Context::Resource {
            return run.record(&mut ResourceCtx { resource });
        }
        for s in scopes.iter_mut() {
            let (scope, items) = split(s);
            with_default(scope, |scope| {
                if context == Context::Scope {
                    return run.record(&mut ScopeCtx { resource, scope });
                }
                for t in items.iter_mut() {
                    item(run, resource, scope, t)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// A group over traces.
pub(crate) fn traces(
    run: &mut Runner,
    request: &mut ExportTraceServiceRequest,
) -> Result<(), Refused> {
    for rs in &mut request.resource_spans {
        over(
            run,
            &mut rs.resource,
            &mut rs.scope_spans,
            |ss| (&mut ss.scope, &mut ss.spans),
            |run, resource, scope, span| {
                if run.group.context == Context::Span {
                    return run.record(&mut SpanCtx {
                        resource,
                        scope,
                        span,
                    });
                }
                for index in 0..span.events.len() {
                    run.record(&mut SpanEventCtx {
                        resource,
                        scope,
                        span,
                        index,
                    })?;
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// A group over metrics.
pub(crate) fn metrics(
    run: &mut Runner,
    request: &mut ExportMetricsServiceRequest,
) -> Result<(), Refused> {
    for rm in &mut request.resource_metrics {
        over(
            run,
            &mut rm.resource,
            &mut rm.scope_metrics,
            |sm| (&mut sm.scope, &mut sm.metrics),
            |run, resource, scope, metric| {
                if run.group.context == Context::Metric {
                    return run.record(&mut MetricCtx {
                        resource,
                        scope,
                        metric,
                    });
                }
                for index in 0..points(metric) {
                    run.record(&mut DataPointCtx {
                        resource,
                        scope,
                        metric,
                        index,
                    })?;
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// A group over logs.
pub(crate) fn logs(
    run: &mut Runner,
    request: &mut ExportLogsServiceRequest,
) -> Result<(), Refused> {
    for rl in &mut request.resource_logs {
        over(
            run,
            &mut rl.resource,
            &mut rl.scope_logs,
            |sl| (&mut sl.scope, &mut sl.log_records),
            |run, resource, scope, log| {
                run.record(&mut LogCtx {
                    resource,
                    scope,
                    log,
                })
            },
        )?;
    }
    Ok(())
}
