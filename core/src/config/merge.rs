//! Combining sources: several files deep-merge in order, then each `--set` overrides one key.

use std::sync::Arc;

use super::error::{ConfigError, Location};
use super::source;
use super::tree::{Entry, Node, Tree};

/// Merges `overlay` into `base`: mappings key by key, recursively; anything else (lists,
/// scalars, an empty value) replaces what was there. Replaced nodes keep the overlay's
/// positions, so errors point at the file that set the value.
pub(crate) fn merge(base: &mut Node, overlay: Node) {
    match (&mut base.tree, overlay.tree) {
        (Tree::Map(entries), Tree::Map(incoming)) => {
            for entry in incoming {
                match entries.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => {
                        existing.key_loc = entry.key_loc;
                        merge(&mut existing.node, entry.node);
                    }
                    None => entries.push(entry),
                }
            }
        }
        (_, tree) => {
            *base = Node {
                tree,
                loc: overlay.loc,
            }
        }
    }
}

/// Applies one `--set key=value`: the value is read as YAML and replaces (or adds) the key.
///
/// The key is a path of mapping keys. With `::` anywhere in it (otelcol's separator, as in
/// `processors::batch/2::timeout`) the path is split on `::` only, so keys may contain dots.
/// Otherwise it is split on `.`, and at each level the longest run of segments that names an
/// existing key is taken as one key, so `exporters.otlp/a.b.endpoint` finds an exporter called
/// `otlp/a.b`. A key that exists nowhere yet is taken one segment at a time; spell such a key
/// with `::` when it contains a dot. `/` is never a separator: `processors.batch/2.timeout` works.
/// Missing mappings on the way are created; an empty value (`batch:`) becomes a mapping.
pub(crate) fn apply_set(root: &mut Node, arg: &str, order: usize) -> Result<(), Box<ConfigError>> {
    let name: Arc<str> = format!("--set {arg}").into();
    let loc = Location::new(name.clone(), order, 0, 0);
    let Some((key, value)) = arg.split_once('=') else {
        return Err(Box::new(ConfigError::invalid(
            &loc,
            "",
            "expected `key=value`",
        )));
    };
    let segments: Vec<&str> = if key.contains("::") {
        key.split("::").collect()
    } else {
        key.split('.').collect()
    };
    if segments.iter().any(|s| s.trim().is_empty()) {
        return Err(Box::new(ConfigError::invalid(
            &loc,
            "",
            format!("`{key}` has an empty key"),
        )));
    }
    let split_on_dots = !key.contains("::");
    // `--set a=` means an empty value, not the empty mapping an empty document parses to.
    let mut value = if value.trim().is_empty() {
        Node::null(loc.clone())
    } else {
        source::parse(name, order, value).map_err(|errors| {
            let mut e = errors
                .into_iter()
                .next()
                .unwrap_or_else(|| ConfigError::invalid(&loc, "", "invalid YAML"));
            e.location = Some(loc.clone());
            Box::new(e)
        })?
    };
    value.relocate(&loc);

    let mut node = root;
    let mut rest = &segments[..];
    let mut path = String::new();
    loop {
        if node.is_null() {
            *node = Node::empty_map(loc.clone());
        }
        let found = node.describe();
        let Tree::Map(entries) = &mut node.tree else {
            return Err(Box::new(ConfigError::invalid(
                &loc,
                path,
                format!("cannot set a key inside {found}"),
            )));
        };
        let take = if split_on_dots {
            (1..=rest.len())
                .rev()
                .find(|n| entries.iter().any(|e| e.key == rest[..*n].join(".")))
                .unwrap_or(1)
        } else {
            1
        };
        let key = rest[..take].join(if split_on_dots { "." } else { "::" });
        rest = &rest[take..];
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&key);
        let index = match entries.iter().position(|e| e.key == key) {
            Some(i) => i,
            None => {
                entries.push(Entry {
                    key,
                    key_loc: loc.clone(),
                    node: Node::null(loc.clone()),
                });
                entries.len() - 1
            }
        };
        let entry = &mut entries[index];
        if rest.is_empty() {
            entry.key_loc = loc.clone();
            entry.node = value;
            return Ok(());
        }
        node = &mut entry.node;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(yaml: &str, order: usize) -> Node {
        source::parse(format!("f{order}.yaml").into(), order, yaml).unwrap()
    }

    #[test]
    fn mappings_merge_and_everything_else_is_replaced() {
        let mut base = tree("a: {x: 1, y: [1, 2]}\nb: keep\nc: {z: 1}", 0);
        merge(&mut base, tree("a: {y: [3], w: 2}\nc:\nd: new", 1));
        assert_eq!(
            base.to_json(),
            json!({"a": {"x": 1, "y": [3], "w": 2}, "b": "keep", "c": null, "d": "new"})
        );
        let (loc, _) = base.locate(&["a".into(), "y".into()]);
        assert_eq!(loc.to_string(), "f1.yaml:1:5");
    }

    #[test]
    fn set_overrides_with_typed_values_and_slashes_in_keys() {
        let mut root = tree("processors:\n  batch/2:\n  batch:\n    timeout: 1s", 0);
        apply_set(&mut root, "processors.batch/2.send_batch_size=100", 1).unwrap();
        apply_set(&mut root, "processors::batch::timeout=2s", 1).unwrap();
        apply_set(&mut root, "service.telemetry.logs.level=debug", 1).unwrap();
        assert_eq!(
            root.to_json(),
            json!({
                "processors": {"batch/2": {"send_batch_size": 100}, "batch": {"timeout": "2s"}},
                "service": {"telemetry": {"logs": {"level": "debug"}}}
            })
        );
    }

    #[test]
    fn set_finds_existing_keys_containing_dots() {
        let mut root = tree("exporters:\n  otlp/a.b:\n    endpoint: x", 0);
        apply_set(&mut root, "exporters.otlp/a.b.endpoint=y:4317", 1).unwrap();
        apply_set(&mut root, "exporters::otlp/c.d::endpoint=[1, 2]", 1).unwrap();
        assert_eq!(
            root.to_json(),
            json!({"exporters": {"otlp/a.b": {"endpoint": "y:4317"}, "otlp/c.d": {"endpoint": [1, 2]}}})
        );
    }

    #[test]
    fn bad_sets_are_errors_naming_the_argument() {
        let mut root = tree("a: 1", 0);
        let e = apply_set(&mut root, "a.b=2", 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--set a.b=2: a: cannot set a key inside a scalar"
        );
        let e = apply_set(&mut root, "novalue", 1).unwrap_err();
        assert_eq!(e.to_string(), "--set novalue: expected `key=value`");
        let e = apply_set(&mut root, "a..b=1", 1).unwrap_err();
        assert_eq!(e.to_string(), "--set a..b=1: `a..b` has an empty key");
        assert!(
            apply_set(&mut root, "a=[1", 1)
                .unwrap_err()
                .to_string()
                .starts_with("--set a=[1: invalid YAML")
        );
    }
}
