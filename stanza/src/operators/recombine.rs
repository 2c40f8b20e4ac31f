//! `recombine`: joins consecutive entries of one source (a stack trace's lines) into one,
//! starting a new record at `is_first_entry` or ending one at `is_last_entry`. It holds
//! entries across calls; the caller drives `force_flush_period` through `Pipeline::flush`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::Fields;
use crate::entry::{Entry, Origin};
use crate::expr::Expr;
use crate::field::Field;
use crate::value::Value;

const DEFAULT_SOURCE: &str = "DefaultSourceIdentifier";

enum Boundary {
    First(Expr),
    Last(Expr),
}

struct Batch {
    /// The entry whose other fields the combined record keeps.
    base: Entry,
    combined: String,
    entries: usize,
    started: Instant,
    /// Whether an entry of the batch matched its boundary expression; until one does, the
    /// batch is bounded by `max_unmatched_batch_size`.
    matched: bool,
    /// Every part's origin.
    origin: Origin,
}

pub(crate) struct Recombine {
    combine_field: Field,
    boundary: Boundary,
    combine_with: String,
    max_batch_size: usize,
    max_unmatched_batch_size: usize,
    max_log_size: usize,
    max_sources: usize,
    source_identifier: Field,
    force_flush_period: Duration,
    keep_newest: bool,
    batches: HashMap<String, Batch>,
}

/// `1024`, `"256KiB"`, `"1MB"`: stanza's byte sizes.
fn byte_size(f: &mut Fields, name: &'static str) -> usize {
    let Some(raw) = f.raw(name) else { return 0 };
    let parsed = match raw {
        serde_json::Value::Number(n) => n.as_u64().map(|n| n as usize),
        serde_json::Value::String(s) => {
            let lower = s.trim().to_ascii_lowercase();
            let split = lower
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(lower.len());
            let (n, unit) = lower.split_at(split);
            let scale = match unit.trim() {
                "" | "b" => Some(1),
                "kb" => Some(1000),
                "kib" => Some(1024),
                "mb" => Some(1_000_000),
                "mib" => Some(1 << 20),
                "gb" => Some(1_000_000_000),
                "gib" => Some(1 << 30),
                _ => None,
            };
            n.parse::<usize>().ok().zip(scale).map(|(n, s)| n * s)
        }
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        f.error(name, format!("`{raw}` is not a byte size (like `256KiB`)"));
        0
    })
}

impl Recombine {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Recombine> {
        let combine_field = f.required_field("combine_field");
        let first = f
            .raw("is_first_entry")
            .is_some()
            .then(|| f.expr("is_first_entry"));
        let last = f
            .raw("is_last_entry")
            .is_some()
            .then(|| f.expr("is_last_entry"));
        let boundary = match (first, last) {
            (Some(_), Some(_)) => {
                f.error(
                    "is_last_entry",
                    "only one of `is_first_entry` and `is_last_entry` can be set",
                );
                None
            }
            (None, None) => {
                f.error(
                    "is_first_entry",
                    "one of `is_first_entry` and `is_last_entry` is required",
                );
                None
            }
            (Some(e), None) => e.map(Boundary::First),
            (None, Some(e)) => e.map(Boundary::Last),
        };
        let combine_with = f.string("combine_with").unwrap_or_else(|| "\n".into());
        let max_batch_size = f.u64("max_batch_size", 1000) as usize;
        let max_unmatched_batch_size = f.u64("max_unmatched_batch_size", 100) as usize;
        let max_log_size = byte_size(f, "max_log_size");
        let max_sources = f.u64("max_sources", 1000).max(1) as usize;
        let source_identifier = f.field_or("source_identifier", Field::attribute("log.file.path"));
        let force_flush_period = f.duration("force_flush_period", Duration::from_secs(5));
        let keep_newest = match f.string("overwrite_with").as_deref() {
            None | Some("newest") => true,
            Some("oldest") => false,
            Some(other) => {
                f.error(
                    "overwrite_with",
                    format!("`{other}` is not `oldest` or `newest`"),
                );
                true
            }
        };
        Some(Recombine {
            combine_field: combine_field?,
            boundary: boundary?,
            combine_with,
            max_batch_size,
            max_unmatched_batch_size,
            max_log_size,
            max_sources,
            source_identifier,
            force_flush_period,
            keep_newest,
            batches: HashMap::new(),
        })
    }

    /// Takes one entry; combined records that are complete go to `out`. An entry without a
    /// text `combine_field` comes back as an error.
    pub(crate) fn process(
        &mut self,
        entry: Entry,
        now: Instant,
        out: &mut Vec<Entry>,
    ) -> Result<(), Box<(Entry, String)>> {
        let Some(part) = self.combine_field.get(&entry).map(Value::to_text) else {
            let message = format!(
                "entry is missing the combine_field `{}`",
                self.combine_field
            );
            return Err(Box::new((entry, message)));
        };
        let source = match self.source_identifier.get(&entry).map(Value::to_text) {
            Some(s) if !s.is_empty() => s,
            _ => DEFAULT_SOURCE.to_string(),
        };
        let (matches, first) = match &self.boundary {
            Boundary::First(expr) => (expr.matches(&entry), true),
            Boundary::Last(expr) => (expr.matches(&entry), false),
        };
        if matches
            && first
            && let Some(batch) = self.batches.remove(&source)
        {
            out.push(self.combine(batch));
        }
        self.add(&source, entry, &part, now, matches, out);
        if matches
            && !first
            && let Some(batch) = self.batches.remove(&source)
        {
            out.push(self.combine(batch));
        }
        Ok(())
    }

    fn add(
        &mut self,
        source: &str,
        entry: Entry,
        part: &str,
        now: Instant,
        matches: bool,
        out: &mut Vec<Entry>,
    ) {
        if !self.batches.contains_key(source) && self.batches.len() >= self.max_sources {
            self.flush_all(out);
        }
        let origin = entry.origin;
        let batch = match self.batches.get_mut(source) {
            Some(batch) => {
                batch.entries += 1;
                batch.origin = batch.origin.span(origin);
                if self.keep_newest {
                    batch.base = entry;
                }
                batch
            }
            None => self.batches.entry(source.to_string()).or_insert(Batch {
                base: entry,
                combined: String::new(),
                entries: 1,
                started: now,
                matched: false,
                origin,
            }),
        };
        batch.matched |= matches;
        if !batch.combined.is_empty() {
            batch.combined.push_str(&self.combine_with);
        }
        batch.combined.push_str(part);
        // Zero means no limit for each bound, as in stanza's configs.
        let full = (self.max_log_size > 0 && batch.combined.len() > self.max_log_size)
            || (self.max_batch_size > 0 && batch.entries >= self.max_batch_size)
            || (!batch.matched
                && self.max_unmatched_batch_size > 0
                && batch.entries >= self.max_unmatched_batch_size);
        if full && let Some(batch) = self.batches.remove(source) {
            out.push(self.combine(batch));
        }
    }

    fn combine(&self, batch: Batch) -> Entry {
        let mut entry = batch.base;
        entry.origin = batch.origin;
        // The field was read from this entry, so it can be written back.
        let _ = self
            .combine_field
            .set(&mut entry, Value::String(batch.combined));
        entry
    }

    /// Emits every batch older than `force_flush_period`.
    pub(crate) fn flush_due(&mut self, now: Instant, out: &mut Vec<Entry>) {
        if self.force_flush_period.is_zero() {
            return;
        }
        let mut due: Vec<String> = self
            .batches
            .iter()
            .filter(|(_, b)| now.saturating_duration_since(b.started) >= self.force_flush_period)
            .map(|(k, _)| k.clone())
            .collect();
        due.sort_by_key(|k| self.batches[k].started);
        for key in due {
            if let Some(batch) = self.batches.remove(&key) {
                out.push(self.combine(batch));
            }
        }
    }

    /// Emits every batch (at shutdown).
    pub(crate) fn flush_all(&mut self, out: &mut Vec<Entry>) {
        let mut all: Vec<Batch> = self.batches.drain().map(|(_, b)| b).collect();
        all.sort_by_key(|b| b.started);
        for batch in all {
            out.push(self.combine(batch));
        }
    }

    /// The lowest origin tag of what is held, if anything is.
    pub(crate) fn held_from(&self) -> Option<u64> {
        self.batches.values().map(|b| b.origin.first).min()
    }

    /// When the oldest batch is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.force_flush_period.is_zero() {
            return None;
        }
        self.batches
            .values()
            .map(|b| b.started + self.force_flush_period)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::entry::Entry;
    use crate::operators::testkit::*;
    use serde_json::json;

    fn lines(p: &mut crate::Pipeline, lines: &[&str], now: Instant) -> Vec<String> {
        let entries = lines.iter().map(|l| Entry::new(*l, 0)).collect();
        p.process_at(entries, now)
            .into_iter()
            .map(|e| e.body.to_text())
            .collect()
    }

    #[test]
    fn a_combined_record_carries_the_origins_of_all_its_parts_and_the_pipeline_says_what_it_holds()
    {
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body matches \"^[^\\\\s]\""}]),
        );
        let now = Instant::now();
        let tagged = |text: &str, tag: u64| Entry {
            origin: crate::Origin::of(tag),
            ..Entry::new(text, 0)
        };
        let out = p.process_at(vec![tagged("Exception: x", 3), tagged("  at a", 4)], now);
        assert!(out.is_empty());
        assert_eq!(p.held_from(), Some(3));
        let out = p.process_at(vec![tagged("  at b", 5), tagged("Next", 6)], now);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].origin, crate::Origin { first: 3, last: 5 });
        assert_eq!(p.held_from(), Some(6), "`Next` starts the record now held");
        let rest = p.flush_all();
        assert_eq!(rest[0].origin, crate::Origin::of(6));
        assert_eq!(p.held_from(), None);
    }

    #[test]
    fn is_first_entry_starts_a_new_record() {
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body matches \"^[^\\\\s]\""}]),
        );
        let now = Instant::now();
        let out = lines(&mut p, &["Exception: x", "  at a", "  at b", "Next"], now);
        assert_eq!(out, ["Exception: x\n  at a\n  at b"]);
        let held: Vec<String> = p
            .flush_all()
            .into_iter()
            .map(|e| e.body.to_text())
            .collect();
        assert_eq!(held, ["Next"]);
    }

    #[test]
    fn is_last_entry_ends_a_record() {
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_last_entry": "body endsWith \";\"", "combine_with": ""}]),
        );
        let out = lines(&mut p, &["a", "b;", "c"], Instant::now());
        assert_eq!(out, ["ab;"]);
    }

    #[test]
    fn force_flush_period_emits_held_records_when_flush_is_called() {
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body startsWith \"S\"", "force_flush_period": "100ms"}]),
        );
        let start = Instant::now();
        assert!(lines(&mut p, &["S1", "x"], start).is_empty());
        assert_eq!(p.next_deadline(), Some(start + Duration::from_millis(100)));
        assert!(p.flush(start + Duration::from_millis(50)).is_empty());
        let out = p.flush(start + Duration::from_millis(100));
        assert_eq!(out[0].body.to_text(), "S1\nx");
        assert_eq!(p.next_deadline(), None);
    }

    #[test]
    fn sources_are_combined_separately() {
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_last_entry": "body == \"end\"", "source_identifier": "attributes.src"}]),
        );
        let mk = |body: &str, src: &str| {
            let mut e = Entry::new(body, 0);
            e.attributes.insert("src".into(), src.into());
            e
        };
        let out = p.process(vec![
            mk("a1", "a"),
            mk("b1", "b"),
            mk("end", "a"),
            mk("end", "b"),
        ]);
        let bodies: Vec<String> = out.iter().map(|e| e.body.to_text()).collect();
        assert_eq!(bodies, ["a1\nend", "b1\nend"]);
    }

    #[test]
    fn max_batch_size_and_max_log_size_bound_a_record() {
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body == \"S\"", "max_batch_size": 2}]),
        );
        let out = lines(&mut p, &["S", "a", "b"], Instant::now());
        assert_eq!(out, ["S\na"]);
        let mut p = pipeline(
            json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body == \"S\"", "max_log_size": 4}]),
        );
        // A record longer than max_log_size is flushed whole, not cut.
        let out = lines(&mut p, &["S", "abcdef", "g"], Instant::now());
        assert_eq!(out, ["S\nabcdef"]);
    }

    #[test]
    fn unmatched_entries_are_bounded_by_max_unmatched_batch_size() {
        let cfg = |n: u64| json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body == \"S\"", "max_unmatched_batch_size": n}]);
        let mut p = pipeline(cfg(2));
        assert_eq!(lines(&mut p, &["a", "b", "c"], Instant::now()), ["a\nb"]);
        let mut p = pipeline(cfg(0));
        assert!(lines(&mut p, &["a", "b", "c"], Instant::now()).is_empty());
        assert_eq!(p.flush_all()[0].body.to_text(), "a\nb\nc");
    }

    #[test]
    fn the_oldest_entry_keeps_its_other_fields_unless_overwrite_with_newest() {
        let mk = |body: &str, n: i64| {
            let mut e = Entry::new(body, 0);
            e.attributes.insert("n".into(), n.into());
            e
        };
        for (mode, kept) in [("oldest", 1), ("newest", 2)] {
            let mut p = pipeline(
                json!([{"type": "recombine", "combine_field": "body", "is_last_entry": "body == \"end\"", "overwrite_with": mode}]),
            );
            let out = p.process(vec![mk("a", 1), mk("end", 2)]);
            assert_eq!(out[0].attributes["n"], kept.into(), "{mode}");
        }
    }

    #[test]
    fn needs_exactly_one_boundary() {
        let errors = config_errors(json!([{"type": "recombine", "combine_field": "body"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].is_first_entry");
        let errors = config_errors(
            json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "true", "is_last_entry": "true"}]),
        );
        assert_eq!(errors[0].path.to_string(), "operators[0].is_last_entry");
    }
}
