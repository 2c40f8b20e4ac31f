//! Relabelling as Prometheus applies `relabel_configs` and `metric_relabel_configs`.
//!
//! [`compile`] checks a list of [`RelabelConfig`]s as Prometheus's `Validate` does, but
//! reports every problem instead of the first, each with the path of the field at fault
//! (`relabel_configs[2].regex`), so the receiver can point at its line and column.
//! [`apply`] runs the compiled [`Rule`]s in order over a label set.
//!
//! Label names are checked against Prometheus's classic character set
//! (`[a-zA-Z_][a-zA-Z0-9_]*`), not the UTF-8 names Prometheus 3 can be configured for. Regular
//! expressions are RE2 syntax run by the `regex` crate, anchored as Prometheus anchors them,
//! `^(?s:…)$`, after rewriting what Go reads differently (`go_regex.rs`: ASCII-only `\d`,
//! `\w`, `\s`, `\b`, and `\Q…\E`).

mod config;
mod expand;
mod go_regex;
mod target;

use md5::{Digest, Md5};
use regex::Regex;

pub use config::{Action, RelabelConfig};
pub use target::{ScrapeDefaults, TargetError, discovered_labels, series_labels, target_labels};

/// A label set: names and values, in any order, each name once.
pub type Labels = Vec<(String, String)>;

/// A problem in a relabel config: the field's path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Where, as `list[index].field`.
    pub path: String,
    pub message: String,
}

/// The regex crate draws a syntax error over several lines (the pattern, a caret, the
/// reason); a config problem is one line, so only the reason is kept.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or(text.clone(), str::to_string)
}

/// A checked relabel step, ready to apply.
#[derive(Clone, Debug)]
pub struct Rule {
    action: Action,
    source_labels: Vec<String>,
    separator: String,
    target_label: String,
    regex: Regex,
    modulus: u64,
    replacement: String,
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// Whether `name` is a label name in Prometheus's classic character set.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A label name that may hold `$1` / `${name}` references (Prometheus's `relabelTarget`).
fn is_valid_template(name: &str) -> bool {
    static TEMPLATE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$")
                .expect("a valid pattern")
        })
        .is_match(name)
}

/// Compiles the regex as Prometheus does: anchored at both ends, `.` matching newlines, and
/// read as Go's `regexp` reads it.
pub fn anchored(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?s:{})$", go_regex::translate(pattern)))
}

/// Checks and compiles `configs`, the list at `path` (`relabel_configs`), reporting every
/// problem found.
pub fn compile(configs: &[RelabelConfig], path: &str) -> Result<Vec<Rule>, Vec<FieldError>> {
    let mut rules = Vec::with_capacity(configs.len());
    let mut errors = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        match config.compile(&format!("{path}[{i}]")) {
            Ok(rule) => rules.push(rule),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

impl RelabelConfig {
    /// Checks and compiles this step; `path` names it in errors (`relabel_configs[0]`).
    pub fn compile(&self, path: &str) -> Result<Rule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| {
            errors.push(FieldError {
                path: format!("{path}.{field}"),
                message,
            })
        };
        let action = self.action;
        let act = action.name();
        let target = self.target_label.clone().unwrap_or_default();
        let replacement = self
            .replacement
            .clone()
            .unwrap_or_else(|| DEFAULT_REPLACEMENT.into());
        let separator = self
            .separator
            .clone()
            .unwrap_or_else(|| DEFAULT_SEPARATOR.into());
        let pattern = self.regex.as_deref().unwrap_or(DEFAULT_REGEX);
        let modulus = self.modulus.unwrap_or(0);

        for (j, name) in self.source_labels.iter().flatten().enumerate() {
            if !is_valid_label_name(name) {
                fail(
                    &format!("source_labels[{j}]"),
                    format!("`{name}` is not a valid label name"),
                );
            }
        }
        let regex = match anchored(pattern) {
            Ok(r) => Some(r),
            Err(e) => {
                fail(
                    "regex",
                    format!(
                        "`{pattern}` is not a valid regular expression: {}",
                        regex_reason(&e)
                    ),
                );
                None
            }
        };
        if action == Action::HashMod && modulus == 0 {
            fail("modulus", "hashmod requires a non-zero modulus".into());
        }
        let writes = matches!(
            action,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if writes && target.is_empty() {
            fail(
                "target_label",
                format!("the {act} action requires a target_label"),
            );
        } else if writes {
            let valid = if action == Action::Replace && target.contains('$') {
                is_valid_template(&target)
            } else {
                is_valid_label_name(&target)
            };
            if !valid {
                fail(
                    "target_label",
                    format!("`{target}` is not a valid target_label for the {act} action"),
                );
            }
        }
        let plain = matches!(
            action,
            Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual
        );
        if plain && replacement != DEFAULT_REPLACEMENT {
            fail(
                "replacement",
                format!("replacement cannot be set for the {act} action"),
            );
        }
        if action == Action::LabelMap && !is_valid_template(&replacement) {
            fail(
                "replacement",
                format!("`{replacement}` is not a valid replacement for the labelmap action"),
            );
        }
        if matches!(action, Action::KeepEqual | Action::DropEqual) {
            let only = format!("the {act} action takes only source_labels and target_label");
            if pattern != DEFAULT_REGEX {
                fail("regex", only.clone());
            }
            if modulus != 0 {
                fail("modulus", only.clone());
            }
            if separator != DEFAULT_SEPARATOR {
                fail("separator", only);
            }
        }
        if matches!(action, Action::LabelDrop | Action::LabelKeep) {
            let only = format!("the {act} action takes only regex");
            if self.source_labels.is_some() {
                fail("source_labels", only.clone());
            }
            if !target.is_empty() {
                fail("target_label", only.clone());
            }
            if modulus != 0 {
                fail("modulus", only.clone());
            }
            if separator != DEFAULT_SEPARATOR {
                fail("separator", only.clone());
            }
            if replacement != DEFAULT_REPLACEMENT {
                fail("replacement", only);
            }
        }
        match regex {
            Some(regex) if errors.is_empty() => Ok(Rule {
                action,
                source_labels: self.source_labels.clone().unwrap_or_default(),
                separator,
                target_label: target,
                regex,
                modulus,
                replacement,
            }),
            _ => Err(errors),
        }
    }
}

/// Runs `rules` in order over `labels`: the label set they leave, or `None` when one dropped
/// it. As in Prometheus, setting a label to an empty value removes it.
pub fn apply(rules: &[Rule], mut labels: Labels) -> Option<Labels> {
    for rule in rules {
        if !rule.apply(&mut labels) {
            return None;
        }
    }
    Some(labels)
}

/// A sample's label set as `metric_relabel_configs` sees it: `__name__` (the sample's full
/// name), then its labels in body order.
pub fn sample_labels(exposition: &crate::Exposition<'_>, sample: &crate::Sample<'_>) -> Labels {
    let labels = exposition.labels(sample);
    let mut out = Vec::with_capacity(labels.len() + 1);
    out.push(("__name__".to_string(), sample.name.to_string()));
    out.extend(
        labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string())),
    );
    out
}

/// Prometheus's `hashmod`: the MD5 of `value`, its last 8 bytes read big-endian, mod `modulus`.
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..]);
    u64::from_be_bytes(tail) % modulus
}

fn get<'l>(labels: &'l Labels, name: &str) -> &'l str {
    labels
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

fn set(labels: &mut Labels, name: &str, value: String) {
    if value.is_empty() {
        labels.retain(|(n, _)| n != name);
        return;
    }
    match labels.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value,
        None => labels.push((name.to_string(), value)),
    }
}

impl Rule {
    /// The action this rule takes.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Applies this rule; `false` when it drops the label set.
    fn apply(&self, labels: &mut Labels) -> bool {
        let mut joined = String::new();
        for (i, name) in self.source_labels.iter().enumerate() {
            if i > 0 {
                joined.push_str(&self.separator);
            }
            joined.push_str(get(labels, name));
        }
        match self.action {
            Action::Drop => return !self.regex.is_match(&joined),
            Action::Keep => return self.regex.is_match(&joined),
            Action::DropEqual => return get(labels, &self.target_label) != joined,
            Action::KeepEqual => return get(labels, &self.target_label) == joined,
            Action::Replace => {
                let Some(caps) = self.regex.captures(&joined) else {
                    return true;
                };
                let mut target = String::new();
                expand::expand(&self.regex, &caps, &self.target_label, &mut target);
                // A target that expands to no valid name is skipped, not an error.
                if !is_valid_label_name(&target) {
                    return true;
                }
                let mut value = String::new();
                expand::expand(&self.regex, &caps, &self.replacement, &mut value);
                set(labels, &target, value);
            }
            Action::Lowercase => set(labels, &self.target_label, joined.to_lowercase()),
            Action::Uppercase => set(labels, &self.target_label, joined.to_uppercase()),
            Action::HashMod => {
                let m = hashmod(&joined, self.modulus);
                set(labels, &self.target_label, m.to_string());
            }
            Action::LabelMap => {
                // Over the labels as they were before this rule, as Prometheus's builder
                // ranges over a snapshot.
                let before = labels.clone();
                for (name, value) in before {
                    if let Some(caps) = self.regex.captures(&name) {
                        let mut renamed = String::new();
                        expand::expand(&self.regex, &caps, &self.replacement, &mut renamed);
                        set(labels, &renamed, value);
                    }
                }
            }
            Action::LabelDrop => labels.retain(|(n, _)| !self.regex.is_match(n)),
            Action::LabelKeep => labels.retain(|(n, _)| self.regex.is_match(n)),
        }
        true
    }
}

#[cfg(test)]
mod tests;
