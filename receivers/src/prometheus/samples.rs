//! One scrape's samples made ready for the converter, as Prometheus's scrape loop prepares
//! them: target labels merged in (`honor_labels`, or clashing scraped labels renamed
//! `exported_<name>`), empty labels dropped, `metric_relabel_configs` applied, the limits
//! checked (all or nothing: a scrape over a limit gives no sample), and each series
//! remembered so that one that disappears gets a staleness marker.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use weir_prom::otlp::{ExemplarRef, FamilyRef, Scrape};
use weir_prom::relabel::{self, Labels};
use weir_prom::{Exposition, MetricType};

use super::config::{Job, Limits};

type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// A sample ready to append: final name and labels (sorted, without `__name__`).
pub(crate) struct Prepared<'a> {
    family: usize,
    /// Set when relabelling renamed the metric: it then has no family metadata.
    renamed: bool,
    name: Cow<'a, str>,
    labels: Vec<Pair<'a>>,
    value: f64,
    timestamp_ms: Option<i64>,
    sample: usize,
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

/// The merged, relabelled samples of a body, or the limit that refused them.
pub(crate) fn prepare<'a>(
    exposition: &'a Exposition<'a>,
    job: &'a Job,
    target: &'a Labels,
) -> Result<Vec<Prepared<'a>>, LimitError> {
    let mut out = Vec::with_capacity(exposition.sample_count());
    let mut conflicts: Vec<(&str, Cow<'a, str>)> = Vec::new();
    for (f, family) in exposition.families().iter().enumerate() {
        let first = exposition.sample_range(family).start;
        for (i, sample) in exposition.samples(family).iter().enumerate() {
            let mut labels: Vec<Pair<'a>> = exposition
                .labels(sample)
                .iter()
                .filter(|l| !l.value.is_empty())
                .map(|l| (Cow::Borrowed(l.name), Cow::Borrowed(l.value.as_ref())))
                .collect();
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
            let renamed = name != sample.name;
            out.push(Prepared {
                family: f,
                renamed,
                name,
                labels,
                value: sample.value,
                timestamp_ms: sample.timestamp_ms,
                sample: first + i,
            });
        }
    }
    if job.limits.samples > 0 && out.len() as u64 > job.limits.samples {
        return Err(LimitError::Samples(out.len(), job.limits.samples));
    }
    Ok(out)
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

/// A family's metadata, kept for the staleness markers of series that outlive a body.
#[derive(Debug, PartialEq)]
struct FamilyMeta {
    name: String,
    kind: MetricType,
    help: Option<String>,
    unit: Option<String>,
}

impl FamilyMeta {
    fn family_ref(&self) -> FamilyRef<'_> {
        FamilyRef {
            name: &self.name,
            kind: self.kind,
            help: self.help.as_deref(),
            unit: self.unit.as_deref(),
        }
    }
}

struct Seen {
    generation: u64,
    family: Arc<FamilyMeta>,
    name: String,
    labels: Labels,
    /// A series with its own timestamps is not marked stale unless
    /// `track_timestamps_staleness`, as Prometheus.
    tracked: bool,
}

/// The series a target gave, across scrapes.
#[derive(Default)]
pub(crate) struct SeriesCache {
    seen: HashMap<u64, Seen>,
    generation: u64,
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

/// What a scrape gave, for the synthetic series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub post_relabel: usize,
    pub added: usize,
}

impl SeriesCache {
    /// Appends the prepared samples to `scrape` (timestamps per `honor_timestamps`), then
    /// staleness markers for the tracked series this scrape did not have.
    pub(crate) fn append(
        &mut self,
        scrape: &mut Scrape<'_>,
        exposition: &Exposition<'_>,
        prepared: &[Prepared<'_>],
        job: &Job,
        scrape_ms: i64,
    ) -> Counts {
        self.generation += 1;
        let generation = self.generation;
        let mut added = 0;
        let mut metas: HashMap<usize, Arc<FamilyMeta>> = HashMap::new();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut exemplar_pairs: Vec<(&str, &str)> = Vec::new();
        for p in prepared {
            let family = &exposition.families()[p.family];
            let family_ref = if p.renamed {
                FamilyRef {
                    name: &p.name,
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
            let explicit = p.timestamp_ms.is_some() && job.honor_timestamps;
            let timestamp_ms = if explicit {
                p.timestamp_ms.unwrap_or(scrape_ms)
            } else {
                scrape_ms
            };
            pairs.clear();
            pairs.extend(p.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
            let sample = &exposition.all_samples()[p.sample];
            let exemplar = sample.exemplar.as_ref().map(|e| {
                exemplar_pairs.clear();
                exemplar_pairs.extend(
                    exposition
                        .exemplar_labels(e)
                        .iter()
                        .map(|l| (l.name, l.value.as_ref())),
                );
                (e.value, e.timestamp_ms)
            });
            let exemplar_ref = exemplar.map(|(value, timestamp_ms)| ExemplarRef {
                labels: &exemplar_pairs,
                value,
                timestamp_ms,
            });
            scrape.append(
                &family_ref,
                &p.name,
                &pairs,
                p.value,
                timestamp_ms,
                exemplar_ref.as_ref(),
            );
            let hash = series_hash(&p.name, &p.labels);
            match self.seen.get_mut(&hash) {
                Some(seen) => seen.generation = generation,
                None => {
                    added += 1;
                    let meta = metas
                        .entry(p.family + if p.renamed { usize::MAX / 2 } else { 0 })
                        .or_insert_with(|| {
                            Arc::new(FamilyMeta {
                                name: family_ref.name.to_string(),
                                kind: family_ref.kind,
                                help: family_ref.help.map(str::to_string),
                                unit: family_ref.unit.map(str::to_string),
                            })
                        })
                        .clone();
                    self.seen.insert(
                        hash,
                        Seen {
                            generation,
                            family: meta,
                            name: p.name.to_string(),
                            labels: p
                                .labels
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.to_string()))
                                .collect(),
                            tracked: !explicit || job.track_timestamps_staleness,
                        },
                    );
                }
            }
        }
        self.mark_stale(scrape, generation, scrape_ms);
        Counts {
            post_relabel: prepared.len(),
            added,
        }
    }

    /// Staleness markers for every series not seen in `generation` (all of them for a failed
    /// scrape or a stopped target), which are then forgotten.
    pub(crate) fn mark_stale(&mut self, scrape: &mut Scrape<'_>, generation: u64, scrape_ms: i64) {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for seen in self.seen.values() {
            if seen.generation == generation || !seen.tracked {
                continue;
            }
            pairs.clear();
            pairs.extend(seen.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            scrape.append(
                &seen.family.family_ref(),
                &seen.name,
                &pairs,
                weir_prom::stale_nan(),
                scrape_ms,
                None,
            );
        }
        self.seen.retain(|_, s| s.generation == generation);
    }

    /// Marks everything stale (a failed scrape or a stopped target).
    pub(crate) fn all_stale(&mut self, scrape: &mut Scrape<'_>, scrape_ms: i64) {
        self.generation += 1;
        self.mark_stale(scrape, self.generation, scrape_ms);
    }
}
