//! How a receiver hands a batch to the pipelines that listen to it, and what it hears back.

use std::time::Duration;

use async_trait::async_trait;

use crate::batch::Batch;

/// What became of a batch a receiver pushed; the receiver turns it into its protocol's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Every pipeline took the batch.
    Accepted,
    /// The batch was taken, but some of its items were rejected (by a destination that
    /// answered with a partial success, heard through an acknowledgement). Maps to OTLP
    /// partial success.
    Partial {
        /// Items not accepted.
        rejected: u64,
        /// Why, for the client.
        message: String,
    },
    /// Weir cannot take the batch now; the client should retry, after `retry_after` if given.
    /// Maps to gRPC `UNAVAILABLE` with `RetryInfo`, HTTP 503 with `Retry-After`.
    Refused {
        /// When to come back.
        retry_after: Option<Duration>,
        /// Why, for the client.
        reason: String,
    },
    /// The batch can never be taken (for example: Weir is shutting down for good).
    Failed {
        /// Why, for the client.
        reason: String,
    },
}

/// The entry of one or more pipelines for one signal. Called concurrently from any number of
/// receiver tasks; `consume` waits while the pipelines are full, up to the runtime's admission
/// deadline, which is how backpressure reaches the client.
#[async_trait]
pub trait Consumer: Send + Sync + 'static {
    /// Offers a batch to the pipelines behind this consumer.
    async fn consume(&self, batch: Batch) -> PushOutcome;
}
