//! Loading otelcol-shaped YAML into a validated [`Config`]: reading sources into a positioned
//! tree, deep-merging them, applying `--set`, expanding `${env:…}`, parsing each component's
//! body with its factory, and checking the pipelines, with every problem reported in one pass
//! (file, line, column, component, what was expected). Also the JSON Schema of the whole file.
//!
//! The steps, each in its own module: [`source`](Source) reads YAML with yaml-rust2's marked
//! parser (Weir's only YAML parser, chosen because positions must survive merging), `merge`
//! combines sources and `--set`s, `expand` substitutes variables, `components` and `service`
//! parse the sections, `validate` checks across them, `schema` describes the file.

mod auth_refs;
mod byte_size;
mod components;
mod connectors;
mod error;
mod expand;
mod fields;
mod merge;
mod model;
mod schema;
mod secret;
mod service;
mod source;
mod suggest;
mod telemetry;
mod tree;
mod validate;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use byte_size::{ByteSize, parse_byte_size};
pub use error::{ConfigError, ConfigErrors, Hint, Location, Problem};
pub use model::{
    ComponentEntry, Config, Loaded, Pipeline, PipelineId, Service, Telemetry, TelemetryLogs,
    TelemetryMetrics,
};
pub use schema::schema;
pub use secret::{Secret, debug_redacted, redact_json};
pub use source::Source;

use crate::component::{Kind, Registry};
use expand::Env;
use tree::{Node, Tree};

/// The top-level keys of a config file.
const SECTIONS: [&str; 7] = [
    "receivers",
    "processors",
    "exporters",
    "connectors",
    "extensions",
    "service",
    "plugins",
];

const KINDS: [Kind; 5] = [
    Kind::Receiver,
    Kind::Processor,
    Kind::Exporter,
    Kind::Connector,
    Kind::Extension,
];

/// Loads `sources` (deep-merged in order: mappings key by key, lists and scalars replaced, last
/// wins), applies each `--set key=value`, expands environment variables, and validates the
/// result against the component types in `registry`. Errors hold every problem found.
///
/// A `--set` value is read as YAML (`100` is a number, `[a, b]` a list). Its key is a path of
/// mapping keys: with `::` anywhere in it (otelcol's separator, `processors::batch/2::timeout`)
/// it is split on `::` only, so keys may contain dots; otherwise it is split on `.`, and at each
/// level the longest run of segments naming an existing key is taken as one key, so
/// `exporters.otlp/a.b.endpoint` finds an exporter called `otlp/a.b`. `/` is never a separator.
/// A new key containing a dot needs `::`.
pub fn load(
    sources: &[Source],
    sets: &[String],
    registry: &Registry,
) -> Result<Loaded, ConfigErrors> {
    load_with_env(sources, sets, registry, &|name| std::env::var(name).ok())
}

/// A YAML document (`name` is how errors call it) as JSON, or its syntax errors with line and
/// column; for files beside the config, such as `weir test`'s cases.
pub fn yaml_to_json(name: &str, text: &str) -> Result<serde_json::Value, Vec<ConfigError>> {
    source::parse(std::sync::Arc::from(name), 0, text).map(|node| node.to_json())
}

/// [`load`] with the environment given, so tests do not depend on the process's.
pub(crate) fn load_with_env(
    sources: &[Source],
    sets: &[String],
    registry: &Registry,
    env: Env<'_>,
) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut root: Option<Node> = None;
    for (order, source) in sources.iter().enumerate() {
        match source.read(order) {
            Ok(node) if !matches!(node.tree, Tree::Map(_)) => {
                let found = node.describe();
                errors.push(ConfigError::invalid(
                    &node.loc,
                    "",
                    format!("the top level must be a mapping, found {found}"),
                ));
            }
            Ok(node) => match &mut root {
                None => root = Some(node),
                Some(base) => merge::merge(base, node),
            },
            Err(e) => errors.extend(e),
        }
    }
    let Some(mut root) = root else {
        if errors.is_empty() {
            errors.push(ConfigError {
                location: None,
                path: String::new(),
                problem: Problem::Invalid("no config given".into()),
            });
        }
        return Err(ConfigErrors::sorted(errors));
    };
    for (i, set) in sets.iter().enumerate() {
        if let Err(e) = merge::apply_set(&mut root, set, sources.len() + i) {
            errors.push(*e);
        }
    }
    // Sections read from a tree that is missing a file or a `--set` would report problems
    // that are not there; stop at what is certainly wrong.
    if !errors.is_empty() {
        return Err(ConfigErrors::sorted(errors));
    }

    let mut report = expand::Report::default();
    expand::expand(&mut root, "", env, &mut report);
    errors.extend(report.errors);
    let mut warnings = report.warnings;
    // Only these can explain an error (an unset variable emptied a field); "defined but not
    // used" next to an undefined reference is noise.
    let expansion_warnings = warnings.clone();

    let entries = root.entries().unwrap_or_default();
    for entry in entries
        .iter()
        .filter(|e| !SECTIONS.contains(&e.key.as_str()))
    {
        let valid: Vec<String> = SECTIONS.iter().map(|s| s.to_string()).collect();
        let hint = suggest::hint(&entry.key, &valid);
        errors.push(ConfigError::new(
            &entry.key_loc,
            "",
            Problem::Unknown {
                what: "top-level key".into(),
                name: entry.key.clone(),
                hint,
            },
        ));
    }

    let mut config = Config::default();
    let mut defined = BTreeMap::new();
    for kind in KINDS {
        let section = root.get(kind.section());
        defined.insert(
            kind,
            components::load_section(kind, section, registry, &mut config, &mut errors),
        );
    }
    let (service, refs) = service::load(root.get("service"), &mut errors);
    config.service = service;
    config.plugins = plugins(root.get("plugins").map(|e| &e.node), env, &mut errors);
    validate::check(
        &config,
        &defined,
        &refs,
        &root.loc,
        &mut errors,
        &mut warnings,
    );
    auth_refs::check(&root, &config, &defined, &refs, &mut errors);
    connectors::check_named(&root, &config, &mut errors);

    if errors.is_empty() {
        Ok(Loaded { config, warnings })
    } else {
        Err(ConfigErrors {
            warnings: expansion_warnings,
            ..ConfigErrors::sorted(errors)
        })
    }
}

/// The `plugins:` list alone, read before the rest of the config: plugin libraries must be in
/// the registry before [`load`] can parse the components they provide. Sources are merged,
/// `--set`s applied and variables expanded as `load` does; problems are left for `load` to
/// report, so a config it cannot read yields the paths it could.
pub fn plugin_paths(sources: &[Source], sets: &[String]) -> Vec<PathBuf> {
    let env: Env<'_> = &|name| std::env::var(name).ok();
    let mut root: Option<Node> = None;
    for (order, source) in sources.iter().enumerate() {
        if let Ok(node) = source.read(order)
            && matches!(node.tree, Tree::Map(_))
        {
            match &mut root {
                None => root = Some(node),
                Some(base) => merge::merge(base, node),
            }
        }
    }
    let Some(mut root) = root else {
        return Vec::new();
    };
    for (i, set) in sets.iter().enumerate() {
        let _ = merge::apply_set(&mut root, set, sources.len() + i);
    }
    let Some(mut node) = root.get("plugins").map(|e| e.node.clone()) else {
        return Vec::new();
    };
    expand::expand(&mut node, "plugins", env, &mut expand::Report::default());
    plugins(Some(&node), env, &mut Vec::new())
}

/// `plugins:`: a list of paths, `~/` meaning the home directory.
fn plugins(
    node: Option<&Node>,
    env: Env<'_>,
    errors: &mut Vec<error::ConfigError>,
) -> Vec<PathBuf> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Vec::new();
    };
    let Tree::Seq(items) = &node.tree else {
        let found = node.describe();
        errors.push(ConfigError::invalid(
            &node.loc,
            "plugins",
            format!("expected a list of library paths, found {found}"),
        ));
        return Vec::new();
    };
    let home = env("HOME");
    let mut out = Vec::new();
    for item in items {
        let Some(text) = item.as_text() else {
            let found = item.describe();
            errors.push(ConfigError::invalid(
                &item.loc,
                "plugins",
                format!("expected a library path, found {found}"),
            ));
            continue;
        };
        let path = match (text.strip_prefix('~'), &home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                format!("{home}{rest}")
            }
            _ => text.to_string(),
        };
        out.push(PathBuf::from(path));
    }
    out
}
