//! Renders the component reference (Markdown tables of every option, its type, default and
//! description) from the config JSON Schema, whose descriptions are the config structs' doc
//! comments.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Map, Value};
use weir_core::component::{Kind, Registry};
use weir_core::config;

/// Keys every exporter accepts, documented once in their own section.
const EXPORTER_HELPER_KEYS: [&str; 2] = ["sending_queue", "retry_on_failure"];

/// The reference section of the README.
pub fn markdown(registry: &Registry) -> String {
    let schema = config::schema(registry);
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = String::new();
    for kind in [
        Kind::Receiver,
        Kind::Processor,
        Kind::Exporter,
        Kind::Connector,
        Kind::Extension,
    ] {
        let factories: Vec<_> = registry.all().filter(|f| f.kind() == kind).collect();
        if factories.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {}\n", capitalise(kind.section()));
        for f in factories {
            let key = format!("{}.{}", kind.as_str(), f.type_name());
            let def = defs.get(&key).cloned().unwrap_or(Value::Null);
            let _ = writeln!(out, "#### `{}` {}\n", f.type_name(), kind.as_str());
            if let Some(d) = description(&def) {
                let _ = writeln!(out, "{d}\n");
            }
            let signals: Vec<&str> = f.signals().iter().map(|s| s.as_str()).collect();
            let pairs: Vec<String> = f
                .connector_pairs()
                .iter()
                .map(|(from, to)| format!("{from} → {to}"))
                .collect();
            if !pairs.is_empty() {
                let _ = write!(
                    out,
                    "Joins: {}. Stability: {}.",
                    pairs.join(", "),
                    f.stability().as_str()
                );
            } else if signals.is_empty() {
                let _ = write!(out, "Stability: {}.", f.stability().as_str());
            } else {
                let _ = write!(
                    out,
                    "Signals: {}. Stability: {}.",
                    signals.join(", "),
                    f.stability().as_str()
                );
            }
            if !f.aliases().is_empty() {
                let aliases: Vec<String> = f.aliases().iter().map(|a| format!("`{a}`")).collect();
                let _ = write!(out, " Also accepted as {}.", aliases.join(", "));
            }
            out.push_str("\n\n");
            let skip: &[&str] = if kind == Kind::Exporter {
                &EXPORTER_HELPER_KEYS
            } else {
                &[]
            };
            table(&mut out, &defs, &def, skip);
            if kind == Kind::Exporter {
                out.push_str(
                    "Plus `sending_queue` and `retry_on_failure`, as every exporter (below).\n\n",
                );
            }
        }
    }
    out.push_str("### Every exporter: `sending_queue` and `retry_on_failure`\n\n");
    out.push_str(
        "The runtime wraps every exporter (built-in or plugin) in a sending queue and retry, as \
         otelcol's exporterhelper does; these keys sit inside each exporter's own config.\n\n",
    );
    if let Some(helper) = defs.get("exporterhelper") {
        table(&mut out, &defs, helper, &[]);
    }
    out.push_str("### `service.telemetry`\n\n");
    if let Some(telemetry) = defs.get("telemetry") {
        table(&mut out, &defs, telemetry, &[]);
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn description(node: &Value) -> Option<String> {
    node.get("description")
        .and_then(Value::as_str)
        .map(|d| d.replace('\n', " "))
}

/// Follows `$ref` and unwraps `anyOf: [null, X]`, keeping the outer description and default.
fn resolve(defs: &Map<String, Value>, node: &Value) -> Value {
    let mut merged = node.clone();
    let is_duration = node
        .get("$ref")
        .and_then(Value::as_str)
        .is_some_and(|r| r.ends_with("DurationString"));
    if let (true, Some(obj)) = (is_duration, merged.as_object_mut()) {
        obj.insert("x-duration".to_string(), Value::Bool(true));
    }
    let inner = if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        defs.get(r.trim_start_matches("#/$defs/")).cloned()
    } else if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
        any.iter()
            .find(|v| v.get("type") != Some(&Value::String("null".into())))
            .map(|v| resolve(defs, v))
    } else {
        None
    };
    if let (Some(inner), Some(obj)) = (inner, merged.as_object_mut()) {
        let inner = resolve(defs, &inner);
        if let Some(inner) = inner.as_object() {
            for (k, v) in inner {
                if k == "description" && obj.contains_key("description") {
                    continue;
                }
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        obj.remove("$ref");
        obj.remove("anyOf");
    }
    merged
}

fn type_name(node: &Value) -> String {
    if node.get("x-duration").is_some() {
        return "duration".to_string();
    }
    if let Some(variants) = node.get("oneOf").and_then(Value::as_array) {
        let consts: Vec<String> = variants
            .iter()
            .filter_map(|v| {
                v.get("const")
                    .and_then(Value::as_str)
                    .map(|c| format!("`{c}`"))
            })
            .collect();
        if !consts.is_empty() {
            return consts.join(" \\| ");
        }
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|c| format!("`{c}`"))
            .collect();
        return values.join(" \\| ");
    }
    let ty = match node.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("/"),
        _ => String::new(),
    };
    match ty.as_str() {
        "object"
            if node
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            "map".to_string()
        }
        "array" => "list".to_string(),
        _ => ty,
    }
}

fn default_text(node: &Value) -> String {
    match node.get("default") {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::Object(_)) => "—".to_string(),
        Some(Value::String(s)) if s.is_empty() => "—".to_string(),
        Some(Value::String(s)) => format!("`{s}`"),
        Some(other) => format!("`{other}`"),
    }
}

fn table(out: &mut String, defs: &Map<String, Value>, def: &Value, skip: &[&str]) {
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    collect(defs, def, "", skip, &mut rows, &mut seen, 0);
    if rows.is_empty() {
        out.push_str("No options.\n\n");
        return;
    }
    out.push_str("| option | type | default | description |\n|---|---|---|---|\n");
    for (name, ty, default, desc) in rows {
        let _ = writeln!(
            out,
            "| `{name}` | {ty} | {default} | {} |",
            desc.replace('|', "\\|")
        );
    }
    out.push('\n');
}

type Row = (String, String, String, String);

/// The definition a property refers to (directly or as the non-null side of an `anyOf`).
fn def_name(node: &Value) -> Option<&str> {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        return Some(r.trim_start_matches("#/$defs/"));
    }
    node.get("anyOf")?
        .as_array()?
        .iter()
        .find_map(|v| v.get("$ref").and_then(Value::as_str))
        .map(|r| r.trim_start_matches("#/$defs/"))
}

/// Rows for the options under `node`. A block whose definition was already listed in this
/// table (the same policy block under `and`, `drop` and `composite`) gets one row pointing at
/// the first listing instead of its fields again.
fn collect(
    defs: &Map<String, Value>,
    node: &Value,
    prefix: &str,
    skip: &[&str],
    rows: &mut Vec<Row>,
    seen: &mut BTreeMap<String, String>,
    depth: usize,
) {
    let node = resolve(defs, node);
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    if depth > 6 {
        return;
    }
    for (name, prop) in props {
        if depth == 0 && skip.contains(&name.as_str()) {
            continue;
        }
        let def = def_name(prop).map(str::to_string);
        let prop = resolve(defs, prop);
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let nested = prop
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        let desc = description(&prop).unwrap_or_default();
        // A list of mappings (the `attributes` processor's `actions`): its row, then a row per
        // field of an entry, as `list[].field`.
        let entries = prop
            .get("items")
            .map(|items| resolve(defs, items))
            .filter(|items| {
                items
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|p| !p.is_empty())
            });
        let first = def.as_ref().and_then(|d| seen.get(d)).cloned();
        if let (true, Some(first)) = (nested, first) {
            let desc = format!("{desc} Its fields are those of `{first}`, above.");
            rows.push((full, "object".to_string(), "—".to_string(), desc));
        } else if let Some(entries) = entries {
            rows.push((full.clone(), type_name(&prop), default_text(&prop), desc));
            let entries_prefix = format!("{full}[]");
            collect(defs, &entries, &entries_prefix, skip, rows, seen, depth + 1);
        } else if nested {
            if let Some(def) = def {
                seen.insert(def, full.clone());
            }
            rows.push((full.clone(), "object".to_string(), "—".to_string(), desc));
            collect(defs, &prop, &full, skip, rows, seen, depth + 1);
        } else {
            rows.push((full, type_name(&prop), default_text(&prop), desc));
        }
    }
}
