//! The consumer a receiver holds: it forwards to the current pipeline entry, and can be pointed
//! at a new one when the config is reloaded, so a receiver whose config did not change keeps
//! its sockets and clients while the pipelines behind it are rebuilt.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::batch::Batch;
use crate::component::{Consumer, PushOutcome};

/// Forwards to the current entry; while none is set (a reload is switching pipelines), callers
/// wait, up to `hold_timeout`, then are told to retry.
pub struct Switch {
    current: watch::Sender<Option<Arc<dyn Consumer>>>,
    hold_timeout: Duration,
}

impl Switch {
    /// A switch pointing at `entry`.
    pub fn new(entry: Arc<dyn Consumer>, hold_timeout: Duration) -> Self {
        Switch {
            current: watch::Sender::new(Some(entry)),
            hold_timeout,
        }
    }

    /// Stops handing batches to the current entry (new batches wait) and returns it.
    pub fn hold(&self) -> Option<Arc<dyn Consumer>> {
        self.current.send_replace(None)
    }

    /// Points at `entry`; waiting batches go there.
    pub fn set(&self, entry: Arc<dyn Consumer>) {
        self.current.send_replace(Some(entry));
    }
}

#[async_trait]
impl Consumer for Switch {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        // Every batch passes here: take the entry without subscribing unless a reload holds it.
        let current = self.current.borrow().clone();
        if let Some(entry) = current {
            return entry.consume(batch).await;
        }
        let mut rx = self.current.subscribe();
        let entry =
            match tokio::time::timeout(self.hold_timeout, rx.wait_for(Option::is_some)).await {
                Ok(Ok(entry)) => entry.clone(),
                Ok(Err(_)) => None,
                Err(_) => {
                    return PushOutcome::Refused {
                        retry_after: Some(Duration::from_secs(1)),
                        reason: "the pipelines are being reloaded; retry shortly".to_string(),
                    };
                }
            };
        match entry {
            Some(entry) => entry.consume(batch).await,
            None => PushOutcome::Failed {
                reason: "the pipeline is shutting down".to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::batch::{BatchMeta, Request};

    struct Counting(AtomicUsize);

    #[async_trait]
    impl Consumer for Counting {
        async fn consume(&self, _batch: Batch) -> PushOutcome {
            self.0.fetch_add(1, Ordering::SeqCst);
            PushOutcome::Accepted
        }
    }

    fn batch() -> Batch {
        Batch::from_request(
            Request::Traces(Default::default()),
            Arc::new(BatchMeta::default()),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn batches_wait_while_held_and_go_to_the_new_entry() {
        let old = Arc::new(Counting(AtomicUsize::new(0)));
        let new = Arc::new(Counting(AtomicUsize::new(0)));
        let switch = Arc::new(Switch::new(old.clone(), Duration::from_secs(5)));
        assert!(switch.hold().is_some());
        let waiting = tokio::spawn({
            let switch = switch.clone();
            async move { switch.consume(batch()).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        switch.set(new.clone());
        assert_eq!(waiting.await.unwrap(), PushOutcome::Accepted);
        assert_eq!(
            (old.0.load(Ordering::SeqCst), new.0.load(Ordering::SeqCst)),
            (0, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_longer_than_the_timeout_refuses_with_a_delay() {
        let switch = Switch::new(
            Arc::new(Counting(AtomicUsize::new(0))),
            Duration::from_secs(2),
        );
        switch.hold();
        assert!(matches!(
            switch.consume(batch()).await,
            PushOutcome::Refused {
                retry_after: Some(_),
                ..
            }
        ));
    }
}
