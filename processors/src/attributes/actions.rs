//! The actions, ready to run: keys as bytes, patterns compiled, literal values encoded once as
//! the `AnyValue` bytes they become, and each action's effect on one item's attribute list.
//!
//! Where an item carries a key more than once (OTLP forbids it; it happens), `update`,
//! `upsert`, `delete` and `hash` act on every copy, and `insert` and `from_attribute` look at
//! the first.

use regex::Regex;
use ring::digest::{SHA256, digest};
use weir_core::batch::rewrite::{
    Attributes, ValueRef, put_bool_value, put_double_value, put_int_value, put_string_value,
    read_value,
};

use super::config::{ActionConfig, ActionKind, AttributeValue, ConvertedType, regex_reason};
use super::convert::convert;

/// One action of the list.
#[derive(Debug)]
pub(crate) enum Action {
    Insert {
        key: Vec<u8>,
        value: Source,
    },
    Update {
        key: Vec<u8>,
        value: Source,
    },
    Upsert {
        key: Vec<u8>,
        value: Source,
    },
    Delete(Target),
    Hash(Target),
    Extract {
        key: Vec<u8>,
        pattern: Regex,
        /// The groups' names, in group order (group 1 first).
        names: Vec<Vec<u8>>,
    },
    Convert {
        key: Vec<u8>,
        to: ConvertedType,
    },
}

/// Where a written value comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// An encoded `AnyValue`.
    Literal(Vec<u8>),
    /// Another attribute's key.
    From(Vec<u8>),
}

/// Which attributes `delete` and `hash` select.
#[derive(Debug)]
pub(crate) enum Target {
    Key(Vec<u8>),
    Pattern(Regex),
}

impl Target {
    fn matches(&self, key: &[u8]) -> bool {
        match self {
            Target::Key(k) => key == k.as_slice(),
            // Keys are UTF-8 in every request the wire walk accepted.
            Target::Pattern(p) => std::str::from_utf8(key).is_ok_and(|k| p.is_match(k)),
        }
    }
}

impl Action {
    /// The runnable form of a validated action; the message says what is wrong otherwise.
    pub(crate) fn compile(config: &ActionConfig) -> Result<Action, String> {
        let kind = config.action.ok_or("needs `action`")?;
        let key = || {
            config
                .key
                .as_ref()
                .map(|k| k.as_bytes().to_vec())
                .ok_or_else(|| format!("`{}` needs `key`", kind.as_str()))
        };
        let source = || match (&config.value, &config.from_attribute) {
            (Some(value), None) => Ok(Source::Literal(encode(value))),
            (None, Some(from)) => Ok(Source::From(from.as_bytes().to_vec())),
            _ => Err("needs either `value` or `from_attribute`".to_string()),
        };
        let target = || match (&config.key, &config.pattern) {
            (Some(key), None) => Ok(Target::Key(key.as_bytes().to_vec())),
            (None, Some(pattern)) => Regex::new(pattern)
                .map(Target::Pattern)
                .map_err(|e| format!("invalid pattern: {}", regex_reason(&e))),
            _ => Err("needs either `key` or `pattern`".to_string()),
        };
        Ok(match kind {
            ActionKind::Insert => Action::Insert {
                key: key()?,
                value: source()?,
            },
            ActionKind::Update => Action::Update {
                key: key()?,
                value: source()?,
            },
            ActionKind::Upsert => Action::Upsert {
                key: key()?,
                value: source()?,
            },
            ActionKind::Delete => Action::Delete(target()?),
            ActionKind::Hash => Action::Hash(target()?),
            ActionKind::Extract => {
                let pattern = config
                    .pattern
                    .as_deref()
                    .ok_or("`extract` needs `pattern`")?;
                let pattern = Regex::new(pattern)
                    .map_err(|e| format!("invalid pattern: {}", regex_reason(&e)))?;
                let names = pattern
                    .capture_names()
                    .skip(1)
                    .map(|n| n.map(|n| n.as_bytes().to_vec()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("`extract` needs every group of `pattern` named")?;
                Action::Extract {
                    key: key()?,
                    pattern,
                    names,
                }
            }
            ActionKind::Convert => Action::Convert {
                key: key()?,
                to: config
                    .converted_type
                    .ok_or("`convert` needs `converted_type`")?,
            },
        })
    }

    /// Applies the action to one item's attributes.
    pub(crate) fn apply(&self, attributes: &mut Attributes<'_>) {
        match self {
            Action::Insert { key, value } => {
                if attributes.find(key).is_none() {
                    insert(attributes, key, value);
                }
            }
            Action::Update { key, value } => update(attributes, key, value),
            Action::Upsert { key, value } => {
                if attributes.find(key).is_some() {
                    update(attributes, key, value);
                } else {
                    insert(attributes, key, value);
                }
            }
            Action::Delete(target) => {
                for i in 0..attributes.len() {
                    if !attributes.is_removed(i) && target.matches(attributes.key(i)) {
                        attributes.remove(i);
                    }
                }
            }
            Action::Hash(target) => {
                let mut hashed = [0u8; HASHED_LEN];
                for i in 0..attributes.len() {
                    if !attributes.is_removed(i) && target.matches(attributes.key(i)) {
                        let len = hash(attributes.value(i), &mut hashed);
                        attributes.set_value(i, hashed.get(..len));
                    }
                }
            }
            Action::Extract {
                key,
                pattern,
                names,
            } => extract(attributes, key, pattern, names),
            Action::Convert { key, to } => {
                for i in 0..attributes.len() {
                    if attributes.is_removed(i) || attributes.key(i) != key.as_slice() {
                        continue;
                    }
                    if let Some(converted) = attributes.value(i).and_then(|v| convert(v, *to)) {
                        attributes.set_value(i, Some(&converted));
                    }
                }
            }
        }
    }
}

/// Upserts each named group of `pattern`'s first match in the string value of `key` (the
/// first copy of the key) as an attribute; a group that took no part gives the empty string,
/// as Go's `FindStringSubmatch` does in otelcol.
fn extract(attributes: &mut Attributes<'_>, key: &[u8], pattern: &Regex, names: &[Vec<u8>]) {
    let Some(i) = attributes.find(key) else {
        return;
    };
    let Some(ValueRef::String(text)) = attributes.value(i).map(read_value) else {
        return;
    };
    // Keys and string values are UTF-8 in every request the wire walk accepted.
    let Some(captures) = std::str::from_utf8(text)
        .ok()
        .and_then(|text| pattern.captures(text))
    else {
        return;
    };
    let values: Vec<Vec<u8>> = (1..=names.len())
        .map(|group| {
            let mut value = Vec::new();
            let text = captures.get(group).map_or("", |m| m.as_str());
            put_string_value(&mut value, text.as_bytes());
            value
        })
        .collect();
    for (name, value) in names.iter().zip(&values) {
        let mut found = false;
        for j in 0..attributes.len() {
            if !attributes.is_removed(j) && attributes.key(j) == name.as_slice() {
                attributes.set_value(j, Some(value));
                found = true;
            }
        }
        if !found {
            attributes.push(name, Some(value));
        }
    }
}

fn insert(attributes: &mut Attributes<'_>, key: &[u8], value: &Source) {
    match value {
        Source::Literal(value) => attributes.push(key, Some(value)),
        Source::From(from) => {
            if let Some(from) = attributes.find(from) {
                attributes.push_copy(key, from);
            }
        }
    }
}

fn update(attributes: &mut Attributes<'_>, key: &[u8], value: &Source) {
    let from = match value {
        Source::Literal(_) => None,
        Source::From(from) => match attributes.find(from) {
            Some(i) => Some(i),
            None => return,
        },
    };
    for i in 0..attributes.len() {
        if attributes.is_removed(i) || attributes.key(i) != key {
            continue;
        }
        match (value, from) {
            (Source::Literal(value), _) => attributes.set_value(i, Some(value)),
            (_, Some(from)) => attributes.copy_value(from, i),
            (Source::From(_), None) => {}
        }
    }
}

/// The `AnyValue` a literal becomes.
fn encode(value: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        AttributeValue::String(s) => put_string_value(&mut out, s.as_bytes()),
        AttributeValue::Int(i) => put_int_value(&mut out, *i),
        AttributeValue::Double(d) => put_double_value(&mut out, *d),
        AttributeValue::Bool(b) => put_bool_value(&mut out, *b),
    }
    out
}

/// An encoded `AnyValue` holding 64 hex digits: key, length, digits.
const HASHED_LEN: usize = 2 + 64;

/// Writes into `out` the encoded `AnyValue` that `hash` replaces `value` (an encoded
/// `AnyValue`, or none) with, and returns its length: the lowercase hex SHA-256 of the value's
/// bytes as otelcol's hasher takes them, or the empty string for what it does not hash.
pub(crate) fn hash(value: Option<&[u8]>, out: &mut [u8; HASHED_LEN]) -> usize {
    let number;
    let digested = match value.map(read_value) {
        Some(ValueRef::String(text)) if !text.is_empty() => digest(&SHA256, text),
        Some(ValueRef::Bool(b)) => digest(&SHA256, &[u8::from(b)]),
        Some(ValueRef::Int(i)) => {
            number = i.to_le_bytes();
            digest(&SHA256, &number)
        }
        Some(ValueRef::Double(d)) => {
            number = d.to_bits().to_le_bytes();
            digest(&SHA256, &number)
        }
        _ => {
            out[0] = 0x0a; // string_value, empty
            out[1] = 0;
            return 2;
        }
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out[0] = 0x0a;
    out[1] = 64;
    for (pair, byte) in out[2..].chunks_exact_mut(2).zip(digested.as_ref()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    HASHED_LEN
}
