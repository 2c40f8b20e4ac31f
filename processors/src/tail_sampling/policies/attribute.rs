//! `numeric_attribute`, `string_attribute` and `boolean_attribute`: a test on a resource or
//! span attribute, otelcol's `hasResourceOrSpanWithCondition` (sampled when any resource or
//! span passes) or, with `invert_match`, `invertHasResourceOrSpanWithCondition` (refused when
//! any fails).

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use tokio::time::Instant;
use weir_core::batch::rewrite::ValueRef;

use super::wire::{RESOURCE_ATTRIBUTES, SPAN_ATTRIBUTES, as_bool, as_int, as_str, attribute};
use crate::tail_sampling::trace::{Decision, Evaluate, TraceView};

/// What a resource's or span's attribute `key` passes: called with the value when the key is
/// there.
trait Test {
    fn resource(&mut self, value: &ValueRef<'_>) -> bool;
    fn span(&mut self, value: &ValueRef<'_>) -> bool;
}

/// Sampled when a resource or span has `key` passing `test`. Resources and spans are pure
/// tests here, so reading a resource once per piece (otelcol reads it once per received
/// resource) decides the same.
fn any(trace: &TraceView<'_>, key: &str, test: &mut impl Test) -> Decision {
    for piece in trace.pieces() {
        if attribute(piece.headers.resource(), RESOURCE_ATTRIBUTES, key)
            .is_some_and(|v| test.resource(&v))
        {
            return Decision::Sampled;
        }
        for span in piece.spans() {
            if attribute(span, SPAN_ATTRIBUTES, key).is_some_and(|v| test.span(&v)) {
                return Decision::Sampled;
            }
        }
    }
    Decision::NotSampled
}

/// Refused when a resource or span has `key` passing `test`, else invert-sampled (a trace
/// without the key is sampled).
fn none(trace: &TraceView<'_>, key: &str, test: &mut impl Test) -> Decision {
    match any(trace, key, test) {
        Decision::Sampled => Decision::InvertNotSampled,
        _ => Decision::InvertSampled,
    }
}

/// `numeric_attribute`.
pub(super) struct Numeric {
    key: String,
    range: Range,
    invert: bool,
}

struct Range {
    min: i64,
    max: i64,
}

impl Test for Range {
    fn resource(&mut self, value: &ValueRef<'_>) -> bool {
        (self.min..=self.max).contains(&as_int(value))
    }
    fn span(&mut self, value: &ValueRef<'_>) -> bool {
        self.resource(value)
    }
}

impl Numeric {
    /// 0 is an unset bound, as otelcol turns a 0 `min_value` or `max_value` into none.
    pub(super) fn new(key: &str, min: i64, max: i64, invert: bool) -> Numeric {
        Numeric {
            key: key.to_string(),
            range: Range {
                min: if min == 0 { i64::MIN } else { min },
                max: if max == 0 { i64::MAX } else { max },
            },
            invert,
        }
    }
}

impl Evaluate for Numeric {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Ok(if self.invert {
            none(trace, &self.key, &mut self.range)
        } else {
            any(trace, &self.key, &mut self.range)
        })
    }
}

/// `boolean_attribute`.
pub(super) struct Boolean {
    key: String,
    value: Equals,
    invert: bool,
}

struct Equals(bool);

impl Test for Equals {
    fn resource(&mut self, value: &ValueRef<'_>) -> bool {
        as_bool(value) == self.0
    }
    fn span(&mut self, value: &ValueRef<'_>) -> bool {
        self.resource(value)
    }
}

impl Boolean {
    pub(super) fn new(key: &str, value: bool, invert: bool) -> Boolean {
        Boolean {
            key: key.to_string(),
            value: Equals(value),
            invert,
        }
    }
}

impl Evaluate for Boolean {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Ok(if self.invert {
            none(trace, &self.key, &mut self.value)
        } else {
            any(trace, &self.key, &mut self.value)
        })
    }
}

/// otelcol's default `cache_max_size`.
const DEFAULT_CACHE_SIZE: usize = 128;

/// `string_attribute`.
pub(super) struct Strings {
    key: String,
    matcher: Matcher,
    invert: bool,
}

enum Matcher {
    /// Compared as bytes, as Go compares strings.
    Exact(HashSet<Vec<u8>>),
    Regex {
        patterns: Vec<Regex>,
        cache: Lru,
    },
}

impl Matcher {
    fn matches(&mut self, value: &[u8]) -> bool {
        match self {
            Matcher::Exact(values) => values.contains(value),
            Matcher::Regex { patterns, cache } => {
                let value = String::from_utf8_lossy(value);
                if let Some(hit) = cache.get(&value) {
                    return hit;
                }
                let hit = patterns.iter().any(|p| p.is_match(&value));
                cache.put(value.into_owned(), hit);
                hit
            }
        }
    }
}

impl Test for Matcher {
    /// A resource attribute is tested even when its string is empty (a value of another type
    /// reads as ""), a span's only when not: otelcol's two closures differ so.
    fn resource(&mut self, value: &ValueRef<'_>) -> bool {
        self.matches(as_str(value))
    }
    fn span(&mut self, value: &ValueRef<'_>) -> bool {
        let value = as_str(value);
        !value.is_empty() && self.matches(value)
    }
}

impl Strings {
    /// `values` as validated: exact values non-empty (otelcol drops empty ones), patterns
    /// compiled by [`super::go_regex::compile`].
    pub(super) fn exact(key: &str, values: &[String], invert: bool) -> Strings {
        Strings {
            key: key.to_string(),
            matcher: Matcher::Exact(
                values
                    .iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| v.as_bytes().to_vec())
                    .collect(),
            ),
            invert,
        }
    }

    pub(super) fn regex(key: &str, patterns: Vec<Regex>, cache_size: usize, invert: bool) -> Self {
        let capacity = if cache_size == 0 {
            DEFAULT_CACHE_SIZE
        } else {
            cache_size
        };
        Strings {
            key: key.to_string(),
            matcher: Matcher::Regex {
                patterns,
                cache: Lru::new(capacity),
            },
            invert,
        }
    }
}

impl Evaluate for Strings {
    fn evaluate(&mut self, trace: &TraceView<'_>, _: Instant) -> Result<Decision, String> {
        Ok(if self.invert {
            none(trace, &self.key, &mut self.matcher)
        } else {
            any(trace, &self.key, &mut self.matcher)
        })
    }
}

/// Regex results by attribute value, the least recently used forgotten past `capacity` (the
/// groupcache LRU otelcol uses). `order` maps each entry's last use to its key.
pub(super) struct Lru {
    capacity: usize,
    entries: HashMap<String, (bool, u64)>,
    order: BTreeMap<u64, String>,
    clock: u64,
}

impl Lru {
    pub(super) fn new(capacity: usize) -> Lru {
        Lru {
            capacity,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            clock: 0,
        }
    }

    pub(super) fn get(&mut self, key: &str) -> Option<bool> {
        let (hit, used) = self.entries.get_mut(key)?;
        self.clock += 1;
        if let Some(k) = self.order.remove(used) {
            self.order.insert(self.clock, k);
        }
        *used = self.clock;
        Some(*hit)
    }

    pub(super) fn put(&mut self, key: String, hit: bool) {
        self.clock += 1;
        if let Some((old_hit, used)) = self.entries.get_mut(&key) {
            *old_hit = hit;
            if let Some(k) = self.order.remove(used) {
                self.order.insert(self.clock, k);
            }
            *used = self.clock;
            return;
        }
        self.entries.insert(key.clone(), (hit, self.clock));
        self.order.insert(self.clock, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}
