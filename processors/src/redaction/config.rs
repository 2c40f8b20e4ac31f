//! Configuration of the `redaction` processor: otelcol-contrib's field names and meanings, with
//! every regular expression checked and every combination otelcol would refuse (or silently not
//! use) reported with the field's path (`blocked_values.2 …`) so the loader can point at it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::config::Secret;

/// Deletes the attributes of resources, scopes, spans, span events, log records and metric data
/// points whose keys are not allowed, and masks the parts of values that match blocked
/// patterns, editing the encoded batch without decoding it; log record bodies too (the keys of
/// map bodies, nested ones included, and the values inside them).
// No printing `Debug`: `hmac_key` is a secret (and `Secret`'s own `Debug` hides it anyway).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// Keep every attribute key, not only `allowed_keys`; values are still masked by
    /// `blocked_values` and `blocked_key_patterns`. Set it to only mask values. Default false.
    pub allow_all_keys: bool,
    /// The attribute keys kept (exact names); every other attribute is deleted unless it is
    /// ignored or `allow_all_keys` is set. Empty (the default) deletes every attribute, as
    /// otelcol does: the list fails closed. The processor's own `redaction.*` summary
    /// attributes are always kept, so a second `redaction` processor adds to them.
    pub allowed_keys: Vec<String>,
    /// Attribute keys (exact names) passed on untouched: never deleted, never masked, counted
    /// in `redaction.ignored.count`.
    pub ignored_keys: Vec<String>,
    /// Regular expressions (Rust `regex` syntax, matched anywhere in the key as in otelcol;
    /// anchor with `^…$` for whole keys): attributes whose key matches one are ignored like
    /// `ignored_keys`.
    pub ignored_key_patterns: Vec<String>,
    /// Regular expressions matched anywhere in the key: the whole value of an allowed
    /// attribute whose key matches one is masked (`****`, or its hash with `hash_function`).
    pub blocked_key_patterns: Vec<String>,
    /// Regular expressions matched in the values of allowed attributes: every match is masked
    /// in place (`****`, or the match's hash with `hash_function`), the rest of the value kept.
    /// Applied in order, each to the value as the ones before it left it.
    pub blocked_values: Vec<String>,
    /// Regular expressions matched in values: an attribute whose value matches one is left as
    /// it is even if `blocked_values` or `blocked_key_patterns` would mask it, and is counted in
    /// `redaction.allowed.count`.
    pub allowed_values: Vec<String>,
    /// Look at every value as text, not only strings: ints, doubles and bools by their
    /// decimal or `true`/`false` form, bytes as base64, arrays and maps as JSON, as otelcol's
    /// `AsString` writes them; a masked value becomes a string. Default false: values that are
    /// not strings are looked at as the empty string, as in otelcol.
    pub redact_all_types: bool,
    /// Replace each masked part by the lowercase hex digest of its UTF-8 bytes instead of
    /// `****`: `md5`, `sha1`, `sha3` (SHA3-256), `hmac-sha256` or `hmac-sha512` (the last two
    /// need `hmac_key`). Default: no hash, `****`.
    pub hash_function: Option<HashFunction>,
    /// The secret key of `hmac-sha256` and `hmac-sha512` (use `${env:VAR}`); never printed.
    pub hmac_key: Option<Secret>,
    /// The diagnostic attributes written into each attribute list the processor changed:
    /// `debug` writes `redaction.{redacted,masked,allowed}.keys` (sorted, comma-separated) and
    /// the `.count`s with `redaction.ignored.count`; `info` writes only the counts; `silent`
    /// (the default, as otelcol's empty default) writes nothing.
    pub summary: Summary,
}

/// How masked parts are replaced when not by `****`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HashFunction {
    /// MD5.
    #[serde(rename = "md5")]
    Md5,
    /// SHA-1.
    #[serde(rename = "sha1")]
    Sha1,
    /// SHA3-256.
    #[serde(rename = "sha3")]
    Sha3,
    /// HMAC with SHA-256, keyed by `hmac_key`.
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    /// HMAC with SHA-512, keyed by `hmac_key`.
    #[serde(rename = "hmac-sha512")]
    HmacSha512,
}

impl HashFunction {
    /// Whether it needs `hmac_key`.
    pub fn keyed(self) -> bool {
        matches!(self, HashFunction::HmacSha256 | HashFunction::HmacSha512)
    }
}

/// Which diagnostic attributes are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Summary {
    /// Keys and counts.
    Debug,
    /// Counts only.
    Info,
    /// Nothing.
    #[default]
    Silent,
}

impl RedactionConfig {
    /// The regex lists, with their field names, in the order they are reported.
    pub(super) fn pattern_lists(&self) -> [(&'static str, &[String]); 4] {
        [
            ("ignored_key_patterns", &self.ignored_key_patterns),
            ("blocked_key_patterns", &self.blocked_key_patterns),
            ("blocked_values", &self.blocked_values),
            ("allowed_values", &self.allowed_values),
        ]
    }
}

impl ComponentConfig for RedactionConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (field, patterns) in self.pattern_lists() {
            for (i, pattern) in patterns.iter().enumerate() {
                if let Err(e) = regex::Regex::new(pattern) {
                    problems.push(format!(
                        "{field}.{i} is not a valid regular expression: {}",
                        regex_reason(&e)
                    ));
                }
            }
        }
        match (self.hash_function, &self.hmac_key) {
            (Some(f), None) if f.keyed() => {
                problems.push(format!("hash_function `{}` needs `hmac_key`", f.name()))
            }
            (Some(f), Some(key)) if f.keyed() && key.is_empty() => {
                problems.push("hmac_key must not be empty".to_string())
            }
            (Some(f), Some(_)) if !f.keyed() => problems.push(format!(
                "hmac_key is used only by `hmac-sha256` and `hmac-sha512`, not `{}`; remove it",
                f.name()
            )),
            (None, Some(_)) => problems.push(
                "hmac_key is used only with hash_function `hmac-sha256` or `hmac-sha512`; \
                 set one or remove the key"
                    .to_string(),
            ),
            _ => {}
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl HashFunction {
    /// The name in YAML.
    pub fn name(self) -> &'static str {
        match self {
            HashFunction::Md5 => "md5",
            HashFunction::Sha1 => "sha1",
            HashFunction::Sha3 => "sha3",
            HashFunction::HmacSha256 => "hmac-sha256",
            HashFunction::HmacSha512 => "hmac-sha512",
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
