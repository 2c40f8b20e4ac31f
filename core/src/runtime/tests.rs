//! The runtime's parts with fake components: admission, backpressure, draining.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::entry::{EntryStats, PipelineEntry, PipelinePort};
use super::pipeline::{PipelineTask, ProcessorStats, Stage};
use crate::batch::{AckGuard, AckResult, Batch, BatchMeta, Request};
use crate::component::{
    Consumer, Delivered, ExportError, Exporter, ProcessError, Processor, PushOutcome,
};
use crate::exporter::{ExporterHelperConfig, RetryConfig, SendingQueue, SendingQueueConfig};

fn batch(spans: usize) -> Batch {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span::default(); spans],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Batch::from_request(Request::Traces(request), Arc::new(BatchMeta::default())).into_encoded()
}

/// Records what it exports; blocks while `gate` is closed; fails while `failing` is set.
#[derive(Default)]
struct Recorder {
    exported: Mutex<Vec<usize>>,
    gate: Option<Arc<Notify>>,
    failing: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Exporter for Recorder {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(ExportError::Retryable {
                retry_after: None,
                reason: "down".into(),
            });
        }
        self.exported.lock().unwrap().push(batch.items());
        Ok(Delivered::default())
    }
}

fn port(input: mpsc::Sender<Batch>) -> PipelinePort {
    PipelinePort {
        input,
        admissions: Vec::new(),
        queues: Vec::new(),
    }
}

fn helper(queue_size: usize, consumers: usize) -> ExporterHelperConfig {
    ExporterHelperConfig {
        sending_queue: SendingQueueConfig {
            enabled: true,
            num_consumers: consumers,
            queue_size,
            ..SendingQueueConfig::default()
        },
        retry_on_failure: RetryConfig {
            initial_interval: Duration::from_millis(10),
            ..RetryConfig::default()
        },
    }
}

#[tokio::test(start_paused = true)]
async fn entry_delivers_a_batch_to_every_pipeline() {
    let (tx1, mut rx1) = mpsc::channel(4);
    let (tx2, mut rx2) = mpsc::channel(4);
    let stats = Arc::new(EntryStats::default());
    let entry = PipelineEntry::new(
        vec![port(tx1), port(tx2)],
        Duration::from_secs(1),
        stats.clone(),
    );
    assert_eq!(entry.consume(batch(3)).await, PushOutcome::Accepted);
    assert_eq!(rx1.recv().await.unwrap().items(), 3);
    assert_eq!(rx2.recv().await.unwrap().items(), 3);
    assert_eq!(stats.accepted_items.load(Ordering::Relaxed), 3);
}

#[tokio::test(start_paused = true)]
async fn entry_refuses_with_a_delay_and_sends_nowhere_when_one_pipeline_stays_full() {
    let (tx1, mut rx1) = mpsc::channel(4);
    let (tx2, _rx2) = mpsc::channel(1);
    tx2.send(batch(1)).await.unwrap();
    let stats = Arc::new(EntryStats::default());
    let entry = PipelineEntry::new(
        vec![port(tx1), port(tx2)],
        Duration::from_millis(500),
        stats.clone(),
    );
    let outcome = entry.consume(batch(5)).await;
    assert!(
        matches!(
            outcome,
            PushOutcome::Refused {
                retry_after: Some(_),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(
        rx1.try_recv().is_err(),
        "the free pipeline must not get a batch the full one refused"
    );
    assert_eq!(stats.refused_items.load(Ordering::Relaxed), 5);
}

#[tokio::test(start_paused = true)]
async fn entry_fails_when_pipelines_have_shut_down() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let entry = PipelineEntry::new(
        vec![port(tx)],
        Duration::from_secs(1),
        Arc::new(EntryStats::default()),
    );
    assert!(matches!(
        entry.consume(batch(1)).await,
        PushOutcome::Failed { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn full_sending_queue_makes_the_sender_wait_and_shows_its_backlog() {
    let gate = Arc::new(Notify::new());
    let recorder = Arc::new(Recorder {
        gate: Some(gate.clone()),
        ..Default::default()
    });
    let queue = SendingQueue::start(
        "otlp".parse().unwrap(),
        crate::batch::Signal::Traces,
        recorder.clone(),
        &helper(2, 1),
    );
    let sink = queue.sink();
    // The capacity counts batches being exported too: one taken by the consumer (blocked in
    // export) and one waiting fill it.
    for _ in 0..2 {
        sink.send(batch(1)).await.unwrap();
    }
    tokio::task::yield_now().await;
    assert_eq!(queue.stats().queued_batches.load(Ordering::Relaxed), 2);
    assert_eq!(queue.stats().size(), 2);
    assert!(queue.stats().is_full());
    let blocked = tokio::time::timeout(Duration::from_secs(1), sink.send(batch(1))).await;
    assert!(blocked.is_err(), "a full queue must make the sender wait");
    assert_eq!(
        queue.stats().queued_batches.load(Ordering::Relaxed),
        2,
        "a send given up on is not counted"
    );
    gate.notify_one();
    sink.send(batch(1)).await.unwrap();
    drop(sink);
    let stats = queue.stats();
    let releaser = tokio::spawn(async move {
        loop {
            gate.notify_one();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    queue.drain(Duration::from_secs(10)).await;
    releaser.abort();
    assert_eq!(recorder.exported.lock().unwrap().len(), 3);
    assert_eq!(stats.sent_items.load(Ordering::Relaxed), 3);
    assert_eq!(stats.queued_batches.load(Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn drain_gives_up_after_the_deadline_and_counts_what_was_dropped() {
    let recorder = Arc::new(Recorder::default());
    recorder.failing.store(true, Ordering::SeqCst);
    let queue = SendingQueue::start(
        "otlp".parse().unwrap(),
        crate::batch::Signal::Traces,
        recorder.clone(),
        &helper(10, 1),
    );
    let sink = queue.sink();
    for _ in 0..3 {
        sink.send(batch(2)).await.unwrap();
    }
    drop(sink);
    let stats = queue.stats();
    queue.drain(Duration::from_secs(2)).await;
    assert_eq!(stats.send_failed_items.load(Ordering::Relaxed), 6);
    assert_eq!(stats.sent_items.load(Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_are_retried_until_the_backend_recovers() {
    let recorder = Arc::new(Recorder::default());
    recorder.failing.store(true, Ordering::SeqCst);
    let queue = SendingQueue::start(
        "otlp".parse().unwrap(),
        crate::batch::Signal::Traces,
        recorder.clone(),
        &helper(10, 2),
    );
    let sink = queue.sink();
    sink.send(batch(4)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(recorder.exported.lock().unwrap().is_empty());
    recorder.failing.store(false, Ordering::SeqCst);
    drop(sink);
    let stats = queue.stats();
    queue.drain(Duration::from_secs(60)).await;
    assert_eq!(*recorder.exported.lock().unwrap(), vec![4]);
    assert!(stats.retries.load(Ordering::Relaxed) >= 1);
}

/// Holds every batch until flushed.
struct Hold(Vec<Batch>);

#[async_trait]
impl Processor for Hold {
    async fn process(&mut self, batch: Batch, _out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        self.0.push(batch);
        Ok(())
    }
    async fn flush(&mut self, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        out.append(&mut self.0);
        Ok(())
    }
}

/// Fails on every batch.
struct Broken;

#[async_trait]
impl Processor for Broken {
    async fn process(&mut self, _batch: Batch, _out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        Err(ProcessError("cannot".into()))
    }
}

#[tokio::test(start_paused = true)]
async fn stopping_a_pipeline_flushes_held_batches_to_its_exporters() {
    let recorder = Arc::new(Recorder::default());
    let queue = SendingQueue::start(
        "otlp".parse().unwrap(),
        crate::batch::Signal::Traces,
        recorder.clone(),
        &helper(10, 1),
    );
    let (tx, rx) = mpsc::channel(4);
    let stop = CancellationToken::new();
    let stats = Arc::new(ProcessorStats::default());
    let task = PipelineTask {
        name: "traces".into(),
        input: rx,
        stages: vec![Stage {
            id: "hold".parse().unwrap(),
            processor: Box::new(Hold(Vec::new())),
            stats: stats.clone(),
        }],
        sinks: vec![queue.sink()],
        stop: stop.clone(),
    };
    let handle = tokio::spawn(task.run());
    tx.send(batch(2)).await.unwrap();
    tx.send(batch(3)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        recorder.exported.lock().unwrap().is_empty(),
        "held until flush"
    );
    stop.cancel();
    handle.await.unwrap();
    drop(tx);
    queue.drain(Duration::from_secs(5)).await;
    assert_eq!(*recorder.exported.lock().unwrap(), vec![2, 3]);
    assert_eq!(stats.incoming_items.load(Ordering::Relaxed), 5);
    assert_eq!(stats.outgoing_items.load(Ordering::Relaxed), 5);
}

#[tokio::test(start_paused = true)]
async fn a_failing_processor_drops_and_counts_the_batch_and_the_pipeline_goes_on() {
    let recorder = Arc::new(Recorder::default());
    let queue = SendingQueue::start(
        "otlp".parse().unwrap(),
        crate::batch::Signal::Traces,
        recorder.clone(),
        &helper(10, 1),
    );
    let (tx, rx) = mpsc::channel(4);
    let stop = CancellationToken::new();
    let stats = Arc::new(ProcessorStats::default());
    let task = PipelineTask {
        name: "traces".into(),
        input: rx,
        stages: vec![Stage {
            id: "broken".parse().unwrap(),
            processor: Box::new(Broken),
            stats: stats.clone(),
        }],
        sinks: vec![queue.sink()],
        stop: stop.clone(),
    };
    let handle = tokio::spawn(task.run());
    tx.send(batch(2)).await.unwrap();
    tx.send(batch(1)).await.unwrap();
    stop.cancel();
    handle.await.unwrap();
    queue.drain(Duration::from_secs(5)).await;
    assert!(recorder.exported.lock().unwrap().is_empty());
    assert_eq!(stats.failed_items.load(Ordering::Relaxed), 3);
}

async fn full_queue(block_on_overflow: bool) -> Arc<crate::exporter::QueueStats> {
    let store = Arc::new(crate::exporter::MemoryStore::new(
        crate::exporter::Sizer::Requests,
        1,
    ));
    let stats = Arc::new(crate::exporter::QueueStats::for_store_with(
        store.clone(),
        block_on_overflow,
        false,
    ));
    crate::exporter::QueueStore::push(&*store, batch(1))
        .await
        .unwrap();
    stats
}

#[tokio::test(start_paused = true)]
async fn entry_refuses_at_once_when_an_exporter_queue_is_full_and_does_not_block() {
    let (tx, mut rx) = mpsc::channel(4);
    let port = PipelinePort {
        input: tx,
        admissions: Vec::new(),
        queues: vec![full_queue(false).await],
    };
    let entry = PipelineEntry::new(
        vec![port],
        Duration::from_secs(5),
        Arc::new(EntryStats::default()),
    );
    let started = tokio::time::Instant::now();
    let outcome = entry.consume(batch(2)).await;
    assert!(
        matches!(outcome, PushOutcome::Refused { retry_after: Some(d), .. } if d >= Duration::from_secs(1)),
        "{outcome:?}"
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "refused without waiting");
    assert!(rx.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn entry_waits_for_room_when_a_full_queue_blocks_on_overflow() {
    let (tx, _rx) = mpsc::channel(4);
    let port = PipelinePort {
        input: tx,
        admissions: Vec::new(),
        queues: vec![full_queue(true).await],
    };
    let entry = PipelineEntry::new(
        vec![port],
        Duration::from_secs(5),
        Arc::new(EntryStats::default()),
    );
    // The pipeline input has room, so the batch is taken: blocking means waiting, not refusing.
    assert_eq!(entry.consume(batch(2)).await, PushOutcome::Accepted);
}

#[tokio::test(start_paused = true)]
async fn acknowledged_batches_are_answered_after_delivery_and_refused_when_it_fails() {
    let (tx, mut rx) = mpsc::channel(4);
    let entry = Arc::new(PipelineEntry::new(
        vec![port(tx)],
        Duration::from_secs(5),
        Arc::new(EntryStats::default()),
    ));
    let acked = |b: Batch| {
        let meta = BatchMeta {
            acknowledge: true,
            ..BatchMeta::clone(b.meta())
        };
        b.with_meta(Arc::new(meta))
    };
    let waiting = tokio::spawn({
        let entry = entry.clone();
        let b = acked(batch(3));
        async move { entry.consume(b).await }
    });
    let delivered = rx.recv().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "answered before delivery");
    drop(delivered);
    assert_eq!(waiting.await.unwrap(), PushOutcome::Accepted);

    let failing = tokio::spawn({
        let entry = entry.clone();
        let b = acked(batch(3));
        async move { entry.consume(b).await }
    });
    let lost = rx.recv().await.unwrap();
    lost.meta().fail_acks("backend said 400");
    drop(lost);
    let outcome = failing.await.unwrap();
    assert!(
        matches!(&outcome, PushOutcome::Refused { reason, .. } if reason.contains("backend said 400")),
        "{outcome:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sender_holding_its_own_guard_is_answered_at_admission_and_hears_delivery_itself() {
    let (tx, mut rx) = mpsc::channel(4);
    let entry = PipelineEntry::new(
        vec![port(tx)],
        Duration::from_secs(5),
        Arc::new(EntryStats::default()),
    );
    let (guard, delivered) = AckGuard::new();
    let b = batch(3);
    let meta = BatchMeta {
        acknowledge: true,
        sender_holds_ack: true,
        acks: vec![Arc::new(guard)],
        ..BatchMeta::clone(b.meta())
    };
    // Answered before anything was delivered, although it asks for acknowledgement.
    assert_eq!(
        entry.consume(b.with_meta(Arc::new(meta))).await,
        PushOutcome::Accepted
    );
    let held = rx.recv().await.unwrap();
    let mut delivered = Box::pin(delivered);
    assert!(
        futures::poll!(&mut delivered).is_pending(),
        "not delivered while the pipeline holds it"
    );
    drop(held);
    assert_eq!(delivered.await.unwrap(), AckResult::Done);
}

#[tokio::test(start_paused = true)]
async fn a_destinations_partial_success_reaches_the_acknowledged_sender() {
    let (tx, mut rx) = mpsc::channel(4);
    let entry = Arc::new(PipelineEntry::new(
        vec![port(tx)],
        Duration::from_secs(5),
        Arc::new(EntryStats::default()),
    ));
    let b = batch(3);
    let meta = BatchMeta {
        acknowledge: true,
        ..BatchMeta::clone(b.meta())
    };
    let b = b.with_meta(Arc::new(meta));
    let waiting = tokio::spawn({
        let entry = entry.clone();
        async move { entry.consume(b).await }
    });
    let delivered = rx.recv().await.unwrap();
    delivered.meta().reject_acks(2, "2 spans without a name");
    drop(delivered);
    assert_eq!(
        waiting.await.unwrap(),
        PushOutcome::Partial {
            rejected: 2,
            message: "2 spans without a name".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_refusing_admission_check_refuses_with_its_own_delay() {
    struct Over;
    impl crate::component::Admission for Over {
        fn admit(&self, _batch: &Batch) -> Result<(), crate::component::Refusal> {
            Err(crate::component::Refusal {
                retry_after: Some(Duration::from_secs(7)),
                reason: "memory limit".into(),
            })
        }
    }
    let (tx, _rx) = mpsc::channel(4);
    let port = PipelinePort {
        input: tx,
        admissions: vec![Arc::new(Over)],
        queues: Vec::new(),
    };
    let entry = PipelineEntry::new(
        vec![port],
        Duration::from_secs(5),
        Arc::new(EntryStats::default()),
    );
    assert_eq!(
        entry.consume(batch(1)).await,
        PushOutcome::Refused {
            retry_after: Some(Duration::from_secs(7)),
            reason: "memory limit".into()
        }
    );
}
