//! The tokio side: each request the tailing thread made is offered to the pipelines in the
//! order read (a refusal is waited out and offered again, which is backpressure), then a task
//! per request waits to hear that it was delivered (exported or held in a persistent queue)
//! before it is named back to the thread, which then moves the offsets of the reads in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{AckGuard, AckResult, Batch, BatchMeta, Signal};
use weir_core::component::{Consumer, PushOutcome};

use super::config::RetryOnFailureConfig;
use super::tail::Wake;

/// One request the thread made (from one tailer batch, or from what left the operators).
pub(crate) struct Outgoing {
    /// The thread's name for it, handed back once it is delivered.
    pub request: u64,
    pub bytes: Vec<u8>,
    pub items: usize,
}

/// First wait before a refused request is offered again when the pipeline gave no delay.
const REFUSED_FIRST_WAIT: Duration = Duration::from_millis(50);
const REFUSED_MAX_WAIT: Duration = Duration::from_secs(5);

/// How long stopping waits for deliveries in flight, so their offsets are committed; what is
/// still undelivered after it is read again on the next start.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(3);

/// Counts the delivery side keeps.
pub(crate) struct DeliveryCounters {
    /// Records the pipelines took.
    pub emitted: Arc<AtomicU64>,
    /// Records whose delivery failed and were passed over (`retry_on_failure` off or out of
    /// time).
    pub failed: Arc<AtomicU64>,
}

pub(crate) struct Delivery {
    pub id: String,
    pub consumer: Arc<dyn Consumer>,
    pub retry: RetryOnFailureConfig,
    pub counters: DeliveryCounters,
}

/// Why a request was not admitted.
enum NotAdmitted {
    /// Stopping: the request stays unacknowledged and is read again on the next start.
    Stopping,
    /// The pipelines failed it at admission (they are shutting down).
    Failed(String),
}

impl Delivery {
    /// Offers `batch` until the pipelines take it, waiting out refusals. On success, the
    /// receiver side of a guard riding in every copy of the batch: it hears when the last copy
    /// is delivered, stored or dropped on purpose.
    async fn admit(
        &self,
        bytes: &Bytes,
        items: usize,
        stop: &CancellationToken,
    ) -> Result<tokio::sync::oneshot::Receiver<AckResult>, NotAdmitted> {
        let mut wait = REFUSED_FIRST_WAIT;
        loop {
            // A fresh guard per attempt: a refused batch is dropped, and its guard would say
            // "done" for data that never went anywhere.
            let (guard, heard) = AckGuard::new();
            let meta = BatchMeta {
                acks: vec![Arc::new(guard)],
                sender_holds_ack: true,
                ..BatchMeta::default()
            };
            let batch = Batch::from_walked(Signal::Logs, bytes.clone(), items, Arc::new(meta));
            match self.consumer.consume(batch).await {
                PushOutcome::Accepted | PushOutcome::Partial { .. } => return Ok(heard),
                PushOutcome::Refused { retry_after, .. } => {
                    let delay = retry_after.unwrap_or(wait);
                    wait = (wait * 2).min(REFUSED_MAX_WAIT);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => return Err(NotAdmitted::Stopping),
                    }
                }
                PushOutcome::Failed { reason } => return Err(NotAdmitted::Failed(reason)),
            }
        }
    }

    /// Offers one request and, once admitted, spawns the wait for its delivery.
    async fn send(
        self: &Arc<Self>,
        out: Outgoing,
        stop: &CancellationToken,
        waits: &mut JoinSet<()>,
        wake: &std::sync::mpsc::Sender<Wake>,
    ) {
        let bytes = Bytes::from(out.bytes);
        let heard = match self.admit(&bytes, out.items, stop).await {
            Ok(heard) => heard,
            Err(NotAdmitted::Stopping) => return,
            Err(NotAdmitted::Failed(reason)) => {
                tracing::warn!(receiver = %self.id, %reason, records = out.items, "the pipeline did not take a batch of log records; they are read again on the next start");
                return;
            }
        };
        let delivery = self.clone();
        let wake = wake.clone();
        let stop = stop.clone();
        waits.spawn(async move {
            delivery
                .await_delivery(bytes, out.items, out.request, heard, wake, stop)
                .await
        });
    }

    /// Waits for a request's delivery; a failed one is sent again while `retry_on_failure`
    /// allows, else counted and passed over.
    async fn await_delivery(
        &self,
        bytes: Bytes,
        items: usize,
        request: u64,
        mut heard: tokio::sync::oneshot::Receiver<AckResult>,
        wake: std::sync::mpsc::Sender<Wake>,
        stop: CancellationToken,
    ) {
        let started = tokio::time::Instant::now();
        let mut wait = self.retry.initial_interval;
        loop {
            let reason = match (&mut heard).await {
                Ok(AckResult::Done | AckResult::Partial { .. }) => {
                    self.counters
                        .emitted
                        .fetch_add(items as u64, Ordering::Relaxed);
                    let _ = wake.send(Wake::Delivered(request));
                    return;
                }
                Ok(AckResult::Failed(reason)) => reason,
                Err(_) => "the pipeline dropped the batch".to_string(),
            };
            let out_of_time = !self.retry.max_elapsed_time.is_zero()
                && started.elapsed() + wait > self.retry.max_elapsed_time;
            if !self.retry.enabled || out_of_time {
                self.counters
                    .failed
                    .fetch_add(items as u64, Ordering::Relaxed);
                tracing::warn!(receiver = %self.id, %reason, records = items, "log records were not delivered and are passed over (retry_on_failure is off or out of time)");
                let _ = wake.send(Wake::Delivered(request));
                return;
            }
            tracing::debug!(receiver = %self.id, %reason, retry_in = ?wait, "log records not delivered; sending them again");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
            wait = (wait * 2).min(self.retry.max_interval);
            heard = match self.admit(&bytes, items, &stop).await {
                Ok(heard) => heard,
                Err(_) => return,
            };
        }
    }

    /// Serves the thread's requests until stopped; then has the thread finish (what the
    /// operators hold is handed over) and offers what it still hands over, and waits for the
    /// deliveries in flight, all within [`STOP_GRACE`]. What is not delivered by then stays
    /// unacknowledged and is read again on the next start (with `storage`).
    pub(crate) async fn run(
        self: Arc<Self>,
        mut requests: mpsc::Receiver<Outgoing>,
        wake: std::sync::mpsc::Sender<Wake>,
        stop: CancellationToken,
    ) {
        let mut waits = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                Some(_) = waits.join_next(), if !waits.is_empty() => {}
                request = requests.recv() => match request {
                    Some(out) => self.send(out, &stop, &mut waits, &wake).await,
                    None => break,
                },
            }
        }
        let _ = wake.send(Wake::Finish);
        let _ = tokio::time::timeout(STOP_GRACE, async {
            while let Some(out) = requests.recv().await {
                self.send(out, &stop, &mut waits, &wake).await;
            }
            while waits.join_next().await.is_some() {}
        })
        .await;
        // The thread may be blocked handing over a request: closing lets it go.
        drop(requests);
        waits.abort_all();
    }
}
