//! The persistent queue against real files in temporary folders: round trip, order, restarts
//! clean and crashed, damaged segments, capacity in each sizer, the size limit and a full disk,
//! acknowledgements, and the extension's directory handling.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weir_core::batch::{AckGuard, AckResult, Batch, BatchMeta, Signal};
use weir_core::component::{ComponentId, Extension, ExtensionContext, StatusBoard, Storage};
use weir_core::exporter::{QueueStore, Sizer, Ticket};

use super::config::{FileStorageConfig, FsyncPolicy, QueueOptions};
use super::queue::{DiskBudget, FileQueue};
use super::record::HEADER_LEN;
use super::recovery::segment_name;
use super::{FileStorage, folder_name};

fn options(fsync: FsyncPolicy) -> QueueOptions {
    QueueOptions {
        fsync,
        // Long enough that no timed checkpoint happens during a test: tests that need one ask.
        fsync_interval: Duration::from_secs(3600),
        max_bytes: 0,
        segment_bytes: 1 << 20,
        lock_timeout: Duration::ZERO,
    }
}

fn open_with(dir: &Path, sizer: Sizer, capacity: usize, options: QueueOptions) -> FileQueue {
    let budget = Arc::new(DiskBudget {
        max: options.max_bytes,
        ..DiskBudget::default()
    });
    FileQueue::open(dir, "test", Signal::Logs, sizer, capacity, options, budget)
        .expect("opening the queue")
}

fn open(dir: &Path) -> FileQueue {
    open_with(dir, Sizer::Requests, 1000, options(FsyncPolicy::Always))
}

/// A batch whose payload names it; the store never decodes payloads.
fn tagged(id: u64, items: usize) -> Batch {
    Batch::from_walked(
        Signal::Logs,
        Bytes::from(format!("batch-{id:06}")),
        items,
        Arc::new(BatchMeta::default()),
    )
}

fn id_of(batch: &Batch) -> u64 {
    let bytes = batch.to_bytes();
    let text = std::str::from_utf8(&bytes).expect("tagged payload");
    text.trim_start_matches("batch-")
        .parse()
        .expect("tagged id")
}

async fn push_all(queue: &FileQueue, ids: impl IntoIterator<Item = u64>) {
    for id in ids {
        queue.push(tagged(id, 1)).await.expect("push");
    }
}

/// Pops every batch stored now (closing the queue first, so the last pop ends).
async fn drain(queue: &FileQueue) -> Vec<u64> {
    queue.close();
    let mut ids = Vec::new();
    while let Some((batch, ticket)) = queue.pop().await {
        ids.push(id_of(&batch));
        queue.done(ticket);
    }
    ids
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files
}

/// Polls `future` once: whether it finished, without waiting.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    let waker = std::task::Waker::noop();
    future.poll(&mut std::task::Context::from_waker(waker))
}

/// Waits until `condition` holds, failing the test after a generous deadline.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Logs written while `f` runs on this thread.
fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
    (out, text)
}

#[tokio::test]
async fn a_batch_round_trips_with_its_bytes_items_and_signal() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use weir_core::batch::Request;

    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(); 7],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let bytes =
        Batch::from_request(Request::Logs(request), Arc::new(BatchMeta::default())).to_bytes();
    let batch =
        Batch::from_encoded(Signal::Logs, bytes.clone(), Arc::new(BatchMeta::default())).unwrap();
    queue.push(batch).await.unwrap();
    assert_eq!(queue.size(), 1);
    let (popped, ticket) = queue.pop().await.unwrap();
    assert_eq!(popped.to_bytes(), bytes);
    assert_eq!(popped.items(), 7);
    assert_eq!(popped.signal(), Signal::Logs);
    queue.done(ticket);
    assert_eq!(queue.size(), 0);
    assert!(queue.durable());
}

#[tokio::test]
async fn batches_come_out_in_push_order_across_segments_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let small = QueueOptions {
        segment_bytes: 3 * (HEADER_LEN as u64 + 12),
        ..options(FsyncPolicy::Never)
    };
    let queue = open_with(dir.path(), Sizer::Requests, 1000, small.clone());
    push_all(&queue, 0..20).await;
    assert!(
        segments(dir.path()).len() >= 6,
        "{:?}",
        segments(dir.path())
    );
    let mut first = Vec::new();
    for _ in 0..5 {
        let (batch, ticket) = queue.pop().await.unwrap();
        first.push(id_of(&batch));
        queue.done(ticket);
    }
    assert_eq!(first, (0..5).collect::<Vec<_>>());
    drop(queue);
    let queue = open_with(dir.path(), Sizer::Requests, 1000, small);
    push_all(&queue, 20..25).await;
    assert_eq!(drain(&queue).await, (5..25).collect::<Vec<_>>());
}

#[tokio::test]
async fn reopening_after_a_clean_stop_delivers_exactly_what_was_not_done() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..10).await;
    let mut tickets = Vec::new();
    for _ in 0..6 {
        tickets.push(queue.pop().await.unwrap().1);
    }
    // Done out of order, as several consumers finish: 0, 1, 3 and 5; 2 and 4 are still out.
    let mut tickets: Vec<Option<Ticket>> = tickets.into_iter().map(Some).collect();
    for i in [3, 0, 5, 1] {
        queue.done(tickets[i].take().unwrap());
    }
    // Dropped without `close`, the way a store goes away when Weir stops.
    drop(queue);
    let queue = open(dir.path());
    assert_eq!(queue.report().batches, 6);
    assert_eq!(drain(&queue).await, vec![2, 4, 6, 7, 8, 9]);
}

#[tokio::test]
async fn after_a_crash_only_batches_done_since_the_last_save_come_back_as_well() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..10).await;
    let mut tickets: Vec<Option<Ticket>> = Vec::new();
    for _ in 0..6 {
        tickets.push(Some(queue.pop().await.unwrap().1));
    }
    for i in [0, 1, 3] {
        queue.done(tickets[i].take().unwrap());
    }
    queue.checkpoint_now();
    queue.done(tickets[4].take().unwrap());
    queue.writer().crash();
    drop(queue);
    let queue = open(dir.path());
    // 0, 1 and 3 were saved as done (3 above the contiguous prefix); 4 was done after the last
    // save: the documented duplicate window.
    assert_eq!(drain(&queue).await, vec![2, 4, 5, 6, 7, 8, 9]);
}

#[tokio::test]
async fn kept_batches_wait_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..3).await;
    queue.close();
    let (a, first) = queue.pop().await.unwrap();
    let (_, second) = queue.pop().await.unwrap();
    let (_, third) = queue.pop().await.unwrap();
    assert!(queue.pop().await.is_none());
    // The exporter gave up on the first at the shutdown deadline; the others were delivered.
    queue.keep(first);
    queue.done(second);
    queue.done(third);
    assert_eq!(queue.size(), 0, "kept batches give their room back");
    drop(queue);
    let queue = open(dir.path());
    assert_eq!(drain(&queue).await, vec![id_of(&a)]);
    drop(queue);
    assert!(drain(&open(dir.path())).await.is_empty());
}

#[tokio::test]
async fn close_hands_out_what_is_left_then_ends_and_refuses_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..2).await;
    queue.close();
    assert!(queue.push(tagged(9, 1)).await.is_err());
    assert!(queue.pop().await.is_some());
    assert!(queue.pop().await.is_some());
    assert!(queue.pop().await.is_none());
}

#[tokio::test]
async fn a_torn_tail_is_cut_with_a_warning_and_the_rest_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..5).await;
    queue.writer().crash();
    drop(queue);
    let segment = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&segment).unwrap().len();
    // The last record was being written when the machine went down.
    let torn_at = len - 9;
    let record_start = len - (HEADER_LEN as u64 + 12);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(torn_at)
        .unwrap();
    let (queue, logs) = logs_of(|| open(dir.path()));
    assert_eq!(queue.report().tails_cut, 1);
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains(&segment.display().to_string()), "{logs}");
    assert!(logs.contains(&format!("offset={record_start}")), "{logs}");
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), record_start);
    assert_eq!(drain(&queue).await, vec![0, 1, 2, 3]);
    drop(queue);
    let (queue, logs) = logs_of(|| open(dir.path()));
    assert_eq!(queue.report().tails_cut, 0, "the cut is lasting: {logs}");
}

#[tokio::test]
async fn a_flipped_byte_mid_segment_skips_that_batch_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..6).await;
    drop(queue);
    let segment = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let record = HEADER_LEN + 12;
    bytes[2 * record + HEADER_LEN + 3] ^= 0x20;
    std::fs::write(&segment, &bytes).unwrap();
    let (queue, logs) = logs_of(|| open(dir.path()));
    assert_eq!(queue.report().skipped, 1);
    assert_eq!(queue.report().lost_records, 1);
    assert!(logs.contains("lost_batches=1"), "{logs}");
    assert!(logs.contains(&format!("offset={}", 2 * record)), "{logs}");
    assert_eq!(drain(&queue).await, vec![0, 1, 3, 4, 5]);
}

#[tokio::test]
async fn a_segment_of_garbage_is_cut_and_the_other_segments_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let small = QueueOptions {
        segment_bytes: 2 * (HEADER_LEN as u64 + 12),
        ..options(FsyncPolicy::Always)
    };
    let queue = open_with(dir.path(), Sizer::Requests, 1000, small.clone());
    push_all(&queue, 0..6).await;
    drop(queue);
    let files = segments(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    let garbage: Vec<u8> = (0..100u32).map(|i| (i * 101 % 253) as u8).collect();
    std::fs::write(&files[1], garbage).unwrap();
    let (queue, logs) = logs_of(|| open_with(dir.path(), Sizer::Requests, 1000, small));
    assert!(logs.contains(&files[1].display().to_string()), "{logs}");
    assert_eq!(drain(&queue).await, vec![0, 1, 4, 5]);
}

#[tokio::test]
async fn an_unreadable_acknowledgement_file_means_delivering_everything_again() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    push_all(&queue, 0..3).await;
    let (_, ticket) = queue.pop().await.unwrap();
    queue.done(ticket);
    drop(queue);
    std::fs::write(dir.path().join("ack"), b"WQA\x01 torn").unwrap();
    let (queue, logs) = logs_of(|| open(dir.path()));
    assert!(queue.report().ack_reset);
    assert!(logs.contains("delivered again"), "{logs}");
    assert_eq!(drain(&queue).await, vec![0, 1, 2]);
}

/// Fills a queue of `capacity` in `sizer`'s unit with `fill`, then checks that `next` waits
/// for room (and is refused at the receivers, through `is_full`) until a batch is done.
async fn waits_for_room(sizer: Sizer, capacity: usize, fill: Vec<Batch>, next: Batch) {
    let dir = tempfile::tempdir().unwrap();
    let queue = open_with(dir.path(), sizer, capacity, options(FsyncPolicy::Never));
    for batch in fill {
        queue.push(batch).await.unwrap();
    }
    let size = queue.size();
    let expected = sizer.cost(&next);
    let push = queue.push(next);
    tokio::pin!(push);
    assert!(poll_once(push.as_mut()).is_pending());
    assert_eq!(queue.size(), size, "the waiting push took no room");
    let (_, ticket) = queue.pop().await.unwrap();
    let freed = ticket.cost;
    queue.done(ticket);
    push.await.unwrap();
    assert_eq!(queue.size(), size - freed + expected);
}

#[tokio::test]
async fn capacity_in_requests() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open_with(dir.path(), Sizer::Requests, 2, options(FsyncPolicy::Never));
    push_all(&queue, 0..2).await;
    assert!(queue.is_full());
    drop(queue);
    waits_for_room(
        Sizer::Requests,
        2,
        vec![tagged(0, 5), tagged(1, 5)],
        tagged(2, 5),
    )
    .await;
}

#[tokio::test]
async fn capacity_in_items() {
    waits_for_room(Sizer::Items, 10, vec![tagged(0, 6)], tagged(1, 5)).await;
}

#[tokio::test]
async fn capacity_in_bytes() {
    // Each tagged payload is 12 bytes.
    waits_for_room(
        Sizer::Bytes,
        30,
        vec![tagged(0, 1), tagged(1, 1)],
        tagged(2, 1),
    )
    .await;
}

#[tokio::test]
async fn a_backlog_larger_than_the_capacity_is_kept_and_new_batches_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open_with(dir.path(), Sizer::Requests, 10, options(FsyncPolicy::Never));
    push_all(&queue, 0..6).await;
    drop(queue);
    let queue = open_with(dir.path(), Sizer::Requests, 3, options(FsyncPolicy::Never));
    assert_eq!(queue.size(), 6);
    assert!(queue.is_full());
    let mut tickets = Vec::new();
    for _ in 0..4 {
        tickets.push(queue.pop().await.unwrap().1);
    }
    for ticket in tickets {
        queue.done(ticket);
    }
    // 2 left of 3: one push fits, the next waits.
    queue.push(tagged(6, 1)).await.unwrap();
    assert!(queue.is_full());
    assert_eq!(drain(&queue).await, vec![4, 5, 6]);
}

#[tokio::test]
async fn the_size_limit_refuses_new_data_and_keeps_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let record = HEADER_LEN as u64 + 12;
    let limited = QueueOptions {
        segment_bytes: 2 * record,
        max_bytes: 5 * record,
        ..options(FsyncPolicy::Always)
    };
    let queue = Arc::new(open_with(
        dir.path(),
        Sizer::Requests,
        1000,
        limited.clone(),
    ));
    push_all(&queue, 0..5).await;
    assert!(!queue.is_full());
    let blocked = tokio::spawn({
        let queue = queue.clone();
        async move { queue.push(tagged(5, 1)).await.is_ok() }
    });
    eventually("the queue reports itself full", || queue.is_full()).await;
    assert!(!blocked.is_finished());
    // Exporting the first segment's two batches frees it, and the waiting batch goes in.
    for expected in 0..2 {
        let (batch, ticket) = queue.pop().await.unwrap();
        assert_eq!(id_of(&batch), expected);
        queue.done(ticket);
    }
    assert!(blocked.await.unwrap());
    assert!(!queue.is_full());
    let queue = Arc::into_inner(queue).unwrap();
    drop(queue);
    let queue = open_with(dir.path(), Sizer::Requests, 1000, limited);
    assert_eq!(drain(&queue).await, vec![2, 3, 4, 5]);
}

#[tokio::test]
async fn a_full_disk_is_backpressure_and_stored_batches_stay_whole() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(open(dir.path()));
    push_all(&queue, 0..3).await;
    queue.shared().faults.store(3, Ordering::Relaxed);
    let blocked = tokio::spawn({
        let queue = queue.clone();
        async move { queue.push(tagged(3, 1)).await.is_ok() }
    });
    eventually("the queue reports itself full", || queue.is_full()).await;
    // The writer retries on its own; once the disk takes writes again the batch is stored.
    assert!(blocked.await.unwrap());
    assert!(!queue.is_full());
    let queue = Arc::into_inner(queue).unwrap();
    drop(queue);
    let queue = open(dir.path());
    assert_eq!(queue.report().tails_cut + queue.report().skipped, 0);
    assert_eq!(drain(&queue).await, vec![0, 1, 2, 3]);
}

#[tokio::test]
async fn a_sender_is_acknowledged_once_its_batch_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path());
    let (guard, acked) = AckGuard::new();
    let meta = BatchMeta {
        acks: vec![Arc::new(guard)],
        ..BatchMeta::default()
    };
    let batch = Batch::from_walked(
        Signal::Logs,
        Bytes::from_static(b"batch-000001"),
        1,
        Arc::new(meta),
    );
    queue.push(batch).await.unwrap();
    assert_eq!(acked.await.unwrap(), AckResult::Done);
    let (popped, _) = queue.pop().await.unwrap();
    assert!(
        popped.meta().acks.is_empty(),
        "read back with fresh metadata"
    );

    // A batch the queue cannot take any more comes back failed to its sender.
    queue.writer().shutdown();
    let (guard, refused) = AckGuard::new();
    let meta = BatchMeta {
        acks: vec![Arc::new(guard)],
        ..BatchMeta::default()
    };
    let batch = Batch::from_walked(Signal::Logs, Bytes::from_static(b"x"), 1, Arc::new(meta));
    let back = queue.push(batch).await.unwrap_err();
    drop(back);
    assert!(matches!(refused.await.unwrap(), AckResult::Failed(_)));
}

#[test]
fn queue_names_stay_inside_the_directory() {
    assert_eq!(
        folder_name("otlp_backend-traces"),
        Some(PathBuf::from("otlp_backend-traces"))
    );
    assert_eq!(folder_name("../x/y"), Some(PathBuf::from(".._x_y")));
    assert_eq!(folder_name(".."), None);
    assert_eq!(folder_name(""), None);
}

fn context() -> ExtensionContext {
    ExtensionContext {
        id: ComponentId::new("file_storage", None),
        shutdown: tokio_util::sync::CancellationToken::new(),
        status: Arc::new(StatusBoard::default()),
    }
}

#[tokio::test]
async fn the_extension_creates_its_directory_or_names_the_missing_one() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("not").join("here");
    let strict = FileStorage::new(
        "file_storage".into(),
        FileStorageConfig {
            directory: missing.clone(),
            create_directory: false,
            ..FileStorageConfig::default()
        },
    );
    let err = strict.start(context()).await.unwrap_err().0;
    assert!(err.contains(&missing.display().to_string()), "{err}");
    let err = strict
        .open_queue("q", Signal::Traces, Sizer::Requests, 10)
        .err()
        .unwrap()
        .0;
    assert!(err.contains("not started"), "{err}");

    let storage = FileStorage::new(
        "file_storage".into(),
        FileStorageConfig {
            directory: missing.clone(),
            ..FileStorageConfig::default()
        },
    );
    storage.start(context()).await.unwrap();
    let queue = storage
        .open_queue("otlp/a-traces", Signal::Traces, Sizer::Requests, 10)
        .unwrap();
    assert!(missing.join("otlp_a-traces").join(segment_name(0)).exists());
    let err = storage
        .open_queue("otlp/a-traces", Signal::Traces, Sizer::Requests, 10)
        .err()
        .unwrap()
        .0;
    assert!(
        err.contains(&missing.join("otlp_a-traces").display().to_string()),
        "{err}"
    );
    storage.shutdown().await;
    // After shutdown the writer is stopped and the folder is free again.
    assert!(queue.push(tagged(0, 1)).await.is_err());
    drop(queue);
}

#[tokio::test]
async fn a_reload_reopens_a_closed_queue_while_the_old_one_is_still_referenced() {
    let root = tempfile::tempdir().unwrap();
    let storage = FileStorage::new(
        "file_storage".into(),
        FileStorageConfig {
            directory: root.path().to_path_buf(),
            ..FileStorageConfig::default()
        },
    );
    storage.start(context()).await.unwrap();
    let old = storage
        .open_queue("otlp-logs", Signal::Logs, Sizer::Requests, 10)
        .unwrap();
    for id in 0..3 {
        old.push(tagged(id, 1)).await.unwrap();
    }
    // Drained at the reload's deadline with one batch exported, one still retrying (kept),
    // one never handed out.
    old.close();
    let (_, first) = old.pop().await.unwrap();
    let (_, second) = old.pop().await.unwrap();
    old.done(first);
    old.keep(second);
    let new = storage
        .open_queue("otlp-logs", Signal::Logs, Sizer::Requests, 10)
        .unwrap();
    new.close();
    let mut ids = Vec::new();
    while let Some((batch, ticket)) = new.pop().await {
        ids.push(id_of(&batch));
        new.done(ticket);
    }
    assert_eq!(ids, vec![1, 2]);
    drop(old);
    storage.shutdown().await;
}
