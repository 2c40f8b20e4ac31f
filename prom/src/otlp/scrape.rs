//! One scrape's transaction: samples gathered by resource `(job, instance)`, scope and
//! family as they arrive, and turned into `ResourceMetrics` at the end.
//!
//! Lookups go through the last resource, scope, family and group first (a family's samples
//! are usually adjacent), then through hash indexes keyed by borrowed labels, so that a
//! sample allocates only when it starts a new data point (its attributes).

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::family::{FamilyBuild, Role, role};
use super::hash::{Index, str_hash};
use super::scope::ScopeLabels;
use super::{Converter, ExemplarRef, FamilyRef, exemplar, resource, string_kv};
use crate::model::MetricType;

/// One scrape of one target, from [`Converter::begin`] to [`Scrape::finish`].
#[derive(Debug)]
pub struct Scrape<'c> {
    converter: &'c mut Converter,
    scheme: String,
    resources: Vec<ResourceBuild>,
    index: Index,
    last: Option<usize>,
}

#[derive(Debug)]
struct ResourceBuild {
    job: String,
    instance: String,
    attributes: Vec<KeyValue>,
    scopes: Vec<ScopeBuild>,
    index: Index,
    last: Option<usize>,
    /// `otel_scope_info`'s attributes by scope (name, version, schema URL).
    scope_info: Vec<(String, String, String, Vec<KeyValue>)>,
}

#[derive(Debug)]
struct ScopeBuild {
    name: String,
    version: String,
    schema_url: String,
    /// `(key, value)` of the scope's `otel_scope_<key>` labels.
    attributes: Vec<(String, String)>,
    hash: u64,
    default: bool,
    families: Vec<FamilyBuild>,
    index: Index,
    last: Option<usize>,
}

impl ScopeBuild {
    fn is(&self, s: &ScopeLabels<'_>) -> bool {
        self.name == s.name
            && self.version == s.version
            && self.schema_url == s.schema_url
            && self.attributes.len() == s.attributes.len()
            && s.attributes
                .iter()
                .all(|(k, v)| self.attributes.iter().any(|(k2, v2)| k2 == k && v2 == v))
    }
}

fn resource_hash(job: &str, instance: &str) -> u64 {
    str_hash(str_hash(7, job), instance)
}

impl<'c> Scrape<'c> {
    pub(super) fn new(converter: &'c mut Converter, scheme: &str) -> Scrape<'c> {
        Scrape {
            converter,
            scheme: scheme.to_owned(),
            resources: Vec::new(),
            index: Index::default(),
            last: None,
        }
    }

    fn resource(&mut self, job: &str, instance: &str) -> usize {
        if let Some(at) = self.last
            && self.resources[at].job == job
            && self.resources[at].instance == instance
        {
            return at;
        }
        let h = resource_hash(job, instance);
        let resources = &self.resources;
        let at = match self.index.find(h, |i| {
            resources[i].job == job && resources[i].instance == instance
        }) {
            Some(at) => at,
            None => {
                let at = self.index.insert(h);
                self.resources.push(ResourceBuild {
                    job: job.to_owned(),
                    instance: instance.to_owned(),
                    attributes: {
                        let mut attrs = resource::attributes(job, instance, &self.scheme);
                        attrs.extend_from_slice(&self.converter.discovered);
                        attrs
                    },
                    scopes: Vec::new(),
                    index: Index::default(),
                    last: None,
                    scope_info: Vec::new(),
                });
                at
            }
        };
        self.last = Some(at);
        at
    }

    /// One sample as metric_relabel_configs left it. `name` is the sample's full name (with
    /// `_bucket`/`_sum`/`_count`/`_total`/`_created` suffix); `family` is the family it belongs
    /// to. `labels` exclude `__name__` and include `job` and `instance`. `timestamp_ms` is
    /// already resolved. `value` may be [`crate::stale_nan`].
    pub fn append(
        &mut self,
        family: &FamilyRef<'_>,
        name: &str,
        labels: &[(&str, &str)],
        value: f64,
        timestamp_ms: i64,
        exemplar: Option<&ExemplarRef<'_>>,
    ) {
        if family.kind == MetricType::GaugeHistogram {
            return;
        }
        let (mut job, mut instance) = ("", "");
        for &(n, v) in labels {
            match n {
                "job" => job = v,
                "instance" => instance = v,
                _ => {}
            }
        }
        let r = self.resource(job, instance);
        let res = &mut self.resources[r];
        if name == "target_info" {
            for &(n, v) in labels {
                if !matches!(n, "job" | "instance" | "__name__") && !v.is_empty() {
                    resource::put(&mut res.attributes, n, v);
                }
            }
            return;
        }
        if name == "otel_scope_info" && !self.converter.options.ignore_scope_info {
            let s = ScopeLabels::of_scope_info(labels);
            let attrs: Vec<KeyValue> = labels
                .iter()
                .filter(|(n, v)| {
                    !v.is_empty()
                        && !matches!(
                            *n,
                            "job"
                                | "instance"
                                | "__name__"
                                | "otel_scope_name"
                                | "otel_scope_version"
                                | "otel_scope_schema_url"
                        )
                })
                .map(|&(n, v)| string_kv(n, v))
                .collect();
            match res
                .scope_info
                .iter_mut()
                .find(|(n, v, u, _)| n == s.name && v == s.version && u == s.schema_url)
            {
                Some(entry) => entry.3 = attrs,
                None => res.scope_info.push((
                    s.name.to_owned(),
                    s.version.to_owned(),
                    s.schema_url.to_owned(),
                    attrs,
                )),
            }
            return;
        }
        let scope = ScopeLabels::from_labels(labels);
        let default = scope.is_default();
        let s = match res.last {
            Some(at) if default && res.scopes[at].default => at,
            Some(at) if !default && res.scopes[at].is(&scope) => at,
            _ => {
                let h = scope.hash();
                let scopes = &res.scopes;
                let at = match res.index.find(h, |i| scopes[i].is(&scope)) {
                    Some(at) => at,
                    None => {
                        let at = res.index.insert(h);
                        res.scopes.push(ScopeBuild {
                            name: scope.name.to_owned(),
                            version: scope.version.to_owned(),
                            schema_url: scope.schema_url.to_owned(),
                            attributes: scope
                                .attributes
                                .iter()
                                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                                .collect(),
                            hash: h,
                            default,
                            families: Vec::new(),
                            index: Index::default(),
                            last: None,
                        });
                        at
                    }
                };
                res.last = Some(at);
                at
            }
        };
        let sc = &mut res.scopes[s];
        let f = match sc.last {
            Some(at) if sc.families[at].name == family.name => at,
            _ => {
                let h = str_hash(3, family.name);
                let families = &sc.families;
                let at = match sc.index.find(h, |i| families[i].name == family.name) {
                    Some(at) => at,
                    None => {
                        let at = sc.index.insert(h);
                        sc.families.push(FamilyBuild::new(
                            family.name,
                            family.kind,
                            family.help,
                            family.unit,
                        ));
                        at
                    }
                };
                sc.last = Some(at);
                at
            }
        };
        let fam = &mut sc.families[f];
        // The family's first kind decides, should a later sample name it with another.
        let kind = fam.kind;
        let Some(role) = role(kind, &fam.name, name, labels) else {
            return;
        };
        let group = fam.group(labels, timestamp_ms);
        if group.timestamp_ms != timestamp_ms {
            return;
        }
        match role {
            Role::Value => group.value = Some(value),
            Role::Created => group.created = Some(value),
            Role::Sum => group.sum = Some(value),
            Role::Count => group.count = Some(value),
            Role::Bound(b) => group.bounds.push((b, value)),
        }
        if let Some(e) = exemplar
            && kind != MetricType::Summary
        {
            group.exemplars.push(exemplar::convert(e, timestamp_ms));
        }
    }

    /// The scrape's metrics, one ResourceMetrics per distinct (job, instance) that has any.
    pub fn finish(self) -> Vec<ResourceMetrics> {
        let converter = self.converter;
        let options = &converter.options;
        let mut out = Vec::with_capacity(self.resources.len());
        for r in self.resources {
            let rseed = resource_hash(&r.job, &r.instance);
            let mut scope_metrics = Vec::with_capacity(r.scopes.len());
            for s in r.scopes {
                let sseed = str_hash(rseed, "") ^ s.hash;
                let metrics: Vec<_> = s
                    .families
                    .into_iter()
                    .filter_map(|f| {
                        let seed = str_hash(sseed, &f.name);
                        f.into_metric(&mut converter.start_times, options.start_time, seed)
                    })
                    .collect();
                if metrics.is_empty() {
                    continue;
                }
                let scope = if s.default {
                    InstrumentationScope {
                        name: options.scope_name.clone(),
                        version: options.scope_version.clone(),
                        ..InstrumentationScope::default()
                    }
                } else {
                    let attributes = if s.attributes.is_empty() {
                        r.scope_info
                            .iter()
                            .find(|(n, v, u, _)| {
                                *n == s.name && *v == s.version && *u == s.schema_url
                            })
                            .map(|e| e.3.clone())
                            .unwrap_or_default()
                    } else {
                        s.attributes.iter().map(|(k, v)| string_kv(k, v)).collect()
                    };
                    InstrumentationScope {
                        name: s.name,
                        version: s.version,
                        attributes,
                        ..InstrumentationScope::default()
                    }
                };
                scope_metrics.push(ScopeMetrics {
                    scope: Some(scope),
                    metrics,
                    schema_url: s.schema_url,
                });
            }
            if scope_metrics.is_empty() {
                continue;
            }
            out.push(ResourceMetrics {
                resource: Some(Resource {
                    attributes: r.attributes,
                    ..Resource::default()
                }),
                scope_metrics,
                schema_url: String::new(),
            });
        }
        out
    }
}
