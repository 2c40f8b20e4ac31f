//! The policies on real encoded traces: requests built with the OTLP types, encoded, cut into
//! held pieces as the processor holds them, and decided.

mod attribute;
mod composite;
mod ottl;
mod probabilistic;
mod properties;
mod rate;
mod regex;
mod span;
mod validate;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::json;
use tokio::time::Instant;

use super::{PolicyConfig, build};
use crate::tail_sampling::held::{TraceId, cut};
use crate::tail_sampling::trace::{Decision, Evaluate, Trace, TraceView};

/// The trace id every test span has unless it sets one.
pub(super) const ID: TraceId = [7; 16];

pub(super) fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

pub(super) fn s(text: &str) -> Value {
    Value::StringValue(text.to_string())
}

pub(super) fn i(n: i64) -> Value {
    Value::IntValue(n)
}

pub(super) fn b(v: bool) -> Value {
    Value::BoolValue(v)
}

/// A span of trace [`ID`].
pub(super) fn span(name: &str) -> Span {
    Span {
        trace_id: ID.to_vec(),
        span_id: vec![1; 8],
        name: name.to_string(),
        ..Default::default()
    }
}

pub(super) fn with_attributes(mut span: Span, attributes: Vec<KeyValue>) -> Span {
    span.attributes = attributes;
    span
}

pub(super) fn with_status(mut span: Span, code: i32) -> Span {
    span.status = Some(Status {
        message: String::new(),
        code,
    });
    span
}

pub(super) fn timed(mut span: Span, start: u64, end: u64) -> Span {
    span.start_time_unix_nano = start;
    span.end_time_unix_nano = end;
    span
}

/// One resource with its attributes and spans (under one scope).
pub(super) struct Res(pub Vec<KeyValue>, pub Vec<Span>);

/// A request holding the resources.
pub(super) fn request(resources: Vec<Res>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|Res(attributes, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "scope".to_string(),
                        version: "1.0".to_string(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// The trace [`ID`] as held after these requests arrived (other traces' spans left out).
pub(super) fn held(requests: &[ExportTraceServiceRequest]) -> Trace {
    let mut trace = Trace::new(Instant::now());
    for request in requests {
        for (id, piece) in cut(&request.encode_to_vec().into()).expect("cuts") {
            if id == ID {
                trace.push(piece);
            }
        }
    }
    trace
}

/// The trace of one span given as its encoded bytes (which prost would not write: repeated
/// fields that merge).
pub(super) fn held_raw(span: &[u8]) -> Trace {
    fn delimited(number: u32, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(content.len() as u64, &mut out);
        out.extend_from_slice(content);
        out
    }
    let request = delimited(1, &delimited(2, &delimited(2, span)));
    let mut trace = Trace::new(Instant::now());
    for (_, piece) in cut(&request.into()).expect("cuts") {
        trace.push(piece);
    }
    trace
}

/// The trace of one request.
pub(super) fn trace(resources: Vec<Res>) -> Trace {
    held(&[request(resources)])
}

/// The trace of spans under one resource without attributes.
pub(super) fn spans(spans: Vec<Span>) -> Trace {
    trace(vec![Res(vec![], spans)])
}

pub(super) fn view(trace: &Trace) -> TraceView<'_> {
    TraceView { id: &ID, trace }
}

/// Parses one policy (JSON as the YAML config would hold it) and builds it.
pub(super) fn policy(config: serde_json::Value) -> Box<dyn Evaluate> {
    let config: PolicyConfig = serde_json::from_value(config).expect("parses");
    let mut built = build(&[config], "tail_sampling").expect("builds");
    built.remove(0).evaluator
}

/// `policy` of `type` with `block` as its block.
pub(super) fn of(kind: &str, block: serde_json::Value) -> Box<dyn Evaluate> {
    policy(json!({"name": "p", "type": kind, kind: block}))
}

pub(super) fn decide(policy: &mut dyn Evaluate, trace: &Trace) -> Decision {
    policy
        .evaluate(&view(trace), Instant::now())
        .expect("decides")
}

/// A policy that always decides the same.
pub(super) struct Fixed(pub Decision);

impl Evaluate for Fixed {
    fn evaluate(&mut self, _: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Ok(self.0)
    }
}

/// A policy that always fails.
pub(super) struct Failing;

impl Evaluate for Failing {
    fn evaluate(&mut self, _: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Err("broken".to_string())
    }
}
