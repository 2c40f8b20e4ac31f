//! Refusals a user must be able to see: refused TLS handshakes, refused requests, failed
//! authentication. Each is counted on every occurrence, and logged through a rate limit per
//! `(where, reason)` so that a scanner or a misconfigured client cannot flood the log: the first
//! refusal of a kind is logged at once, then at most one line per [`LOG_INTERVAL`], which says
//! how many were left out since the previous line.
//!
//! The counters:
//! - `weir_receiver_tls_handshake_failures_total{server, reason}`;
//! - `weir_receiver_refused_requests_total{receiver, transport, reason}`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The least time between two log lines about the same kind of refusal at the same place.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Which refusals of one kind may be logged: one, then one per interval.
#[derive(Debug)]
pub struct LogLimit {
    interval: Duration,
    slots: HashMap<(String, &'static str), Slot>,
}

#[derive(Debug)]
struct Slot {
    logged_at: Instant,
    left_out: u64,
}

impl LogLimit {
    /// A limit of one line per `interval` for each key.
    pub fn new(interval: Duration) -> LogLimit {
        LogLimit {
            interval,
            slots: HashMap::new(),
        }
    }

    /// `Some(left_out)` when a refusal of `reason` at `place` seen at `now` is to be logged,
    /// `left_out` being how many of that key were not logged since the previous line; `None`
    /// when it is only counted.
    pub fn admit(&mut self, place: &str, reason: &'static str, now: Instant) -> Option<u64> {
        match self.slots.get_mut(&(place.to_string(), reason)) {
            None => {
                self.slots.insert(
                    (place.to_string(), reason),
                    Slot {
                        logged_at: now,
                        left_out: 0,
                    },
                );
                Some(0)
            }
            Some(slot) if now.saturating_duration_since(slot.logged_at) >= self.interval => {
                let left_out = slot.left_out;
                slot.logged_at = now;
                slot.left_out = 0;
                Some(left_out)
            }
            Some(slot) => {
                slot.left_out = slot.left_out.saturating_add(1);
                None
            }
        }
    }
}

/// The process-wide limit for refusal logs; `place` says what refused and where
/// (`tls otlp/http`, `request otlp/http`), so kinds of refusal never share a limit.
pub fn admit_log(place: &str, reason: &'static str) -> Option<u64> {
    static LIMIT: OnceLock<Mutex<LogLimit>> = OnceLock::new();
    let limit = LIMIT.get_or_init(|| Mutex::new(LogLimit::new(LOG_INTERVAL)));
    let mut limit = limit.lock().unwrap_or_else(|e| e.into_inner());
    limit.admit(place, reason, Instant::now())
}

/// Counts one refused TLS handshake on `server` (the server's name, `otlp/grpc`).
pub fn count_tls_handshake_failure(server: &str, reason: &'static str) {
    super::counter(
        "weir_receiver_tls_handshake_failures_total",
        "TLS handshakes refused or failed, by reason.",
        &[("server", server), ("reason", reason)],
    )
    .fetch_add(1, Ordering::Relaxed);
}

/// Counts one request `receiver` refused on `transport` (`grpc`, `http`) before it reached a
/// pipeline, for `reason` (`too_large`, `unsupported_content_type`, ...).
pub fn count_refused_request(receiver: &str, transport: &str, reason: &'static str) {
    super::counter(
        "weir_receiver_refused_requests_total",
        "Requests refused before reaching a pipeline (size, content type, encoding, malformed), by reason.",
        &[
            ("receiver", receiver),
            ("transport", transport),
            ("reason", reason),
        ],
    )
    .fetch_add(1, Ordering::Relaxed);
}

/// Counts a request refusal and logs it at warn through the rate limit, with `peer` and what
/// the client was told (`detail`, which must hold no credentials).
pub fn refused_request(
    receiver: &str,
    transport: &'static str,
    peer: std::net::SocketAddr,
    reason: &'static str,
    detail: &str,
) {
    count_refused_request(receiver, transport, reason);
    let place = format!("request {receiver}/{transport}");
    if let Some(left_out) = admit_log(&place, reason) {
        tracing::warn!(
            receiver,
            transport,
            %peer,
            reason,
            similar_not_logged = left_out,
            "request refused: {detail}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refusal_is_logged_then_one_line_per_interval_counts_the_rest() {
        let mut limit = LogLimit::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(limit.admit("otlp/http", "not_tls", start), Some(0));
        for i in 1..=5 {
            let at = start + Duration::from_secs(i);
            assert_eq!(limit.admit("otlp/http", "not_tls", at), None);
        }
        assert_eq!(
            limit.admit("otlp/http", "not_tls", start + Duration::from_secs(10)),
            Some(5)
        );
        assert_eq!(
            limit.admit("otlp/http", "not_tls", start + Duration::from_secs(11)),
            None
        );
    }

    #[test]
    fn each_place_and_reason_has_its_own_limit() {
        let mut limit = LogLimit::new(Duration::from_secs(10));
        let now = Instant::now();
        assert_eq!(limit.admit("otlp/http", "expired", now), Some(0));
        assert_eq!(limit.admit("otlp/http", "unknown_ca", now), Some(0));
        assert_eq!(limit.admit("otlp/grpc", "expired", now), Some(0));
        assert_eq!(limit.admit("otlp/http", "expired", now), None);
    }

    #[test]
    fn refusals_are_counted_whether_or_not_they_are_logged() {
        let peer = "127.0.0.1:9".parse().expect("address");
        for _ in 0..3 {
            refused_request(
                "otlp/count-test",
                "http",
                peer,
                "too_large",
                "body too large",
            );
        }
        let value = crate::telemetry::counters()
            .into_iter()
            .find(|s| {
                s.name == "weir_receiver_refused_requests_total"
                    && s.labels
                        .iter()
                        .any(|(k, v)| *k == "receiver" && v == "otlp/count-test")
            })
            .map(|s| s.value);
        assert_eq!(value, Some(3));
    }
}
