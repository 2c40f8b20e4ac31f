//! Unit tests of the wire walk: one per error class with its exact message, and the corners where
//! prost's acceptance is easy to get wrong (groups, packing, oneof merging, the recursion limit).

use super::*;
use crate::batch::Request;

/// Hand-encoding helpers: tests write exact bytes, including malformed ones.
fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        if value < 0x80 {
            out.push(value as u8);
            return out;
        }
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
}

fn key(number: u32, wire_type: u8) -> Vec<u8> {
    varint((u64::from(number) << 3) | u64::from(wire_type))
}

fn len_field(number: u32, content: &[u8]) -> Vec<u8> {
    let mut out = key(number, 2);
    out.extend(varint(content.len() as u64));
    out.extend_from_slice(content);
    out
}

fn varint_field(number: u32, value: u64) -> Vec<u8> {
    let mut out = key(number, 0);
    out.extend(varint(value));
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A trace request with one resource and one scope holding `spans` (each already encoded).
fn traces_with_spans(spans: &[Vec<u8>]) -> Vec<u8> {
    let scope: Vec<u8> = spans.iter().flat_map(|s| len_field(2, s)).collect();
    len_field(1, &len_field(2, &scope))
}

/// A metrics request with one resource and one scope holding `metrics`.
fn metrics_with(metrics: &[Vec<u8>]) -> Vec<u8> {
    let scope: Vec<u8> = metrics.iter().flat_map(|m| len_field(2, m)).collect();
    len_field(1, &len_field(2, &scope))
}

/// A logs request with one log record whose body is `body` (an encoded AnyValue).
fn logs_with_body(body: &[u8]) -> Vec<u8> {
    len_field(1, &len_field(2, &len_field(2, &len_field(5, body))))
}

/// Asserts that walk and prost agree on acceptance and, when both accept, on the item count.
fn agrees_with_prost(signal: Signal, bytes: &[u8]) -> Result<WireSummary, WireError> {
    let walked = walk(signal, bytes);
    let decoded = Request::decode(signal, bytes);
    match (&walked, &decoded) {
        (Ok(summary), Ok(request)) => {
            assert_eq!(summary.items, request.item_count(), "{bytes:02x?}")
        }
        (Err(_), Err(_)) => {}
        _ => panic!("walk {walked:?} but prost {decoded:?} for {bytes:02x?}"),
    }
    walked
}

fn error_of(signal: Signal, bytes: &[u8]) -> (WireError, String) {
    match agrees_with_prost(signal, bytes) {
        Ok(summary) => panic!("accepted: {summary:?}"),
        Err(e) => {
            let message = e.to_string();
            (e, message)
        }
    }
}

fn span_field(message: &'static str, field: &'static str, number: u32) -> FieldRef {
    FieldRef {
        message,
        field: Some(field),
        number,
    }
}

#[test]
fn counts_items_and_resources_of_a_simple_request() {
    let span = len_field(5, b"GET /");
    let mut bytes = traces_with_spans(&[span.clone(), span.clone()]);
    bytes.extend(traces_with_spans(&[span]));
    let summary = agrees_with_prost(Signal::Traces, &bytes).expect("valid");
    assert_eq!(
        summary,
        WireSummary {
            items: 3,
            resources: 2
        }
    );
    assert_eq!(walk(Signal::Logs, &[]), Ok(WireSummary::default()));
}

#[test]
fn length_past_the_end_names_the_field() {
    let mut span = key(5, 2);
    span.extend(varint(5000));
    span.extend_from_slice(b"abc");
    let (e, message) = error_of(Signal::Traces, &traces_with_spans(&[span]));
    assert_eq!(
        e,
        WireError::LengthPastEnd {
            signal: Signal::Traces,
            offset: 7,
            field: span_field("span", "name", 5),
            length: 5000,
            available: 3,
        }
    );
    assert_eq!(
        message,
        "malformed traces request at byte 7: length 5000 of field span.name runs past the end of its message (3 available)"
    );
}

#[test]
fn truncated_key_value_and_fixed_are_reported_as_cut_off() {
    let (e, message) = error_of(Signal::Traces, &[0x0a, 0x00, 0x80]);
    assert_eq!(
        e,
        WireError::Truncated {
            signal: Signal::Traces,
            offset: 2,
            site: Site::Key {
                message: "export_trace_service_request"
            },
        }
    );
    assert_eq!(
        message,
        "malformed traces request at byte 2: a field key in export_trace_service_request is cut off by the end of its message"
    );

    // span.kind = varint that the span ends inside of.
    let (_, message) = error_of(Signal::Traces, &traces_with_spans(&[vec![0x30, 0x96]]));
    assert_eq!(
        message,
        "malformed traces request at byte 7: the value of field span.kind is cut off by the end of its message"
    );

    // span.start_time_unix_nano with three of its eight bytes.
    let (_, message) = error_of(Signal::Traces, &traces_with_spans(&[vec![0x39, 1, 2, 3]]));
    assert_eq!(
        message,
        "malformed traces request at byte 7: the value of field span.start_time_unix_nano is cut off by the end of its message"
    );

    // The length prefix of a resource_logs entry, cut off.
    let (e, _) = error_of(Signal::Logs, &[0x0a, 0xff]);
    assert!(
        matches!(
            e,
            WireError::Truncated {
                offset: 1,
                site: Site::Length(_),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn varints_over_64_bits_are_refused() {
    // A dropped_attributes_count with a tenth byte carrying more than bit 63.
    let mut span = key(10, 0);
    span.extend([0xff; 9]);
    span.push(0x02);
    let (e, message) = error_of(Signal::Traces, &traces_with_spans(&[span]));
    assert!(
        matches!(e, WireError::VarintOverflow { offset: 7, .. }),
        "{e:?}"
    );
    assert_eq!(
        message,
        "malformed traces request at byte 7: the value of field span.dropped_attributes_count is a varint longer than 64 bits"
    );

    // Eleven bytes: too long whatever the bits say.
    let mut span = key(10, 0);
    span.extend([0x80; 10]);
    span.push(0x00);
    error_of(Signal::Traces, &traces_with_spans(&[span]));

    // Exactly u64::MAX (tenth byte 0x01) is fine.
    let mut span = key(10, 0);
    span.extend([0xff; 9]);
    span.push(0x01);
    assert_eq!(
        agrees_with_prost(Signal::Traces, &traces_with_spans(&[span])).map(|s| s.items),
        Ok(1)
    );
}

#[test]
fn keys_larger_than_32_bits_are_refused() {
    let (e, message) = error_of(Signal::Metrics, &varint(1 << 32 | 2));
    assert_eq!(
        e,
        WireError::KeyOverflow {
            signal: Signal::Metrics,
            offset: 0,
            message: "export_metrics_service_request",
            key: 1 << 32 | 2,
        }
    );
    assert_eq!(
        message,
        "malformed metrics request at byte 0: field key 4294967298 in export_metrics_service_request is larger than 32 bits"
    );
}

#[test]
fn wire_types_6_and_7_are_refused() {
    for bits in [6u8, 7] {
        let (e, message) = error_of(Signal::Logs, &[0x0a, 0x01, (3 << 3) | bits]);
        assert_eq!(
            e,
            WireError::InvalidWireType {
                signal: Signal::Logs,
                offset: 2,
                message: "resource_logs",
                wire_type: bits,
            }
        );
        assert_eq!(
            message,
            format!(
                "malformed logs request at byte 2: field key in resource_logs has invalid wire type {bits}"
            )
        );
    }
}

#[test]
fn field_number_zero_is_refused() {
    let (e, message) = error_of(Signal::Traces, &[0x02, 0x00]);
    assert_eq!(
        e,
        WireError::ZeroFieldNumber {
            signal: Signal::Traces,
            offset: 0,
            message: "export_trace_service_request",
        }
    );
    assert_eq!(
        message,
        "malformed traces request at byte 0: field key in export_trace_service_request has field number 0"
    );
}

#[test]
fn known_fields_with_the_wrong_wire_type_are_refused() {
    let (e, message) = error_of(Signal::Traces, &traces_with_spans(&[varint_field(5, 1)]));
    assert_eq!(
        e,
        WireError::WrongWireType {
            signal: Signal::Traces,
            offset: 6,
            field: span_field("span", "name", 5),
            found: WireType::Varint,
            expected: WireType::LengthDelimited,
        }
    );
    assert_eq!(
        message,
        "malformed traces request at byte 6: field span.name has wire type varint, expected length-delimited"
    );

    // A message field sent as a group is refused too (groups are only skipped when unknown).
    let (e, _) = error_of(Signal::Traces, &[0x0b, 0x0c]);
    assert!(
        matches!(
            e,
            WireError::WrongWireType {
                found: WireType::StartGroup,
                ..
            }
        ),
        "{e:?}"
    );
    // span.flags is fixed32; fixed64 is not accepted for it.
    let (e, _) = error_of(
        Signal::Traces,
        &traces_with_spans(&[cat(&[&key(16, 1), &[0; 8]])]),
    );
    assert!(matches!(
        e,
        WireError::WrongWireType {
            found: WireType::Fixed64,
            expected: WireType::Fixed32,
            ..
        }
    ));
}

/// A histogram metric with one data point made of `point` (encoded field bytes).
fn histogram_metric(point: &[u8]) -> Vec<u8> {
    len_field(9, &len_field(1, point))
}

#[test]
fn packed_and_unpacked_repeated_numbers_are_both_accepted() {
    let packed = len_field(6, &[7u8; 16]);
    let unpacked = cat(&[&key(6, 1), &[1; 8], &key(6, 1), &[2; 8]]);
    let bounds_packed = len_field(7, &[0u8; 8]);
    let buckets_packed = len_field(2, &cat(&[&varint(300), &varint(1)]));
    let buckets_unpacked = cat(&[&varint_field(2, 300), &varint_field(2, 1)]);
    let exponential = len_field(
        1,
        &cat(&[
            &len_field(8, &buckets_packed),
            &len_field(9, &buckets_unpacked),
        ]),
    );
    let bytes = metrics_with(&[
        histogram_metric(&cat(&[&packed, &unpacked, &bounds_packed])),
        len_field(10, &exponential),
    ]);
    assert_eq!(
        agrees_with_prost(Signal::Metrics, &bytes).map(|s| s.items),
        Ok(2)
    );
}

#[test]
fn packed_fixed_width_runs_must_be_whole() {
    let (e, message) = error_of(
        Signal::Metrics,
        &metrics_with(&[histogram_metric(&len_field(6, &[0; 5]))]),
    );
    assert_eq!(
        e,
        WireError::PackedLength {
            signal: Signal::Metrics,
            offset: 12,
            field: span_field("histogram_data_point", "bucket_counts", 6),
            length: 5,
            width: 8,
        }
    );
    assert_eq!(
        message,
        "malformed metrics request at byte 12: packed field histogram_data_point.bucket_counts is 5 bytes long, not a multiple of 8"
    );

    // A packed varint run that ends inside a varint.
    let exponential = len_field(1, &len_field(8, &len_field(2, &[0x81, 0x01, 0x80])));
    let (e, _) = error_of(
        Signal::Metrics,
        &metrics_with(&[len_field(10, &exponential)]),
    );
    assert!(
        matches!(
            e,
            WireError::Truncated {
                site: Site::Value(_),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn strings_must_be_utf8_and_bytes_need_not() {
    let (e, message) = error_of(
        Signal::Traces,
        &traces_with_spans(&[len_field(5, b"ok\xff")]),
    );
    assert_eq!(
        e,
        WireError::InvalidUtf8 {
            signal: Signal::Traces,
            offset: 10,
            field: span_field("span", "name", 5),
        }
    );
    assert_eq!(
        message,
        "malformed traces request at byte 10: field span.name is not valid UTF-8"
    );
    // trace_id is bytes.
    assert!(
        agrees_with_prost(
            Signal::Traces,
            &traces_with_spans(&[len_field(1, b"\xff\xfe")])
        )
        .is_ok()
    );
    // Repeated strings are checked one by one (entity_ref.id_keys).
    let resource = len_field(3, &cat(&[&len_field(3, b"fine"), &len_field(3, b"\xc3")]));
    let (e, _) = error_of(Signal::Logs, &len_field(1, &len_field(1, &resource)));
    assert!(matches!(
        e,
        WireError::InvalidUtf8 {
            field: FieldRef {
                message: "entity_ref",
                ..
            },
            ..
        }
    ));
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let group = cat(&[
        &key(40, 3),
        &varint_field(1, 5),
        &len_field(2, b"x"),
        &key(3, 3),
        &key(3, 4),
        &key(40, 4),
    ]);
    let span = cat(&[
        &varint_field(99, 1),
        &key(98, 1),
        &[0; 8],
        &key(97, 5),
        &[0; 4],
        &len_field(96, b"\xff not utf8 and not checked"),
        &group,
        &len_field(5, b"name"),
    ]);
    let bytes = cat(&[&varint_field(7, 1), &traces_with_spans(&[span]), &group]);
    assert_eq!(
        agrees_with_prost(Signal::Traces, &bytes),
        Ok(WireSummary {
            items: 1,
            resources: 1
        })
    );
}

#[test]
fn group_errors_are_refused() {
    // An end-group key with no open group.
    let (e, message) = error_of(Signal::Logs, &key(5, 4));
    assert_eq!(
        e,
        WireError::UnexpectedEndGroup {
            signal: Signal::Logs,
            offset: 0,
            message: "export_logs_service_request",
            number: 5,
        }
    );
    assert_eq!(
        message,
        "malformed logs request at byte 0: end-group key for field 5 in export_logs_service_request closes no open group"
    );

    // A group closed with another field number.
    let (e, _) = error_of(Signal::Logs, &cat(&[&key(5, 3), &key(6, 4)]));
    assert!(
        matches!(
            e,
            WireError::UnexpectedEndGroup {
                offset: 1,
                number: 6,
                ..
            }
        ),
        "{e:?}"
    );

    // A group still open when its message ends.
    let (e, message) = error_of(
        Signal::Logs,
        &len_field(1, &cat(&[&key(9, 3), &varint_field(1, 1)])),
    );
    assert_eq!(
        e,
        WireError::UnterminatedGroup {
            signal: Signal::Logs,
            offset: 2,
            field: FieldRef {
                message: "resource_logs",
                field: None,
                number: 9,
            },
        }
    );
    assert_eq!(
        message,
        "malformed logs request at byte 2: group unknown field 9 of resource_logs has no end-group key before the end of its message"
    );
}

#[test]
fn metric_data_oneof_counts_like_prost_merges() {
    let gauge = |points: usize| {
        len_field(
            5,
            &(0..points)
                .flat_map(|_| len_field(1, &[]))
                .collect::<Vec<_>>(),
        )
    };
    let sum = |points: usize| {
        len_field(
            7,
            &(0..points)
                .flat_map(|_| len_field(1, &[]))
                .collect::<Vec<_>>(),
        )
    };
    let cases: [(Vec<Vec<u8>>, usize); 4] = [
        (vec![gauge(2), gauge(3)], 5),
        (vec![gauge(2), sum(1)], 1),
        (vec![gauge(2), sum(1), gauge(4)], 4),
        (vec![sum(3), sum(0), gauge(1), sum(2), sum(2)], 4),
    ];
    for (fields, expected) in cases {
        let metric = fields.concat();
        let summary = agrees_with_prost(Signal::Metrics, &metrics_with(&[metric])).expect("valid");
        assert_eq!(summary.items, expected);
    }
}

/// An AnyValue holding `levels` nested array values around an innermost AnyValue `inner`.
fn nested_arrays(levels: usize, inner: &[u8]) -> Vec<u8> {
    let mut value = inner.to_vec();
    for _ in 0..levels {
        value = len_field(5, &len_field(1, &value));
    }
    value
}

#[test]
fn nesting_is_limited_exactly_where_prost_limits_it() {
    // log_record.body sits at depth 4, each array level adds two messages; the innermost
    // AnyValue either is empty, holds an unknown field, or a known scalar.
    let inners: [&[u8]; 3] = [&[], &varint_field(50, 1), &varint_field(3, 1)];
    for inner in inners {
        let mut outcomes = Vec::new();
        for levels in 44..=50 {
            let bytes = logs_with_body(&nested_arrays(levels, inner));
            outcomes.push(agrees_with_prost(Signal::Logs, &bytes).is_ok());
        }
        assert!(
            outcomes.contains(&true) && outcomes.contains(&false),
            "{outcomes:?}"
        );
    }

    let (e, message) = error_of(Signal::Logs, &logs_with_body(&nested_arrays(49, &[])));
    assert!(matches!(e, WireError::TooDeep { limit: 100, .. }), "{e:?}");
    assert!(
        message.ends_with("is nested deeper than the decoder's limit of 100 levels"),
        "{message}"
    );
    assert!(
        message.contains("field any_value.array_value")
            || message.contains("field array_value.values")
    );

    // Groups inside unknown fields count against the limit as well.
    for depth in [97usize, 98, 99, 100, 101] {
        let mut group = Vec::new();
        for n in 0..depth {
            group = cat(&[&key(20 + n as u32, 3), &group, &key(20 + n as u32, 4)]);
        }
        agrees_with_prost(Signal::Traces, &group).ok();
    }
}

#[test]
fn errors_inside_nested_messages_point_into_the_whole_request() {
    // An invalid key deep inside a kvlist in a resource attribute.
    let value = len_field(6, &len_field(1, &cat(&[&len_field(1, b"k"), &[0x00]])));
    let resource = len_field(
        1,
        &len_field(1, &cat(&[&len_field(1, b"attr"), &len_field(2, &value)])),
    );
    let bytes = cat(&[&traces_with_spans(&[vec![]]), &len_field(1, &resource)]);
    let (e, message) = error_of(Signal::Traces, &bytes);
    let offset = bytes.iter().rposition(|b| *b == 0).expect("has a zero");
    assert_eq!(
        e,
        WireError::ZeroFieldNumber {
            signal: Signal::Traces,
            offset,
            message: "key_value",
        }
    );
    assert_eq!(
        message,
        format!(
            "malformed traces request at byte {offset}: field key in key_value has field number 0"
        )
    );
}

/// Span attributes (field 9 of `span`) in every shape the fast path's attribute check treats
/// specially or hands back: both walks and prost must agree on each.
#[test]
fn attributes_in_and_out_of_the_common_shape_are_judged_as_prost_does() {
    let string_value = |s: &[u8]| len_field(1, s);
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "key and string",
            cat(&[&len_field(1, b"k"), &len_field(2, &string_value(b"v"))]),
            true,
        ),
        (
            "key and int",
            cat(&[&len_field(1, b"k"), &len_field(2, &varint_field(3, 7))]),
            true,
        ),
        (
            "key and bool",
            cat(&[&len_field(1, b"k"), &len_field(2, &varint_field(2, 1))]),
            true,
        ),
        (
            "key and double",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &cat(&[&key(4, 1), &[0; 8]])),
            ]),
            true,
        ),
        (
            "key and bytes",
            cat(&[&len_field(1, b"k"), &len_field(2, &len_field(7, &[0xff]))]),
            true,
        ),
        (
            "empty value",
            cat(&[&len_field(1, b"k"), &len_field(2, b"")]),
            true,
        ),
        (
            "utf-8 key",
            cat(&[
                &len_field(1, "é".as_bytes()),
                &len_field(2, &string_value(b"v")),
            ]),
            true,
        ),
        (
            "bad utf-8 key",
            cat(&[&len_field(1, &[0xc3]), &len_field(2, &string_value(b"v"))]),
            false,
        ),
        (
            "bad utf-8 value",
            cat(&[&len_field(1, b"k"), &len_field(2, &string_value(&[0xff]))]),
            false,
        ),
        (
            "truncated int",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &cat(&[&key(3, 0), &[0x80]])),
            ]),
            false,
        ),
        (
            "truncated double",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &cat(&[&key(4, 1), &[0; 7]])),
            ]),
            false,
        ),
        (
            "two values in one any_value",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &cat(&[&string_value(b"v"), &varint_field(3, 1)])),
            ]),
            true,
        ),
        (
            "a string then a bad one",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &cat(&[&string_value(b"v"), &string_value(&[0xff])])),
            ]),
            false,
        ),
        (
            "value then key",
            cat(&[&len_field(2, &string_value(b"v")), &len_field(1, b"k")]),
            true,
        ),
        (
            "a field after the value",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &string_value(b"v")),
                &varint_field(3, 5),
            ]),
            true,
        ),
        (
            "a bad field after the value",
            cat(&[
                &len_field(1, b"k"),
                &len_field(2, &string_value(b"v")),
                &key(3, 0),
            ]),
            false,
        ),
        (
            "a kvlist value",
            cat(&[
                &len_field(1, b"k"),
                &len_field(
                    2,
                    &len_field(
                        6,
                        &len_field(
                            1,
                            &cat(&[&len_field(1, b"n"), &len_field(2, &string_value(b"v"))]),
                        ),
                    ),
                ),
            ]),
            true,
        ),
        (
            "value with the wrong wire type",
            cat(&[&len_field(1, b"k"), &key(2, 0), &[1]]),
            false,
        ),
        ("key past the end", cat(&[&key(1, 2), &[5], b"k"]), false),
        (
            "value past the end",
            cat(&[&len_field(1, b"k"), &key(2, 2), &[9, 0x0a]]),
            false,
        ),
    ];
    for (name, attribute, valid) in cases {
        let span = cat(&[&len_field(5, b"span"), &len_field(9, &attribute)]);
        let bytes = traces_with_spans(&[span]);
        let (fast, diagnosed) = both_walks(Signal::Traces, &bytes);
        assert_eq!(fast, diagnosed.clone().ok(), "{name}: the two walks differ");
        assert_eq!(diagnosed.is_ok(), valid, "{name}: {diagnosed:?}");
        let _checked_against_prost = agrees_with_prost(Signal::Traces, &bytes);
    }
}

#[test]
fn inline_varints_and_ascii_checks_agree_with_the_diagnosing_walk_at_their_edges() {
    // One- and two-byte varints are read inline and longer ones out of line; strings are checked
    // for ASCII before UTF-8. Each edge, whole and cut short, in a field of each kind.
    let values = [0, 1, 127, 128, 255, 16_383, 16_384, 1 << 21, u64::MAX];
    for value in values {
        let encoded = varint(value);
        for cut in 0..=encoded.len() {
            let span = cat(&[&key(10, 0), &encoded[..cut]]);
            let bytes = traces_with_spans(&[span]);
            let (fast, diagnosed) = both_walks(Signal::Traces, &bytes);
            assert_eq!(fast, diagnosed.clone().ok(), "varint {value} cut at {cut}");
            assert_eq!(
                diagnosed.is_ok(),
                cut == encoded.len(),
                "varint {value} cut at {cut}"
            );
        }
    }
    let long_name = vec![b'n'; 200];
    let two_byte_length = len_field(5, &long_name);
    let bytes = traces_with_spans(std::slice::from_ref(&two_byte_length));
    assert_eq!(walk(Signal::Traces, &bytes).map(|s| s.items), Ok(1));
    for cut in 1..two_byte_length.len() {
        let bytes = traces_with_spans(&[two_byte_length[..cut].to_vec()]);
        let (fast, diagnosed) = both_walks(Signal::Traces, &bytes);
        assert_eq!(fast, None, "name cut at {cut}");
        assert!(diagnosed.is_err(), "name cut at {cut}");
    }
    // Up to 40 bytes: the ASCII check reads 0-3 bytes singly, 4-7 as two overlapping halves,
    // longer ones as words with the last one overlapping; a high byte at every position of
    // each must be found.
    for length in 0..40 {
        for at in 0..length {
            for (odd, valid) in [(&[0xc3, 0xa9][..], true), (&[0xff][..], false)] {
                let mut text = vec![b'a'; length];
                text.splice(at..at + 1, odd.iter().copied());
                let attribute = cat(&[&len_field(1, &text), &len_field(2, &len_field(1, &text))]);
                let span = cat(&[&len_field(5, &text), &len_field(9, &attribute)]);
                let bytes = traces_with_spans(&[span]);
                let (fast, diagnosed) = both_walks(Signal::Traces, &bytes);
                assert_eq!(fast, diagnosed.clone().ok(), "{text:02x?}");
                assert_eq!(diagnosed.is_ok(), valid, "{text:02x?}");
            }
        }
    }
}
