//! Start times for cumulative points (sums, histograms, summaries) that carry no `_created`.
//!
//! Since v0.142 otelcol's receiver leaves such start times unset and leaves the job to the
//! `metricstarttime` processor, whose default `true_reset_point` strategy is the receiver's
//! old adjuster made explicit. Weir does it here, by default, with that strategy's rules
//! (`processor/metricstarttimeprocessor/internal/truereset`):
//!
//! - the first point of a series is emitted with start time = its own timestamp;
//! - later points get the series' start time;
//! - a reset (a sum's value decreasing; a histogram's count, sum or any bucket count
//!   decreasing, or its bounds changing; a summary's count or sum decreasing) starts the
//!   series again at the reset point's timestamp less 1 ms;
//! - a stale point (no recorded value) gets the series' start time and changes nothing;
//! - a point with `_created` keeps it as its start time, and the series restarts there;
//! - series not seen for a whole GC interval (10 minutes by default, in scrape time) are
//!   forgotten, with otelcol's mark-and-sweep: a series unseen between two sweeps goes.

use super::hash::HashedMap;

/// A point as its series' start time is decided on, borrowed from the point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Current<'a> {
    Number(f64),
    Histogram {
        count: u64,
        sum: f64,
        bounds: &'a [f64],
        buckets: &'a [u64],
    },
    Summary {
        count: u64,
        sum: f64,
    },
}

/// The last point of a series, kept to tell a reset.
#[derive(Debug, Clone, PartialEq)]
enum Previous {
    Number(f64),
    Histogram {
        count: u64,
        sum: f64,
        bounds: Vec<f64>,
        buckets: Vec<u64>,
    },
    Summary {
        count: u64,
        sum: f64,
    },
}

impl Current<'_> {
    /// Makes `previous` this point (reusing its buffers), and says whether this point is a
    /// reset after it.
    fn replace(self, previous: &mut Previous) -> bool {
        match (self, previous) {
            (Current::Number(now), Previous::Number(then)) => {
                let reset = now < *then;
                *then = now;
                reset
            }
            (
                Current::Histogram {
                    count,
                    sum,
                    bounds,
                    buckets,
                },
                Previous::Histogram {
                    count: c0,
                    sum: s0,
                    bounds: b0,
                    buckets: k0,
                },
            ) => {
                let reset = count < *c0
                    || sum < *s0
                    || bounds != b0.as_slice()
                    || buckets.len() != k0.len()
                    || buckets.iter().zip(k0.iter()).any(|(now, then)| now < then);
                (*c0, *s0) = (count, sum);
                b0.clear();
                b0.extend_from_slice(bounds);
                k0.clear();
                k0.extend_from_slice(buckets);
                reset
            }
            (Current::Summary { count, sum }, Previous::Summary { count: c0, sum: s0 }) => {
                let reset = count < *c0 || sum < *s0;
                (*c0, *s0) = (count, sum);
                reset
            }
            // The series changed type: start again.
            (current, previous) => {
                *previous = current.to_previous();
                true
            }
        }
    }

    fn to_previous(self) -> Previous {
        match self {
            Current::Number(v) => Previous::Number(v),
            Current::Histogram {
                count,
                sum,
                bounds,
                buckets,
            } => Previous::Histogram {
                count,
                sum,
                bounds: bounds.to_vec(),
                buckets: buckets.to_vec(),
            },
            Current::Summary { count, sum } => Previous::Summary { count, sum },
        }
    }
}

#[derive(Debug)]
struct Series {
    marked: bool,
    start_ns: u64,
    previous: Previous,
}

/// The start times of one target's series, across scrapes.
#[derive(Debug, Default)]
pub(super) struct StartTimes {
    series: HashedMap<Series>,
    last_gc_ms: Option<i64>,
}

impl StartTimes {
    /// Forgets the series not seen since the last sweep, once `interval_ms` has passed since.
    pub(super) fn maybe_gc(&mut self, now_ms: i64, interval_ms: i64) {
        match self.last_gc_ms {
            None => self.last_gc_ms = Some(now_ms),
            Some(last) if now_ms.saturating_sub(last) >= interval_ms => {
                self.series
                    .retain(|_, s| std::mem::replace(&mut s.marked, false));
                self.last_gc_ms = Some(now_ms);
            }
            Some(_) => {}
        }
    }

    /// The number of series remembered.
    pub(super) fn len(&self) -> usize {
        self.series.len()
    }

    /// The start time of a point of series `key` at `time_ns`. `current` is `None` for a stale
    /// point; `created_ns` is the point's `_created`.
    pub(super) fn start(
        &mut self,
        key: u64,
        time_ns: u64,
        current: Option<Current<'_>>,
        created_ns: Option<u64>,
    ) -> u64 {
        let Some(current) = current else {
            return match self.series.get_mut(&key) {
                Some(s) => {
                    s.marked = true;
                    s.start_ns
                }
                None => created_ns.unwrap_or(time_ns),
            };
        };
        match self.series.get_mut(&key) {
            None => {
                let start_ns = created_ns.unwrap_or(time_ns);
                self.series.insert(
                    key,
                    Series {
                        marked: true,
                        start_ns,
                        previous: current.to_previous(),
                    },
                );
                start_ns
            }
            Some(s) => {
                s.marked = true;
                let reset = current.replace(&mut s.previous);
                if let Some(created) = created_ns {
                    s.start_ns = created;
                } else if reset {
                    s.start_ns = time_ns.saturating_sub(1_000_000);
                }
                s.start_ns
            }
        }
    }
}
