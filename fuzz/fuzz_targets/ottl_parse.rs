//! The OTTL parser, checker and evaluator never panic on any text: every input is a statement
//! or condition compiled for each context, or a positioned error whose column lies inside the
//! text; what compiles runs on a small record of its context and gives a value or an error.
//!
//! Input: UTF-8 text, parsed as a statement and as a condition, compiled in all seven
//! contexts, and passed to context inference.

#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span::Event};
use weir_ottl::decoded::{
    DataPointCtx, LogCtx, MetricCtx, ResourceCtx, ScopeCtx, SpanCtx, SpanEventCtx,
};
use weir_ottl::{Condition, Context, Error, RecordMut, Statement};

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

fn attrs() -> Vec<KeyValue> {
    vec![
        KeyValue {
            key: "a".into(),
            value: string("b"),
            ..Default::default()
        },
        KeyValue {
            key: "n".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(3)),
            }),
            ..Default::default()
        },
    ]
}

struct Records {
    resource: Resource,
    scope: InstrumentationScope,
    span: Span,
    metric: Metric,
    log: LogRecord,
}

impl Records {
    fn new() -> Self {
        Self {
            resource: Resource {
                attributes: attrs(),
                ..Default::default()
            },
            scope: InstrumentationScope {
                name: "s".into(),
                attributes: attrs(),
                ..Default::default()
            },
            span: Span {
                name: "span".into(),
                trace_id: vec![1; 16],
                span_id: vec![2; 8],
                trace_state: "k=v".into(),
                attributes: attrs(),
                events: vec![Event {
                    name: "e".into(),
                    attributes: attrs(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            metric: Metric {
                name: "m".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint {
                        attributes: attrs(),
                        value: Some(number_data_point::Value::AsInt(1)),
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            },
            log: LogRecord {
                body: Some(AnyValue {
                    value: Some(any_value::Value::KvlistValue(KeyValueList {
                        values: attrs(),
                    })),
                }),
                attributes: attrs(),
                ..Default::default()
            },
        }
    }

    /// Runs `f` on the record of `ctx`.
    fn with(&mut self, ctx: Context, f: &mut dyn FnMut(&mut dyn RecordMut)) {
        let (r, sc) = (&mut self.resource, &mut self.scope);
        match ctx {
            Context::Resource => f(&mut ResourceCtx { resource: r }),
            Context::Scope => f(&mut ScopeCtx {
                resource: r,
                scope: sc,
            }),
            Context::Span => f(&mut SpanCtx {
                resource: r,
                scope: sc,
                span: &mut self.span,
            }),
            Context::SpanEvent => f(&mut SpanEventCtx {
                resource: r,
                scope: sc,
                span: &mut self.span,
                index: 0,
            }),
            Context::Metric => f(&mut MetricCtx {
                resource: r,
                scope: sc,
                metric: &mut self.metric,
            }),
            Context::DataPoint => f(&mut DataPointCtx {
                resource: r,
                scope: sc,
                metric: &mut self.metric,
                index: 0,
            }),
            Context::Log => f(&mut LogCtx {
                resource: r,
                scope: sc,
                log: &mut self.log,
            }),
        }
    }
}

fn check_error(text: &str, e: &Error) {
    assert!(
        e.offset <= text.len(),
        "offset {} past the end of {text:?}",
        e.offset
    );
    assert!(
        text.is_char_boundary(e.offset),
        "offset {} inside a character of {text:?}",
        e.offset
    );
    assert!(
        e.column >= 1 && e.column <= text.chars().count() + 1,
        "column {} outside {text:?}",
        e.column
    );
    let _ = e.to_string();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut records = Records::new();
    for ctx in Context::ALL {
        match Statement::compile(text, ctx) {
            Ok(statement) => records.with(ctx, &mut |rec| {
                let _ = statement.execute(rec);
            }),
            Err(e) => check_error(text, &e),
        }
        match Condition::compile(text, ctx) {
            Ok(condition) => records.with(ctx, &mut |rec| {
                let _ = condition.evaluate(&*rec);
            }),
            Err(e) => check_error(text, &e),
        }
    }
    if let Err(e) = weir_ottl::infer_context(&[text]) {
        check_error(text, &e);
    }
    if let Err(e) = weir_ottl::infer_condition_context(&[text]) {
        check_error(text, &e);
    }
});
