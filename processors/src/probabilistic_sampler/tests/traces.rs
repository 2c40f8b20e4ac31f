//! Spans: which trace ids stay in each mode, the `tracestate` kept spans leave with,
//! `fail_closed`, `sampling.priority`, and batches passed on as they came.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::json;
use weir_core::batch::Request;

use super::{SplitMix, bare, batch, config, kv, run, s};
use crate::probabilistic_sampler::{ProbabilisticSamplerProcessor, SamplerMode};

fn span(trace_id: [u8; 16], tracestate: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![0xfe, 0xfe, 0xfe, 0xfe, 0, 0, 0, 1],
        trace_state: tracestate.to_string(),
        name: "op".to_string(),
        attributes,
        ..Default::default()
    }
}

fn traces(resources: Vec<Vec<Span>>) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .enumerate()
            .map(|(i, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s(&format!("svc-{i}")))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    })
}

fn spans_of(request: &Request) -> Vec<Span> {
    let Request::Traces(request) = request else {
        panic!("traces expected")
    };
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

fn hex_id(text: &str) -> [u8; 16] {
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

/// Trace id `i` of the golden set: byte `j` is `i * 31 + j * 7 + 1`.
fn golden_id(i: usize) -> [u8; 16] {
    std::array::from_fn(|j| (i * 31 + j * 7 + 1) as u8)
}

/// The trace ids otelcol keeps in `hash_seed` mode, and the `rv`/`th` it writes, computed
/// with an independent Python rendering of otelcol-contrib's `computeHash` (FNV-1a over the
/// little-endian seed then the id) and `makeSampler`'s `uint32(pct * 163.84)` in float32
/// (`bucket < 2506` at 15.3 %, `4915` at 30 %, `8192` at 50 %); the same script reproduces
/// otelcol's own `TestEmptyHashFunction` buckets.
#[test]
fn hash_seed_keeps_exactly_the_trace_ids_otelcol_keeps() {
    let cases: [(u32, f32, &[usize]); 3] = [
        (22, 15.3, &[5, 6, 15, 18, 24]),
        (4312, 30.0, &[0, 5, 10, 25, 29]),
        (
            0,
            50.0,
            &[
                2, 3, 6, 7, 8, 13, 15, 16, 17, 18, 22, 23, 26, 27, 29, 30, 31,
            ],
        ),
    ];
    for (seed, pct, kept) in cases {
        let config = config(json!({"sampling_percentage": pct, "hash_seed": seed}));
        let request = traces(vec![
            (0..16).map(|i| span(golden_id(i), "", vec![])).collect(),
            (16..32).map(|i| span(golden_id(i), "", vec![])).collect(),
        ]);
        let out = run(&config, &request).expect("some kept");
        let ids: Vec<Vec<u8>> = spans_of(&out).into_iter().map(|s| s.trace_id).collect();
        let expected: Vec<Vec<u8>> = kept.iter().map(|&i| golden_id(i).to_vec()).collect();
        assert_eq!(ids, expected, "seed {seed} at {pct} %");
    }
    let config = config(json!({"sampling_percentage": 15.3, "hash_seed": 22}));
    let request = traces(vec![
        (0..32).map(|i| span(golden_id(i), "", vec![])).collect(),
    ]);
    let states: Vec<String> = spans_of(&run(&config, &request).unwrap())
        .into_iter()
        .map(|s| s.trace_state)
        .collect();
    assert_eq!(
        states,
        [
            "ot=rv:de30119c660873;th:d8d8",
            "ot=rv:dc3023b5ef48f3;th:d8d8",
            "ot=rv:f8b01c2009c1d3;th:d8d8",
            "ot=rv:f13034a42a43b3;th:d8d8",
            "ot=rv:daf039605b8943;th:d8d8",
        ]
    );
}

#[test]
fn zero_percent_keeps_nothing_and_a_hundred_keeps_everything() {
    let ids: Vec<[u8; 16]> = (0..20).map(golden_id).collect();
    let request = traces(vec![ids.iter().map(|&id| span(id, "", vec![])).collect()]);
    for mode in ["hash_seed", "proportional", "equalizing"] {
        let none = config(json!({"sampling_percentage": 0, "mode": mode}));
        assert_eq!(run(&none, &request), None, "{mode}");
        let all = config(json!({"sampling_percentage": 100, "mode": mode}));
        let kept = spans_of(&run(&all, &request).unwrap());
        assert_eq!(kept.len(), 20, "{mode}");
        for span in kept {
            match mode {
                "hash_seed" => assert!(span.trace_state.ends_with(";th:0"), "{span:?}"),
                _ => assert_eq!(span.trace_state, "ot=th:0"),
            }
        }
    }
}

/// otelcol-contrib's `Test_tracesamplerprocessor_TraceState` cases for the two consistent
/// modes: (percentage, precision, trace id, arriving tracestate, `sampling.priority`, what
/// equalizing leaves, what proportional leaves; `None`: dropped). Its precision 0 is 14 here.
#[test]
fn consistent_modes_write_the_thresholds_otelcol_writes() {
    let default_tid = "fefefefefefefefefe80000000000000";
    let improbable = "111111111111111111ffffffffffffff";
    type Case<'a> = (
        f32,
        i64,
        &'a str,
        &'a str,
        Option<i64>,
        Option<&'a str>,
        Option<&'a str>,
    );
    #[rustfmt::skip]
    let cases: &[Case<'_>] = &[
        (100.0, 4, default_tid, "", None, Some("ot=th:0"), Some("ot=th:0")),
        (50.0, 4, default_tid, "", None, Some("ot=th:8"), Some("ot=th:8")),
        (25.0, 4, "ddddddddddddddddddc0000000000000", "", None, Some("ot=th:c"), Some("ot=th:c")),
        (25.0, 4, "ddddddddddddddddddb0000000000000", "", None, None, None),
        (1.0, 14, default_tid, "ot=rv:FD70A3D70A3D71", None,
            Some("ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71"),
            Some("ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71")),
        (1.0, 4, default_tid, "ot=rv:FD70A3D70A3D71", None,
            Some("ot=rv:FD70A3D70A3D71;th:fd70a"), Some("ot=rv:FD70A3D70A3D71;th:fd70a")),
        (1.0, 3, default_tid, "ot=rv:FD70A3D70A3D71", None, None, None),
        (1.0, 14, default_tid, "ot=rv:FD70A3D70A3D70", None, None, None),
        (49.0, 4, default_tid, "", None, None, None),
        (1.0, 14, default_tid, "ot=rv:fd70B000000000", None,
            Some("ot=rv:fd70B000000000;th:fd70a3d70a3d71"),
            Some("ot=rv:fd70B000000000;th:fd70a3d70a3d71")),
        (1.0, 4, "a0a0a0a0a0a0a0a0a0fe000000000000", "", None,
            Some("ot=th:fd70a"), Some("ot=th:fd70a")),
        (1.0, 4, default_tid, "", Some(2), Some("ot=th:0"), Some("ot=th:0")),
        (99.0, 4, default_tid, "", Some(0), None, None),
        (50.0, 4, default_tid, "ot=rv:90000000000000;th:80000000000000", None,
            Some("ot=rv:90000000000000;th:8"), None),
        (25.0, 4, default_tid, "ot=th:8", None, None, None),
        (25.0, 4, "ffffffffffffffffffffffffffffffff", "ot=th:8", None,
            Some("ot=th:c"), Some("ot=th:e")),
        (50.0, 4, default_tid, "ot=rv:c0000000000000;th:8", None,
            Some("ot=rv:c0000000000000;th:8"), Some("ot=rv:c0000000000000;th:c")),
        (100.0, 4, default_tid, "ot=rv:40000000000000;th:8", None,
            Some("ot=rv:40000000000000;th:0"), Some("ot=rv:40000000000000;th:0")),
        (40.0, 3, default_tid, "ot=rv:a0000000000000", None,
            Some("ot=rv:a0000000000000;th:99a"), Some("ot=rv:a0000000000000;th:99a")),
        (40.0, 6, "a0a0a0a0a0a0a0a0a0d0000000000000", "ot=th:8", None,
            Some("ot=th:99999a"), Some("ot=th:cccccd")),
        (40.0, 3, "a0a0a0a0a0a0a0a0a0b0000000000000", "ot=th:8", None, Some("ot=th:99a"), None),
        (40.0, 3, "a0a0a0a0a0a0a0a0a080000000000000", "ot=th:8", None, None, None),
        (200.0, 4, default_tid, "", None, Some("ot=th:0"), Some("ot=th:0")),
        (100.0 / 16384.0, 14, improbable, "ot=th:fffc", None,
            Some("ot=th:fffc"), Some("ot=th:fffffff")),
        (99.99992, 10, improbable, "", None,
            Some("ot=th:00000cccccccd"), Some("ot=th:00000cccccccd")),
        (0.0625, 14, improbable, "ot=th:fffffffffffff8", None,
            Some("ot=th:fffffffffffff8"), None),
    ];
    for &(pct, precision, tid, tracestate, priority, equalizing, proportional) in cases {
        for (mode, expected) in [
            (SamplerMode::Equalizing, equalizing),
            (SamplerMode::Proportional, proportional),
        ] {
            let mut config = bare(pct, mode);
            config.sampling_precision = precision;
            let attributes = priority
                .map(|p| vec![kv("sampling.priority", Value::IntValue(p))])
                .unwrap_or_default();
            let request = traces(vec![vec![span(hex_id(tid), tracestate, attributes)]]);
            let got = run(&config, &request).map(|out| spans_of(&out)[0].trace_state.clone());
            let case = format!("{mode:?} at {pct} %, precision {precision}, {tid} {tracestate:?}");
            assert_eq!(got.as_deref(), expected, "{case}");
        }
    }
}

/// Randomness that cannot be read, a contradicted threshold, and in `hash_seed` mode spans
/// already carrying `rv` or `th`: dropped under `fail_closed` (the default), kept otherwise
/// with the `tracestate` as otelcol leaves it (unreadable ones untouched).
#[test]
fn fail_closed_drops_what_cannot_be_decided_and_fail_open_keeps_it() {
    let tid = hex_id("fefefefefefefefefe80000000000000");
    #[rustfmt::skip]
    let cases = [
        ([0u8; 16], "", "missing randomness", "ot=th:0", "ot=rv:ffffffffffffff;th:0"),
        (tid, "ot=rv:abababababababab", "bad rv", "ot=rv:abababababababab", "ot=rv:abababababababab"),
        (tid, "ot=th:abababababababab", "long th", "ot=th:abababababababab", "ot=th:abababababababab"),
        (tid, "ot=th:-1", "bad th", "ot=th:-1", "ot=th:-1"),
        (tid, "Bad=1", "bad tracestate", "Bad=1", "Bad=1"),
        // The arriving threshold is forgotten, then the span is kept at 100 %.
        (hex_id("ffffffffffffffffff70000000000000"), "ot=th:8", "inconsistent", "ot=th:0", "ot=th:8"),
        (tid, "ot=th:8;rv:70000000000000", "inconsistent rv", "ot=rv:70000000000000;th:0", "ot=th:8;rv:70000000000000"),
    ];
    for (id, tracestate, what, consistent, hashed) in cases {
        for mode in ["proportional", "equalizing", "hash_seed"] {
            let request = traces(vec![vec![span(id, tracestate, vec![])]]);
            let closed = config(json!({"sampling_percentage": 100, "mode": mode}));
            assert_eq!(run(&closed, &request), None, "{what}, {mode}, fail closed");
            let open =
                config(json!({"sampling_percentage": 100, "mode": mode, "fail_closed": false}));
            let kept = spans_of(&run(&open, &request).expect("kept when failing open"));
            let expected = if mode == "hash_seed" {
                hashed
            } else {
                consistent
            };
            assert_eq!(kept[0].trace_state, expected, "{what}, {mode}, fail open");
        }
    }
}

/// otelcol-contrib's `Test_tracesamplerprocessor_SpanSamplingPriority`, in every mode:
/// `sampling.priority` above 0 keeps a span at 0 %, 0 drops it at 100 %, another key defers.
#[test]
fn sampling_priority_keeps_or_drops_a_span_whatever_the_percentage() {
    let tid = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let cases = [
        ("sampling.priority", Value::IntValue(2), 0.0, true),
        ("sampling.priority", Value::DoubleValue(1.0), 0.0, true),
        ("sampling.priority", s("1"), 0.0, true),
        ("sampling.priority", Value::IntValue(0), 100.0, false),
        ("sampling.priority", Value::DoubleValue(0.0), 100.0, false),
        ("sampling.priority", s("0"), 100.0, false),
        ("no.sampling.priority", Value::IntValue(2), 0.0, false),
        ("no.sampling.priority", Value::IntValue(2), 100.0, true),
    ];
    for mode in [
        SamplerMode::HashSeed,
        SamplerMode::Equalizing,
        SamplerMode::Proportional,
    ] {
        for (key, value, pct, kept) in cases.clone() {
            let mut config = bare(pct, mode);
            config.hash_seed = if mode == SamplerMode::HashSeed {
                4312
            } else {
                0
            };
            let request = traces(vec![vec![span(tid, "", vec![kv(key, value.clone())])]]);
            assert_eq!(
                run(&config, &request).is_some(),
                kept,
                "{mode:?} {key}={value:?} at {pct}"
            );
        }
    }
}

/// At 0 % nothing is decided by randomness; failing open on an unreadable `tracestate` keeps
/// the span, written with what otelcol's parser had read (here nothing but the new `th`).
#[test]
fn zero_percent_failing_open_writes_into_what_was_read() {
    let config = config(json!({"sampling_percentage": 0, "fail_closed": false}));
    let request = traces(vec![vec![span(golden_id(1), "ot=th:-1,vendor=1", vec![])]]);
    let kept = spans_of(&run(&config, &request).expect("kept"));
    assert_eq!(kept[0].trace_state, "ot=th:0,vendor=1");
}

#[test]
fn only_the_tracestate_changes_and_unchanged_batches_pass_as_the_same_bytes() {
    let mut with_fields = span(golden_id(3), "vendor=x", vec![kv("k", s("v"))]);
    with_fields.parent_span_id = vec![9; 8];
    with_fields.start_time_unix_nano = 17;
    let request = traces(vec![vec![with_fields.clone()]]);
    let proportional = config(json!({"sampling_percentage": 100, "mode": "proportional"}));
    let kept = spans_of(&run(&proportional, &request).unwrap());
    let mut expected = with_fields;
    expected.trace_state = "ot=th:0,vendor=x".to_string();
    assert_eq!(kept, [expected.clone()]);

    // Already carrying what the sampler would write: not copied at all.
    let request = traces(vec![vec![expected.clone(), expected]]);
    let input = batch(&request);
    let bytes = input.to_bytes();
    let mut processor = ProbabilisticSamplerProcessor::new(&proportional);
    let out = processor.apply(input).unwrap().unwrap();
    assert_eq!(out.to_bytes().as_ptr(), bytes.as_ptr(), "not copied");
}

#[test]
fn resources_left_without_spans_go() {
    let config = config(json!({"sampling_percentage": 15.3, "hash_seed": 22}));
    // Golden ids 5 and 6 are kept (see above), 0 to 4 are not.
    let request = traces(vec![
        (0..5).map(|i| span(golden_id(i), "", vec![])).collect(),
        vec![
            span(golden_id(5), "", vec![]),
            span(golden_id(1), "", vec![]),
        ],
    ]);
    let Request::Traces(out) = run(&config, &request).unwrap() else {
        unreachable!()
    };
    assert_eq!(out.resource_spans.len(), 1);
    assert_eq!(
        out.resource_spans[0].resource,
        Some(Resource {
            attributes: vec![kv("service.name", s("svc-1"))],
            ..Default::default()
        })
    );
}

/// 10 000 random trace ids at 30 %: the count kept is binomial (mean 3000, standard deviation
/// sqrt(10000 * 0.3 * 0.7) = 45.8); six deviations either side, [2725, 3275], is missed with
/// probability about 2e-9 by a fair sampler, and the ids are a fixed-seed sequence, so the
/// test cannot flake.
#[test]
fn thirty_percent_of_ten_thousand_random_traces_are_kept() {
    let mut rng = SplitMix(0x5eed);
    let ids: Vec<[u8; 16]> = (0..10_000).map(|_| rng.trace_id()).collect();
    let request = traces(
        ids.chunks(1000)
            .map(|chunk| chunk.iter().map(|&id| span(id, "", vec![])).collect())
            .collect(),
    );
    for mode in ["hash_seed", "proportional", "equalizing"] {
        let config = config(json!({"sampling_percentage": 30, "mode": mode, "hash_seed": 0}));
        let kept = spans_of(&run(&config, &request).unwrap()).len();
        assert!(
            (2725..=3275).contains(&kept),
            "{mode}: {kept} of 10000 kept"
        );
    }
}
