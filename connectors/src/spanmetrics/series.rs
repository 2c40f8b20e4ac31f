//! What the connector holds between flushes: the resources seen (least recently updated
//! forgotten past `resource_metrics_cache_size`) and the series (one per resource, metric and
//! set of dimension values; least recently updated forgotten past `dimensions_cache_size`),
//! each with its count, histogram and exemplars. Flushing reads them into a metrics request
//! ([`super::emit`]) and then resets them by the temporality.

use hashlink::LruCache;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use tokio::time::Instant;

use super::config::{SpanMetricsConfig, Temporality};
use super::histogram::{Explicit, Exponential, Histogram};

type Lru<K, V> = LruCache<K, V, foldhash::fast::RandomState>;

/// Which metric a series belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Kind {
    /// `calls` and `duration` (they share their series).
    Spans,
    /// `events`.
    Events,
}

/// A series' identity: its resource's key (8 bytes), its metric (1 byte) and its dimension
/// values, as one byte string, so that a span finds its series without allocating.
pub(super) type SeriesKey = Box<[u8]>;

/// The start of a series' key: its resource and metric.
pub(super) fn key_prefix(resource: u64, kind: Kind, key: &mut Vec<u8>) {
    key.clear();
    key.extend_from_slice(&resource.to_le_bytes());
    key.push(kind as u8);
}

/// The resource and metric of a series' key.
pub(super) fn key_parts(key: &[u8]) -> (u64, Kind) {
    let resource = key.first_chunk::<8>().map_or(0, |b| u64::from_le_bytes(*b));
    let kind = if key.get(8) == Some(&(Kind::Events as u8)) {
        Kind::Events
    } else {
        Kind::Spans
    };
    (resource, kind)
}

/// An exemplar: the span that was measured.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Exemplar {
    pub(super) trace_id: [u8; 16],
    pub(super) span_id: [u8; 8],
    pub(super) value: f64,
}

/// One series.
#[derive(Debug)]
pub(super) struct Series {
    pub(super) attributes: Vec<KeyValue>,
    pub(super) calls: u64,
    pub(super) histogram: Option<Histogram>,
    pub(super) exemplars: Vec<Exemplar>,
    /// Start of what the counts cover (Unix nanoseconds).
    pub(super) start: u64,
}

/// One resource.
#[derive(Debug)]
pub(super) struct ResourceEntry {
    /// Its attributes, copied to the metrics' resource.
    pub(super) attributes: Vec<KeyValue>,
    pub(super) last_seen: Instant,
}

/// One observation of a span (or span event) into a series.
pub(super) struct Observation<'a> {
    pub(super) kind: Kind,
    /// The series' key ([`key_prefix`] then the values).
    pub(super) key: &'a [u8],
    pub(super) duration: f64,
    pub(super) ids: Option<([u8; 16], [u8; 8])>,
}

/// Everything held.
pub(super) struct State {
    pub(super) resources: Lru<u64, ResourceEntry>,
    pub(super) series: Lru<SeriesKey, Series>,
    /// The explicit bounds, in the histogram's unit.
    pub(super) bounds: Vec<f64>,
    exponential: Option<u32>,
    histogram: bool,
    exemplars: Option<usize>,
    temporality: Temporality,
    expiration: std::time::Duration,
    /// When the previous flush was (Unix nanoseconds): a delta series' start.
    pub(super) last_flush: u64,
}

impl State {
    pub(super) fn new(config: &SpanMetricsConfig, now: u64) -> State {
        State {
            resources: Lru::with_hasher(config.resource_metrics_cache_size, Default::default()),
            series: Lru::with_hasher(config.dimensions_cache_size, Default::default()),
            bounds: config.bounds(),
            exponential: config.exponential_max_size(),
            histogram: !config.histogram.disable,
            exemplars: config
                .exemplars
                .enabled
                .then_some(config.exemplars.max_per_data_point),
            temporality: config.aggregation_temporality,
            expiration: config.metrics_expiration,
            last_flush: now,
        }
    }

    /// Notes that resource `key` was seen (making it with `attributes` the first time); a
    /// resource forgotten to make room takes its series with it.
    pub(super) fn touch_resource(
        &mut self,
        key: u64,
        attributes: impl FnOnce() -> Vec<KeyValue>,
        at: Instant,
    ) {
        if let Some(entry) = self.resources.get_mut(&key) {
            entry.last_seen = at;
            return;
        }
        if self.resources.len() >= self.resources.capacity()
            && let Some((gone, _)) = self.resources.remove_lru()
        {
            self.forget_series_of(gone);
        }
        self.resources.insert(
            key,
            ResourceEntry {
                attributes: attributes(),
                last_seen: at,
            },
        );
    }

    fn forget_series_of(&mut self, resource: u64) {
        let gone: Vec<SeriesKey> = self
            .series
            .iter()
            .filter(|(k, _)| key_parts(k).0 == resource)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.series.remove(&key);
        }
    }

    /// Counts one observation into its series, making the series (with the
    /// attributes `attributes` gives) when it is new, the least recently updated one
    /// forgotten if the cache is full.
    pub(super) fn observe(
        &mut self,
        seen: &Observation<'_>,
        attributes: impl FnOnce() -> Vec<KeyValue>,
        now: u64,
    ) {
        let key = seen.key;
        if let Some(series) = self.series.get_mut(key) {
            count_into(series, seen, &self.bounds, self.exemplars);
            return;
        }
        let histogram =
            (seen.kind == Kind::Spans && self.histogram).then(|| match self.exponential {
                Some(max_size) => Histogram::Exponential(Exponential::new(max_size)),
                None => Histogram::Explicit(Explicit::new(&self.bounds)),
            });
        let mut series = Series {
            attributes: attributes(),
            calls: 0,
            histogram,
            exemplars: Vec::new(),
            start: now,
        };
        count_into(&mut series, seen, &self.bounds, self.exemplars);
        // `insert` forgets the least recently updated series when full.
        self.series.insert(key.into(), series);
    }

    /// After a flush at `now`: delta series restart from zero (those not updated since the
    /// previous flush are forgotten), cumulative ones lose their exemplars, and resources not
    /// updated within `metrics_expiration` are forgotten with their series.
    pub(super) fn reset(&mut self, now: u64, at: Instant) {
        match self.temporality {
            Temporality::Delta => {
                let idle: Vec<SeriesKey> = self
                    .series
                    .iter()
                    .filter(|(_, s)| s.calls == 0)
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in idle {
                    self.series.remove(&key);
                }
                for (_, s) in self.series.iter_mut() {
                    s.calls = 0;
                    s.exemplars.clear();
                    s.start = now;
                    if let Some(h) = s.histogram.as_mut() {
                        *h = match h {
                            Histogram::Explicit(_) => {
                                Histogram::Explicit(Explicit::new(&self.bounds))
                            }
                            Histogram::Exponential(_) => Histogram::Exponential(Exponential::new(
                                self.exponential.unwrap_or(160),
                            )),
                        };
                    }
                }
            }
            Temporality::Cumulative => {
                for (_, s) in self.series.iter_mut() {
                    s.exemplars.clear();
                }
            }
        }
        if !self.expiration.is_zero() {
            let expired: Vec<u64> = self
                .resources
                .iter()
                .filter(|(_, r)| at.duration_since(r.last_seen) >= self.expiration)
                .map(|(k, _)| *k)
                .collect();
            for key in expired {
                self.resources.remove(&key);
                self.forget_series_of(key);
            }
        }
        self.last_flush = now;
    }

    /// Whether a series is to be emitted: delta series only when updated since the previous
    /// flush.
    pub(super) fn emits(&self, series: &Series) -> bool {
        self.temporality == Temporality::Cumulative || series.calls > 0
    }

    pub(super) fn temporality(&self) -> Temporality {
        self.temporality
    }
}

/// Counts `seen` into `series`: a call, its duration, and its exemplar while there is room.
fn count_into(
    series: &mut Series,
    seen: &Observation<'_>,
    bounds: &[f64],
    exemplars: Option<usize>,
) {
    series.calls += 1;
    if let Some(h) = series.histogram.as_mut() {
        h.observe(seen.duration, bounds);
    }
    if let (Some(max), Some((trace_id, span_id))) = (exemplars, seen.ids)
        && series.exemplars.len() < max
    {
        series.exemplars.push(Exemplar {
            trace_id,
            span_id,
            value: seen.duration,
        });
    }
}
