//! `auth: { authenticator: <id> }` references, wherever a receiver's or exporter's config has
//! them (`protocols.grpc.auth`, `protocols.http.auth`, an exporter's `auth`): each must name an
//! extension that is defined, listed in `service.extensions`, and able to serve that side —
//! a receiver needs a server authenticator, an exporter a client one. Checked here, with the
//! line of the reference, so such a mistake never waits for startup.

use std::collections::BTreeMap;

use super::components::Defined;
use super::error::{ConfigError, Location};
use super::model::Config;
use super::service::ServiceRefs;
use super::tree::{Node, Tree};
use super::validate::undefined;
use crate::component::{ComponentId, Kind};

/// One `authenticator:` value and where it is.
struct Found {
    text: String,
    loc: Location,
    path: String,
}

/// Adds a problem to `errors` for every bad reference in `receivers:` and `exporters:`.
pub(crate) fn check(
    root: &Node,
    config: &Config,
    defined: &BTreeMap<Kind, Defined>,
    refs: &ServiceRefs,
    errors: &mut Vec<ConfigError>,
) {
    let empty = Defined::new();
    let extensions = defined.get(&Kind::Extension).unwrap_or(&empty);
    for kind in [Kind::Receiver, Kind::Exporter] {
        let Some(entries) = root.get(kind.section()).and_then(|s| s.node.entries()) else {
            continue;
        };
        for entry in entries {
            let mut found = Vec::new();
            let base = format!("{}.{}", kind.section(), entry.key);
            collect(&entry.node, &base, &mut found);
            for reference in found {
                if let Some(error) = judge(kind, &reference, config, extensions, refs) {
                    errors.push(error);
                }
            }
        }
    }
}

/// Finds `auth.authenticator` values at any depth below `node`.
fn collect(node: &Node, path: &str, found: &mut Vec<Found>) {
    let Tree::Map(entries) = &node.tree else {
        return;
    };
    for entry in entries {
        let here = format!("{path}.{}", entry.key);
        if entry.key == "auth"
            && let Some(value) = entry.node.get("authenticator")
            && let Some(text) = value.node.as_text()
        {
            found.push(Found {
                text: text.to_string(),
                loc: value.node.loc.clone(),
                path: format!("{here}.authenticator"),
            });
            continue;
        }
        collect(&entry.node, &here, found);
    }
}

fn judge(
    kind: Kind,
    reference: &Found,
    config: &Config,
    extensions: &Defined,
    refs: &ServiceRefs,
) -> Option<ConfigError> {
    let invalid = |message: String| ConfigError::invalid(&reference.loc, &reference.path, message);
    let id: ComponentId = match reference.text.parse() {
        Ok(id) => id,
        Err(e) => return Some(invalid(e.to_string())),
    };
    if !extensions.contains_key(&id) {
        return Some(undefined(
            &id,
            Kind::Extension,
            extensions,
            &reference.loc,
            &reference.path,
        ));
    }
    if !refs.extensions.iter().any(|r| r.id == id) {
        return Some(invalid(format!(
            "authenticator `{id}` must be listed in service.extensions"
        )));
    }
    // A defined extension whose own config is invalid has its own error already.
    let entry = config.extensions.get(&id)?;
    let sides = entry.factory.auth_sides(&entry.config);
    let (able, role) = match kind {
        Kind::Receiver => (
            sides.server,
            "check the credentials of requests a receiver takes",
        ),
        _ => (
            sides.client,
            "add credentials to requests an exporter sends",
        ),
    };
    if able {
        return None;
    }
    let why = if sides.server || sides.client {
        format!("its config cannot {role}")
    } else {
        format!("`{}` is not an authenticator", entry.factory.type_name())
    };
    Some(invalid(format!(
        "extension `{id}` cannot be the authenticator here: {why}"
    )))
}
