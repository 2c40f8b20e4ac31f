//! The processor on encoded requests, decoded again to check the result: each option, each
//! summary level, each signal and attribute level, values that are not strings, and otelcol's
//! own examples (masking in place, `.*` on several lines, empty matches). Plus: a batch nothing
//! matches passes as the very same bytes, bad bytes are errors, and config errors name the
//! field.

use bytes::Bytes;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary as SummaryMetric,
    SummaryDataPoint, metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::json;
use weir_core::batch::{BatchMeta, Request};
use weir_core::component::ComponentConfig;

use super::*;

// ---- building and running --------------------------------------------------------------------

fn config(value: serde_json::Value) -> RedactionConfig {
    let config: RedactionConfig = serde_json::from_value(value).expect("config parses");
    config.validate().expect("config is valid");
    config
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn s(text: &str) -> Value {
    Value::StringValue(text.to_string())
}

fn get<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn keys(attributes: &[KeyValue]) -> Vec<&str> {
    attributes.iter().map(|kv| kv.key.as_str()).collect()
}

/// A request of one resource, one scope and one span, each with `attributes`; the span also
/// has an event with them.
fn traces(attributes: Vec<KeyValue>) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: attributes.clone(),
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".to_string(),
                    attributes: attributes.clone(),
                    ..Default::default()
                }),
                spans: vec![Span {
                    name: "op".to_string(),
                    attributes: attributes.clone(),
                    events: vec![Event {
                        name: "e".to_string(),
                        attributes,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn logs(attributes: Vec<KeyValue>, body: Value) -> Request {
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: attributes.clone(),
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    attributes: attributes.clone(),
                    ..Default::default()
                }),
                log_records: vec![LogRecord {
                    body: Some(AnyValue { value: Some(body) }),
                    attributes,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// One metric of each of the five kinds, one data point each, all with `attributes`.
fn metrics(attributes: Vec<KeyValue>) -> Request {
    let a = || attributes.clone();
    let metric = |name: &str, data| Metric {
        name: name.to_string(),
        data: Some(data),
        ..Default::default()
    };
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: a(),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    attributes: a(),
                    ..Default::default()
                }),
                metrics: vec![
                    metric(
                        "gauge",
                        metric::Data::Gauge(Gauge {
                            data_points: vec![NumberDataPoint {
                                attributes: a(),
                                ..Default::default()
                            }],
                        }),
                    ),
                    metric(
                        "sum",
                        metric::Data::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                attributes: a(),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                    ),
                    metric(
                        "histogram",
                        metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                attributes: a(),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                    ),
                    metric(
                        "exponential",
                        metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![ExponentialHistogramDataPoint {
                                attributes: a(),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                    ),
                    metric(
                        "summary",
                        metric::Data::Summary(SummaryMetric {
                            data_points: vec![SummaryDataPoint {
                                attributes: a(),
                                ..Default::default()
                            }],
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn batch(request: &Request) -> Batch {
    Batch::from_encoded(
        request.signal(),
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request")
}

fn run(config: &RedactionConfig, request: &Request) -> Request {
    let mut processor = RedactionProcessor::new(config).expect("builds");
    let out = processor.apply(batch(request)).expect("processes");
    assert_eq!(out.items(), request.item_count());
    assert_eq!(
        out.held_bytes(),
        out.byte_size(),
        "held bytes follow the size"
    );
    Request::decode(request.signal(), &out.to_bytes()).expect("output decodes")
}

/// Every attribute list the processor redacts: resource, scope and item ones.
fn redacted_lists(request: &Request) -> Vec<&[KeyValue]> {
    let mut lists: Vec<&[KeyValue]> = Vec::new();
    match request {
        Request::Traces(r) => {
            for rs in &r.resource_spans {
                lists.push(&rs.resource.as_ref().unwrap().attributes);
                for ss in &rs.scope_spans {
                    lists.push(&ss.scope.as_ref().unwrap().attributes);
                    lists.extend(ss.spans.iter().map(|s| s.attributes.as_slice()));
                }
            }
        }
        Request::Logs(r) => {
            for rl in &r.resource_logs {
                lists.push(&rl.resource.as_ref().unwrap().attributes);
                for sl in &rl.scope_logs {
                    lists.push(&sl.scope.as_ref().unwrap().attributes);
                    lists.extend(sl.log_records.iter().map(|l| l.attributes.as_slice()));
                }
            }
        }
        Request::Metrics(r) => {
            for rm in &r.resource_metrics {
                lists.push(&rm.resource.as_ref().unwrap().attributes);
                for sm in &rm.scope_metrics {
                    lists.push(&sm.scope.as_ref().unwrap().attributes);
                    for m in &sm.metrics {
                        match m.data.as_ref().unwrap() {
                            metric::Data::Gauge(g) => lists.push(&g.data_points[0].attributes),
                            metric::Data::Sum(g) => lists.push(&g.data_points[0].attributes),
                            metric::Data::Histogram(g) => lists.push(&g.data_points[0].attributes),
                            metric::Data::ExponentialHistogram(g) => {
                                lists.push(&g.data_points[0].attributes)
                            }
                            metric::Data::Summary(g) => lists.push(&g.data_points[0].attributes),
                        }
                    }
                }
            }
        }
    }
    lists
}

/// Runs `config` on `attributes` in every signal and returns each redacted list.
fn run_everywhere(config: &RedactionConfig, attributes: Vec<KeyValue>) -> Vec<Vec<KeyValue>> {
    let requests = [
        traces(attributes.clone()),
        logs(attributes.clone(), s("body")),
        metrics(attributes),
    ];
    let mut all = Vec::new();
    for request in &requests {
        let out = run(config, request);
        let lists = redacted_lists(&out);
        // resource, scope and at least one item
        assert!(lists.len() >= 3);
        all.extend(lists.into_iter().map(<[KeyValue]>::to_vec));
    }
    assert_eq!(all.len(), 3 + 3 + 7);
    all
}

// ---- keys: allowed, ignored, deleted -----------------------------------------------------------

#[test]
fn keys_not_allowed_are_deleted_in_every_list_of_every_signal() {
    let config = config(json!({
        "allowed_keys": ["group", "id", "name"],
        "ignored_keys": ["safe_attribute"],
    }));
    for list in run_everywhere(
        &config,
        vec![
            kv("group", s("temporary")),
            kv("id", Value::IntValue(5)),
            kv("credit_card", s("4111111111111111")),
            kv("name", s("placeholder")),
            kv("safe_attribute", s("4111111111111112")),
        ],
    ) {
        assert_eq!(keys(&list), ["group", "id", "name", "safe_attribute"]);
        assert_eq!(get(&list, "id"), Some(&Value::IntValue(5)));
        assert_eq!(get(&list, "safe_attribute"), Some(&s("4111111111111112")));
    }
}

#[test]
fn an_empty_allowed_list_deletes_every_attribute() {
    let config = config(json!({}));
    for list in run_everywhere(
        &config,
        vec![kv("service.name", s("shop")), kv("a", s("b"))],
    ) {
        assert!(list.is_empty(), "{list:?}");
    }
}

#[test]
fn allow_all_keys_keeps_every_key_and_still_masks_values() {
    let config = config(json!({
        "allow_all_keys": true,
        "allowed_keys": ["group"],
        "blocked_values": ["4[0-9]{12}(?:[0-9]{3})?"],
    }));
    for list in run_everywhere(
        &config,
        vec![
            kv("group", s("temporary")),
            kv("name", s("placeholder")),
            kv("credit_card", s("placeholder 4111111111111111")),
        ],
    ) {
        assert_eq!(keys(&list), ["group", "name", "credit_card"]);
        assert_eq!(get(&list, "credit_card"), Some(&s("placeholder ****")));
    }
}

#[test]
fn ignored_keys_and_key_patterns_pass_untouched_and_are_only_counted() {
    let config = config(json!({
        "allowed_keys": ["name"],
        "ignored_keys": ["safe_attribute"],
        "ignored_key_patterns": ["^safeRE_"],
        "blocked_values": ["4[0-9]{15}"],
        "blocked_key_patterns": ["safe"],
        "summary": "debug",
    }));
    let out = run(
        &config,
        &traces(vec![
            kv("safe_attribute", s("harmless 4111111111111112")),
            kv("safeRE_attribute_id", s("4111111111111113")),
            kv("name", s("4111111111111111")),
        ]),
    );
    let span = &redacted_lists(&out)[2];
    assert_eq!(
        get(span, "safe_attribute"),
        Some(&s("harmless 4111111111111112"))
    );
    assert_eq!(
        get(span, "safeRE_attribute_id"),
        Some(&s("4111111111111113"))
    );
    assert_eq!(get(span, "name"), Some(&s("****")));
    assert_eq!(
        get(span, "redaction.ignored.count"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(get(span, "redaction.masked.keys"), Some(&s("name")));
    assert_eq!(
        get(span, "redaction.redacted.count"),
        None,
        "nothing deleted"
    );
}

// ---- values: blocked, allowed, blocked keys, hashes ----------------------------------------------

#[test]
fn blocked_values_mask_every_match_in_place_in_order() {
    let config = config(json!({
        "allow_all_keys": true,
        // Each pattern sees what the ones before it left: the third finds no `****-5` any more.
        "blocked_values": ["4[0-9]{3}", "5[1-5][0-9]{2}", "\\*\\*\\*\\*-5"],
    }));
    let out = run(
        &config,
        &traces(vec![
            kv("notes", s("cards 4111-5212 and 4999, nothing else")),
            kv("clean", s("no numbers here")),
        ]),
    );
    for list in redacted_lists(&out) {
        assert_eq!(
            get(list, "notes"),
            Some(&s("cards ****-**** and ****, nothing else"))
        );
        assert_eq!(get(list, "clean"), Some(&s("no numbers here")));
    }
}

#[test]
fn masking_follows_gos_rule_for_empty_matches() {
    // Go's ReplaceAllStringFunc: an empty match right after a match is not a match.
    let config = config(json!({ "allow_all_keys": true, "blocked_values": ["a*"] }));
    let out = run(&config, &traces(vec![kv("v", s("baaac"))]));
    assert_eq!(
        get(redacted_lists(&out)[2], "v"),
        Some(&s("****b****c****"))
    );
}

#[test]
fn blocked_key_patterns_mask_the_whole_value_line_by_line_as_otelcol() {
    let config = config(json!({
        "allowed_keys": ["api_key_some", "token", "note"],
        "blocked_key_patterns": [".*(token|api_key).*"],
    }));
    let out = run(
        &config,
        &logs(
            vec![
                kv("api_key_some", s("apinize")),
                // otelcol masks with `.*`, which stops at line ends.
                kv("token", s("line one\nline two")),
                kv("note", s("kept")),
            ],
            s("body"),
        ),
    );
    for list in redacted_lists(&out) {
        assert_eq!(get(list, "api_key_some"), Some(&s("****")));
        assert_eq!(get(list, "token"), Some(&s("****\n****")));
        assert_eq!(get(list, "note"), Some(&s("kept")));
    }
}

#[test]
fn allowed_values_win_over_blocked_values_and_blocked_keys() {
    let config = config(json!({
        "allow_all_keys": true,
        "blocked_values": ["mycompany\\.com"],
        "blocked_key_patterns": ["^secret"],
        "allowed_values": ["^support\\.mycompany\\.com$", ".+@mycompany\\.com"],
        "summary": "debug",
    }));
    let out = run(
        &config,
        &metrics(vec![
            kv("host", s("support.mycompany.com")),
            kv("other", s("www.mycompany.com")),
            kv("secret_mail", s("user@mycompany.com")),
        ]),
    );
    for list in redacted_lists(&out) {
        assert_eq!(get(list, "host"), Some(&s("support.mycompany.com")));
        assert_eq!(get(list, "other"), Some(&s("www.****")));
        assert_eq!(get(list, "secret_mail"), Some(&s("user@mycompany.com")));
        assert_eq!(
            get(list, "redaction.allowed.keys"),
            Some(&s("host,secret_mail"))
        );
        assert_eq!(
            get(list, "redaction.allowed.count"),
            Some(&Value::IntValue(2))
        );
        assert_eq!(get(list, "redaction.masked.keys"), Some(&s("other")));
    }
}

#[test]
fn every_hash_function_replaces_each_match_by_its_hex_digest() {
    let card = "4111111111111111";
    // Digests from Python's hashlib and hmac.
    let cases = [
        ("md5", None, "5910f4ea0062a0e29afd3dccc741e3ce"),
        ("sha1", None, "68bfb396f35af3876fc509665b3dc23a0930aab1"),
        (
            "sha3",
            None,
            "6099154214406cce6105a4688ab66533d3a55d1d7dd393cbccf22b487a22d922",
        ),
        (
            "hmac-sha256",
            Some("k3y"),
            "1647d69235eb3301dedcda5b17f2338d3f9d41f01727423d9d68ca9926112360",
        ),
        (
            "hmac-sha512",
            Some("k3y"),
            "7332345e87646e854f28fabfe0f603e6339124838f525404c898b182160def53\
             b6539b442c5dc168819128f264ceb7910a507b55d43590ec401f531710682294",
        ),
    ];
    for (function, key, digest) in cases {
        let mut value = json!({
            "allow_all_keys": true,
            "blocked_values": ["4[0-9]{15}"],
            "blocked_key_patterns": ["^card$"],
            "hash_function": function,
        });
        if let Some(key) = key {
            value["hmac_key"] = json!(key);
        }
        let out = run(
            &config(value),
            &traces(vec![
                kv("notes", s(&format!("paid with {card}, twice: {card}"))),
                kv("card", s(card)),
            ]),
        );
        let span = redacted_lists(&out)[2];
        assert_eq!(
            get(span, "notes"),
            Some(&s(&format!("paid with {digest}, twice: {digest}"))),
            "{function}"
        );
        assert_eq!(get(span, "card"), Some(&s(digest)), "{function}");
    }
}

// ---- values that are not strings --------------------------------------------------------------

#[test]
fn values_that_are_not_strings_are_left_alone_by_default() {
    let config = config(json!({
        "allow_all_keys": true,
        "blocked_values": ["4[0-9]{15}", "true", "1\\.5"],
    }));
    let attributes = vec![
        kv("card", Value::IntValue(4111111111111111)),
        kv("flag", Value::BoolValue(true)),
        kv("ratio", Value::DoubleValue(1.5)),
        kv("raw", Value::BytesValue(b"4111111111111111".to_vec())),
    ];
    let request = traces(attributes.clone());
    let mut processor = RedactionProcessor::new(&config).unwrap();
    let input = batch(&request);
    let bytes = input.to_bytes();
    let out = processor.apply(input).unwrap();
    assert_eq!(
        out.to_bytes().as_ptr(),
        bytes.as_ptr(),
        "nothing was copied"
    );
    let out = Request::decode(request.signal(), &out.to_bytes()).unwrap();
    for list in redacted_lists(&out) {
        assert_eq!(list, attributes.as_slice());
    }
}

#[test]
fn redact_all_types_reads_every_value_as_otelcols_as_string_and_masks_it_to_a_string() {
    let config = config(json!({
        "allow_all_keys": true,
        "redact_all_types": true,
        "blocked_values": ["4[0-9]{15}", "^true$", "e\\+21", "QUJD", "\"k\":\\[1,2\\.5\\]"],
        "blocked_key_patterns": ["^whole$"],
    }));
    let list = KeyValueList {
        values: vec![
            kv("z", s("<&>")),
            kv(
                "k",
                Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Value::IntValue(1)),
                        },
                        AnyValue {
                            value: Some(Value::DoubleValue(2.5)),
                        },
                    ],
                }),
            ),
        ],
    };
    let out = run(
        &config,
        &traces(vec![
            kv("card", Value::IntValue(4111111111111111)),
            kv("flag", Value::BoolValue(true)),
            kv("big", Value::DoubleValue(1e21)),
            kv("small", Value::DoubleValue(0.25)),
            kv("raw", Value::BytesValue(b"ABC".to_vec())),
            kv("map", Value::KvlistValue(list)),
            kv("whole", Value::IntValue(7)),
            kv("other", Value::IntValue(12)),
        ]),
    );
    let span = redacted_lists(&out)[2];
    assert_eq!(get(span, "card"), Some(&s("****")));
    assert_eq!(get(span, "flag"), Some(&s("****")));
    assert_eq!(get(span, "big"), Some(&s("1****")));
    assert_eq!(
        get(span, "small"),
        Some(&Value::DoubleValue(0.25)),
        "no match: kept typed"
    );
    // base64 of "ABC" is QUJD
    assert_eq!(get(span, "raw"), Some(&s("****")));
    // JSON with sorted keys and Go's HTML escaping: {"k":[1,2.5],"z":"\u003c\u0026\u003e"}
    assert_eq!(
        get(span, "map"),
        Some(&s("{****,\"z\":\"\\u003c\\u0026\\u003e\"}"))
    );
    assert_eq!(get(span, "whole"), Some(&s("****")));
    assert_eq!(get(span, "other"), Some(&Value::IntValue(12)));
}

#[test]
fn the_text_of_values_is_otelcols() {
    use crate::value_text::push_value_text;
    let text = |value: Value| {
        let mut encoded = Vec::new();
        prost::Message::encode(&AnyValue { value: Some(value) }, &mut encoded).unwrap();
        let mut out = String::new();
        push_value_text(Some(&encoded), &mut out);
        out
    };
    assert_eq!(text(Value::IntValue(-42)), "-42");
    assert_eq!(text(Value::DoubleValue(1.0)), "1");
    assert_eq!(text(Value::DoubleValue(1e20)), "100000000000000000000");
    assert_eq!(text(Value::DoubleValue(1e21)), "1e+21");
    assert_eq!(text(Value::DoubleValue(1e-7)), "1e-7");
    assert_eq!(text(Value::DoubleValue(0.000001)), "0.000001");
    assert_eq!(
        text(Value::DoubleValue(f64::NAN)),
        "json: unsupported value: NaN"
    );
    assert_eq!(text(Value::BoolValue(false)), "false");
    assert_eq!(text(Value::BytesValue(vec![0xff, 0])), "/wA=");
    assert_eq!(
        text(Value::ArrayValue(ArrayValue {
            values: vec![
                AnyValue { value: None },
                AnyValue {
                    value: Some(s("a\n\"b\""))
                },
                AnyValue {
                    value: Some(Value::BytesValue(vec![1]))
                },
            ],
        })),
        r#"[null,"a\n\"b\"","AQ=="]"#
    );
    // Go's encoder fails on NaN; otelcol then has no text.
    assert_eq!(
        text(Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(Value::DoubleValue(f64::NAN))
            }],
        })),
        ""
    );
}

// ---- the summary ------------------------------------------------------------------------------

fn summary_case(summary: &str) -> Vec<KeyValue> {
    let config = config(json!({
        "allowed_keys": ["name", "token_some", "email"],
        "ignored_keys": ["safe"],
        "blocked_values": ["4[0-9]{15}"],
        "blocked_key_patterns": ["token"],
        "allowed_values": [".+@mycompany\\.com"],
        "summary": summary,
    }));
    let out = run(
        &config,
        &logs(
            vec![
                kv("name", s("placeholder 4111111111111111")),
                kv("token_some", s("tokenize")),
                kv("email", s("user@mycompany.com")),
                kv("safe", s("ok")),
                kv("credit_card", s("4111111111111111")),
                kv("birth_date", s("1970-01-01")),
            ],
            s("body"),
        ),
    );
    redacted_lists(&out)[2].to_vec()
}

#[test]
fn summary_debug_writes_sorted_keys_and_counts() {
    let list = summary_case("debug");
    assert_eq!(
        keys(&list),
        [
            "name",
            "token_some",
            "email",
            "safe",
            "redaction.redacted.keys",
            "redaction.redacted.count",
            "redaction.masked.keys",
            "redaction.masked.count",
            "redaction.allowed.keys",
            "redaction.allowed.count",
            "redaction.ignored.count",
        ]
    );
    assert_eq!(get(&list, "name"), Some(&s("placeholder ****")));
    assert_eq!(get(&list, "token_some"), Some(&s("****")));
    assert_eq!(
        get(&list, "redaction.redacted.keys"),
        Some(&s("birth_date,credit_card"))
    );
    assert_eq!(
        get(&list, "redaction.redacted.count"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(
        get(&list, "redaction.masked.keys"),
        Some(&s("name,token_some"))
    );
    assert_eq!(
        get(&list, "redaction.masked.count"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(get(&list, "redaction.allowed.keys"), Some(&s("email")));
    assert_eq!(
        get(&list, "redaction.allowed.count"),
        Some(&Value::IntValue(1))
    );
    assert_eq!(
        get(&list, "redaction.ignored.count"),
        Some(&Value::IntValue(1))
    );
}

#[test]
fn summary_info_writes_only_the_counts() {
    let list = summary_case("info");
    assert_eq!(
        keys(&list),
        [
            "name",
            "token_some",
            "email",
            "safe",
            "redaction.redacted.count",
            "redaction.masked.count",
            "redaction.allowed.count",
            "redaction.ignored.count",
        ]
    );
    assert_eq!(
        get(&list, "redaction.redacted.count"),
        Some(&Value::IntValue(2))
    );
}

#[test]
fn summary_silent_and_the_default_write_nothing() {
    let list = summary_case("silent");
    assert_eq!(keys(&list), ["name", "token_some", "email", "safe"]);
    assert_eq!(RedactionConfig::default().summary, Summary::Silent);
}

#[test]
fn a_second_redaction_adds_to_the_first_ones_summary() {
    let first = config(json!({
        "allowed_keys": ["keep", "card"],
        "blocked_values": ["4[0-9]{15}"],
        "summary": "debug",
    }));
    let second = config(json!({
        "allowed_keys": ["keep"],
        "summary": "debug",
    }));
    let request = traces(vec![
        kv("keep", s("k")),
        kv("card", s("4111111111111111")),
        kv("b", s("x")),
        kv("a", s("y")),
    ]);
    let out = run(&second, &run(&first, &request));
    let span = redacted_lists(&out)[2];
    assert_eq!(keys(span)[0], "keep");
    assert_eq!(get(span, "redaction.redacted.keys"), Some(&s("a,b,card")));
    assert_eq!(
        get(span, "redaction.redacted.count"),
        Some(&Value::IntValue(3))
    );
    assert_eq!(get(span, "redaction.masked.keys"), Some(&s("card")));
    assert_eq!(
        get(span, "redaction.masked.count"),
        Some(&Value::IntValue(1))
    );
}

// ---- what is not reached, what is not copied, what is refused ------------------------------------

#[test]
fn span_event_attributes_are_redacted() {
    let config = config(json!({ "allowed_keys": ["user"], "blocked_values": ["secret"] }));
    let out = run(
        &config,
        &traces(vec![kv("user", s("a secret")), kv("other", s("x"))]),
    );
    let Request::Traces(r) = &out else {
        unreachable!()
    };
    let event = &r.resource_spans[0].scope_spans[0].spans[0].events[0];
    assert_eq!(event.attributes, vec![kv("user", s("a ****"))]);
}

#[test]
fn a_batch_nothing_matches_passes_as_the_same_bytes() {
    let config = config(json!({
        "allowed_keys": ["a", "b"],
        "blocked_values": ["4[0-9]{15}"],
        "summary": "debug",
    }));
    for request in [
        traces(vec![kv("a", s("x")), kv("b", Value::IntValue(1))]),
        logs(vec![kv("a", s("x"))], s("no card number in the body")),
        metrics(vec![]),
    ] {
        let mut processor = RedactionProcessor::new(&config).unwrap();
        let input = batch(&request);
        let bytes = input.to_bytes();
        let out = processor.apply(input).unwrap();
        assert_eq!(out.to_bytes().as_ptr(), bytes.as_ptr());
        assert_eq!(out.to_bytes().len(), bytes.len());
    }
}

#[test]
fn duplicate_keys_are_each_redacted() {
    let config = config(json!({ "allowed_keys": ["k"], "blocked_values": ["x"] }));
    let out = run(
        &config,
        &traces(vec![
            kv("d", s("1")),
            kv("k", s("x1")),
            kv("d", s("2")),
            kv("k", s("x2")),
        ]),
    );
    let span = redacted_lists(&out)[2];
    assert_eq!(span, [kv("k", s("****1")), kv("k", s("****2"))].as_slice());
}

#[test]
fn bad_bytes_are_an_error_not_a_panic() {
    let config = config(json!({ "allow_all_keys": true, "blocked_values": ["x"] }));
    let mut processor = RedactionProcessor::new(&config).unwrap();
    // A Batch cannot be made of bad bytes, so the rewriter's refusal is checked directly.
    let bad = Bytes::from_static(&[0x0a, 0x05, 0x0a, 0x01]);
    let mut rewriter = AttributeRewriter::new();
    let result = rewriter.rewrite_level(Signal::Traces, Level::Resource, &bad, |a| {
        processor.redactor.apply(a, &mut processor.scratch)
    });
    assert!(result.is_err());
}

#[test]
fn config_errors_name_the_field() {
    let problems = |value: serde_json::Value| {
        let config: RedactionConfig = serde_json::from_value(value).expect("parses");
        config.validate().expect_err("invalid")
    };
    let found = problems(json!({
        "blocked_values": ["ok", "also ok", "(unclosed"],
        "ignored_key_patterns": ["["],
        "allowed_values": ["*"],
        "blocked_key_patterns": ["a{2,1}"],
    }));
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found[0].starts_with("ignored_key_patterns.0 is not a valid regular expression: "));
    assert!(found[1].starts_with("blocked_key_patterns.0 is not a valid regular expression: "));
    assert!(
        found[2].starts_with("blocked_values.2 is not a valid regular expression: unclosed"),
        "{}",
        found[2]
    );
    assert!(found[3].starts_with("allowed_values.0 is not a valid regular expression: "));

    let found = problems(json!({ "hash_function": "hmac-sha256" }));
    assert_eq!(found, ["hash_function `hmac-sha256` needs `hmac_key`"]);
    let found = problems(json!({ "hash_function": "hmac-sha512", "hmac_key": "" }));
    assert_eq!(found, ["hmac_key must not be empty"]);
    let found = problems(json!({ "hash_function": "md5", "hmac_key": "k" }));
    assert!(
        found[0].starts_with("hmac_key is used only by"),
        "{found:?}"
    );
    let found = problems(json!({ "hmac_key": "k" }));
    assert!(
        found[0].starts_with("hmac_key is used only with"),
        "{found:?}"
    );

    // Unknown hash functions, summary levels and fields are refused when the config is read.
    for bad in [
        json!({ "hash_function": "sha256" }),
        json!({ "summary": "verbose" }),
        json!({ "url_sanitizer": { "enabled": true } }),
        json!({ "db_sanitizer": {} }),
    ] {
        assert!(
            serde_json::from_value::<RedactionConfig>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

mod body;
