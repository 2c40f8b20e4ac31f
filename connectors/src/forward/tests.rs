//! `forward` on real channels: every pipeline of the batch's signal gets the very same bytes
//! and none of another signal does; a full pipeline makes it wait, and room there lets it go
//! on, into every pipeline at once.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::sync::mpsc;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{Connector, Output, Outputs};

use super::Forward;

fn batch() -> Batch {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "forwarded".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Batch::from_encoded(
        Signal::Traces,
        request.encode_to_vec().into(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request")
}

fn outputs(capacity: usize) -> (Outputs, Vec<mpsc::Receiver<Batch>>) {
    let mut outputs = Outputs::default();
    let mut receivers = Vec::new();
    for (signal, name) in [
        (Signal::Traces, "traces/a"),
        (Signal::Traces, "traces/b"),
        (Signal::Logs, "logs"),
    ] {
        let (tx, rx) = mpsc::channel(capacity);
        outputs.add(signal, Output::new(name.into(), tx));
        receivers.push(rx);
    }
    (outputs, receivers)
}

#[tokio::test]
async fn every_pipeline_of_the_signal_gets_the_same_bytes_and_no_other_signal_does() {
    let (outputs, mut rx) = outputs(4);
    let sent = batch();
    let bytes = sent.to_bytes();
    Forward
        .consume(Signal::Traces, sent, &outputs)
        .await
        .expect("forwarded");
    for r in &mut rx[..2] {
        let got = r.try_recv().expect("a batch");
        assert_eq!(
            got.to_bytes().as_ptr(),
            bytes.as_ptr(),
            "shared, not copied"
        );
    }
    assert!(rx[2].try_recv().is_err(), "the logs pipeline gets nothing");
}

#[tokio::test(start_paused = true)]
async fn a_full_pipeline_holds_the_batch_back_from_every_pipeline_until_it_has_room() {
    let (outputs, mut rx) = outputs(1);
    Forward
        .consume(Signal::Traces, batch(), &outputs)
        .await
        .expect("room in both");
    // traces/b is full now; take traces/a's so only b blocks.
    rx[0].try_recv().expect("a has it");
    let outputs = Arc::new(outputs);
    let sending = {
        let outputs = outputs.clone();
        tokio::spawn(async move { Forward.consume(Signal::Traces, batch(), &outputs).await })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!sending.is_finished(), "waits while traces/b is full");
    assert!(
        rx[0].try_recv().is_err(),
        "and traces/a has not got it either"
    );
    rx[1].try_recv().expect("b's first batch");
    sending.await.unwrap().expect("forwarded once b had room");
    rx[0].try_recv().expect("a got it");
    rx[1].try_recv().expect("b got it");
}

#[tokio::test]
async fn a_stopped_pipeline_is_an_error_not_a_silent_drop() {
    let (outputs, mut rx) = outputs(1);
    rx.remove(1);
    let error = Forward
        .consume(Signal::Traces, batch(), &outputs)
        .await
        .expect_err("traces/b is gone");
    assert!(error.0.contains("traces/b"), "{error}");
}
