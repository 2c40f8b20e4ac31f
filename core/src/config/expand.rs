//! `${env:VAR}`, `${VAR}`, `${env:VAR:-default}` and `$$` in scalar values, with otelcol's
//! semantics:
//!
//! - a plain scalar that is exactly one reference takes the variable's value re-typed as YAML,
//!   so `${env:PORT}` can be an int and `${env:ON}` a bool; a quoted scalar stays a string, which
//!   is how a config says "this is text even if it looks like a number";
//! - a reference inside a longer string is substituted as text;
//! - an unset variable without a default expands to nothing, with a warning naming it; the
//!   default applies only when the variable is unset (a set-but-empty variable stays empty);
//! - a mapping value that is one reference expanding to nothing (or `null`) removes its key, so
//!   the field keeps its default, as otelcol leaves such a field unset; a literal empty value
//!   (`grpc:`) is kept, since components give that a meaning;
//! - `$$` is a literal `$`, and `$VAR` without braces is left alone (otelcol deprecated it);
//! - keys are not expanded, and substituted values are not expanded again.

use super::error::{ConfigError, Location};
use super::source;
use super::tree::{Node, Style, Tree};

/// Looks up an environment variable; the real environment outside tests.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What `expand` found besides the expanded tree.
#[derive(Default)]
pub(crate) struct Report {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<String>,
}

/// Expands every scalar value under `node` in place. `path` is the dotted path of `node`.
/// Returns true when `node` was one reference that expanded to nothing, so a mapping drops it.
pub(crate) fn expand(node: &mut Node, path: &str, env: Env<'_>, report: &mut Report) -> bool {
    match &mut node.tree {
        Tree::Map(entries) => {
            entries.retain_mut(|entry| {
                let child = join(path, &entry.key);
                !expand(&mut entry.node, &child, env, report)
            });
            false
        }
        Tree::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand(item, &join(path, &i.to_string()), env, report);
            }
            false
        }
        Tree::Scalar { text, style } => {
            if !text.contains('$') {
                return false;
            }
            let parts = match split(text) {
                Ok(parts) => parts,
                Err(message) => {
                    report
                        .errors
                        .push(ConfigError::invalid(&node.loc, path, message));
                    return false;
                }
            };
            let mut lookup = |r: &Reference| -> String {
                match (env(&r.name), &r.default) {
                    (Some(value), _) => value,
                    (None, Some(default)) => default.clone(),
                    (None, None) => {
                        report.warnings.push(format!(
                            "{}: {path}: environment variable `{}` is not set; using an empty value",
                            node.loc, r.name
                        ));
                        String::new()
                    }
                }
            };
            if let ([Part::Reference(r)], Style::Plain) = (parts.as_slice(), *style) {
                let value = lookup(r);
                *node = retype(&value, &node.loc);
                return node.is_null();
            }
            let mut out = String::new();
            for part in &parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Reference(r) => out.push_str(&lookup(r)),
                }
            }
            *text = out;
            // The result is text even if it looks like a number: only a whole reference is
            // re-typed, so `${env:A}${env:B}` cannot turn into a bool by accident.
            *style = Style::Text;
            false
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A variable's value read as YAML, placed where the reference was. A value YAML would read
/// differently from its text (a `#` starting a comment, a syntax error) stays the literal text.
fn retype(value: &str, loc: &Location) -> Node {
    let literal = Node {
        tree: Tree::Scalar {
            text: value.to_string(),
            style: Style::Text,
        },
        loc: loc.clone(),
    };
    let Ok(mut parsed) = source::parse(loc.source.clone(), loc.order, value) else {
        return literal;
    };
    parsed.relocate(loc);
    match &parsed.tree {
        Tree::Scalar {
            text,
            style: Style::Plain,
        } if text != value.trim() => literal,
        Tree::Map(entries) if entries.is_empty() && !value.trim().starts_with('{') => {
            // `parse` reads an empty document as an empty mapping; an empty value is null.
            Node::null(loc.clone())
        }
        _ => parsed,
    }
}

#[derive(Debug, PartialEq)]
struct Reference {
    name: String,
    default: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Part {
    Text(String),
    Reference(Reference),
}

/// Splits a scalar into literal text and `${…}` references.
fn split(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            literal.push('$');
            rest = tail;
        } else if let Some(body_on) = after.strip_prefix('{') {
            let close = matching_brace(body_on)
                .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
            let reference = parse_reference(&body_on[..close])?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Reference(reference));
            rest = &body_on[close + 1..];
        } else {
            literal.push('$');
            rest = after;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(parts)
}

/// The index of the `}` closing a `${`, allowing braces inside a default value.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `env:NAME`, `NAME`, either with `:-default`.
fn parse_reference(body: &str) -> Result<Reference, String> {
    let spec = match body.split_once(':') {
        Some(("env", spec)) => spec,
        Some((scheme, _)) if !scheme.is_empty() && is_scheme(scheme) && !body.contains(":-") => {
            return Err(format!(
                "`${{{body}}}` uses the `{scheme}` provider; Weir expands only environment variables (`${{env:NAME}}`)"
            ));
        }
        _ => body,
    };
    let (name, default) = match spec.split_once(":-") {
        Some((name, default)) => (name, Some(default.to_string())),
        None => (spec, None),
    };
    if !is_var_name(name) {
        return Err(format!(
            "`${{{body}}}`: `{name}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    Ok(Reference {
        name: name.to_string(),
        default,
    })
}

fn is_scheme(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

fn is_var_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn expand_yaml(yaml: &str, vars: &[(&str, &str)]) -> (serde_json::Value, Report) {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.get(name).cloned();
        let mut node = source::parse("t.yaml".into(), 0, yaml).unwrap();
        let mut report = Report::default();
        expand(&mut node, "", &env, &mut report);
        (node.to_json(), report)
    }

    #[test]
    fn whole_reference_is_retyped_as_yaml() {
        let (v, r) = expand_yaml(
            "port: ${env:PORT}\non: ${ON}\nlist: ${env:LIST}\nname: ${env:NUM}\nq: \"${env:PORT}\"",
            &[
                ("PORT", "4317"),
                ("ON", "true"),
                ("LIST", "[a, b]"),
                ("NUM", "007x"),
            ],
        );
        assert_eq!(
            v,
            json!({"port": 4317, "on": true, "list": ["a", "b"], "name": "007x", "q": "4317"})
        );
        assert!(r.errors.is_empty() && r.warnings.is_empty());
    }

    #[test]
    fn references_inside_text_are_substituted_as_text() {
        let (v, _) = expand_yaml(
            "endpoint: \"${env:HOST}:4317\"\nx: a${B}c",
            &[("HOST", "h"), ("B", "1")],
        );
        assert_eq!(v, json!({"endpoint": "h:4317", "x": "a1c"}));
    }

    #[test]
    fn defaults_apply_only_when_unset() {
        let (v, r) = expand_yaml(
            "a: ${env:UNSET:-9}\nb: ${env:EMPTY:-9}\nc: x${UNSET:-{y}}",
            &[("EMPTY", "")],
        );
        assert_eq!(v, json!({"a": 9, "c": "x{y}"}));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn missing_variable_is_empty_with_a_warning() {
        let (v, r) = expand_yaml("a:\n  b: ${env:NOPE}\n  c:\n    - ${env:NOPE}\n  d:", &[]);
        assert_eq!(v, json!({"a": {"c": [null], "d": null}}));
        assert_eq!(
            r.warnings[0],
            "t.yaml:2:6: a.b: environment variable `NOPE` is not set; using an empty value"
        );
    }

    #[test]
    fn dollar_escapes_and_bare_dollars_are_kept() {
        let (v, _) = expand_yaml(
            "a: $$HOME\nb: $${env:X}\nc: $X and $\nd: cost $$5",
            &[("X", "no")],
        );
        assert_eq!(
            v,
            json!({"a": "$HOME", "b": "${env:X}", "c": "$X and $", "d": "cost $5"})
        );
    }

    #[test]
    fn a_comment_in_a_value_does_not_truncate_it() {
        let (v, _) = expand_yaml("p: ${env:P}", &[("P", "abc #1")]);
        assert_eq!(v, json!({"p": "abc #1"}));
    }

    #[test]
    fn bad_references_are_errors_with_positions() {
        let (_, r) = expand_yaml("a: ${env:X\nb: ${file:/tmp/x}\nc: ${1BAD}", &[]);
        let msgs: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(
            msgs[0].starts_with("t.yaml:1:4: a: `${` without a closing `}`"),
            "{}",
            msgs[0]
        );
        assert!(msgs[1].contains("uses the `file` provider"), "{}", msgs[1]);
        assert!(
            msgs[2].contains("`1BAD` is not an environment variable name"),
            "{}",
            msgs[2]
        );
    }
}
