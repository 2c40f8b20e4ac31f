//! End-to-end acknowledgement of a batch: the receiver learns when every exporter that got
//! the batch (or any batch built from it) has delivered it, stored it durably, or given up.
//!
//! An [`AckGuard`] rides in [`super::BatchMeta`]; every clone, piece and merge of the batch
//! keeps it alive through the shared `Arc`. When the last holder lets go, the guard reports to
//! the receiver: success, unless some holder called [`AckGuard::fail`] first. Dropping a batch
//! on purpose (a filter) is therefore a success, and failing to deliver it must be said. A
//! destination that took the batch but rejected some of its items (OTLP partial success) says
//! so with [`AckGuard::reject`], and the sender hears a partial success.

use std::sync::Mutex;

use tokio::sync::oneshot;

/// What became of an acknowledged batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckResult {
    /// Delivered, stored durably, or dropped on purpose by a processor.
    Done,
    /// Delivered, but a destination rejected `rejected` items (the most any destination
    /// rejected), saying `message`.
    Partial {
        /// Items rejected.
        rejected: u64,
        /// The destination's explanation.
        message: String,
    },
    /// At least one exporter could not deliver it; the reason of the first failure.
    Failed(String),
}

/// Held by every copy of a batch whose sender wants to know when it is done.
#[derive(Debug)]
pub struct AckGuard {
    failure: Mutex<Option<String>>,
    rejection: Mutex<Option<(u64, String)>>,
    report: Mutex<Option<oneshot::Sender<AckResult>>>,
}

impl AckGuard {
    /// A guard and the receiver side that hears its result.
    pub fn new() -> (AckGuard, oneshot::Receiver<AckResult>) {
        let (tx, rx) = oneshot::channel();
        (
            AckGuard {
                failure: Mutex::new(None),
                rejection: Mutex::new(None),
                report: Mutex::new(Some(tx)),
            },
            rx,
        )
    }

    /// Marks the batch as not delivered; the first reason is kept.
    pub fn fail(&self, reason: &str) {
        if let Ok(mut failure) = self.failure.lock()
            && failure.is_none()
        {
            *failure = Some(reason.to_string());
        }
    }

    /// Records that a destination rejected `rejected` of the batch's items. Destinations
    /// receive the same items, so the largest rejection is the one reported, not the sum.
    pub fn reject(&self, rejected: u64, message: &str) {
        if let Ok(mut rejection) = self.rejection.lock()
            && rejection.as_ref().is_none_or(|(most, _)| rejected > *most)
        {
            *rejection = Some((rejected, message.to_string()));
        }
    }
}

impl Drop for AckGuard {
    fn drop(&mut self) {
        let failure = self.failure.lock().ok().and_then(|mut f| f.take());
        let rejection = self.rejection.lock().ok().and_then(|mut r| r.take());
        let result = match (failure, rejection) {
            (Some(reason), _) => AckResult::Failed(reason),
            (None, Some((rejected, message))) => AckResult::Partial { rejected, message },
            (None, None) => AckResult::Done,
        };
        if let Some(tx) = self.report.lock().ok().and_then(|mut r| r.take()) {
            let _ = tx.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn reports_done_when_the_last_holder_lets_go() {
        let (guard, mut rx) = AckGuard::new();
        let guard = Arc::new(guard);
        let other = guard.clone();
        drop(guard);
        assert!(rx.try_recv().is_err(), "still held by a clone");
        drop(other);
        assert_eq!(rx.try_recv().unwrap(), AckResult::Done);
    }

    #[test]
    fn reports_the_first_failure() {
        let (guard, mut rx) = AckGuard::new();
        guard.fail("backend said 400");
        guard.fail("later");
        drop(guard);
        assert_eq!(
            rx.try_recv().unwrap(),
            AckResult::Failed("backend said 400".into())
        );
    }

    #[test]
    fn reports_the_largest_rejection_as_a_partial_success() {
        let (guard, mut rx) = AckGuard::new();
        guard.reject(2, "2 spans too old");
        guard.reject(5, "5 spans without a name");
        guard.reject(1, "1 span too large");
        drop(guard);
        assert_eq!(
            rx.try_recv().unwrap(),
            AckResult::Partial {
                rejected: 5,
                message: "5 spans without a name".into()
            }
        );
    }

    #[test]
    fn a_failure_outweighs_a_rejection() {
        let (guard, mut rx) = AckGuard::new();
        guard.reject(2, "2 spans too old");
        guard.fail("backend down");
        drop(guard);
        assert_eq!(
            rx.try_recv().unwrap(),
            AckResult::Failed("backend down".into())
        );
    }
}
