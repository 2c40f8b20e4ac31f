//! Field-level problems found by serde or `validate`, turned into positioned config errors: the
//! path inside a config is looked up in the tree to find the line and column, and unknown names
//! get a "did you mean".

use serde::de::DeserializeOwned;

use super::error::{ConfigError, Problem};
use super::suggest;
use super::tree::Node;
use crate::component::FieldError;

/// Positions one factory-reported problem. `base` is the dotted path of `body` (`processors.batch`);
/// `extra_names` are valid keys the factory does not know about (an exporter's `sending_queue`).
pub(crate) fn locate(
    body: &Node,
    base: &str,
    error: &FieldError,
    extra_names: &[&str],
) -> ConfigError {
    let message = &error.message;
    for what in ["field", "variant"] {
        let Some(name) = quoted_after(message, &format!("unknown {what} `")) else {
            continue;
        };
        // serde_path_to_error puts the unknown key at the end of the path; the error belongs to
        // the mapping that holds it, at the key's position.
        let parent = match error.path.split_last() {
            Some((last, parent)) if *last == name => parent,
            _ => &error.path[..],
        };
        let mut candidates = error.expected.clone();
        if parent.is_empty() {
            candidates.extend(extra_names.iter().map(|s| s.to_string()));
        }
        let (loc, context) = if what == "field" {
            let mut key_path = parent.to_vec();
            key_path.push(name.clone());
            (body.locate(&key_path).0, join(base, parent))
        } else {
            (body.locate_value(&error.path), join(base, &error.path))
        };
        let problem = Problem::Unknown {
            what: what.to_string(),
            name: name.clone(),
            hint: suggest::hint(&name, &candidates),
        };
        return ConfigError::new(&loc, context, problem);
    }
    if error.path.is_empty() {
        return locate_message(body, base, message);
    }
    let loc = body.locate_value(&error.path);
    ConfigError::new(
        &loc,
        join(base, &error.path),
        Problem::Invalid(message.clone()),
    )
}

/// The text between `prefix` and the next backtick.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name.to_string())
}

fn join(base: &str, path: &[String]) -> String {
    let mut out = base.to_string();
    for step in path {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(step);
    }
    out
}

/// Deserializes `value` (the JSON form of `body`), reporting a failure the way factories do, so
/// sections Weir itself owns (`service.telemetry`, `sending_queue`) get the same messages.
pub(crate) fn deserialize<T: DeserializeOwned>(
    value: serde_json::Value,
    body: &Node,
    base: &str,
) -> Result<T, Box<ConfigError>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = e.inner().to_string();
        let error = FieldError {
            expected: expected_names(&message),
            path,
            message,
        };
        Box::new(locate(body, base, &error, &[]))
    })
}

/// The names serde lists after "expected" in an unknown-field or unknown-variant message.
fn expected_names(message: &str) -> Vec<String> {
    match message.split_once(", expected") {
        Some((_, rest)) => rest
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    }
}

/// A problem `validate` reported as text. When the message starts with a dotted field path that
/// exists in `body` (`sending_queue.queue_size must be …`), the error points at that field.
pub(crate) fn locate_message(body: &Node, base: &str, message: &str) -> ConfigError {
    let first = message.split_whitespace().next().unwrap_or("");
    let path: Vec<String> = first.split('.').map(str::to_string).collect();
    // A missing field (`tls.key_file … is required`) is placed at the nearest part of its path
    // that is written.
    let loc = (1..=path.len())
        .rev()
        .filter(|_| !first.is_empty())
        .find_map(|len| match body.locate(&path[..len]) {
            (loc, true) => Some(loc),
            _ => None,
        })
        .unwrap_or_else(|| body.loc.clone());
    ConfigError::new(&loc, base, Problem::Invalid(message.to_string()))
}
