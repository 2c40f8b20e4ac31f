use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use weir_core::batch::Request;

use weir_core::component::ComponentConfig;

use super::*;

fn request(resources: usize, spans_each: usize, tag: &str) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: (0..resources)
            .map(|r| ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: (0..spans_each)
                        .map(|s| Span {
                            name: format!("{tag}-{r}-{s}"),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

fn encoded(req: &ExportTraceServiceRequest) -> Batch {
    Batch::from_encoded(
        Signal::Traces,
        req.encode_to_vec().into(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap()
}

fn names(batches: &[Batch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| match &*b.decoded().unwrap() {
            Request::Traces(r) => r
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .map(|s| s.name.clone())
                .collect::<Vec<_>>(),
            _ => unreachable!(),
        })
        .collect()
}

fn processor(send: usize, max: usize, timeout: Duration) -> BatchProcessor {
    BatchProcessor::new(
        BatchConfig {
            send_batch_size: send,
            send_batch_max_size: max,
            timeout,
        },
        Signal::Traces,
    )
}

#[tokio::test(start_paused = true)]
async fn holds_until_send_batch_size_then_emits_one_concatenated_batch() {
    let mut p = processor(10, 0, Duration::from_secs(1));
    let mut out = Vec::new();
    p.process(encoded(&request(1, 4, "a")), &mut out)
        .await
        .unwrap();
    p.process(encoded(&request(1, 4, "b")), &mut out)
        .await
        .unwrap();
    assert!(out.is_empty(), "8 < 10 items must be held");
    p.process(encoded(&request(1, 4, "c")), &mut out)
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].items(), 12);
    assert!(out[0].is_encoded(), "batching must not decode");
    assert_eq!(names(&out)[0], "a-0-0");
    assert_eq!(names(&out)[11], "c-0-3");
    assert_eq!(p.deadline(), None);
}

#[tokio::test(start_paused = true)]
async fn timeout_sends_what_is_held() {
    let mut p = processor(100, 0, Duration::from_millis(200));
    let mut out = Vec::new();
    p.process(encoded(&request(2, 3, "a")), &mut out)
        .await
        .unwrap();
    let deadline = p.deadline().expect("a deadline once something is held");
    assert_eq!(deadline - Instant::now(), Duration::from_millis(200));
    p.on_deadline(&mut out).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].items(), 6);
    assert_eq!(p.deadline(), None);
}

#[tokio::test(start_paused = true)]
async fn send_batch_max_size_splits_large_input_and_bounds_every_output() {
    let mut p = processor(5, 7, Duration::from_secs(1));
    let mut out = Vec::new();
    p.process(encoded(&request(4, 5, "big")), &mut out)
        .await
        .unwrap();
    p.flush(&mut out).await.unwrap();
    assert!(
        out.iter().all(|b| b.items() <= 7),
        "{:?}",
        out.iter().map(Batch::items).collect::<Vec<_>>()
    );
    assert_eq!(out.iter().map(Batch::items).sum::<usize>(), 20);
    let expected: Vec<String> = (0..4)
        .flat_map(|r| (0..5).map(move |s| format!("big-{r}-{s}")))
        .collect();
    assert_eq!(names(&out), expected, "order and content preserved");
}

#[tokio::test(start_paused = true)]
async fn zero_timeout_sends_each_batch_at_once() {
    let mut p = processor(8192, 0, Duration::ZERO);
    let mut out = Vec::new();
    p.process(encoded(&request(1, 2, "a")), &mut out)
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(p.deadline(), None);
}

#[tokio::test(start_paused = true)]
async fn flush_emits_the_remainder_and_nothing_when_empty() {
    let mut p = processor(100, 0, Duration::from_secs(10));
    let mut out = Vec::new();
    p.flush(&mut out).await.unwrap();
    assert!(out.is_empty());
    p.process(encoded(&request(1, 1, "x")), &mut out)
        .await
        .unwrap();
    p.flush(&mut out).await.unwrap();
    assert_eq!(names(&out), vec!["x-0-0"]);
}

#[test]
fn max_size_below_send_size_is_a_config_error() {
    let config = BatchConfig {
        send_batch_size: 100,
        send_batch_max_size: 10,
        ..Default::default()
    };
    let problems = config.validate().unwrap_err();
    assert!(
        problems[0]
            .contains("send_batch_max_size (10) must be 0 or at least send_batch_size (100)")
    );
}
