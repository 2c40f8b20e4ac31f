//! Checks across sections, after each part parsed on its own: every pipeline has a receiver and
//! an exporter, references point at defined components of the right kind that support the
//! pipeline's signal, no list names an id twice; unused components are warnings, as in otelcol.

use std::collections::{BTreeMap, BTreeSet};

use super::components::Defined;
use super::error::{ConfigError, Hint, Location, Problem};
use super::model::Config;
use super::service::ServiceRefs;
use super::suggest;
use crate::component::{ComponentId, Kind};

/// Adds cross-section problems to `errors` and unused components to `warnings`.
pub(crate) fn check(
    config: &Config,
    defined: &BTreeMap<Kind, Defined>,
    refs: &ServiceRefs,
    root: &Location,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
) {
    let empty = Defined::new();
    let defined_in = |kind: Kind| defined.get(&kind).unwrap_or(&empty);
    let mut used: BTreeSet<(Kind, ComponentId)> = BTreeSet::new();

    if refs.pipelines.is_empty() {
        let at = refs.loc.as_ref().unwrap_or(root);
        errors.push(ConfigError::invalid(
            at,
            "service",
            "no pipelines are defined; add at least one under service.pipelines",
        ));
    }
    for pipeline in &refs.pipelines {
        let path = format!("service.pipelines.{}", pipeline.id);
        let signal = pipeline.id.signal;
        for (needed, noun) in [(Kind::Receiver, "receiver"), (Kind::Exporter, "exporter")] {
            if !pipeline
                .lists
                .iter()
                .any(|(kind, list)| *kind == needed && !list.is_empty())
            {
                errors.push(ConfigError::invalid(
                    &pipeline.key_loc,
                    &path,
                    format!("a pipeline needs at least one {noun}"),
                ));
            }
        }
        for (kind, list) in &pipeline.lists {
            let list_path = format!("{path}.{}", kind.section());
            let mut seen = BTreeSet::new();
            for reference in list {
                if !seen.insert(&reference.id) {
                    let message = format!("`{}` is listed twice", reference.id);
                    errors.push(ConfigError::invalid(&reference.loc, &list_path, message));
                    continue;
                }
                // Connectors act as receivers and exporters, so those lists may name them too.
                let connector = matches!(kind, Kind::Receiver | Kind::Exporter)
                    && defined_in(Kind::Connector).contains_key(&reference.id);
                let owner = if connector { Kind::Connector } else { *kind };
                if !defined_in(owner).contains_key(&reference.id) {
                    errors.push(undefined(
                        &reference.id,
                        *kind,
                        defined_in(*kind),
                        &reference.loc,
                        &list_path,
                    ));
                    continue;
                }
                used.insert((owner, reference.id.clone()));
                let Some(entry) = config.section(owner).get(&reference.id) else {
                    continue;
                };
                // A connector's signals are checked as pairs (`connectors::check`).
                let signals = entry.factory.signals();
                if !connector && !signals.contains(&signal) {
                    let supported: Vec<String> = signals.iter().map(|s| s.to_string()).collect();
                    let problem = Problem::UnsupportedSignal {
                        kind: owner,
                        id: reference.id.to_string(),
                        signal: signal.to_string(),
                        supported: if supported.is_empty() {
                            "none".into()
                        } else {
                            supported.join(", ")
                        },
                    };
                    errors.push(ConfigError::new(&reference.loc, &path, problem));
                }
            }
        }
    }

    super::connectors::check(config, refs, errors);

    let mut seen = BTreeSet::new();
    for reference in &refs.extensions {
        if !seen.insert(&reference.id) {
            let message = format!("`{}` is listed twice", reference.id);
            errors.push(ConfigError::invalid(
                &reference.loc,
                "service.extensions",
                message,
            ));
        } else if defined_in(Kind::Extension).contains_key(&reference.id) {
            used.insert((Kind::Extension, reference.id.clone()));
        } else {
            let e = undefined(
                &reference.id,
                Kind::Extension,
                defined_in(Kind::Extension),
                &reference.loc,
                "service.extensions",
            );
            errors.push(e);
        }
    }

    for kind in [
        Kind::Receiver,
        Kind::Processor,
        Kind::Exporter,
        Kind::Connector,
        Kind::Extension,
    ] {
        for (id, loc) in defined_in(kind) {
            if !used.contains(&(kind, id.clone())) {
                let place = if kind == Kind::Extension {
                    "service.extensions"
                } else {
                    "any pipeline"
                };
                warnings.push(format!(
                    "{loc}: {}.{id}: defined but not used by {place}",
                    kind.section()
                ));
            }
        }
    }
}

pub(crate) fn undefined(
    id: &ComponentId,
    kind: Kind,
    defined: &Defined,
    loc: &Location,
    path: &str,
) -> ConfigError {
    let ids: Vec<String> = defined.keys().map(ToString::to_string).collect();
    let written = id.to_string();
    let hint = match suggest::closest(&written, ids.iter().map(String::as_str)) {
        Some(close) => Hint::DidYouMean(close.to_string()),
        None => Hint::Defined(ids),
    };
    ConfigError::new(
        loc,
        path,
        Problem::Undefined {
            id: written,
            section: kind.section(),
            hint,
        },
    )
}
