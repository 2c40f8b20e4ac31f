//! Configuration of the `attributes` processor: otelcol's `actions` list with its names
//! (`key`, `pattern`, `action`, `value`, `from_attribute`), and the checks otelcol makes on each
//! action, reported with the action's place (`actions.2.pattern …`) so the loader can point at
//! the line.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;

/// Inserts, updates, deletes or hashes the attributes of spans, log records and metric data
/// points, editing the encoded batch without decoding it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AttributesConfig {
    /// The actions, applied in order to the attributes of every span, log record and metric
    /// data point (not to resource, scope, event, link or exemplar attributes). At least one.
    /// Each has `action` and `key` or `pattern`, and for `insert`, `update` and `upsert`
    /// either `value` or `from_attribute`.
    pub actions: Vec<ActionConfig>,
}

/// One action of the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// The attribute's key. `insert`, `update`, `upsert`, `extract` and `convert` need it;
    /// `delete` and `hash` take it or `pattern`.
    #[serde(default)]
    pub key: Option<String>,
    /// For `delete` and `hash`, instead of `key`: a regular expression (Rust `regex` syntax)
    /// that selects every attribute whose key it matches, anywhere in the key as in otelcol
    /// (anchor it with `^…$` to match whole keys). For `extract`, beside `key`: the regular
    /// expression run on the string value of `key`, every group of it named
    /// (`^(?P<http_method>\w+) (?P<http_path>.*)$`); each group's text is upserted as an
    /// attribute of that name (an empty string for a group that did not take part).
    #[serde(default)]
    pub pattern: Option<String>,
    /// `insert` (add where the key is absent), `update` (change where present), `upsert`
    /// (both), `delete` (remove), `hash` (replace the value by the lowercase hex SHA-256 of its
    /// bytes: a string's UTF-8 bytes, a bool as one byte 1 or 0, an int or a double as its
    /// eight little-endian bytes; an empty string and values of other kinds become the empty
    /// string, as in otelcol), `extract` (`pattern`'s named groups from the string value of
    /// `key` into attributes of those names), `convert` (the value of `key` to
    /// `converted_type`). Required.
    // An `Option` only so that a missing or unknown action is reported once, by `validate` or
    // as the unknown variant, instead of serde also calling the field missing once the loader
    // has taken the bad value out to look for further problems.
    #[serde(default)]
    pub action: Option<ActionKind>,
    /// The value `insert`, `update` and `upsert` write: a string, integer, double or boolean,
    /// typed as YAML types it (`"42"` is a string, `42` an integer).
    #[serde(default)]
    pub value: Option<AttributeValue>,
    /// For `insert`, `update` and `upsert`, instead of `value`: copy the value of this
    /// attribute of the same item; where it is missing the action does nothing.
    #[serde(default)]
    pub from_attribute: Option<String>,
    /// For `convert`: `int`, `double` or `string`. To `int`: a double is truncated toward
    /// zero, a bool is 1 or 0, a string is parsed as a base-10 integer; to `double`: an int
    /// or a string parsed as a number, a bool 1.0 or 0.0; to `string`: the value as text (a
    /// double as JavaScript prints it, bytes in base64, an array or map as JSON). A value that
    /// does not convert (`"abc"` to `int`) is left as it is, as in otelcol.
    #[serde(default)]
    pub converted_type: Option<ConvertedType>,
}

/// The type `convert` turns a value into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConvertedType {
    /// A 64-bit integer.
    Int,
    /// A double.
    Double,
    /// A string.
    String,
}

/// What an action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// Adds the attribute where the key is absent.
    Insert,
    /// Changes the value where the key is present.
    Update,
    /// Adds or changes.
    Upsert,
    /// Removes the attribute.
    Delete,
    /// Replaces the value by its SHA-256.
    Hash,
    /// Extracts named regex groups from a string value into attributes.
    Extract,
    /// Converts the value to another type.
    Convert,
}

impl ActionKind {
    /// The name in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Insert => "insert",
            ActionKind::Update => "update",
            ActionKind::Upsert => "upsert",
            ActionKind::Delete => "delete",
            ActionKind::Hash => "hash",
            ActionKind::Extract => "extract",
            ActionKind::Convert => "convert",
        }
    }

    /// Whether the action writes a value (`value` or `from_attribute`).
    pub fn writes(self) -> bool {
        matches!(
            self,
            ActionKind::Insert | ActionKind::Update | ActionKind::Upsert
        )
    }
}

/// A literal attribute value, typed by YAML.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A string.
    String(String),
    /// An integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

// By hand, so a map or a list is refused with a message that says what would do, instead of
// serde's "did not match any variant".
impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Scalar;
        impl Visitor<'_> for Scalar {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer, double or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue::String(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
                i64::try_from(v)
                    .map(AttributeValue::Int)
                    .map_err(|_| E::custom(format!("integer {v} is larger than an int64")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Double(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Bool(v))
            }
        }
        deserializer.deserialize_any(Scalar)
    }
}

impl JsonSchema for AttributeValue {
    fn schema_name() -> Cow<'static, str> {
        "AttributeValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "integer", "number", "boolean"] })
    }
}

impl ComponentConfig for AttributesConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.actions.is_empty() {
            problems.push("actions must list at least one action".to_string());
        }
        for (i, action) in self.actions.iter().enumerate() {
            action.check(&format!("actions.{i}"), &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl ActionConfig {
    /// Adds what is wrong with this action, at `at`, to `problems`. Messages start with the
    /// field's path so the config loader can point at its line.
    pub(crate) fn check(&self, at: &str, problems: &mut Vec<String>) {
        let Some(kind) = self.action else {
            problems.push(format!(
                "{at} needs `action`: `insert`, `update`, `upsert`, `delete`, `hash`, `extract` \
                 or `convert`"
            ));
            return;
        };
        let name = kind.as_str();
        match kind {
            ActionKind::Extract => self.check_extract(at, problems),
            ActionKind::Convert => {
                self.check_key_only(at, "pattern", self.pattern.is_some(), problems)
            }
            _ => self.check_key_or_pattern(kind, at, problems),
        }
        if kind.writes() {
            match (&self.value, &self.from_attribute) {
                (None, None) => problems.push(format!(
                    "{at} needs `value` or `from_attribute` for `{name}`"
                )),
                (Some(_), Some(_)) => problems.push(format!(
                    "{at}.from_attribute cannot be combined with `value`; use one of them"
                )),
                (None, Some(from)) if from.is_empty() => {
                    problems.push(format!("{at}.from_attribute must not be empty"))
                }
                _ => {}
            }
        } else {
            if self.value.is_some() {
                problems.push(format!("{at}.value is not used by `{name}`; remove it"));
            }
            if self.from_attribute.is_some() {
                problems.push(format!(
                    "{at}.from_attribute is not used by `{name}`; remove it"
                ));
            }
        }
        match (kind, self.converted_type) {
            (ActionKind::Convert, None) => problems.push(format!(
                "{at} needs `converted_type` for `convert`: `int`, `double` or `string`"
            )),
            (ActionKind::Convert, Some(_)) | (_, None) => {}
            (_, Some(_)) => problems.push(format!(
                "{at}.converted_type is not used by `{name}`; remove it"
            )),
        }
    }

    /// `insert`, `update`, `upsert` need `key`; `delete` and `hash` take `key` or `pattern`.
    fn check_key_or_pattern(&self, kind: ActionKind, at: &str, problems: &mut Vec<String>) {
        let name = kind.as_str();
        match (&self.key, &self.pattern) {
            (Some(_), Some(_)) => problems.push(format!(
                "{at}.pattern cannot be combined with `key`; use one of them"
            )),
            (None, None) if kind.writes() => problems.push(format!("{at} needs `key`")),
            (None, None) => problems.push(format!("{at} needs `key` or `pattern`")),
            (Some(key), None) if key.is_empty() => {
                problems.push(format!("{at}.key must not be empty"))
            }
            (None, Some(_)) if kind.writes() => problems.push(format!(
                "{at}.pattern works with `delete`, `hash` and `extract` only; `{name}` needs `key`"
            )),
            (None, Some(pattern)) => {
                if let Err(e) = regex::Regex::new(pattern) {
                    problems.push(format!(
                        "{at}.pattern is not a valid regular expression: {}",
                        regex_reason(&e)
                    ));
                }
            }
            (Some(_), None) => {}
        }
    }

    /// `convert` needs `key` and takes no `pattern`.
    fn check_key_only(&self, at: &str, other: &str, has_other: bool, problems: &mut Vec<String>) {
        match &self.key {
            None => problems.push(format!("{at} needs `key`")),
            Some(key) if key.is_empty() => problems.push(format!("{at}.key must not be empty")),
            Some(_) => {}
        }
        if has_other {
            problems.push(format!("{at}.{other} is not used by `convert`; remove it"));
        }
    }

    /// `extract` needs `key` and a `pattern` whose groups are all named.
    fn check_extract(&self, at: &str, problems: &mut Vec<String>) {
        match &self.key {
            None => problems.push(format!("{at} needs `key`: the attribute to extract from")),
            Some(key) if key.is_empty() => problems.push(format!("{at}.key must not be empty")),
            Some(_) => {}
        }
        let Some(pattern) = &self.pattern else {
            problems.push(format!(
                "{at} needs `pattern` for `extract`: a regular expression with named groups"
            ));
            return;
        };
        match regex::Regex::new(pattern) {
            Err(e) => problems.push(format!(
                "{at}.pattern is not a valid regular expression: {}",
                regex_reason(&e)
            )),
            Ok(re) => {
                let names: Vec<_> = re.capture_names().skip(1).collect();
                if names.is_empty() {
                    problems.push(format!(
                        "{at}.pattern has no groups; `extract` needs named ones like `(?P<name>…)`"
                    ));
                } else if let Some(i) = names.iter().position(Option::is_none) {
                    problems.push(format!(
                        "{at}.pattern's group {} has no name; `extract` names the attributes it \
                         writes by the groups' names (`(?P<name>…)`)",
                        i + 1
                    ));
                }
            }
        }
    }
}

/// The last line of a regex error: its multi-line form draws the pattern and a caret first.
pub(super) fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}
