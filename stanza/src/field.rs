//! Field references as stanza writes them (`body`, `body.a.b`, `attributes["k.x"]`,
//! `resource.host`), and reading, writing and removing the value they name in an entry.

use std::fmt;

use crate::entry::Entry;
use crate::value::{Map, Value};

/// Which part of the entry a field lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// The body.
    Body,
    /// The attributes map.
    Attributes,
    /// The resource map.
    Resource,
}

/// A parsed field reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The part of the entry.
    pub root: Root,
    /// Map keys below the root; empty for the root itself.
    pub keys: Vec<String>,
}

impl Field {
    /// The whole body.
    pub fn body() -> Field {
        Field {
            root: Root::Body,
            keys: Vec::new(),
        }
    }

    /// The whole attributes map.
    pub fn attributes() -> Field {
        Field {
            root: Root::Attributes,
            keys: Vec::new(),
        }
    }

    /// `attributes[key]`.
    pub fn attribute(key: &str) -> Field {
        Field {
            root: Root::Attributes,
            keys: vec![key.to_string()],
        }
    }

    /// Parses `body`, `body.a.b`, `attributes["a.b"]`, `resource.x`; `$body`-style roots
    /// (stanza's older spelling) are accepted too.
    pub fn parse(text: &str) -> Result<Field, String> {
        let s = text.trim();
        let s = s.strip_prefix('$').unwrap_or(s);
        let (root, mut rest) = [
            ("body", Root::Body),
            ("attributes", Root::Attributes),
            ("resource", Root::Resource),
        ]
        .into_iter()
        .find_map(|(name, root)| {
            let rest = s.strip_prefix(name)?;
            (rest.is_empty() || rest.starts_with(['.', '['])).then_some((root, rest))
        })
        .ok_or_else(|| {
            format!(
                "`{text}` is not a field: it must start with `body`, `attributes` or `resource`"
            )
        })?;
        let mut keys = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(format!("`{text}` has an empty key"));
                }
                keys.push(after[..end].to_string());
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let quote = after
                    .chars()
                    .next()
                    .filter(|c| *c == '"' || *c == '\'')
                    .ok_or_else(|| format!("`{text}`: a key in brackets must be quoted"))?;
                let inner = &after[1..];
                let close = inner
                    .find(quote)
                    .ok_or_else(|| format!("`{text}`: unterminated quoted key"))?;
                keys.push(inner[..close].to_string());
                rest = inner[close + 1..]
                    .strip_prefix(']')
                    .ok_or_else(|| format!("`{text}`: expected `]` after the quoted key"))?;
            } else {
                return Err(format!("`{text}`: expected `.` or `[` at `{rest}`"));
            }
        }
        Ok(Field { root, keys })
    }

    /// Whether this is `body`, `attributes` or `resource` itself.
    pub fn is_root(&self) -> bool {
        self.keys.is_empty()
    }

    /// The value, if the entry has it. `attributes` and `resource` themselves have no `Value`
    /// to borrow; use [`Field::get_owned`] for them.
    pub fn get<'e>(&self, entry: &'e Entry) -> Option<&'e Value> {
        match self.root {
            Root::Body => walk(&entry.body, &self.keys),
            Root::Attributes => walk_map(&entry.attributes, &self.keys),
            Root::Resource => walk_map(&entry.resource, &self.keys),
        }
    }

    /// The value, copied; roots of maps come back as maps.
    pub fn get_owned(&self, entry: &Entry) -> Option<Value> {
        match (self.root, self.keys.is_empty()) {
            (Root::Attributes, true) => Some(Value::Map(entry.attributes.clone())),
            (Root::Resource, true) => Some(Value::Map(entry.resource.clone())),
            _ => self.get(entry).cloned(),
        }
    }

    /// Writes `value`, making the maps on the way. A map written into attributes or resource
    /// merges into what is there, as stanza does; in the body it replaces.
    pub fn set(&self, entry: &mut Entry, value: Value) -> Result<(), String> {
        match self.root {
            Root::Body => {
                let Some((last, parents)) = self.keys.split_last() else {
                    entry.body = value;
                    return Ok(());
                };
                if !matches!(entry.body, Value::Map(_)) {
                    entry.body = Value::Map(Map::new());
                }
                let Value::Map(map) = &mut entry.body else {
                    unreachable!("the body was just made a map")
                };
                descend(map, parents).insert(last.clone(), value);
                Ok(())
            }
            Root::Attributes => set_in_map(&mut entry.attributes, &self.keys, value, "attributes"),
            Root::Resource => set_in_map(&mut entry.resource, &self.keys, value, "resource"),
        }
    }

    /// Removes and returns the value; removing a root empties it.
    pub fn delete(&self, entry: &mut Entry) -> Option<Value> {
        let map = match self.root {
            Root::Body => {
                let Some((last, parents)) = self.keys.split_last() else {
                    return Some(std::mem::take(&mut entry.body));
                };
                let Value::Map(map) = &mut entry.body else {
                    return None;
                };
                return walk_map_mut(map, parents)?.remove(last);
            }
            Root::Attributes => &mut entry.attributes,
            Root::Resource => &mut entry.resource,
        };
        let Some((last, parents)) = self.keys.split_last() else {
            return Some(Value::Map(std::mem::take(map)));
        };
        walk_map_mut(map, parents)?.remove(last)
    }
}

fn walk<'v>(value: &'v Value, keys: &[String]) -> Option<&'v Value> {
    keys.iter().try_fold(value, |v, key| v.as_map()?.get(key))
}

fn walk_map<'v>(map: &'v Map, keys: &[String]) -> Option<&'v Value> {
    let (first, rest) = keys.split_first()?;
    walk(map.get(first)?, rest)
}

fn walk_map_mut<'v>(map: &'v mut Map, keys: &[String]) -> Option<&'v mut Map> {
    keys.iter().try_fold(map, |m, key| match m.get_mut(key) {
        Some(Value::Map(inner)) => Some(inner),
        _ => None,
    })
}

/// The map at `keys` below `map`, replacing whatever non-map stands in the way.
fn descend<'v>(map: &'v mut Map, keys: &[String]) -> &'v mut Map {
    keys.iter().fold(map, |m, key| {
        let slot = m
            .entry(key.clone())
            .or_insert_with(|| Value::Map(Map::new()));
        if !matches!(slot, Value::Map(_)) {
            *slot = Value::Map(Map::new());
        }
        match slot {
            Value::Map(inner) => inner,
            _ => unreachable!("the slot was just made a map"),
        }
    })
}

fn set_in_map(map: &mut Map, keys: &[String], value: Value, root: &str) -> Result<(), String> {
    let target = descend(map, keys.split_last().map_or(&[][..], |(_, p)| p));
    match (keys.last(), value) {
        (None, Value::Map(m)) => {
            map.extend(m);
            Ok(())
        }
        (None, other) => Err(format!("cannot set {root} itself to a {}", other.kind())),
        (Some(last), Value::Map(m)) => {
            match target.get_mut(last) {
                Some(Value::Map(existing)) => existing.extend(m),
                _ => {
                    target.insert(last.clone(), Value::Map(m));
                }
            }
            Ok(())
        }
        (Some(last), other) => {
            target.insert(last.clone(), other);
            Ok(())
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.root {
            Root::Body => "body",
            Root::Attributes => "attributes",
            Root::Resource => "resource",
        })?;
        for key in &self.keys {
            if key.contains('"') {
                write!(f, "['{key}']")?;
            } else if key.trim() != key || key.is_empty() || key.contains(['.', '[', ']', '\'']) {
                write!(f, "[\"{key}\"]")?;
            } else {
                write!(f, ".{key}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dotted_and_bracketed_keys() {
        let f = Field::parse(r#"attributes["k.with.dots"].inner"#).unwrap();
        assert_eq!(f.root, Root::Attributes);
        assert_eq!(f.keys, vec!["k.with.dots", "inner"]);
        assert_eq!(Field::parse("body.a.b").unwrap().keys, vec!["a", "b"]);
        assert!(Field::parse("body").unwrap().is_root());
        assert_eq!(Field::parse("$resource.x").unwrap().root, Root::Resource);
        assert_eq!(f.to_string(), r#"attributes["k.with.dots"].inner"#);
    }

    proptest::proptest! {
        #[test]
        fn a_field_reads_back_as_it_displays(
            root in 0..3u8,
            keys in proptest::collection::vec("[^\"']*|[^']*\"[^']*|[^\"]*'[^\"]*", 0..4),
        ) {
            let root = [Root::Body, Root::Attributes, Root::Resource][usize::from(root)];
            let field = Field { root, keys };
            proptest::prop_assert_eq!(Field::parse(&field.to_string()), Ok(field));
        }
    }

    #[test]
    fn refuses_fields_without_a_root() {
        assert!(Field::parse("message").is_err());
        assert!(Field::parse("bodyx").is_err());
        assert!(Field::parse("body..x").is_err());
        assert!(Field::parse("body[x]").is_err());
        assert!(Field::parse(r#"body["x"#).is_err());
    }

    #[test]
    fn set_makes_the_maps_on_the_way_and_delete_takes_back() {
        let mut e = Entry::new("line", 0);
        let f = Field::parse("body.a.b").unwrap();
        f.set(&mut e, Value::Int(1)).unwrap();
        assert_eq!(f.get(&e), Some(&Value::Int(1)));
        assert_eq!(f.delete(&mut e), Some(Value::Int(1)));
        assert_eq!(f.get(&e), None);
        let a = Field::parse("attributes.x.y").unwrap();
        a.set(&mut e, "v".into()).unwrap();
        assert_eq!(a.get(&e), Some(&Value::from("v")));
    }

    #[test]
    fn a_map_set_into_attributes_merges() {
        let mut e = Entry::new("line", 0);
        e.attributes.insert("keep".into(), Value::Int(1));
        let mut m = Map::new();
        m.insert("new".into(), Value::Int(2));
        Field::attributes().set(&mut e, Value::Map(m)).unwrap();
        assert_eq!(e.attributes.len(), 2);
        assert!(Field::attributes().set(&mut e, Value::Int(3)).is_err());
    }
}
