//! Checks of how pipelines use connectors: each connector is listed as an exporter of some
//! pipelines and a receiver of others; each side has a pipeline on the other side whose signal
//! the connector joins it to; and the pipelines joined through connectors form no cycle.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{ConfigError, Location};
use super::model::{Config, PipelineId};
use super::service::ServiceRefs;
use super::tree::Node;
use crate::batch::Signal;
use crate::component::{ComponentId, Kind};

/// Where one pipeline names a connector.
struct Use<'a> {
    pipeline: &'a PipelineId,
    loc: &'a Location,
}

/// Adds the connector problems of the pipelines in `refs` to `errors`.
pub(crate) fn check(config: &Config, refs: &ServiceRefs, errors: &mut Vec<ConfigError>) {
    // Per connector: the pipelines exporting into it, and those it feeds.
    let mut uses: BTreeMap<&ComponentId, (Vec<Use<'_>>, Vec<Use<'_>>)> = BTreeMap::new();
    for pipeline in &refs.pipelines {
        for (kind, list) in &pipeline.lists {
            for reference in list {
                if !config.connectors.contains_key(&reference.id) {
                    continue;
                }
                let sides = uses.entry(&reference.id).or_default();
                let side = match kind {
                    Kind::Exporter => &mut sides.0,
                    Kind::Receiver => &mut sides.1,
                    _ => continue,
                };
                side.push(Use {
                    pipeline: &pipeline.id,
                    loc: &reference.loc,
                });
            }
        }
    }
    let mut edges: BTreeMap<String, Vec<(String, &ComponentId, &Location)>> = BTreeMap::new();
    for (id, (upstream, downstream)) in &uses {
        let pairs = config.connectors[*id].factory.connector_pairs();
        let joins = |from: Signal, to: Signal| pairs.contains(&(from, to));
        let listed = pairs
            .iter()
            .map(|(from, to)| format!("{from} → {to}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sides = [
            (
                upstream,
                downstream,
                "an exporter",
                "a receiver",
                "receivers",
            ),
            (
                downstream,
                upstream,
                "a receiver",
                "an exporter",
                "exporters",
            ),
        ];
        for (these, others, this_side, other_side, list) in sides {
            if !these.is_empty() && others.is_empty() {
                let u = &these[0];
                errors.push(ConfigError::invalid(
                    u.loc,
                    format!("service.pipelines.{}", u.pipeline),
                    format!(
                        "connector `{id}` is used as {this_side} here but as {other_side} of no \
                         pipeline; a connector joins pipelines, so list it under `{list}` of \
                         the pipeline it should {}",
                        if list == "receivers" {
                            "feed"
                        } else {
                            "take from"
                        }
                    ),
                ));
            }
        }
        if upstream.is_empty() || downstream.is_empty() {
            continue;
        }
        for u in upstream {
            if !downstream
                .iter()
                .any(|d| joins(u.pipeline.signal, d.pipeline.signal))
            {
                errors.push(unjoined(id, u, downstream, "feeds", &listed));
            }
        }
        for d in downstream {
            if !upstream
                .iter()
                .any(|u| joins(u.pipeline.signal, d.pipeline.signal))
            {
                errors.push(unjoined(id, d, upstream, "takes from", &listed));
            }
        }
        for u in upstream {
            for d in downstream {
                if joins(u.pipeline.signal, d.pipeline.signal) {
                    edges.entry(u.pipeline.to_string()).or_default().push((
                        d.pipeline.to_string(),
                        id,
                        u.loc,
                    ));
                }
            }
        }
    }
    if let Some(error) = cycle(&edges) {
        errors.push(error);
    }
}

fn unjoined(
    id: &ComponentId,
    at: &Use<'_>,
    others: &[Use<'_>],
    verb: &str,
    listed: &str,
) -> ConfigError {
    let others = others
        .iter()
        .map(|o| o.pipeline.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    ConfigError::invalid(
        at.loc,
        format!("service.pipelines.{}", at.pipeline),
        format!(
            "connector `{id}` cannot join {} here to any pipeline it {verb} ({others}); it joins \
             {listed}",
            at.pipeline.signal
        ),
    )
}

/// Adds a problem for every pipeline a connector's config names (`routing`'s table) that the
/// connector does not feed with each signal it takes: otelcol refuses those when it builds the
/// router; here `weir validate` points at the name.
pub(crate) fn check_named(root: &Node, config: &Config, errors: &mut Vec<ConfigError>) {
    let pipelines = &config.service.pipelines;
    for (id, entry) in &config.connectors {
        let named = entry.factory.named_pipelines(&entry.config);
        if named.is_empty() {
            continue;
        }
        let takes: BTreeSet<Signal> = pipelines
            .iter()
            .filter(|(_, p)| p.exporters.contains(id))
            .map(|(pid, _)| pid.signal)
            .collect();
        let Some(body) = root
            .get(Kind::Connector.section())
            .and_then(|s| s.node.get(&id.to_string()))
        else {
            continue;
        };
        for (path, name) in named {
            for signal in &takes {
                let feeds: Vec<String> = pipelines
                    .iter()
                    .filter(|(pid, p)| pid.signal == *signal && p.receivers.contains(id))
                    .map(|(pid, _)| pid.to_string())
                    .collect();
                if feeds.contains(&name) {
                    continue;
                }
                let steps: Vec<String> = path.split('.').map(str::to_string).collect();
                let (loc, _) = body.node.locate(&steps);
                let fed = if feeds.is_empty() {
                    "none".to_string()
                } else {
                    feeds.join(", ")
                };
                let exists = pipelines.keys().any(|pid| pid.to_string() == name);
                let message = if exists {
                    format!(
                        "`{name}` is not a pipeline `{id}` feeds with {signal} (it feeds \
                         {fed}); list `{id}` under the receivers of `{name}` to route there"
                    )
                } else {
                    let close = super::suggest::closest(&name, feeds.iter().map(String::as_str))
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    format!(
                        "there is no pipeline `{name}`{close}; `{id}` feeds {signal} into {fed}"
                    )
                };
                errors.push(ConfigError::invalid(
                    &loc,
                    format!("connectors.{id}.{path}"),
                    message,
                ));
                break;
            }
        }
    }
}

/// The first cycle among the pipelines joined by `edges` (pipeline → the pipelines a connector
/// carries its data to), reported at the connector in the first pipeline of the cycle.
fn cycle(edges: &BTreeMap<String, Vec<(String, &ComponentId, &Location)>>) -> Option<ConfigError> {
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let mut path: Vec<(&str, Option<(&ComponentId, &Location)>)> = Vec::new();
        if let Some(found) = visit(start, edges, &mut done, &mut path) {
            return Some(found);
        }
    }
    None
}

type Path<'a> = Vec<(&'a str, Option<(&'a ComponentId, &'a Location)>)>;

fn visit<'a>(
    pipeline: &'a str,
    edges: &'a BTreeMap<String, Vec<(String, &'a ComponentId, &'a Location)>>,
    done: &mut BTreeSet<&'a str>,
    path: &mut Path<'a>,
) -> Option<ConfigError> {
    if let Some(at) = path.iter().position(|(p, _)| *p == pipeline) {
        let ring = &path[at..];
        let mut names: Vec<&str> = ring.iter().map(|(p, _)| *p).collect();
        names.push(pipeline);
        let connectors: BTreeSet<String> = ring
            .iter()
            .filter_map(|(_, via)| via.map(|(id, _)| format!("`{id}`")))
            .collect();
        let (_, loc) = ring.first().and_then(|(_, via)| *via)?;
        return Some(ConfigError::invalid(
            loc,
            format!("service.pipelines.{}", ring[0].0),
            format!(
                "pipelines {} form a cycle through connector{} {}: data would go round \
                 forever",
                names.join(" → "),
                if connectors.len() == 1 { "" } else { "s" },
                connectors.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if done.contains(pipeline) {
        return None;
    }
    for (next, id, loc) in edges.get(pipeline).map_or(&[][..], Vec::as_slice) {
        path.push((pipeline, Some((*id, *loc))));
        let found = visit(next, edges, done, path);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    done.insert(pipeline);
    None
}
