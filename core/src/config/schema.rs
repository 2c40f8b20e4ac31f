//! The JSON Schema (draft 2020-12) of a whole Weir config, for `weir schema` and editors through
//! yaml-language-server. Each factory's own schema is embedded under `$defs` with its
//! definitions renamed, so one self-contained document describes every component.

use serde_json::{Map, Value, json};

use super::components::HELPER_KEYS;
use super::telemetry::TelemetryConfig;
use crate::component::{Kind, Registry};
use crate::exporter::ExporterHelperConfig;

const KINDS: [Kind; 5] = [
    Kind::Receiver,
    Kind::Processor,
    Kind::Exporter,
    Kind::Connector,
    Kind::Extension,
];

/// The schema of a config file for the components in `registry`.
pub fn schema(registry: &Registry) -> Value {
    let mut defs = Map::new();
    let generator = || schemars::generate::SchemaSettings::draft2020_12().into_generator();

    // Every exporter accepts these; its own schema gets them as properties referring here.
    embed(
        &mut defs,
        "exporterhelper",
        generator()
            .into_root_schema_for::<ExporterHelperConfig>()
            .to_value(),
    );
    let helper_props: Vec<(String, Value)> = defs
        .get("exporterhelper")
        .and_then(|h| h.get("properties"))
        .and_then(Value::as_object)
        .map(|p| {
            HELPER_KEYS
                .iter()
                .filter_map(|k| p.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default();

    let mut properties = Map::new();
    for kind in KINDS {
        let mut patterns = Map::new();
        for factory in registry.all().filter(|f| f.kind() == kind) {
            let prefix = format!("{kind}.{}", factory.type_name());
            let reference = embed(&mut defs, &prefix, factory.schema().to_value());
            // Added after embedding, whose `$ref` rewriting would otherwise prefix them twice.
            if kind == Kind::Exporter
                && let Some(props) = defs
                    .get_mut(&prefix)
                    .and_then(|r| r.get_mut("properties"))
                    .and_then(Value::as_object_mut)
            {
                for (key, value) in &helper_props {
                    props.insert(key.clone(), value.clone());
                }
            }
            let names: Vec<String> = std::iter::once(factory.type_name())
                .chain(factory.aliases().iter().copied())
                .map(escape)
                .collect();
            let pattern = format!("^({})(/.+)?$", names.join("|"));
            patterns.insert(pattern, json!({ "anyOf": [{ "type": "null" }, reference] }));
        }
        properties.insert(
            kind.section().to_string(),
            json!({
                "description": format!("{} by id: `type` or `type/name`.", capitalised(kind.section())),
                "type": ["object", "null"],
                "patternProperties": patterns,
                "additionalProperties": false,
            }),
        );
    }

    let telemetry = embed(
        &mut defs,
        "telemetry",
        generator()
            .into_root_schema_for::<TelemetryConfig>()
            .to_value(),
    );
    let id_list = json!({
        "type": ["array", "null"],
        "items": { "type": "string", "pattern": "^[A-Za-z0-9_]+(/.+)?$" },
    });
    let pipeline = json!({
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "receivers": with_description(&id_list, "Receivers (or connectors) feeding the pipeline; at least one."),
            "processors": with_description(&id_list, "Processors applied in order."),
            "exporters": with_description(&id_list, "Exporters (or connectors) every batch goes to; at least one."),
        },
    });
    properties.insert(
        "service".into(),
        json!({
            "description": "What runs: pipelines, extensions, Weir's own telemetry.",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "extensions": with_description(&id_list, "Extensions to start, by id."),
                "pipelines": {
                    "description": "Pipelines by id: `traces`, `metrics` or `logs`, optionally `/name`.",
                    "type": ["object", "null"],
                    "patternProperties": { "^(traces|metrics|logs)(/.+)?$": pipeline },
                    "additionalProperties": false,
                },
                "telemetry": { "anyOf": [{ "type": "null" }, telemetry] },
                "shutdown_timeout": {
                    "description": "How long SIGTERM/SIGINT waits for pipelines and in-memory queues to drain before dropping (and counting) what is left; persistent queues keep it. Default `30s`.",
                    "type": ["string", "integer"],
                },
            },
        }),
    );
    properties.insert(
        "plugins".into(),
        json!({
            "description": "Shared libraries adding component types; `~` and `${env:VAR}` are expanded.",
            "type": ["array", "null"],
            "items": { "type": "string" },
        }),
    );

    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Weir configuration",
        "description": "An OpenTelemetry Collector-shaped pipeline config for Weir.",
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "$defs": defs,
    })
}

fn with_description(schema: &Value, description: &str) -> Value {
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut() {
        object.insert("description".into(), description.into());
    }
    schema
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Regex-escapes a type name (plugins may use characters built-in types do not).
fn escape(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Moves a root schema and its definitions into `defs` under `prefix`, rewriting `$ref`s to the
/// new names; returns a `$ref` to it.
fn embed(defs: &mut Map<String, Value>, prefix: &str, mut root: Value) -> Value {
    let mut own_defs = Map::new();
    if let Some(object) = root.as_object_mut() {
        object.remove("$schema");
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(d)) = object.remove(key) {
                own_defs.extend(d);
            }
        }
    }
    rewrite_refs(&mut root, prefix);
    for (name, mut def) in own_defs {
        rewrite_refs(&mut def, prefix);
        defs.insert(format!("{prefix}.{name}"), def);
    }
    defs.insert(prefix.to_string(), root);
    json!({ "$ref": format!("#/$defs/{prefix}") })
}

fn rewrite_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = child
                {
                    let rest = target
                        .strip_prefix("#/$defs/")
                        .or_else(|| target.strip_prefix("#/definitions/"));
                    *target = match rest {
                        Some(name) => format!("#/$defs/{prefix}.{name}"),
                        None if target == "#" => format!("#/$defs/{prefix}"),
                        None => continue,
                    };
                } else {
                    rewrite_refs(child, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, prefix)),
        _ => {}
    }
}
