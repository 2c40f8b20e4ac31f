//! The health decision and the answer, without I/O: what makes Weir unhealthy given the running
//! graph's counters and the time, and the JSON body otelcol's health check answers with
//! (`status`, `upSince`, `uptime`), plus Weir's `unhealthy` list saying why.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use weir_core::runtime::GraphStats;

/// otelcol's `status` when healthy.
pub const AVAILABLE: &str = "Server available";
/// otelcol's `status` when not.
pub const NOT_AVAILABLE: &str = "Server not available";

/// One reason the pipelines are unhealthy, as it appears in the `unhealthy` list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "reason",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Problem {
    /// The exporter's exports have been failing (and retried) for longer than the threshold.
    ExporterFailing {
        /// The exporter's id.
        exporter: String,
        /// The signal of its queue (`traces`, `metrics`, `logs`).
        data_type: &'static str,
        /// When the current run of failures started (unix seconds; RFC 3339 in the JSON).
        #[serde(serialize_with = "unix_seconds_rfc3339")]
        failing_since: u64,
    },
    /// The exporter's sending queue is full: receivers are refusing or waiting.
    QueueFull {
        /// The exporter's id.
        exporter: String,
        /// The signal of its queue.
        data_type: &'static str,
        /// What the queue holds, in its sizer's unit.
        queue_size: u64,
        /// Its capacity, in the same unit.
        queue_capacity: u64,
    },
}

/// What makes `graph` unhealthy at `now`: exporters failing for longer than `threshold`, and
/// full sending queues, in the graph's order.
pub fn assess(graph: &GraphStats, now: SystemTime, threshold: Duration) -> Vec<Problem> {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut problems = Vec::new();
    for (id, signal, queue) in &graph.exporters {
        let since = queue.failing_since.load(Ordering::Relaxed);
        // `failing_since` is whole seconds, rounded down, so the failures may have started up
        // to a second after it: count only the time they surely lasted, reporting up to a
        // second late rather than before the threshold has passed.
        let surely_failing = now.saturating_sub(Duration::from_secs(since.saturating_add(1)));
        if since > 0 && surely_failing > threshold {
            problems.push(Problem::ExporterFailing {
                exporter: id.to_string(),
                data_type: signal.as_str(),
                failing_since: since,
            });
        }
        if queue.is_full() {
            problems.push(Problem::QueueFull {
                exporter: id.to_string(),
                data_type: signal.as_str(),
                queue_size: queue.size(),
                queue_capacity: queue.capacity(),
            });
        }
    }
    problems
}

/// The answer's body: otelcol's three fields, and Weir's `unhealthy` list when there is one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Body<'a> {
    /// [`AVAILABLE`] or [`NOT_AVAILABLE`].
    pub status: &'static str,
    /// When the pipelines started, RFC 3339 (`0001-01-01T00:00:00Z` before they have, as
    /// otelcol's zero time).
    pub up_since: String,
    /// How long they have run, as Go writes durations (`1m2.5s`).
    pub uptime: String,
    /// Why Weir is unhealthy, when the pipeline check found reasons.
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    pub unhealthy: &'a [Problem],
}

/// The HTTP status and JSON body for pipelines that started at `started` (`None`: not yet, or
/// no longer) with `problems` found, at `now`.
pub fn answer(started: Option<SystemTime>, now: SystemTime, problems: &[Problem]) -> (u16, String) {
    let healthy = started.is_some() && problems.is_empty();
    let body = Body {
        status: if healthy { AVAILABLE } else { NOT_AVAILABLE },
        up_since: started.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339),
        uptime: started.map_or_else(
            || "0s".to_string(),
            |s| go_duration(now.duration_since(s).unwrap_or_default()),
        ),
        unhealthy: problems,
    };
    let json = serde_json::to_string(&body).unwrap_or_else(|_| {
        // Serializing these strings and numbers cannot fail; keep the answer well-formed anyway.
        format!("{{\"status\":\"{}\"}}", body.status)
    });
    (if healthy { 200 } else { 503 }, json)
}

fn unix_seconds_rfc3339<S: Serializer>(seconds: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(UNIX_EPOCH + Duration::from_secs(*seconds)))
}

/// `time` in UTC as RFC 3339 with Go's `RFC3339Nano` precision (trailing zeros of the fraction
/// dropped), as otelcol's JSON writes times. Times before 1970 are written as 1970.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = since.subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Year, month, day of the `days`-th day after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// on the proleptic Gregorian calendar).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `d` as Go's `time.Duration.String` writes it (`49.0132518s`, `1m2.5s`, `2h0m1s`, `1.5ms`),
/// the form otelcol's `uptime` has.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    let with_fraction = |whole: u128, frac: u128, digits: usize, unit: &str| {
        let mut s = whole.to_string();
        if frac > 0 {
            let f = format!("{frac:0digits$}");
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s.push_str(unit);
        s
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return with_fraction(nanos / 1_000, nanos % 1_000, 3, "µs");
    }
    if nanos < 1_000_000_000 {
        return with_fraction(nanos / 1_000_000, nanos % 1_000_000, 6, "ms");
    }
    let total_secs = nanos / 1_000_000_000;
    let (hours, minutes, secs) = (total_secs / 3600, total_secs % 3600 / 60, total_secs % 60);
    let seconds = with_fraction(secs, nanos % 1_000_000_000, 9, "s");
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}")
    } else {
        seconds
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use weir_core::batch::Signal;
    use weir_core::exporter::{MemoryStore, QueueStats, Sizer};

    use super::*;

    /// Unix time 1_700_000_000 is 2023-11-14T22:13:20Z.
    const NOW: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A graph with one `otlp` traces queue of capacity `capacity`, failing since
    /// `failing_since` (0: healthy).
    fn one_queue(capacity: usize, failing_since: u64) -> (GraphStats, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new(Sizer::Requests, capacity));
        let stats = Arc::new(QueueStats::for_store(store.clone()));
        stats.failing_since.store(failing_since, Ordering::Relaxed);
        let graph = GraphStats {
            exporters: vec![("otlp".parse().unwrap(), Signal::Traces, stats)],
            ..GraphStats::default()
        };
        (graph, store)
    }

    #[test]
    fn a_delivering_graph_is_healthy() {
        let (graph, _) = one_queue(10, 0);
        assert_eq!(assess(&graph, at(NOW), Duration::from_secs(60)), vec![]);
    }

    #[test]
    fn an_exporter_failing_shorter_than_the_threshold_is_tolerated() {
        let (graph, _) = one_queue(10, NOW - 30);
        assert_eq!(assess(&graph, at(NOW), Duration::from_secs(60)), vec![]);
        // Failing since NOW-61 (whole seconds) may have started at NOW-60.x: not surely longer
        // than the threshold yet.
        let (graph, _) = one_queue(10, NOW - 61);
        assert_eq!(assess(&graph, at(NOW), Duration::from_secs(60)), vec![]);
    }

    #[test]
    fn an_exporter_failing_longer_than_the_threshold_is_named() {
        let (graph, _) = one_queue(10, NOW - 62);
        assert_eq!(
            assess(&graph, at(NOW), Duration::from_secs(60)),
            vec![Problem::ExporterFailing {
                exporter: "otlp".into(),
                data_type: "traces",
                failing_since: NOW - 62,
            }]
        );
    }

    #[tokio::test]
    async fn a_full_queue_is_named_with_its_size() {
        use weir_core::exporter::QueueStore;
        let (graph, store) = one_queue(1, 0);
        assert_eq!(assess(&graph, at(NOW), Duration::from_secs(60)), vec![]);
        let batch = weir_core::batch::Batch::from_encoded(
            Signal::Traces,
            bytes::Bytes::new(),
            Arc::new(weir_core::batch::BatchMeta::default()),
        )
        .unwrap();
        store.push(batch).await.unwrap();
        assert_eq!(
            assess(&graph, at(NOW), Duration::from_secs(60)),
            vec![Problem::QueueFull {
                exporter: "otlp".into(),
                data_type: "traces",
                queue_size: 1,
                queue_capacity: 1,
            }]
        );
    }

    #[test]
    fn healthy_answer_has_otelcols_shape() {
        let (status, body) = answer(Some(at(NOW)), at(NOW) + Duration::from_millis(49_013), &[]);
        assert_eq!(status, 200);
        assert_eq!(
            body,
            r#"{"status":"Server available","upSince":"2023-11-14T22:13:20Z","uptime":"49.013s"}"#
        );
    }

    #[test]
    fn unhealthy_answer_lists_the_reasons() {
        let problems = [
            Problem::ExporterFailing {
                exporter: "otlp/backend".into(),
                data_type: "logs",
                failing_since: NOW - 400,
            },
            Problem::QueueFull {
                exporter: "otlp/backend".into(),
                data_type: "logs",
                queue_size: 1000,
                queue_capacity: 1000,
            },
        ];
        let (status, body) = answer(Some(at(NOW - 3600)), at(NOW), &problems);
        assert_eq!(status, 503);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "status": "Server not available",
                "upSince": "2023-11-14T21:13:20Z",
                "uptime": "1h0m0s",
                "unhealthy": [
                    {"reason": "exporter_failing", "exporter": "otlp/backend", "dataType": "logs",
                     "failingSince": "2023-11-14T22:06:40Z"},
                    {"reason": "queue_full", "exporter": "otlp/backend", "dataType": "logs",
                     "queueSize": 1000, "queueCapacity": 1000},
                ]
            })
        );
    }

    #[test]
    fn not_started_is_unavailable_with_otelcols_zero_time() {
        let (status, body) = answer(None, at(NOW), &[]);
        assert_eq!(status, 503);
        assert_eq!(
            body,
            r#"{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":"0s"}"#
        );
    }

    #[test]
    fn rfc3339_handles_leap_years_and_fractions() {
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00Z");
        // 2024-02-29T12:00:00Z
        assert_eq!(rfc3339(at(1_709_208_000)), "2024-02-29T12:00:00Z");
        assert_eq!(
            rfc3339(at(951_782_400) + Duration::from_nanos(684_717_400)),
            "2000-02-29T00:00:00.6847174Z"
        );
        assert_eq!(rfc3339(at(4_102_444_799)), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn durations_read_as_go_writes_them() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(15), "15ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_micros(2_250), "2.25ms"),
            (Duration::from_nanos(49_013_251_800), "49.0132518s"),
            (Duration::from_millis(62_500), "1m2.5s"),
            (Duration::from_secs(7201), "2h0m1s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }
}
