//! The processor on encoded requests with tokio's paused clock: traces held until their
//! wait is over and passed on whole, late spans following the decision, the `num_traces`
//! bound deciding the oldest early, the decision caches, shutdown, spans without a trace id;
//! and cutting requests into traces and writing them back loses and changes no span.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use proptest::prelude::*;
use prost::Message;
use serde_json::json;
use weir_core::batch::{Batch, BatchMeta, Request, Signal};
use weir_core::component::{ComponentConfig, Processor};

use super::*;
use crate::testgen::{self, Flat, Size};

fn config(value: serde_json::Value) -> TailSamplingConfig {
    let config: TailSamplingConfig = serde_json::from_value(value).expect("config parses");
    config.validate().expect("config is valid");
    config
}

/// Keeps traces with an error span.
fn errors(wait: &str, extra: serde_json::Value) -> TailSamplingConfig {
    let mut value = json!({
        "decision_wait": wait,
        "policies": [{
            "name": "errors",
            "type": "status_code",
            "status_code": { "status_codes": ["ERROR"] },
        }],
    });
    if let (Some(map), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        map.extend(extra.clone());
    }
    config(value)
}

fn span(trace: u8, id: u8, error: bool) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: format!("span {trace}/{id}"),
        status: error.then(|| Status {
            code: status::StatusCode::Error as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    ..Default::default()
                }),
                spans,
                schema_url: "https://scope".into(),
            }],
            schema_url: "https://resource".into(),
        }],
    }
}

fn batch(request: &ExportTraceServiceRequest) -> Batch {
    Batch::from_encoded(
        Signal::Traces,
        request.encode_to_vec().into(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request")
}

fn processor(config: &TailSamplingConfig) -> TailSamplingProcessor {
    TailSamplingProcessor::new(config, "tail_sampling").expect("builds")
}

async fn send(p: &mut TailSamplingProcessor, request: &ExportTraceServiceRequest) -> Vec<Batch> {
    let mut out = Vec::new();
    p.process(batch(request), &mut out)
        .await
        .expect("processes");
    out
}

async fn tick(p: &mut TailSamplingProcessor) -> Vec<Batch> {
    let mut out = Vec::new();
    if p.deadline().is_some_and(|d| d <= Instant::now()) {
        p.on_deadline(&mut out).await.expect("decides");
    }
    out
}

/// Span names per trace id byte, over every batch, each batch decoded.
fn names(batches: &[Batch]) -> BTreeMap<u8, Vec<String>> {
    let mut out: BTreeMap<u8, Vec<String>> = BTreeMap::new();
    for batch in batches {
        let Request::Traces(r) = Request::decode(Signal::Traces, &batch.to_bytes()).unwrap() else {
            unreachable!()
        };
        for rs in &r.resource_spans {
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    out.entry(s.trace_id[0]).or_default().push(s.name.clone());
                }
            }
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn spans_of_a_trace_are_held_until_the_wait_is_over_and_pass_whole_with_their_resource() {
    let mut p = processor(&errors("10s", json!({})));
    assert!(
        send(
            &mut p,
            &request("a", vec![span(1, 1, false), span(2, 1, false)])
        )
        .await
        .is_empty()
    );
    tokio::time::advance(Duration::from_secs(4)).await;
    assert!(
        send(
            &mut p,
            &request("b", vec![span(1, 2, true), span(2, 2, false)])
        )
        .await
        .is_empty()
    );
    assert_eq!(p.held_traces(), 2);
    assert!(p.held_bytes() > 0);
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(tick(&mut p).await.is_empty(), "not due before 10 s");
    tokio::time::advance(Duration::from_secs(1)).await;
    let out = tick(&mut p).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].items(), 2);
    // Trace 1 had an error span: both its spans pass, each with the resource it came with.
    let Request::Traces(r) = Request::decode(Signal::Traces, &out[0].to_bytes()).unwrap() else {
        unreachable!()
    };
    assert_eq!(r.resource_spans.len(), 2);
    assert_eq!(r, {
        let mut expected = request("a", vec![span(1, 1, false)]);
        expected
            .resource_spans
            .extend(request("b", vec![span(1, 2, true)]).resource_spans);
        expected
    });
    assert_eq!(p.held_traces(), 0);
    assert_eq!(p.held_bytes(), 0, "held bytes are released with the trace");
}

#[tokio::test(start_paused = true)]
async fn spans_arriving_after_the_decision_follow_it() {
    let mut p = processor(&errors("1s", json!({})));
    send(
        &mut p,
        &request("a", vec![span(1, 1, true), span(2, 1, false)]),
    )
    .await;
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(names(&tick(&mut p).await).len(), 1);
    // A late span of the kept trace passes at once; one of the dropped trace is dropped, even
    // though it is an error span now. Both are counted as late.
    let late = || {
        weir_core::telemetry::histograms()
            .into_iter()
            .find(|h| h.name == "otelcol_processor_tail_sampling_sampling_late_span_age")
            .map_or(0, |h| h.count)
    };
    let before = late();
    let out = send(
        &mut p,
        &request("a", vec![span(1, 9, false), span(2, 9, true)]),
    )
    .await;
    assert!(late() >= before + 2, "both late spans are counted");
    assert_eq!(
        names(&out),
        BTreeMap::from([(1, vec!["span 1/9".to_string()])])
    );
    assert_eq!(p.held_traces(), 0);
}

#[tokio::test(start_paused = true)]
async fn num_traces_bounds_memory_by_deciding_the_oldest_early() {
    let mut p = processor(&errors("30s", json!({ "num_traces": 3 })));
    let mut out = Vec::new();
    for trace in 1..=10u8 {
        out.extend(send(&mut p, &request("a", vec![span(trace, 1, trace % 2 == 0)])).await);
        assert!(p.held_traces() <= 3);
    }
    // Traces 1..=7 were pushed out and decided on what they had: the even ones kept.
    assert_eq!(
        names(&out).keys().copied().collect::<Vec<_>>(),
        vec![2, 4, 6]
    );
    let mut rest = Vec::new();
    p.flush(&mut rest).await.unwrap();
    assert_eq!(
        names(&rest).keys().copied().collect::<Vec<_>>(),
        vec![8, 10]
    );
}

#[tokio::test(start_paused = true)]
async fn a_decision_cache_remembers_decisions_after_the_trace_left_memory() {
    let cached = errors(
        "1s",
        json!({ "num_traces": 1, "decision_cache": { "sampled_cache_size": 10 } }),
    );
    let uncached = errors("1s", json!({ "num_traces": 1 }));
    for (config, late_passes) in [(cached, true), (uncached, false)] {
        let mut p = processor(&config);
        send(&mut p, &request("a", vec![span(1, 1, true)])).await;
        tokio::time::advance(Duration::from_secs(1)).await;
        tick(&mut p).await;
        // Trace 2 pushes trace 1's decision out of memory.
        send(&mut p, &request("a", vec![span(2, 1, false)])).await;
        let out = send(&mut p, &request("a", vec![span(1, 2, true)])).await;
        assert_eq!(!out.is_empty(), late_passes);
        // Without the cache the late span starts a new trace, held and judged on its own (it
        // has an error: kept at shutdown), and pushes trace 2 out: one trace in memory at most.
        assert_eq!(p.held_traces(), 1);
        let mut rest = Vec::new();
        p.flush(&mut rest).await.unwrap();
        assert_eq!(rest.is_empty(), late_passes);
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_decides_every_held_trace() {
    let mut p = processor(&errors("30s", json!({})));
    send(
        &mut p,
        &request(
            "a",
            vec![span(1, 1, true), span(2, 1, false), span(3, 1, true)],
        ),
    )
    .await;
    let mut out = Vec::new();
    p.flush(&mut out).await.unwrap();
    assert_eq!(names(&out).keys().copied().collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(p.held_traces(), 0);
}

#[tokio::test(start_paused = true)]
async fn spans_without_a_trace_id_are_one_trace_of_the_empty_id() {
    let mut p = processor(&errors("1s", json!({})));
    let mut a = span(0, 1, false);
    a.trace_id = Vec::new();
    let mut b = span(0, 2, true);
    b.trace_id = vec![7; 3];
    send(&mut p, &request("a", vec![a, b])).await;
    assert_eq!(p.held_traces(), 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    let out = tick(&mut p).await;
    assert_eq!(out.iter().map(Batch::items).sum::<usize>(), 2);
}

fn sorted_items(request: &ExportTraceServiceRequest) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let mut items: Vec<_> = testgen::flatten_traces(request)
        .into_iter()
        .filter_map(|flat| match flat {
            Flat::Item(r, s, span) => {
                Some((r.encode_to_vec(), s.encode_to_vec(), span.encode_to_vec()))
            }
            _ => None,
        })
        .collect();
    items.sort();
    items
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cutting_into_traces_and_writing_back_keeps_every_span_with_its_resource_and_scope(
        request in testgen::traces_request(Size::SMALL),
    ) {
        let bytes = request.encode_to_vec();
        let pieces = held::cut(&bytes.into()).expect("cuts");
        for (id, piece) in &pieces {
            for span in piece.spans() {
                prop_assert_eq!(&held::read_span(span).0, id);
            }
        }
        let written = held::assemble(pieces.iter().map(|(_, p)| p));
        let back = ExportTraceServiceRequest::decode(written.as_slice()).expect("decodes");
        prop_assert_eq!(sorted_items(&back), sorted_items(&request));
    }

    #[test]
    fn traces_split_over_many_requests_pass_whole_or_not_at_all(
        traces in proptest::collection::vec((1u8..=40, any::<bool>()), 1..60),
        cuts in proptest::collection::vec(1usize..6, 1..20),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut p = processor(&errors("5s", json!({})));
            let spans: Vec<Span> = traces
                .iter()
                .enumerate()
                .map(|(i, &(trace, error))| span(trace, i as u8, error))
                .collect();
            let mut out = Vec::new();
            let mut rest = spans.as_slice();
            for &n in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at(n.min(rest.len()));
                out.extend(send(&mut p, &request("a", now.to_vec())).await);
                rest = later;
                tokio::time::advance(Duration::from_millis(100)).await;
            }
            tokio::time::advance(Duration::from_secs(5)).await;
            out.extend(tick(&mut p).await);
            let mut expected: BTreeMap<u8, Vec<String>> = BTreeMap::new();
            for s in &spans {
                expected.entry(s.trace_id[0]).or_default().push(s.name.clone());
            }
            expected.retain(|trace, _| spans.iter().any(|s| s.trace_id[0] == *trace && s.status.is_some()));
            let mut got = names(&out);
            for v in got.values_mut() {
                v.sort();
            }
            for v in expected.values_mut() {
                v.sort();
            }
            assert_eq!(got, expected);
        });
    }
}
