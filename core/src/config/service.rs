//! `service:` as written: pipeline ids and their component lists, extensions, telemetry. Each
//! reference keeps its position for [`super::validate`], which checks them against the sections.

use std::collections::BTreeMap;

use super::error::{ConfigError, Location, Problem};
use super::model::{Pipeline, PipelineId, Service};
use super::suggest;
use super::telemetry;
use super::tree::{Entry, Node, Tree};
use crate::batch::Signal;
use crate::component::{ComponentId, Kind};

/// A component id written in `service:`, and where.
#[derive(Clone, Debug)]
pub(crate) struct Reference {
    pub id: ComponentId,
    pub loc: Location,
}

/// One pipeline's references, by list.
#[derive(Debug)]
pub(crate) struct PipelineRefs {
    pub id: PipelineId,
    pub key_loc: Location,
    pub lists: Vec<(Kind, Vec<Reference>)>,
}

/// Everything in `service:` that points at a component section.
#[derive(Debug, Default)]
pub(crate) struct ServiceRefs {
    /// Where `service:` (or failing that, the document) starts, for "no pipelines".
    pub loc: Option<Location>,
    pub pipelines: Vec<PipelineRefs>,
    pub extensions: Vec<Reference>,
}

const SERVICE_KEYS: [&str; 4] = ["extensions", "pipelines", "shutdown_timeout", "telemetry"];
const PIPELINE_KEYS: [(&str, Kind); 3] = [
    ("receivers", Kind::Receiver),
    ("processors", Kind::Processor),
    ("exporters", Kind::Exporter),
];

/// Reads `service:`; problems go to `errors`, and what could be read is returned.
pub(crate) fn load(
    section: Option<&Entry>,
    errors: &mut Vec<ConfigError>,
) -> (Service, ServiceRefs) {
    let mut service = Service::default();
    let mut refs = ServiceRefs {
        loc: section.map(|s| s.key_loc.clone()),
        ..Default::default()
    };
    let Some(section) = section.filter(|s| !s.node.is_null()) else {
        return (service, refs);
    };
    let Some(entries) = section.node.entries() else {
        let found = section.node.describe();
        errors.push(ConfigError::invalid(
            &section.node.loc,
            "service",
            format!("expected a mapping, found {found}"),
        ));
        return (service, refs);
    };
    for entry in entries {
        match entry.key.as_str() {
            "extensions" => {
                refs.extensions = id_list(&entry.node, "service.extensions", errors);
                service.extensions = refs.extensions.iter().map(|r| r.id.clone()).collect();
            }
            "pipelines" => {
                let (pipelines, pipeline_refs) = pipelines(&entry.node, errors);
                service.pipelines = pipelines;
                refs.pipelines = pipeline_refs;
            }
            "shutdown_timeout" => match entry.node.as_text().map(crate::exporter::parse_duration) {
                Some(Ok(timeout)) => service.shutdown_timeout = timeout,
                Some(Err(message)) => errors.push(ConfigError::invalid(
                    &entry.node.loc,
                    "service.shutdown_timeout",
                    message,
                )),
                None => errors.push(ConfigError::invalid(
                    &entry.node.loc,
                    "service.shutdown_timeout",
                    format!(
                        "expected a duration such as `30s`, found {}",
                        entry.node.describe()
                    ),
                )),
            },
            "telemetry" => match telemetry::load(Some(&entry.node)) {
                Ok(t) => service.telemetry = t,
                Err(e) => errors.push(*e),
            },
            other => errors.push(unknown_key(entry, "service", other, &SERVICE_KEYS)),
        }
    }
    (service, refs)
}

fn unknown_key(entry: &Entry, path: &str, name: &str, valid: &[&str]) -> ConfigError {
    let valid: Vec<String> = valid.iter().map(|s| s.to_string()).collect();
    let problem = Problem::Unknown {
        what: "field".into(),
        name: name.into(),
        hint: suggest::hint(name, &valid),
    };
    ConfigError::new(&entry.key_loc, path, problem)
}

fn pipelines(
    node: &Node,
    errors: &mut Vec<ConfigError>,
) -> (BTreeMap<PipelineId, Pipeline>, Vec<PipelineRefs>) {
    let mut out = BTreeMap::new();
    let mut refs = Vec::new();
    if node.is_null() {
        return (out, refs);
    }
    let Some(entries) = node.entries() else {
        let found = node.describe();
        errors.push(ConfigError::invalid(
            &node.loc,
            "service.pipelines",
            format!("expected a mapping, found {found}"),
        ));
        return (out, refs);
    };
    for entry in entries {
        let Some(id) = pipeline_id(entry, errors) else {
            continue;
        };
        let path = format!("service.pipelines.{id}");
        let mut pipeline = Pipeline::default();
        let mut lists = Vec::new();
        match &entry.node.tree {
            Tree::Map(fields) => {
                for field in fields {
                    let Some((_, kind)) = PIPELINE_KEYS.iter().find(|(k, _)| *k == field.key)
                    else {
                        let valid = PIPELINE_KEYS.map(|(k, _)| k);
                        errors.push(unknown_key(field, &path, &field.key, &valid));
                        continue;
                    };
                    let list = id_list(&field.node, &format!("{path}.{}", field.key), errors);
                    let ids = list.iter().map(|r| r.id.clone()).collect();
                    match kind {
                        Kind::Receiver => pipeline.receivers = ids,
                        Kind::Processor => pipeline.processors = ids,
                        _ => pipeline.exporters = ids,
                    }
                    lists.push((*kind, list));
                }
            }
            _ if entry.node.is_null() => {}
            _ => {
                let found = entry.node.describe();
                errors.push(ConfigError::invalid(
                    &entry.node.loc,
                    path,
                    format!("expected a mapping, found {found}"),
                ));
                continue;
            }
        }
        out.insert(id.clone(), pipeline);
        refs.push(PipelineRefs {
            id,
            key_loc: entry.key_loc.clone(),
            lists,
        });
    }
    (out, refs)
}

/// `traces`, `traces/name`.
fn pipeline_id(entry: &Entry, errors: &mut Vec<ConfigError>) -> Option<PipelineId> {
    let (ty, name) = match entry.key.split_once('/') {
        Some((ty, name)) => (ty, Some(name)),
        None => (entry.key.as_str(), None),
    };
    let Some(signal) = Signal::parse(ty) else {
        let signals: Vec<String> = Signal::ALL.iter().map(|s| s.to_string()).collect();
        let problem = Problem::Unknown {
            what: "pipeline type".into(),
            name: ty.into(),
            hint: suggest::hint(ty, &signals),
        };
        errors.push(ConfigError::new(
            &entry.key_loc,
            "service.pipelines",
            problem,
        ));
        return None;
    };
    if name.is_some_and(str::is_empty) {
        let message = format!("pipeline id `{}` has an empty name after `/`", entry.key);
        errors.push(ConfigError::invalid(
            &entry.key_loc,
            "service.pipelines",
            message,
        ));
        return None;
    }
    Some(PipelineId {
        signal,
        name: name.map(str::to_string),
    })
}

/// A list of component ids; an empty value is an empty list.
fn id_list(node: &Node, path: &str, errors: &mut Vec<ConfigError>) -> Vec<Reference> {
    let items = match &node.tree {
        Tree::Seq(items) => items,
        _ if node.is_null() => return Vec::new(),
        _ => {
            let found = node.describe();
            errors.push(ConfigError::invalid(
                &node.loc,
                path,
                format!("expected a list of component ids, found {found}"),
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Some(text) = item.as_text() else {
            let found = item.describe();
            errors.push(ConfigError::invalid(
                &item.loc,
                path,
                format!("expected a component id, found {found}"),
            ));
            continue;
        };
        match text.parse::<ComponentId>() {
            Ok(id) => out.push(Reference {
                id,
                loc: item.loc.clone(),
            }),
            Err(e) => errors.push(ConfigError::invalid(&item.loc, path, e.to_string())),
        }
    }
    out
}
