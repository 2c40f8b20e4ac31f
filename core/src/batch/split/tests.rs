//! Unit tests of concatenation and splitting on hand-built requests; the randomized properties
//! live in `batch::props`.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::*;
use crate::batch::testgen::{flatten_metrics, flatten_traces};
use crate::batch::{Request, wire};

fn resource(name: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(name.into())),
            }),
            key_strindex: 0,
        }],
        ..Default::default()
    })
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        ..Default::default()
    })
}

fn spans(prefix: &str, n: usize) -> Vec<Span> {
    (0..n)
        .map(|i| Span {
            name: format!("{prefix}{i}"),
            ..Default::default()
        })
        .collect()
}

fn resource_spans(name: &str, scopes: &[usize]) -> ResourceSpans {
    ResourceSpans {
        resource: resource(name),
        scope_spans: scopes
            .iter()
            .enumerate()
            .map(|(i, n)| ScopeSpans {
                scope: scope(&format!("{name}/scope{i}")),
                spans: spans(&format!("{name}/{i}/"), *n),
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
            })
            .collect(),
        schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
    }
}

fn traces(resources: Vec<ResourceSpans>) -> Bytes {
    Bytes::from(
        ExportTraceServiceRequest {
            resource_spans: resources,
        }
        .encode_to_vec(),
    )
}

fn decode_traces(bytes: &[u8]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::decode(bytes).expect("valid traces")
}

fn concat_pieces(pieces: &[(Bytes, usize)]) -> Vec<u8> {
    pieces.iter().flat_map(|(b, _)| b.iter().copied()).collect()
}

fn counts(pieces: &[(Bytes, usize)]) -> Vec<usize> {
    pieces.iter().map(|(_, n)| *n).collect()
}

/// Every piece must say truthfully how many items it holds.
fn check_piece_counts(signal: Signal, pieces: &[(Bytes, usize)]) {
    for (bytes, items) in pieces {
        assert_eq!(wire::walk(signal, bytes).map(|s| s.items), Ok(*items));
    }
}

#[test]
fn concat_appends_and_is_reusable_after_take() {
    let a = traces(vec![resource_spans("a", &[2])]);
    let b = traces(vec![resource_spans("b", &[1, 1])]);
    let mut concat = Concat::new();
    assert!(concat.is_empty());
    concat.push(&a, 2);
    concat.push(&b, 2);
    assert_eq!((concat.items(), concat.len()), (4, a.len() + b.len()));
    let first = concat.take();
    assert_eq!((concat.items(), concat.len()), (0, 0));
    let merged = decode_traces(&first);
    assert_eq!(
        merged.resource_spans,
        [
            decode_traces(&a).resource_spans,
            decode_traces(&b).resource_spans
        ]
        .concat()
    );
    drop(first);
    concat.push(&b, 2);
    assert_eq!(concat.take(), b);
}

#[test]
fn concat_batches_merges_same_signal_batches_and_refuses_others() {
    let meta = Arc::new(BatchMeta::default());
    let a = Batch::from_encoded(
        Signal::Traces,
        traces(vec![resource_spans("a", &[2])]),
        meta.clone(),
    )
    .expect("a");
    let b_request =
        Request::decode(Signal::Traces, &traces(vec![resource_spans("b", &[3])])).expect("b");
    let b = Batch::from_request(b_request, Arc::new(BatchMeta::default()));
    let merged = concat_batches(&[a.clone(), b.clone()]).expect("same signal");
    assert!(merged.is_encoded());
    assert_eq!(merged.items(), 5);
    assert!(
        Arc::ptr_eq(merged.meta(), &meta),
        "meta comes from the first batch"
    );
    let Request::Traces(merged) = merged.decoded().expect("decodes").as_ref().clone() else {
        panic!("not traces")
    };
    assert_eq!(merged.resource_spans.len(), 2);
    assert_eq!(merged.resource_spans[1].scope_spans[0].spans.len(), 3);

    let single = concat_batches(std::slice::from_ref(&b)).expect("one batch");
    assert!(
        !single.is_encoded(),
        "a single batch is handed back as it is"
    );

    assert_eq!(concat_batches(&[]).map(|_| ()), Err(ConcatError::Empty));
    let logs = Batch::from_request(
        Request::Logs(ExportLogsServiceRequest::default()),
        Arc::new(BatchMeta::default()),
    );
    let err = concat_batches(&[a, b, logs])
        .map(|_| ())
        .expect_err("mixed");
    assert_eq!(
        err,
        ConcatError::MixedSignals {
            expected: Signal::Traces,
            found: Signal::Logs,
            index: 2,
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot concatenate batch 2 of logs onto traces batches"
    );
}

#[test]
fn split_cuts_between_resources_as_slices_of_the_input() {
    let bytes = traces(vec![
        resource_spans("a", &[2]),
        resource_spans("b", &[1, 2]),
        resource_spans("c", &[]),
        resource_spans("d", &[4]),
        resource_spans("e", &[1]),
    ]);
    let pieces = split(Signal::Traces, &bytes, 5).expect("valid");
    assert_eq!(counts(&pieces), [5, 5]);
    assert_eq!(concat_pieces(&pieces), bytes.as_ref());
    let input = bytes.as_ptr_range();
    for (piece, _) in &pieces {
        assert!(
            input.contains(&piece.as_ptr()),
            "piece is a slice of the input"
        );
    }
    check_piece_counts(Signal::Traces, &pieces);

    assert_eq!(
        counts(&split(Signal::Traces, &bytes, 4).expect("valid")),
        [2, 3, 4, 1]
    );
    assert_eq!(
        counts(&split(Signal::Traces, &bytes, 0).expect("valid")),
        [10]
    );
    assert_eq!(
        counts(&split(Signal::Traces, &bytes, 10).expect("valid")),
        [10]
    );
    assert_eq!(
        counts(&split(Signal::Traces, &Bytes::new(), 3).expect("valid")),
        [0]
    );
}

#[test]
fn split_divides_an_oversized_resource_on_the_wire() {
    let big = resource_spans("big", &[3, 0, 4]);
    let bytes = traces(vec![
        resource_spans("a", &[1]),
        big,
        resource_spans("z", &[2]),
    ]);
    let pieces = split(Signal::Traces, &bytes, 3).expect("valid");
    assert_eq!(counts(&pieces), [1, 3, 3, 1, 2]);
    check_piece_counts(Signal::Traces, &pieces);

    let original = decode_traces(&bytes);
    let rejoined = decode_traces(&concat_pieces(&pieces));
    assert_eq!(flatten_traces(&rejoined), flatten_traces(&original));
    // The pieces of the big resource each carry its resource and scope fields; the empty
    // scope goes into the first piece only.
    let scopes_of = |piece: &Bytes| -> Vec<_> {
        let request = decode_traces(piece);
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(request.resource_spans[0].resource, resource("big"));
        assert_eq!(
            request.resource_spans[0].schema_url,
            original.resource_spans[1].schema_url
        );
        request.resource_spans[0]
            .scope_spans
            .iter()
            .map(|s| s.scope.clone())
            .collect()
    };
    assert_eq!(
        scopes_of(&pieces[1].0),
        [scope("big/scope0"), scope("big/scope1")]
    );
    assert_eq!(scopes_of(&pieces[2].0), [scope("big/scope2")]);
    assert_eq!(scopes_of(&pieces[3].0), [scope("big/scope2")]);
}

fn sum_metric(name: &str, points: usize) -> Metric {
    Metric {
        name: name.into(),
        unit: "By".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: (0..points)
                .map(|i| NumberDataPoint {
                    time_unix_nano: i as u64,
                    value: Some(number_data_point::Value::AsInt(i as i64)),
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: 2,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

#[test]
fn split_divides_an_oversized_metric_between_its_data_points() {
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("m"),
            scope_metrics: vec![ScopeMetrics {
                scope: scope("meter"),
                metrics: vec![
                    sum_metric("small", 2),
                    sum_metric("large", 7),
                    sum_metric("empty", 0),
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let bytes = Bytes::from(request.encode_to_vec());
    let pieces = split(Signal::Metrics, &bytes, 4).expect("valid");
    assert_eq!(counts(&pieces), [4, 4, 1]);
    check_piece_counts(Signal::Metrics, &pieces);
    let rejoined =
        ExportMetricsServiceRequest::decode(concat_pieces(&pieces).as_slice()).expect("valid");
    assert_eq!(flatten_metrics(&rejoined), flatten_metrics(&request));
    let second = ExportMetricsServiceRequest::decode(pieces[1].0.as_ref()).expect("valid");
    let metric = &second.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_eq!(
        (metric.name.as_str(), metric.unit.as_str()),
        ("large", "By")
    );
    let Some(metric::Data::Sum(sum)) = &metric.data else {
        panic!("sum expected")
    };
    assert_eq!(
        (
            sum.aggregation_temporality,
            sum.is_monotonic,
            sum.data_points.len()
        ),
        (2, true, 4)
    );
}

#[test]
fn split_of_an_oversized_metric_keeps_only_the_data_prost_keeps() {
    // A metric whose data field repeats: a gauge replaced by a sum, then a second sum merged in.
    let gauge = metric::Data::Gauge(opentelemetry_proto::tonic::metrics::v1::Gauge {
        data_points: vec![NumberDataPoint::default(); 3],
    });
    let mut bytes = Vec::new();
    for data in [
        gauge,
        sum_metric("", 2).data.expect("sum"),
        sum_metric("", 3).data.expect("sum"),
    ] {
        data.encode(&mut bytes);
    }
    let metric = [
        Metric {
            name: "m".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        bytes,
    ]
    .concat();
    let scope = [vec![0x12], wire_varint(metric.len()), metric].concat();
    let resource = [vec![0x12], wire_varint(scope.len()), scope].concat();
    let request = Bytes::from([vec![0x0a], wire_varint(resource.len()), resource].concat());

    let pieces = split(Signal::Metrics, &request, 2).expect("valid");
    assert_eq!(counts(&pieces), [2, 2, 1]);
    let original = ExportMetricsServiceRequest::decode(request.as_ref()).expect("valid");
    let rejoined =
        ExportMetricsServiceRequest::decode(concat_pieces(&pieces).as_slice()).expect("valid");
    assert_eq!(flatten_metrics(&rejoined), flatten_metrics(&original));
}

fn wire_varint(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    wire::put_varint(&mut out, n as u64);
    out
}

#[test]
fn split_batch_encodes_decoded_batches_and_keeps_meta() {
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("l"),
            scope_logs: vec![ScopeLogs {
                scope: scope("logger"),
                log_records: vec![LogRecord::default(); 5],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let meta = Arc::new(BatchMeta::default());
    let batch = Batch::from_request(Request::Logs(logs), meta.clone());
    let pieces = split_batch(&batch, 2).expect("valid");
    let items: Vec<usize> = pieces.iter().map(Batch::items).collect();
    assert_eq!(items, [2, 2, 1]);
    assert!(
        pieces
            .iter()
            .all(|p| p.is_encoded() && Arc::ptr_eq(p.meta(), &meta))
    );
    assert_eq!(split_batch(&batch, 5).expect("fits").len(), 1);
    assert_eq!(split_batch(&batch, 0).expect("no limit").len(), 1);
}

#[test]
fn split_refuses_malformed_input() {
    let err =
        split(Signal::Logs, &Bytes::from_static(&[0x0a, 0x05, 0x00]), 1).expect_err("malformed");
    assert_eq!(
        err.to_string(),
        "malformed logs request at byte 1: length 5 of field export_logs_service_request.resource_logs runs past the end of its message (1 available)"
    );
}

#[test]
fn the_next_batch_starts_in_a_buffer_the_size_of_the_last() {
    let request = traces(vec![resource_spans("a", &[3])]);
    let mut concat = Concat::new();
    for _ in 0..10 {
        concat.push(&request, 3);
    }
    let first = concat.take();
    assert_eq!(first.len(), 10 * request.len());
    concat.push(&request, 3);
    assert!(
        concat.buf.capacity() >= first.len(),
        "capacity {} after a batch of {} bytes",
        concat.buf.capacity(),
        first.len()
    );
    assert_eq!(concat.take(), request, "the bytes are the pushed request");
}

#[test]
fn a_batch_larger_than_the_last_grows_by_a_quarter_not_double() {
    let request = traces(vec![resource_spans("a", &[3])]);
    let mut concat = Concat::new();
    for _ in 0..8 {
        concat.push(&request, 3);
    }
    let last = concat.take().len();
    assert_eq!(last, 8 * request.len());
    // The next batch starts at the last one's size plus a quarter: ten requests fit.
    for _ in 0..10 {
        concat.push(&request, 3);
    }
    assert_eq!(concat.buf.capacity(), last + last / 4);
    // One more outgrows it: the buffer grows to what it holds plus a quarter.
    concat.push(&request, 3);
    let holds = 11 * request.len();
    assert_eq!(concat.buf.capacity(), holds + holds / 4);
    let taken = concat.take();
    assert_eq!(taken.len(), holds);
    assert_eq!(
        wire::walk(Signal::Traces, &taken).map(|s| s.items),
        Ok(33),
        "the regrown buffer kept every request"
    );
}
