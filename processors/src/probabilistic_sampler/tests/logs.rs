//! Log records: by trace id or attribute in `hash_seed` mode, by trace id or
//! `sampling.randomness` in the consistent modes, `sampling_priority`, the `sampling.*`
//! attributes kept records leave with, missing randomness, and the decision counters.

use std::sync::atomic::Ordering;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_core::batch::Request;

use super::{bare, kv, run, s};
use crate::probabilistic_sampler::hash::compute_hash;
use crate::probabilistic_sampler::{AttributeSource, ProbabilisticSamplerConfig, SamplerMode};

fn logs(records: Vec<LogRecord>) -> Request {
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn records_of(request: Option<Request>) -> Vec<LogRecord> {
    match request {
        Some(Request::Logs(request)) => request
            .resource_logs
            .into_iter()
            .flat_map(|r| r.scope_logs)
            .flat_map(|s| s.log_records)
            .collect(),
        None => Vec::new(),
        Some(_) => panic!("logs expected"),
    }
}

fn hex_id(text: &str) -> Vec<u8> {
    (0..16)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The 100 records of otelcol-contrib's `TestLogsSampling`: trace id `[0 x8, i x8]` (all zero
/// for i = 0), `rando` the int `computeHash(trace id, 123)`, on even records `foo` (the trace
/// id as bytes) and `bar` (its hex, empty for the zero id, as pdata prints it), on every fourth
/// `priority` = 100.0.
fn otelcol_records() -> Vec<LogRecord> {
    (0..100u8)
        .map(|i| {
            let mut id = [0u8; 16];
            id[8..].fill(i);
            let mut attributes = vec![kv(
                "rando",
                Value::IntValue(i64::from(compute_hash(&id, 123))),
            )];
            if i % 2 == 0 {
                attributes.push(kv("foo", Value::BytesValue(id.to_vec())));
                let hex: String = if i == 0 {
                    String::new()
                } else {
                    id.iter().map(|b| format!("{b:02x}")).collect()
                };
                attributes.push(kv("bar", s(&hex)));
            }
            if i % 4 == 0 {
                attributes.push(kv("priority", Value::DoubleValue(100.0)));
            }
            LogRecord {
                time_unix_nano: 1_649_400_860,
                severity_number: 5,
                trace_id: id.to_vec(),
                attributes,
                ..Default::default()
            }
        })
        .collect()
}

/// `attribute_source: record` without `from_attribute`: what otelcol's `&Config{}` (empty
/// attribute source) does, reachable here only by skipping validation.
fn sourced(
    pct: f32,
    source: AttributeSource,
    from: &str,
    priority: &str,
    fail_closed: bool,
) -> ProbabilisticSamplerConfig {
    ProbabilisticSamplerConfig {
        attribute_source: source,
        from_attribute: from.to_string(),
        sampling_priority: priority.to_string(),
        fail_closed,
        ..bare(pct, SamplerMode::HashSeed)
    }
}

/// The counts of otelcol-contrib's `TestLogsSampling`, case by case.
#[test]
fn hash_seed_keeps_as_many_records_as_otelcols_logs_test() {
    use AttributeSource::{Record, TraceId};
    let request = logs(otelcol_records());
    let cases = [
        ("happy_path", sourced(100.0, Record, "", "", false), 100),
        ("nothing", sourced(0.0, Record, "", "", true), 0),
        ("roughly half", sourced(50.0, TraceId, "", "", true), 45),
        (
            "sampling_source no sampling",
            sourced(0.0, Record, "foo", "", false),
            0,
        ),
        (
            "sampling_source all sampling",
            sourced(100.0, Record, "foo", "", false),
            100,
        ),
        (
            "sampling_source sampling",
            sourced(50.0, Record, "foo", "", true),
            23,
        ),
        (
            "sampling_source sampling as string",
            sourced(50.0, Record, "bar", "", true),
            29,
        ),
        (
            "sampling_priority_0_record",
            sourced(0.0, Record, "rando", "priority", false),
            25,
        ),
        (
            "sampling_priority_50_record",
            sourced(50.0, Record, "rando", "priority", false),
            64,
        ),
        (
            "sampling_priority_100_record",
            sourced(100.0, Record, "rando", "priority", false),
            100,
        ),
        (
            "sampling_priority_0_traceid",
            sourced(0.0, TraceId, "", "priority", false),
            25,
        ),
        (
            "sampling_priority_50_traceid",
            sourced(50.0, TraceId, "", "priority", false),
            57,
        ),
        (
            "sampling_priority_100_traceid",
            sourced(100.0, TraceId, "", "priority", false),
            100,
        ),
        (
            "sampling_priority with sampling field",
            sourced(0.0, Record, "foo", "priority", false),
            25,
        ),
    ];
    for (name, config, expected) in cases {
        assert_eq!(records_of(run(&config, &request)).len(), expected, "{name}");
    }
}

fn attributes(record: &LogRecord) -> Vec<(String, Value)> {
    record
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
        .collect()
}

fn one(
    config: &ProbabilisticSamplerConfig,
    trace_id: &str,
    attrs: Vec<KeyValue>,
) -> Option<Vec<(String, Value)>> {
    let record = LogRecord {
        trace_id: if trace_id.is_empty() {
            Vec::new()
        } else {
            hex_id(trace_id)
        },
        attributes: attrs,
        ..Default::default()
    };
    records_of(run(config, &logs(vec![record])))
        .first()
        .map(attributes)
}

/// otelcol-contrib's `TestLogsSamplingState`: what kept records carry. The `hash_seed`
/// randomness values are otelcol's algorithm's (see the traces tests' golden script).
#[test]
fn kept_records_carry_the_sampling_attributes_otelcol_writes() {
    let tid = "fefefefefefefefefe80000000000000";
    let st = |k: &str, v: &str| (k.to_string(), s(v));

    let proportional = bare(100.0, SamplerMode::Proportional);
    assert_eq!(
        one(&proportional, tid, vec![kv("ignored", s("value"))]),
        Some(vec![st("ignored", "value"), st("sampling.threshold", "0")])
    );

    let mut hashed = bare(100.0, SamplerMode::HashSeed);
    hashed.hash_seed = 22;
    assert_eq!(
        one(&hashed, tid, vec![kv("K", s("V"))]),
        Some(vec![
            st("K", "V"),
            st("sampling.randomness", "d1081bd3f54bbd"),
            st("sampling.threshold", "0"),
        ])
    );

    let mut by_attribute = sourced(100.0, AttributeSource::Record, "veryrandom", "", false);
    by_attribute.hash_seed = 49;
    assert_eq!(
        one(&by_attribute, "", vec![kv("veryrandom", s("1234"))]),
        Some(vec![
            st("veryrandom", "1234"),
            st("sampling.randomness", "16dc14dd363a48"),
            st("sampling.threshold", "0"),
        ])
    );

    assert_eq!(one(&bare(0.0, SamplerMode::HashSeed), tid, vec![]), None);

    // 0 %, but the record asks for 10.125 %: kept at that threshold, precision 6.
    let mut priority = sourced(0.0, AttributeSource::TraceId, "", "veryrandom", false);
    priority.sampling_precision = 6;
    assert_eq!(
        one(
            &priority,
            tid,
            vec![
                kv("sampling.randomness", s("e6147c00000000")),
                kv("veryrandom", Value::DoubleValue(10.125)),
            ]
        ),
        Some(vec![
            st("sampling.randomness", "e6147c00000000"),
            ("veryrandom".to_string(), Value::DoubleValue(10.125)),
            st("sampling.threshold", "e6147b"),
        ])
    );

    let half = bare(50.0, SamplerMode::Proportional);
    assert_eq!(
        one(
            &half,
            "fefefefefefefefefef0000000000000",
            vec![kv("sampling.threshold", s("c"))]
        ),
        Some(vec![st("sampling.threshold", "e")])
    );

    let mut equalizing = bare(50.0, SamplerMode::Equalizing);
    equalizing.fail_closed = true;
    assert_eq!(
        one(
            &equalizing,
            "fefefefefefefefefeb0000000000000",
            vec![kv("sampling.threshold", s("c"))]
        ),
        None,
        "inconsistent arriving threshold"
    );

    // The record's 37 % would raise the 25 % it arrived with: the threshold stays.
    let mut equalizing = bare(50.0, SamplerMode::Equalizing);
    equalizing.sampling_priority = "prio".to_string();
    assert_eq!(
        one(
            &equalizing,
            "fefefefefefefefefefefefefefefefe",
            vec![
                kv("sampling.threshold", s("c")),
                kv("prio", Value::IntValue(37)),
            ]
        ),
        Some(vec![
            st("sampling.threshold", "c"),
            ("prio".to_string(), Value::IntValue(37))
        ])
    );

    // hash_seed leaves records carrying consistent-sampling randomness alone (fail open).
    assert_eq!(
        one(
            &bare(100.0, SamplerMode::HashSeed),
            tid,
            vec![kv("sampling.randomness", s("f2341234123412"))]
        ),
        Some(vec![st("sampling.randomness", "f2341234123412")])
    );
}

/// A contradicted arriving threshold is removed as pdata removes (the last attribute moves
/// into its place) and written again at the end.
#[test]
fn a_contradicted_threshold_is_removed_then_written_as_pdata_would() {
    let config = bare(100.0, SamplerMode::Equalizing);
    let got = one(
        &config,
        "fefefefefefefefefe10000000000000",
        vec![
            kv("sampling.threshold", s("8")),
            kv("a", s("1")),
            kv("b", s("2")),
        ],
    );
    let st = |k: &str, v: &str| (k.to_string(), s(v));
    assert_eq!(
        got,
        Some(vec![
            st("b", "2"),
            st("a", "1"),
            st("sampling.threshold", "0")
        ])
    );
}

/// otelcol-contrib's `TestLogsMissingRandomness`: an all-zero trace id and an empty
/// `from_attribute` value, in every mode: kept only when failing open above 0 %.
#[test]
fn records_without_randomness_fail_closed_or_open() {
    for mode in [
        SamplerMode::HashSeed,
        SamplerMode::Equalizing,
        SamplerMode::Proportional,
    ] {
        for source in [AttributeSource::Record, AttributeSource::TraceId] {
            for (pct, fail_closed, kept) in [
                (0.0, true, false),
                (50.0, true, false),
                (100.0, true, false),
                (0.0, false, false),
                (50.0, false, true),
                (100.0, false, true),
            ] {
                let mut config = bare(pct, mode);
                config.fail_closed = fail_closed;
                config.attribute_source = source;
                if mode == SamplerMode::HashSeed {
                    config.from_attribute = "unused".to_string();
                    config.hash_seed = 4312;
                }
                let record = LogRecord {
                    trace_id: vec![0; 16],
                    attributes: vec![kv("unused", s(""))],
                    ..Default::default()
                };
                let out = records_of(run(&config, &logs(vec![record])));
                assert_eq!(
                    !out.is_empty(),
                    kept,
                    "{mode:?} {source:?} {pct} % closed {fail_closed}"
                );
            }
        }
    }
}

#[test]
fn decisions_are_counted_by_policy_and_outcome() {
    let config = sourced(50.0, AttributeSource::Record, "counted.record.id", "", true);
    let request = logs(otelcol_records());
    let kept = records_of(run(&config, &request)).len();
    let counter = |sampled| {
        weir_core::telemetry::counter(
            "otelcol_processor_probabilistic_sampler_count_logs_sampled_total",
            "",
            &[("policy", "counted.record.id"), ("sampled", sampled)],
        )
        .load(Ordering::Relaxed)
    };
    // Every record has `counted.record.id` missing: all are counted as missing randomness,
    // so this attribute's own series stay at zero.
    assert_eq!(kept, 0);
    assert_eq!(counter("true") + counter("false"), 0);
    let mut records = otelcol_records();
    for (i, record) in records.iter_mut().enumerate() {
        record
            .attributes
            .push(kv("counted.record.id", s(&format!("r-{i}"))));
    }
    let kept = records_of(run(&config, &logs(records))).len() as u64;
    assert_eq!(counter("true"), kept);
    assert_eq!(counter("false"), 100 - kept);
}

/// otelcol's logs `sampling_priority` is the record's own percentage, not OpenTracing's flag:
/// it replaces the configured one up or down; 0, values above 100, negative ones and strings
/// give none. At 0 % the record's randomness is never read, so any percentage keeps it.
#[test]
fn a_records_priority_is_its_percentage_and_zero_means_none() {
    // Randomness 0x80000000000000: kept at 50 % and above, not below.
    let tid = "fefefefefefefefefe80000000000000";
    for (pct, priority, kept) in [
        (50.0, Value::DoubleValue(40.0), false),
        (50.0, Value::IntValue(60), true),
        (40.0, Value::IntValue(50), true),
        (50.0, Value::IntValue(0), true),
        (40.0, Value::IntValue(0), false),
        (40.0, Value::IntValue(150), false),
        (40.0, Value::IntValue(-5), false),
        (40.0, s("100"), false),
        (0.0, Value::DoubleValue(0.5), true),
        (0.0, Value::IntValue(0), false),
    ] {
        let mut config = bare(pct, SamplerMode::Equalizing);
        config.sampling_priority = "prio".to_string();
        let got = one(&config, tid, vec![kv("prio", priority.clone())]);
        assert_eq!(got.is_some(), kept, "{priority:?} at {pct} %");
    }
}
