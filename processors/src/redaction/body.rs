//! Log record bodies, redacted as otelcol redacts them after the record's attributes.
//!
//! A map body is walked key by key, into nested maps and lists: an ignored key is left alone
//! and counted, a key not allowed is deleted, a blocked key's whole value is masked (as a
//! string; a value that is not a string masks as the empty string does), and every other value
//! is looked at as text (otelcol's `AsString`): kept if `allowed_values` matches it, otherwise
//! masked where `blocked_values` match. A nested key is named by its dotted path in the summary
//! (`user.card`, `items.[0].card`; the elements of a list body are `[0]`, `[1]`, …), and a
//! body that is not a map or a list is named `body`. The summary goes into the record's
//! attributes as `redaction.body.*`, as `summary` says.
//!
//! On the encoded batch: a record whose body is a string (or another single value) that no
//! `blocked_values` pattern matches (nor, with a summary, any `allowed_values` pattern) is
//! copied as it is, read on the wire. Only the others are decoded, redacted and encoded again,
//! in place ([`weir_core::batch::select`]).

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use weir_core::batch::rewrite::{ValueRef, read_value};
use weir_core::batch::select::{ItemKind, ItemView, Selector};

use super::config::Summary;
use super::redactor::{BODY_KEYS, Redactor};
use crate::value_text::{push_decoded_text, push_value_text};
use crate::wire_record::last_delimited;

/// Field number of `body` in `LogRecord`.
const BODY: u32 = 5;

/// What one body's walk found: the paths of what it deleted, masked and allowed, and how many
/// keys it ignored.
#[derive(Default)]
struct Found {
    redacted: Vec<String>,
    masked: Vec<String>,
    allowed: Vec<String>,
    ignored: usize,
}

impl Found {
    fn clear(&mut self) {
        self.redacted.clear();
        self.masked.clear();
        self.allowed.clear();
        self.ignored = 0;
    }

    fn is_empty(&self) -> bool {
        self.redacted.is_empty()
            && self.masked.is_empty()
            && self.allowed.is_empty()
            && self.ignored == 0
    }
}

/// The selector that rewrites the log records whose body redaction changes something.
pub(super) struct Bodies<'r> {
    redactor: &'r Redactor,
    found: Found,
    text: String,
    masked: String,
    swap: String,
    /// A record the walk accepted but prost could not decode (a bug): the batch is refused
    /// rather than passed on unredacted.
    pub(super) failed: Option<String>,
}

impl<'r> Bodies<'r> {
    pub(super) fn new(redactor: &'r Redactor) -> Self {
        Bodies {
            redactor,
            found: Found::default(),
            text: String::new(),
            masked: String::new(),
            swap: String::new(),
            failed: None,
        }
    }

    /// Whether a body that is one value (encoded `value`; `None` when absent) needs the decoded
    /// run: never when the answer is no, sometimes when it is yes.
    fn single_value_matters(&mut self, value: Option<&[u8]>) -> bool {
        self.text.clear();
        push_value_text(value, &mut self.text);
        self.redactor.blocks_value(&self.text)
            || (self.redactor.summary() != Summary::Silent
                && self.redactor.allows_value(&self.text))
    }

    /// Redacts a decoded body; whether it changed.
    fn body(&mut self, body: &mut AnyValue) -> bool {
        match &mut body.value {
            Some(Value::KvlistValue(list)) => self.map(None, &mut list.values),
            Some(Value::ArrayValue(array)) => {
                let mut changed = false;
                for (i, item) in array.values.iter_mut().enumerate() {
                    changed |= self.nested(format!("[{i}]"), item);
                }
                changed
            }
            _ => self.leaf("body".to_string(), body),
        }
    }

    /// The entries of a map at `path` (`None`: the body itself).
    fn map(&mut self, path: Option<&str>, entries: &mut Vec<KeyValue>) -> bool {
        let redactor = self.redactor;
        let mut deleted = Vec::new();
        let mut changed = false;
        for (i, entry) in entries.iter_mut().enumerate() {
            let key = entry.key.as_bytes();
            let named = || match path {
                Some(path) => format!("{path}.{}", entry.key),
                None => entry.key.clone(),
            };
            if redactor.is_ignored(key) {
                self.found.ignored += 1;
            } else if redactor.redacts_key(key) {
                deleted.push(i);
                self.found.redacted.push(named());
            } else if redactor.masks_key(key) {
                self.found.masked.push(named());
                // As otelcol's `Str()`: a value that is not a string masks as "".
                let text = match entry.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Value::StringValue(text)) => text.as_str(),
                    _ => "",
                };
                redactor.mask_whole(text, &mut self.masked);
                entry.value = Some(string(&self.masked));
                changed = true;
            } else {
                let named = named();
                let value = entry.value.get_or_insert_with(AnyValue::default);
                changed |= self.nested(named, value);
            }
        }
        if !deleted.is_empty() {
            let mut i = 0;
            entries.retain(|_| {
                i += 1;
                deleted.binary_search(&(i - 1)).is_err()
            });
            changed = true;
        }
        changed
    }

    /// A value inside the body, named `path`.
    fn nested(&mut self, path: String, value: &mut AnyValue) -> bool {
        match &mut value.value {
            Some(Value::KvlistValue(list)) => self.map(Some(&path), &mut list.values),
            Some(Value::ArrayValue(array)) => {
                let mut changed = false;
                for (i, item) in array.values.iter_mut().enumerate() {
                    changed |= self.nested(format!("{path}.[{i}]"), item);
                }
                changed
            }
            _ => self.leaf(path, value),
        }
    }

    /// A single value named `path`: allowed, masked or left.
    fn leaf(&mut self, path: String, value: &mut AnyValue) -> bool {
        self.text.clear();
        push_decoded_text(value.value.as_ref(), &mut self.text);
        if self.redactor.allows_value(&self.text) {
            self.found.allowed.push(path);
            return false;
        }
        if !self.redactor.blocks_value(&self.text) {
            return false;
        }
        self.redactor
            .mask_blocked(&self.text, &mut self.masked, &mut self.swap);
        if self.masked == self.text {
            return false;
        }
        self.found.masked.push(path);
        *value = string(&self.masked);
        true
    }

    /// The summary attributes of what was found, added to those already on the record.
    fn summarize(&self, attributes: &mut Vec<KeyValue>) {
        let summary = self.redactor.summary();
        if summary == Summary::Silent {
            return;
        }
        let [
            redacted_keys,
            redacted_count,
            masked_keys,
            masked_count,
            allowed_keys,
            allowed_count,
            ignored_count,
        ] = BODY_KEYS;
        let lists = [
            (&self.found.redacted, redacted_keys, redacted_count),
            (&self.found.masked, masked_keys, masked_count),
            (&self.found.allowed, allowed_keys, allowed_count),
        ];
        for (paths, keys_key, count_key) in lists {
            if paths.is_empty() {
                continue;
            }
            if summary == Summary::Debug {
                let mut all: Vec<&str> = paths.iter().map(String::as_str).collect();
                let listed = match find(attributes, keys_key).map(|v| &v.value) {
                    Some(Some(Value::StringValue(listed))) if !listed.is_empty() => listed.clone(),
                    _ => String::new(),
                };
                if !listed.is_empty() {
                    all.extend(listed.split(','));
                }
                all.sort_unstable();
                let joined = all.join(",");
                put(attributes, keys_key, string(&joined));
            }
            add_count(attributes, count_key, paths.len());
        }
        if self.found.ignored > 0 {
            add_count(attributes, ignored_count, self.found.ignored);
        }
    }
}

impl Selector for Bodies<'_> {
    fn keep(&mut self, _item: &ItemView<'_>) -> bool {
        true
    }

    fn selects_items(&self) -> bool {
        false
    }

    fn replaces_items(&self) -> bool {
        true
    }

    fn replace(&mut self, item: &ItemView<'_>) -> Option<Vec<u8>> {
        if item.kind != ItemKind::Log {
            return None;
        }
        let body = last_delimited(item.item, BODY);
        let composite = matches!(body.map(read_value), Some(ValueRef::Composite));
        if !composite && !self.single_value_matters(body) {
            return None;
        }
        let mut record = match LogRecord::decode(item.item) {
            Ok(record) => record,
            Err(e) => {
                self.failed
                    .get_or_insert_with(|| format!("cannot decode a log record: {e}"));
                return None;
            }
        };
        self.found.clear();
        let mut body = record.body.take().unwrap_or_default();
        let changed = self.body(&mut body);
        let summarized = self.redactor.summary() != Summary::Silent && !self.found.is_empty();
        if !changed && !summarized {
            return None;
        }
        if changed || body.value.is_some() {
            record.body = Some(body);
        }
        self.summarize(&mut record.attributes);
        Some(record.encode_to_vec())
    }
}

fn string(text: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(text.to_string())),
    }
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// Sets the first `key` to `value`, or appends it.
fn put(attributes: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => attributes.push(KeyValue {
            key: key.to_string(),
            value: Some(value),
            ..Default::default()
        }),
    }
}

/// Sets `key` to `count` plus the int it already holds.
fn add_count(attributes: &mut Vec<KeyValue>, key: &str, count: usize) {
    let before = match find(attributes, key).map(|v| &v.value) {
        Some(Some(Value::IntValue(n))) => *n,
        _ => 0,
    };
    let total = before.saturating_add(i64::try_from(count).unwrap_or(i64::MAX));
    put(
        attributes,
        key,
        AnyValue {
            value: Some(Value::IntValue(total)),
        },
    );
}
