//! Retrying one batch's export with exponential backoff and jitter, honouring the delay a
//! server asks for (`RetryInfo`, `Retry-After`), as otelcol's retry sender does.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::RetryConfig;
use crate::batch::Batch;
use crate::component::{Delivered, ExportError, Exporter};

/// The successive waits of one batch's retries.
#[derive(Clone, Debug)]
pub struct Backoff {
    config: RetryConfig,
    current: Duration,
}

impl Backoff {
    /// Starts at `initial_interval`.
    pub fn new(config: &RetryConfig) -> Self {
        Backoff {
            config: config.clone(),
            current: config.initial_interval,
        }
    }

    /// The next wait: the current interval with jitter applied; the interval then grows by
    /// `multiplier` up to `max_interval`.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let base = self.current.as_secs_f64();
        let spread = base * self.config.randomization_factor;
        let jittered = if spread > 0.0 {
            rng.random_range((base - spread)..=(base + spread))
        } else {
            base
        };
        let grown = (base * self.config.multiplier).min(self.config.max_interval.as_secs_f64());
        self.current = Duration::from_secs_f64(grown);
        Duration::from_secs_f64(jittered.max(0.0))
    }
}

/// How one batch's export ended after retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportOutcome {
    /// Delivered (possibly with items the server rejected).
    Delivered(Delivered),
    /// Dropped: the server refused it for good.
    Permanent(String),
    /// Dropped: retries ran out (`max_elapsed_time`), or retry is disabled.
    RetriesExhausted(String),
    /// Dropped: the queue was told to stop before the batch could be delivered.
    Abandoned(String),
}

/// Retries exports of one exporter according to its `retry_on_failure`.
#[derive(Clone)]
pub struct RetryPolicy {
    config: RetryConfig,
}

impl RetryPolicy {
    /// A policy from config.
    pub fn new(config: RetryConfig) -> Self {
        RetryPolicy { config }
    }

    /// Exports `batch` until it is delivered, refused for good, out of time, or `stop` fires.
    /// `on_retry` is called before each wait (for logs and metrics).
    pub async fn export(
        &self,
        exporter: &Arc<dyn Exporter>,
        batch: &Batch,
        stop: &CancellationToken,
        mut on_retry: impl FnMut(&ExportError, Duration),
    ) -> ExportOutcome {
        let started = Instant::now();
        let mut backoff = Backoff::new(&self.config);
        loop {
            let error = match exporter.export(batch).await {
                Ok(delivered) => return ExportOutcome::Delivered(delivered),
                Err(ExportError::Permanent { reason }) => return ExportOutcome::Permanent(reason),
                Err(e) => e,
            };
            let ExportError::Retryable {
                retry_after,
                reason,
            } = &error
            else {
                unreachable!("permanent handled above");
            };
            if !self.config.enabled {
                return ExportOutcome::RetriesExhausted(format!(
                    "{reason} (retry_on_failure is disabled)"
                ));
            }
            let computed = backoff.next_delay(&mut rand::rng());
            // The server knows its own load better than our backoff: wait at least as long
            // as it asked.
            let delay = retry_after.map_or(computed, |asked| asked.max(computed));
            let max_elapsed = self.config.max_elapsed_time;
            if !max_elapsed.is_zero() && started.elapsed() + delay > max_elapsed {
                return ExportOutcome::RetriesExhausted(format!(
                    "{reason}; no more retries left after {:?} (max_elapsed_time {:?})",
                    started.elapsed(),
                    max_elapsed
                ));
            }
            on_retry(&error, delay);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => {
                    return ExportOutcome::Abandoned(format!("{reason}; stopped while waiting to retry"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::batch::{BatchMeta, Request};

    /// Answers with a scripted sequence of results, recording when each call happened.
    struct Scripted {
        answers: Mutex<Vec<Result<Delivered, ExportError>>>,
        calls: Mutex<Vec<Instant>>,
    }

    #[async_trait]
    impl Exporter for Scripted {
        async fn export(&self, _batch: &Batch) -> Result<Delivered, ExportError> {
            self.calls.lock().unwrap().push(Instant::now());
            let mut answers = self.answers.lock().unwrap();
            if answers.is_empty() {
                Ok(Delivered::default())
            } else {
                answers.remove(0)
            }
        }
    }

    fn scripted(answers: Vec<Result<Delivered, ExportError>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn batch() -> Batch {
        Batch::from_request(
            Request::Traces(Default::default()),
            Arc::new(BatchMeta::default()),
        )
    }

    fn unavailable(retry_after: Option<Duration>) -> Result<Delivered, ExportError> {
        Err(ExportError::Retryable {
            retry_after,
            reason: "unavailable".into(),
        })
    }

    fn no_jitter() -> RetryConfig {
        RetryConfig {
            randomization_factor: 0.0,
            ..RetryConfig::default()
        }
    }

    #[test]
    fn backoff_grows_by_multiplier_up_to_max_interval() {
        let mut b = Backoff::new(&no_jitter());
        let mut rng = StdRng::seed_from_u64(1);
        let delays: Vec<f64> = (0..7)
            .map(|_| b.next_delay(&mut rng).as_secs_f64())
            .collect();
        assert_eq!(delays, vec![5.0, 7.5, 11.25, 16.875, 25.3125, 30.0, 30.0]);
    }

    #[test]
    fn jitter_stays_within_randomization_factor() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let d = Backoff::new(&RetryConfig::default()).next_delay(&mut rng);
            assert!(
                d >= Duration::from_secs_f64(2.5) && d <= Duration::from_secs_f64(7.5),
                "{d:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_delivered_waiting_the_backoff() {
        let exp = scripted(vec![unavailable(None), unavailable(None)]);
        let dyn_exp: Arc<dyn Exporter> = exp.clone();
        let t0 = Instant::now();
        let outcome = RetryPolicy::new(no_jitter())
            .export(&dyn_exp, &batch(), &CancellationToken::new(), |_, _| {})
            .await;
        assert_eq!(outcome, ExportOutcome::Delivered(Delivered::default()));
        let calls: Vec<Duration> = exp.calls.lock().unwrap().iter().map(|t| *t - t0).collect();
        assert_eq!(
            calls,
            vec![
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::from_millis(12_500)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn server_retry_after_longer_than_backoff_is_honoured() {
        let exp = scripted(vec![unavailable(Some(Duration::from_secs(42)))]);
        let dyn_exp: Arc<dyn Exporter> = exp.clone();
        let t0 = Instant::now();
        RetryPolicy::new(no_jitter())
            .export(&dyn_exp, &batch(), &CancellationToken::new(), |_, _| {})
            .await;
        let second = exp.calls.lock().unwrap()[1] - t0;
        assert_eq!(second, Duration::from_secs(42));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_error_is_not_retried() {
        let exp = scripted(vec![Err(ExportError::Permanent {
            reason: "400 bad request".into(),
        })]);
        let dyn_exp: Arc<dyn Exporter> = exp.clone();
        let outcome = RetryPolicy::new(no_jitter())
            .export(&dyn_exp, &batch(), &CancellationToken::new(), |_, _| {})
            .await;
        assert_eq!(outcome, ExportOutcome::Permanent("400 bad request".into()));
        assert_eq!(exp.calls.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_elapsed_time() {
        let exp = scripted((0..100).map(|_| unavailable(None)).collect());
        let dyn_exp: Arc<dyn Exporter> = exp.clone();
        let config = RetryConfig {
            max_elapsed_time: Duration::from_secs(20),
            ..no_jitter()
        };
        let outcome = RetryPolicy::new(config)
            .export(&dyn_exp, &batch(), &CancellationToken::new(), |_, _| {})
            .await;
        assert!(
            matches!(outcome, ExportOutcome::RetriesExhausted(ref m) if m.contains("max_elapsed_time")),
            "{outcome:?}"
        );
        // waits 5 and 7.5 fit in 20s; the next (11.25) would pass it
        assert_eq!(exp.calls.lock().unwrap().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_retry_drops_on_first_retryable_error() {
        let exp = scripted(vec![unavailable(None)]);
        let dyn_exp: Arc<dyn Exporter> = exp.clone();
        let config = RetryConfig {
            enabled: false,
            ..no_jitter()
        };
        let outcome = RetryPolicy::new(config)
            .export(&dyn_exp, &batch(), &CancellationToken::new(), |_, _| {})
            .await;
        assert!(matches!(outcome, ExportOutcome::RetriesExhausted(_)));
        assert_eq!(exp.calls.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_abandons_a_batch_waiting_to_retry() {
        let exp = scripted(vec![unavailable(None)]);
        let dyn_exp: Arc<dyn Exporter> = exp.clone();
        let stop = CancellationToken::new();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            stopper.cancel();
        });
        let outcome = RetryPolicy::new(no_jitter())
            .export(&dyn_exp, &batch(), &stop, |_, _| {})
            .await;
        assert!(matches!(outcome, ExportOutcome::Abandoned(_)));
    }
}
