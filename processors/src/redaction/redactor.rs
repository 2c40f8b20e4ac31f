//! The config compiled (key sets, regex sets, the masker) and its effect on one attribute list,
//! in otelcol's order for each attribute: ignored (`ignored_keys`, `ignored_key_patterns`) is
//! left alone; not allowed is deleted; a value matching `allowed_values` is kept; a key
//! matching `blocked_key_patterns` has its whole value masked; otherwise `blocked_values` mask
//! their matches in place. Then the summary attributes, as the `summary` level says.

use std::borrow::Cow;
use std::collections::HashSet;

use regex::{Regex, RegexSet};
use weir_core::batch::rewrite::{
    Attributes, ValueRef, put_int_value, put_string_value, read_value,
};

use super::config::{RedactionConfig, Summary, regex_reason};
use super::mask::Masker;
use crate::value_text::push_value_text;

/// The summary attributes otelcol writes; the processor's own are always allowed, so that data
/// passing a second `redaction` processor keeps (and adds to) them.
pub(crate) const REDACTED_KEYS: &str = "redaction.redacted.keys";
pub(crate) const REDACTED_COUNT: &str = "redaction.redacted.count";
pub(crate) const MASKED_KEYS: &str = "redaction.masked.keys";
pub(crate) const MASKED_COUNT: &str = "redaction.masked.count";
pub(crate) const ALLOWED_KEYS: &str = "redaction.allowed.keys";
pub(crate) const ALLOWED_COUNT: &str = "redaction.allowed.count";
pub(crate) const IGNORED_COUNT: &str = "redaction.ignored.count";
/// Written on log records by the log body redaction ([`super::body`]).
pub(crate) const BODY_KEYS: [&str; 7] = [
    "redaction.body.redacted.keys",
    "redaction.body.redacted.count",
    "redaction.body.masked.keys",
    "redaction.body.masked.count",
    "redaction.body.allowed.keys",
    "redaction.body.allowed.count",
    "redaction.body.ignored.count",
];

/// One pipeline's compiled rules.
pub(crate) struct Redactor {
    allow_all_keys: bool,
    redact_all_types: bool,
    summary: Summary,
    allowed: HashSet<Box<[u8]>>,
    ignored: HashSet<Box<[u8]>>,
    ignored_patterns: RegexSet,
    blocked_keys: RegexSet,
    /// The whole-value pattern a blocked key's value is masked with (otelcol's `.*`).
    whole: Regex,
    /// `blocked_values` one by one, and as a set to skip values none of them matches.
    blocked_values: Vec<Regex>,
    blocked_any: RegexSet,
    allowed_values: RegexSet,
    masker: Masker,
}

/// What one attribute list's pass found, by entry index; kept between lists.
#[derive(Default)]
pub(crate) struct Scratch {
    redacted: Vec<usize>,
    masked: Vec<usize>,
    allowed: Vec<usize>,
    ignored: usize,
    text: String,
    masked_text: String,
    swap: String,
    value: Vec<u8>,
}

impl Redactor {
    /// The rules of a validated config; the message names the field otherwise.
    pub(crate) fn new(config: &RedactionConfig) -> Result<Redactor, String> {
        let set = |field: &str, patterns: &[String]| {
            RegexSet::new(patterns).map_err(|e| format!("{field}: {}", regex_reason(&e)))
        };
        let blocked_values = config
            .blocked_values
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Regex::new(p).map_err(|e| {
                    format!(
                        "blocked_values.{i} is not a valid regular expression: {}",
                        regex_reason(&e)
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let keys = |keys: &[String]| keys.iter().map(|k| k.as_bytes().into()).collect();
        let mut allowed: HashSet<Box<[u8]>> = keys(&config.allowed_keys);
        for own in [
            REDACTED_KEYS,
            REDACTED_COUNT,
            MASKED_KEYS,
            MASKED_COUNT,
            ALLOWED_KEYS,
            ALLOWED_COUNT,
            IGNORED_COUNT,
        ]
        .into_iter()
        .chain(BODY_KEYS)
        {
            allowed.insert(own.as_bytes().into());
        }
        let key = config
            .hmac_key
            .as_ref()
            .map_or(&[][..], |k| k.expose().as_bytes());
        Ok(Redactor {
            allow_all_keys: config.allow_all_keys,
            redact_all_types: config.redact_all_types,
            summary: config.summary,
            allowed,
            ignored: keys(&config.ignored_keys),
            ignored_patterns: set("ignored_key_patterns", &config.ignored_key_patterns)?,
            blocked_keys: set("blocked_key_patterns", &config.blocked_key_patterns)?,
            whole: Regex::new(".*").map_err(|e| e.to_string())?,
            blocked_values,
            blocked_any: set("blocked_values", &config.blocked_values)?,
            allowed_values: set("allowed_values", &config.allowed_values)?,
            masker: Masker::new(config.hash_function, key),
        })
    }

    pub(super) fn summary(&self) -> Summary {
        self.summary
    }

    /// Whether a key not ignored is deleted.
    pub(super) fn redacts_key(&self, key: &[u8]) -> bool {
        !self.allow_all_keys && !self.allowed.contains(key)
    }

    /// Whether a kept key has its whole value masked.
    pub(super) fn masks_key(&self, key: &[u8]) -> bool {
        !self.blocked_keys.is_empty() && self.blocked_keys.is_match(&String::from_utf8_lossy(key))
    }

    /// Whether `text` is kept as it is by `allowed_values`.
    pub(super) fn allows_value(&self, text: &str) -> bool {
        !self.allowed_values.is_empty() && self.allowed_values.is_match(text)
    }

    /// Whether some `blocked_values` pattern matches `text`.
    pub(super) fn blocks_value(&self, text: &str) -> bool {
        !self.blocked_values.is_empty() && self.blocked_any.is_match(text)
    }

    /// `text` wholly masked (as a blocked key's value), into `out`.
    pub(super) fn mask_whole(&self, text: &str, out: &mut String) {
        self.masker.replace_all(text, &self.whole, out);
    }

    pub(super) fn is_ignored(&self, key: &[u8]) -> bool {
        self.ignored.contains(key)
            || (!self.ignored_patterns.is_empty()
                && self
                    .ignored_patterns
                    .is_match(&String::from_utf8_lossy(key)))
    }

    /// Redacts one attribute list (a resource's, a scope's or an item's).
    pub(crate) fn apply(&self, attributes: &mut Attributes<'_>, scratch: &mut Scratch) {
        scratch.redacted.clear();
        scratch.masked.clear();
        scratch.allowed.clear();
        scratch.ignored = 0;
        for i in 0..attributes.len() {
            if attributes.is_removed(i) {
                continue;
            }
            let key = attributes.key(i);
            if self.is_ignored(key) {
                scratch.ignored += 1;
                continue;
            }
            if self.redacts_key(key) {
                scratch.redacted.push(i);
                continue;
            }
            self.mask_value(attributes, i, scratch);
        }
        // The summary reads the keys of deleted attributes, so they are removed after it.
        self.summarize(attributes, scratch);
        for &i in &scratch.redacted {
            attributes.remove(i);
        }
    }

    /// Masks the value of allowed attribute `i` if it must be.
    fn mask_value(&self, attributes: &mut Attributes<'_>, i: usize, scratch: &mut Scratch) {
        scratch.text.clear();
        let value = attributes.value(i);
        // As otelcol's `Str()`: values that are not strings read as the empty string.
        let text: &str = match value.map(read_value) {
            Some(ValueRef::String(s)) => match std::str::from_utf8(s) {
                Ok(s) => s,
                Err(_) => {
                    scratch.text.push_str(&String::from_utf8_lossy(s));
                    &scratch.text
                }
            },
            _ if self.redact_all_types => {
                push_value_text(value, &mut scratch.text);
                &scratch.text
            }
            _ => "",
        };
        if self.allows_value(text) {
            scratch.allowed.push(i);
            return;
        }
        let key = attributes.key(i);
        let masked = if self.masks_key(key) {
            self.mask_whole(text, &mut scratch.masked_text);
            true
        } else if self.blocks_value(text) {
            self.mask_blocked(text, &mut scratch.masked_text, &mut scratch.swap);
            scratch.masked_text != text
        } else {
            false
        };
        if masked {
            scratch.masked.push(i);
            scratch.value.clear();
            put_string_value(&mut scratch.value, scratch.masked_text.as_bytes());
            attributes.set_value(i, Some(&scratch.value));
        }
    }

    /// `text` through every blocked value in order, into `current` (`swap` is scratch).
    pub(super) fn mask_blocked(&self, text: &str, current: &mut String, swap: &mut String) {
        current.clear();
        current.push_str(text);
        for pattern in &self.blocked_values {
            if pattern.is_match(current) {
                self.masker.replace_all(current, pattern, swap);
                std::mem::swap(current, swap);
            }
        }
    }

    /// Writes the summary attributes of one list, adding to those a previous pass wrote.
    fn summarize(&self, attributes: &mut Attributes<'_>, scratch: &mut Scratch) {
        if self.summary == Summary::Silent {
            return;
        }
        let debug = self.summary == Summary::Debug;
        let lists = [
            (&scratch.redacted, REDACTED_KEYS, REDACTED_COUNT),
            (&scratch.masked, MASKED_KEYS, MASKED_COUNT),
            (&scratch.allowed, ALLOWED_KEYS, ALLOWED_COUNT),
        ];
        for (entries, keys_key, count_key) in lists {
            if entries.is_empty() {
                continue;
            }
            if debug {
                let joined = joined_keys(attributes, entries, keys_key);
                scratch.value.clear();
                put_string_value(&mut scratch.value, joined.as_bytes());
                put(attributes, keys_key, &scratch.value);
            }
            add_count(attributes, count_key, entries.len(), &mut scratch.value);
        }
        if scratch.ignored > 0 {
            add_count(
                attributes,
                IGNORED_COUNT,
                scratch.ignored,
                &mut scratch.value,
            );
        }
    }
}

/// The keys of `entries` and those already listed under `keys_key`, sorted, comma-separated.
fn joined_keys(attributes: &Attributes<'_>, entries: &[usize], keys_key: &str) -> String {
    let mut keys: Vec<Cow<'_, str>> = entries
        .iter()
        .map(|&i| String::from_utf8_lossy(attributes.key(i)))
        .collect();
    if let Some(existing) = attributes.find(keys_key.as_bytes())
        && let Some(ValueRef::String(listed)) = attributes.value(existing).map(read_value)
        && !listed.is_empty()
    {
        keys.extend(
            String::from_utf8_lossy(listed)
                .split(',')
                .map(|k| Cow::Owned(k.to_string())),
        );
    }
    keys.sort_unstable();
    keys.join(",")
}

/// Sets `count_key` to `count` plus the int it already holds.
fn add_count(attributes: &mut Attributes<'_>, count_key: &str, count: usize, buffer: &mut Vec<u8>) {
    let before = attributes
        .find(count_key.as_bytes())
        .and_then(|i| attributes.value(i))
        .map_or(0, |v| match read_value(v) {
            ValueRef::Int(n) => n,
            _ => 0,
        });
    buffer.clear();
    put_int_value(buffer, before.saturating_add(count as i64));
    put(attributes, count_key, buffer);
}

/// Sets the first `key` to `value`, or appends it.
fn put(attributes: &mut Attributes<'_>, key: &str, value: &[u8]) {
    match attributes.find(key.as_bytes()) {
        Some(i) => attributes.set_value(i, Some(value)),
        None => attributes.push(key.as_bytes(), Some(value)),
    }
}
