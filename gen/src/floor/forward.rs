//! The floor's only pipeline: append messages into one buffer (a request of concatenated
//! requests is itself a valid request) and send it when it is big or old enough, one send at a
//! time, retrying until the far end takes it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Counters;
use crate::generator::{Outcome, Sender};

/// Pause before sending a refused or failed batch again.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Sends of one batch before it is dropped (and counted): 10 s of retrying.
const MAX_ATTEMPTS: u32 = 100;

pub(super) async fn run(
    mut rx: mpsc::Receiver<Bytes>,
    mut sender: Sender,
    batch_bytes: usize,
    timeout: Duration,
    counters: Arc<Counters>,
) {
    let mut held = BytesMut::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let closed = tokio::select! {
            message = rx.recv() => match message {
                Some(message) => {
                    if held.is_empty() {
                        deadline = Some(Instant::now() + timeout);
                        held.reserve(batch_bytes + batch_bytes / 8);
                    }
                    held.extend_from_slice(&message);
                    if held.len() < batch_bytes {
                        continue;
                    }
                    false
                }
                None => true,
            },
            () = sleep_until(deadline), if deadline.is_some() => false,
        };
        if !held.is_empty() {
            send(&mut sender, held.split().freeze(), &counters).await;
        }
        deadline = None;
        if closed {
            return;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

async fn send(sender: &mut Sender, batch: Bytes, counters: &Counters) {
    for _ in 0..MAX_ATTEMPTS {
        match sender.send(batch.clone()).await {
            Outcome::Accepted { .. } => {
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes_sent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                return;
            }
            Outcome::Refused { .. } | Outcome::Failed { .. } => {
                counters.failed_sends.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
    counters.dropped_batches.fetch_add(1, Ordering::Relaxed);
}
