//! The `operators` path: each record becomes a stanza entry (body, the file's attributes, the
//! configured attributes and resource, the read's origin tag), the pipeline runs, and what
//! leaves it is one OTLP request, with the tags of the reads its entries came from.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use weir_core::telemetry;
use weir_stanza::{Entry, Map, Origin, Pipeline, Value};
use weir_tailer::{Batch, Record};

use super::encode::FileAttributes;

/// A request made from what left the operators.
pub(crate) struct Made {
    pub bytes: Vec<u8>,
    pub items: usize,
    /// The origin of each entry in it.
    pub origins: Vec<(u64, u64)>,
}

pub(crate) struct Operators {
    pipeline: Pipeline,
    attributes: Map,
    resource: Map,
    files: FileAttributes,
    /// `weir_receiver_filelog_parse_errors_total{receiver, operator}` per operator, with the
    /// count already added.
    errors: Vec<(Arc<AtomicU64>, u64)>,
}

fn strings(map: &BTreeMap<String, String>) -> Map {
    map.iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

impl Operators {
    pub(crate) fn new(
        id: &str,
        pipeline: Pipeline,
        attributes: &BTreeMap<String, String>,
        resource: &BTreeMap<String, String>,
        files: FileAttributes,
    ) -> Operators {
        let errors = pipeline
            .parse_errors()
            .map(|(operator, _)| {
                let counter = telemetry::counter(
                    "weir_receiver_filelog_parse_errors_total",
                    "Records an operator failed on (handled by its on_error).",
                    &[("receiver", id), ("operator", operator)],
                );
                (counter, 0)
            })
            .collect();
        Operators {
            pipeline,
            attributes: strings(attributes),
            resource: strings(resource),
            files,
            errors,
        }
    }

    /// The records of `batch` as entries tagged `tag`, observed at `observed_ns`.
    pub(crate) fn entries(&self, batch: &Batch, tag: u64, observed_ns: i64) -> Vec<Entry> {
        let file = batch.file();
        let mut attributes = self.attributes.clone();
        let path = |p: &std::path::Path| Value::String(p.to_string_lossy().into_owned());
        if self.files.name {
            attributes.insert("log.file.name".into(), Value::String(file.name.clone()));
        }
        if self.files.path {
            attributes.insert("log.file.path".into(), path(&file.path));
        }
        if self.files.name_resolved {
            attributes.insert(
                "log.file.name_resolved".into(),
                Value::String(file.resolved_name.clone()),
            );
        }
        if self.files.path_resolved {
            attributes.insert("log.file.path_resolved".into(), path(&file.resolved_path));
        }
        batch
            .records()
            .map(|record| Entry {
                body: match record {
                    Record::Text(text) => Value::String(text.to_string()),
                    Record::Bytes(bytes) => Value::Bytes(bytes.to_vec()),
                },
                attributes: attributes.clone(),
                resource: self.resource.clone(),
                observed_timestamp: observed_ns,
                origin: Origin::of(tag),
                ..Entry::default()
            })
            .collect()
    }

    /// Runs `entries` through the operators.
    pub(crate) fn run(&mut self, entries: Vec<Entry>, now: Instant) -> Option<Made> {
        let out = self.pipeline.process_at(entries, now);
        self.count_errors();
        made(out)
    }

    /// What `recombine` has held past its flush period (or everything, at the end).
    pub(crate) fn flush(&mut self, now: Instant, all: bool) -> Option<Made> {
        let out = match all {
            true => self.pipeline.flush_all(),
            false => self.pipeline.flush(now),
        };
        self.count_errors();
        made(out)
    }

    /// When [`Operators::flush`] next has something to emit.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pipeline.next_deadline()
    }

    /// The lowest tag the operators still hold entries of.
    pub(crate) fn held_from(&self) -> Option<u64> {
        self.pipeline.held_from()
    }

    fn count_errors(&mut self) {
        for ((_, now), (counter, seen)) in self.pipeline.parse_errors().zip(&mut self.errors) {
            counter.fetch_add(now.saturating_sub(*seen), Ordering::Relaxed);
            *seen = now;
        }
    }
}

fn made(out: Vec<Entry>) -> Option<Made> {
    if out.is_empty() {
        return None;
    }
    let origins = out
        .iter()
        .map(|e| (e.origin.first, e.origin.last))
        .collect();
    let items = out.len();
    let request = ExportLogsServiceRequest {
        resource_logs: weir_stanza::otlp::to_resource_logs(out),
    };
    Some(Made {
        bytes: request.encode_to_vec(),
        items,
        origins,
    })
}
