//! Component sections (`receivers:` … `extensions:`): ids, factories found by type or alias, and
//! each body parsed by its factory. An exporter's `sending_queue` and `retry_on_failure` are
//! split off first and parsed here, because the runtime, not the exporter, applies them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::{ConfigError, Location, Problem};
use super::fields;
use super::model::{ComponentEntry, Config};
use super::suggest;
use super::tree::{Entry, Node, Tree};
use crate::component::{ComponentId, Kind, Registry};
use crate::exporter::ExporterHelperConfig;

/// The keys of every exporter's config that belong to the runtime's queue and retry.
pub(crate) const HELPER_KEYS: [&str; 2] = ["sending_queue", "retry_on_failure"];

/// Ids written in a section and where, whether or not their configs were valid: references are
/// checked against these, so one bad component is not also reported as "not defined".
pub(crate) type Defined = BTreeMap<ComponentId, Location>;

/// Loads one section into `config`, returning every id it defines.
pub(crate) fn load_section(
    kind: Kind,
    section: Option<&Entry>,
    registry: &Registry,
    config: &mut Config,
    errors: &mut Vec<ConfigError>,
) -> Defined {
    let mut defined = Defined::new();
    let name = kind.section();
    let Some(section) = section else {
        return defined;
    };
    let entries = match &section.node.tree {
        Tree::Map(entries) => entries,
        _ if section.node.is_null() => return defined,
        _ => {
            let found = section.node.describe();
            errors.push(ConfigError::invalid(
                &section.node.loc,
                name,
                format!("expected a mapping of {kind} ids to their configs, found {found}"),
            ));
            return defined;
        }
    };
    for entry in entries {
        let id: ComponentId = match entry.key.parse() {
            Ok(id) => id,
            Err(e) => {
                errors.push(ConfigError::invalid(&entry.key_loc, name, e.to_string()));
                continue;
            }
        };
        defined.insert(id.clone(), entry.key_loc.clone());
        let Some(factory) = registry.get(kind, id.ty()) else {
            let hint = suggest::hint(id.ty(), &registry.names(kind));
            let problem = Problem::Unknown {
                what: format!("{kind} type"),
                name: id.ty().to_string(),
                hint,
            };
            errors.push(ConfigError::new(&entry.key_loc, name, problem));
            continue;
        };
        let path = format!("{name}.{id}");
        // An empty body (`batch:`) is the default config, located at the key.
        let mut body = if entry.node.is_null() {
            Node::empty_map(entry.key_loc.clone())
        } else {
            entry.node.clone()
        };
        if !matches!(body.tree, Tree::Map(_)) {
            let found = body.describe();
            errors.push(ConfigError::invalid(
                &body.loc,
                path,
                format!("expected a mapping, found {found}"),
            ));
            continue;
        }
        // Problems with the body as a whole are reported at the component's key.
        body.loc = entry.key_loc.clone();
        let body_entries = body.entries().unwrap_or_default();
        let raw = body.to_json();
        let mut helper = None;
        let mut helper_given = Value::Null;
        let own = if kind == Kind::Exporter {
            let (helper_entries, own): (Vec<&Entry>, Vec<&Entry>) = body_entries
                .iter()
                .partition(|e| HELPER_KEYS.contains(&e.key.as_str()));
            // `sending_queue:` with no body means the defaults, as for a component.
            let helper_entries: Vec<&Entry> = helper_entries
                .into_iter()
                .filter(|e| !e.node.is_null())
                .collect();
            let helper_json = object(&helper_entries);
            helper_given = helper_json.clone();
            match fields::deserialize::<ExporterHelperConfig>(helper_json, &body, &path) {
                Ok(parsed) => {
                    let problems = parsed.validate();
                    errors.extend(
                        problems
                            .iter()
                            .map(|p| fields::locate_message(&body, &path, p)),
                    );
                    helper = Some(parsed);
                }
                Err(e) => errors.push(*e),
            }
            object(&own)
        } else {
            raw.clone()
        };
        let extra: &[&str] = if kind == Kind::Exporter {
            &HELPER_KEYS
        } else {
            &[]
        };
        match factory.parse(own) {
            Ok(parsed) => {
                if let Some(helper) = helper.as_mut()
                    && let Err(problems) = factory.adjust_helper(&parsed, helper, &helper_given)
                {
                    errors.extend(
                        problems
                            .iter()
                            .map(|p| fields::locate(&body, &path, p, extra)),
                    );
                }
                let entry = ComponentEntry {
                    factory: factory.clone(),
                    config: parsed,
                    raw,
                    helper,
                };
                config.section_mut(kind).insert(id, entry);
            }
            Err(problems) => {
                errors.extend(
                    problems
                        .iter()
                        .map(|p| fields::locate(&body, &path, p, extra)),
                );
            }
        }
    }
    defined
}

fn object(entries: &[&Entry]) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|e| (e.key.clone(), e.node.to_json()))
            .collect(),
    )
}
