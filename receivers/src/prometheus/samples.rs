//! One scrape's samples made ready for the converter, as Prometheus's scrape loop prepares
//! them: target labels merged in (`honor_labels`, or clashing scraped labels renamed
//! `exported_<name>`), empty labels dropped, `metric_relabel_configs` applied, the limits
//! checked (all or nothing: a scrape over a limit gives no sample), and the series of each
//! scrape remembered so that one that disappears gets a staleness marker.
//!
//! What is remembered of a scrape is the hash of each series and the body itself: a series'
//! labels are needed again only when it disappears, and then the last body is parsed and
//! prepared once more to find them. A body is a fraction of the size of its label sets as
//! strings, and in the steady state (the same series every scrape) nothing is parsed twice.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use bytes::Bytes;
use weir_prom::otlp::{ExemplarRef, FamilyRef, Scrape};
use weir_prom::relabel::{self, Labels};
use weir_prom::{Exposition, MetricType};

use super::config::{Job, Limits};

type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// A sample ready to append: final name and labels (sorted, without `__name__`).
struct Ready<'a> {
    family: usize,
    /// Set when relabelling renamed the metric: it then has no family metadata.
    renamed: bool,
    name: Cow<'a, str>,
    /// Its labels in [`Prepared::labels`].
    labels: Range<usize>,
    /// Index in `Exposition::all_samples`.
    sample: usize,
    hash: u64,
}

/// A body's samples after label merging and relabelling.
pub(crate) struct Prepared<'a> {
    samples: Vec<Ready<'a>>,
    labels: Vec<Pair<'a>>,
}

/// Why a scrape's samples were all refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum LimitError {
    #[error("sample limit exceeded: {0} samples after relabelling, limit {1}")]
    Samples(usize, u64),
    #[error("label limit exceeded: {0} labels on {1}, limit {2}")]
    Labels(usize, String, u64),
    #[error("label name length limit exceeded on {0} ({1} bytes, limit {2})")]
    NameLength(String, usize, u64),
    #[error("label value length limit exceeded on {0} ({1} bytes, limit {2})")]
    ValueLength(String, usize, u64),
}

impl LimitError {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            LimitError::Samples(..) => "sample_limit",
            LimitError::Labels(..) => "label_limit",
            LimitError::NameLength(..) => "label_name_length_limit",
            LimitError::ValueLength(..) => "label_value_length_limit",
        }
    }
}

fn series_hash(name: &str, labels: &[Pair<'_>]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    for (n, v) in labels {
        n.as_ref().hash(&mut h);
        v.as_ref().hash(&mut h);
    }
    h.finish()
}

/// The merged, relabelled samples of a body, or the limit that refused them.
pub(crate) fn prepare<'a>(
    exposition: &'a Exposition<'a>,
    job: &'a Job,
    target: &'a Labels,
) -> Result<Prepared<'a>, LimitError> {
    let mut samples = Vec::with_capacity(exposition.sample_count());
    let mut arena: Vec<Pair<'a>> = Vec::with_capacity(exposition.sample_count() * 4);
    let mut labels: Vec<Pair<'a>> = Vec::new();
    let mut conflicts: Vec<(&str, Cow<'a, str>)> = Vec::new();
    for (f, family) in exposition.families().iter().enumerate() {
        let first = exposition.sample_range(family).start;
        for (i, sample) in exposition.samples(family).iter().enumerate() {
            labels.clear();
            labels.extend(
                exposition
                    .labels(sample)
                    .iter()
                    .filter(|l| !l.value.is_empty())
                    .map(|l| (Cow::Borrowed(l.name), Cow::Borrowed(l.value.as_ref()))),
            );
            conflicts.clear();
            for (name, value) in target {
                match labels.iter().position(|(n, _)| n == name) {
                    Some(_) if job.honor_labels => {}
                    Some(at) => {
                        let (_, scraped) = labels.swap_remove(at);
                        conflicts.push((name.as_str(), scraped));
                        labels.push((Cow::Borrowed(name), Cow::Borrowed(value)));
                    }
                    None if value.is_empty() => {}
                    None => labels.push((Cow::Borrowed(name), Cow::Borrowed(value))),
                }
            }
            for (name, value) in conflicts.drain(..) {
                let mut renamed = format!("exported_{name}");
                while labels.iter().any(|(n, _)| *n == renamed) {
                    renamed.insert_str(0, "exported_");
                }
                labels.push((Cow::Owned(renamed), value));
            }
            let mut name: Cow<'a, str> = Cow::Borrowed(sample.name);
            if !job.metric_relabel.is_empty() {
                let mut owned: Labels = Vec::with_capacity(labels.len() + 1);
                owned.push(("__name__".to_string(), sample.name.to_string()));
                owned.extend(labels.iter().map(|(n, v)| (n.to_string(), v.to_string())));
                let Some(kept) = relabel::apply(&job.metric_relabel, owned) else {
                    continue;
                };
                labels.clear();
                for (n, v) in kept {
                    if n == "__name__" {
                        name = Cow::Owned(v);
                    } else if !v.is_empty() {
                        labels.push((Cow::Owned(n), Cow::Owned(v)));
                    }
                }
                if name.is_empty() {
                    continue;
                }
            }
            for (n, v) in &job.external_labels {
                if !labels.iter().any(|(have, _)| have == n) {
                    labels.push((Cow::Borrowed(n), Cow::Borrowed(v)));
                }
            }
            labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            check_labels(&job.limits, &name, &labels)?;
            let start = arena.len();
            arena.append(&mut labels);
            let hash = series_hash(&name, &arena[start..]);
            samples.push(Ready {
                family: f,
                renamed: name != sample.name,
                name,
                labels: start..arena.len(),
                sample: first + i,
                hash,
            });
        }
    }
    if job.limits.samples > 0 && samples.len() as u64 > job.limits.samples {
        return Err(LimitError::Samples(samples.len(), job.limits.samples));
    }
    Ok(Prepared {
        samples,
        labels: arena,
    })
}

fn check_labels(limits: &Limits, name: &str, labels: &[Pair<'_>]) -> Result<(), LimitError> {
    // Prometheus counts `__name__` among the labels.
    let count = labels.len() + 1;
    if limits.labels > 0 && count as u64 > limits.labels {
        return Err(LimitError::Labels(count, name.to_string(), limits.labels));
    }
    let all = std::iter::once(("__name__", name))
        .chain(labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
    for (n, v) in all {
        if limits.label_name_length > 0 && n.len() as u64 > limits.label_name_length {
            return Err(LimitError::NameLength(
                name.to_string(),
                n.len(),
                limits.label_name_length,
            ));
        }
        if limits.label_value_length > 0 && v.len() as u64 > limits.label_value_length {
            return Err(LimitError::ValueLength(
                name.to_string(),
                v.len(),
                limits.label_value_length,
            ));
        }
    }
    Ok(())
}

/// Whether a sample's series is marked stale when it disappears: one with its own timestamp
/// is not, unless `track_timestamps_staleness`, as in Prometheus.
fn tracked(exposition: &Exposition<'_>, ready: &Ready<'_>, job: &Job) -> bool {
    let explicit = job.honor_timestamps
        && exposition.all_samples()[ready.sample]
            .timestamp_ms
            .is_some();
    !explicit || job.track_timestamps_staleness
}

/// Appends `ready` to `scrape`: its own value, timestamp and exemplar, or (`stale_at`) a
/// staleness marker at that time.
#[allow(clippy::too_many_arguments)]
fn append_one<'p>(
    scrape: &mut Scrape<'_>,
    exposition: &'p Exposition<'p>,
    prepared: &'p Prepared<'p>,
    ready: &'p Ready<'p>,
    job: &Job,
    scrape_ms: i64,
    stale_at: Option<i64>,
    buffers: &mut Buffers<'p>,
) {
    let family = &exposition.families()[ready.family];
    let family_ref = if ready.renamed {
        FamilyRef {
            name: &ready.name,
            kind: MetricType::Unknown,
            help: None,
            unit: None,
        }
    } else {
        FamilyRef {
            name: family.name,
            kind: family.kind,
            help: family.help.as_deref(),
            unit: family.unit,
        }
    };
    let labels = &mut buffers.labels;
    labels.clear();
    labels.extend(
        prepared.labels[ready.labels.clone()]
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref())),
    );
    let sample = &exposition.all_samples()[ready.sample];
    if let Some(at) = stale_at {
        scrape.append(
            &family_ref,
            &ready.name,
            labels,
            weir_prom::stale_nan(),
            at,
            None,
        );
        return;
    }
    let timestamp_ms = match sample.timestamp_ms {
        Some(own) if job.honor_timestamps => own,
        _ => scrape_ms,
    };
    let exemplar = match &sample.exemplar {
        Some(e) => {
            let exemplar_labels = &mut buffers.exemplar;
            exemplar_labels.clear();
            exemplar_labels.extend(
                exposition
                    .exemplar_labels(e)
                    .iter()
                    .map(|l| (l.name, l.value.as_ref())),
            );
            Some(ExemplarRef {
                labels: exemplar_labels,
                value: e.value,
                timestamp_ms: e.timestamp_ms,
            })
        }
        None => None,
    };
    scrape.append(
        &family_ref,
        &ready.name,
        &buffers.labels,
        sample.value,
        timestamp_ms,
        exemplar.as_ref(),
    );
}

/// Label buffers reused from one sample to the next.
#[derive(Default)]
struct Buffers<'p> {
    labels: Vec<(&'p str, &'p str)>,
    exemplar: Vec<(&'p str, &'p str)>,
}

/// The series a target gave in its last successful scrape.
#[derive(Default)]
pub(crate) struct SeriesCache {
    /// Hashes of the tracked series.
    seen: HashSet<u64>,
    /// That scrape's body and content type, parsed again to mark what disappears stale.
    last: Option<(Bytes, Option<String>)>,
}

/// What a scrape gave, for the synthetic series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub post_relabel: usize,
    pub added: usize,
}

impl SeriesCache {
    /// Appends the prepared samples of a successful scrape, then staleness markers for the
    /// tracked series of the last one that this one does not have; remembers this one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn append(
        &mut self,
        scrape: &mut Scrape<'_>,
        exposition: &Exposition<'_>,
        prepared: &Prepared<'_>,
        body: (Bytes, Option<String>),
        job: &Job,
        target: &Labels,
        scrape_ms: i64,
    ) -> Counts {
        let mut buffers = Buffers::default();
        let mut now = HashSet::with_capacity(prepared.samples.len());
        let mut added = 0;
        for ready in &prepared.samples {
            append_one(
                scrape,
                exposition,
                prepared,
                ready,
                job,
                scrape_ms,
                None,
                &mut buffers,
            );
            if tracked(exposition, ready, job)
                && now.insert(ready.hash)
                && !self.seen.contains(&ready.hash)
            {
                added += 1;
            }
        }
        let gone = self.seen.iter().any(|h| !now.contains(h));
        if gone {
            self.mark_stale(scrape, job, target, scrape_ms, |h| !now.contains(&h));
        }
        self.seen = now;
        self.last = Some(body);
        Counts {
            post_relabel: prepared.samples.len(),
            added,
        }
    }

    /// Staleness markers for every tracked series of the last body that `gone` picks.
    fn mark_stale(
        &self,
        scrape: &mut Scrape<'_>,
        job: &Job,
        target: &Labels,
        scrape_ms: i64,
        gone: impl Fn(u64) -> bool,
    ) {
        let Some((body, content_type)) = &self.last else {
            return;
        };
        // The last body parsed and prepared before, with the same job and target.
        let Ok(exposition) = weir_prom::parse(body, content_type.as_deref()) else {
            return;
        };
        let Ok(prepared) = prepare(&exposition, job, target) else {
            return;
        };
        let mut buffers = Buffers::default();
        let mut done = HashSet::new();
        for ready in &prepared.samples {
            if gone(ready.hash) && self.seen.contains(&ready.hash) && done.insert(ready.hash) {
                append_one(
                    scrape,
                    &exposition,
                    &prepared,
                    ready,
                    job,
                    scrape_ms,
                    Some(scrape_ms),
                    &mut buffers,
                );
            }
        }
    }

    /// Marks every series of the last successful scrape stale (a failed scrape, or a target
    /// that went away) and forgets them.
    pub(crate) fn all_stale(
        &mut self,
        scrape: &mut Scrape<'_>,
        job: &Job,
        target: &Labels,
        scrape_ms: i64,
    ) {
        self.mark_stale(scrape, job, target, scrape_ms, |_| true);
        self.seen.clear();
        self.last = None;
    }
}
