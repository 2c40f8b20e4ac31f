//! The positioned YAML tree every loading step works on. Scalars stay text (with whether they
//! were quoted) until the end, because `${env:…}` expansion must happen before YAML typing.

use serde_json::Value;

use super::error::Location;

/// How a scalar was written; only plain scalars are typed (`8080` is a number, `"8080"` text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Unquoted.
    Plain,
    /// Quoted, block (`|`, `>`), or tagged `!!str`: always a string.
    Text,
}

/// A YAML value with positions.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tree {
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub tree: Tree,
    pub loc: Location,
}

/// A mapping entry; the key keeps its own position for "unknown field" errors.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_loc: Location,
    pub node: Node,
}

impl Node {
    pub fn null(loc: Location) -> Self {
        Node {
            tree: Tree::Scalar {
                text: String::new(),
                style: Style::Plain,
            },
            loc,
        }
    }

    pub fn empty_map(loc: Location) -> Self {
        Node {
            tree: Tree::Map(Vec::new()),
            loc,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.tree, Tree::Scalar { text, style: Style::Plain } if is_null_text(text))
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.tree {
            Tree::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    /// The scalar's text, for nodes that must be names or paths.
    pub fn as_text(&self) -> Option<&str> {
        match &self.tree {
            Tree::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// A short description for "expected a mapping, found …" messages.
    pub fn describe(&self) -> &'static str {
        match &self.tree {
            Tree::Scalar { .. } if self.is_null() => "an empty value",
            Tree::Scalar { .. } => "a scalar",
            Tree::Seq(_) => "a list",
            Tree::Map(_) => "a mapping",
        }
    }

    /// The deepest node along `path` (map keys or list indices) and whether the whole path
    /// resolved. When the last step is a map key, the key's position is returned, since that
    /// is what a reader looks for.
    pub fn locate(&self, path: &[String]) -> (Location, bool) {
        let mut node = self;
        let mut loc = self.loc.clone();
        for step in path {
            let next = match &node.tree {
                Tree::Map(entries) => entries
                    .iter()
                    .find(|e| &e.key == step)
                    .map(|e| (&e.node, &e.key_loc)),
                Tree::Seq(items) => step
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|n| (n, &n.loc)),
                Tree::Scalar { .. } => None,
            };
            match next {
                Some((child, at)) => {
                    node = child;
                    loc = at.clone();
                }
                None => return (loc, false),
            }
        }
        (loc, true)
    }

    /// The position of the value at `path`, rather than its key.
    pub fn locate_value(&self, path: &[String]) -> Location {
        let mut node = self;
        for step in path {
            let next = match &node.tree {
                Tree::Map(entries) => entries.iter().find(|e| &e.key == step).map(|e| &e.node),
                Tree::Seq(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
                Tree::Scalar { .. } => None,
            };
            match next {
                Some(child) => node = child,
                None => break,
            }
        }
        node.loc.clone()
    }

    /// Every location in the tree set to `loc`: a value substituted from an environment variable
    /// or `--set` has no position of its own worth reporting.
    pub fn relocate(&mut self, loc: &Location) {
        self.loc = loc.clone();
        match &mut self.tree {
            Tree::Scalar { .. } => {}
            Tree::Seq(items) => items.iter_mut().for_each(|n| n.relocate(loc)),
            Tree::Map(entries) => entries.iter_mut().for_each(|e| {
                e.key_loc = loc.clone();
                e.node.relocate(loc);
            }),
        }
    }

    /// The node as JSON, scalars typed by YAML 1.2's core schema.
    pub fn to_json(&self) -> Value {
        match &self.tree {
            Tree::Scalar {
                text,
                style: Style::Text,
            } => Value::String(text.clone()),
            Tree::Scalar {
                text,
                style: Style::Plain,
            } => plain_scalar(text),
            Tree::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Tree::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.node.to_json()))
                    .collect(),
            ),
        }
    }
}

fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// YAML 1.2 core schema: null, bool, int (decimal, `0x`, `0o`), float (`.inf`, `.nan`), else
/// string. Non-finite floats stay strings because JSON cannot hold them.
fn plain_scalar(text: &str) -> Value {
    if is_null_text(text) {
        return Value::Null;
    }
    match text {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(int) = parse_int(text) {
        return int;
    }
    if text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn parse_int(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Value::from(value))
    } else {
        Some(Value::from(magnitude))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        assert_eq!(plain_scalar(""), json!(null));
        assert_eq!(plain_scalar("~"), json!(null));
        assert_eq!(plain_scalar("true"), json!(true));
        assert_eq!(plain_scalar("4317"), json!(4317));
        assert_eq!(plain_scalar("-12"), json!(-12));
        assert_eq!(plain_scalar("0x1F"), json!(31));
        assert_eq!(plain_scalar("1.5"), json!(1.5));
        assert_eq!(plain_scalar("1e3"), json!(1000.0));
        assert_eq!(plain_scalar("5s"), json!("5s"));
        assert_eq!(plain_scalar("yes"), json!("yes"));
        assert_eq!(plain_scalar(".inf"), json!(".inf"));
        assert_eq!(plain_scalar("18446744073709551615"), json!(u64::MAX));
        assert_eq!(plain_scalar("-"), json!("-"));
        assert_eq!(plain_scalar("1.2.3"), json!("1.2.3"));
    }
}
