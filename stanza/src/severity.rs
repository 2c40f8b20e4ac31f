//! Severities: the `severity:` block of parsers and the `severity_parser` operator. A value
//! (text or number) is looked up, case-insensitively, in the preset's names plus `mapping`;
//! a value found nowhere gives the default severity and keeps its text, as stanza does.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::config::{Fields, json_kind};
use crate::entry::{Entry, Severity};
use crate::field::Field;
use crate::value::Value;

/// A configured severity parser.
#[derive(Clone, Debug)]
pub(crate) struct SeverityParser {
    parse_from: Field,
    mapping: HashMap<String, Severity>,
    overwrite_text: bool,
}

impl SeverityParser {
    /// Reads `parse_from`, `preset`, `mapping` and `overwrite_text`.
    pub(crate) fn from_config(f: &mut Fields) -> Option<SeverityParser> {
        let parse_from = f.required_field("parse_from");
        let preset = f.string("preset").unwrap_or_else(|| "default".into());
        let overwrite_text = f.bool("overwrite_text", false);
        let mut mapping = HashMap::new();
        match preset.as_str() {
            "default" | "otel" | "aliases" => {
                // The level names and the OTLP numbers 1–24 themselves.
                for n in 1..=24u8 {
                    mapping.insert(Severity(n).name().to_ascii_lowercase(), Severity(n));
                    mapping.insert(n.to_string(), Severity(n));
                }
                if preset == "default" {
                    for n in 1..=4u8 {
                        let suffix = if n == 1 { String::new() } else { n.to_string() };
                        mapping.insert(format!("warning{suffix}"), Severity(12 + n));
                        mapping.insert(format!("err{suffix}"), Severity(16 + n));
                    }
                }
            }
            "none" => {}
            other => f.error(
                "preset",
                format!("unknown preset `{other}`; expected `default`, `otel` or `none`"),
            ),
        }
        if let Some(raw) = f.raw("mapping") {
            let path = f.path.key("mapping");
            match raw {
                Json::Object(map) => {
                    for (name, values) in map {
                        let number = name.parse::<u8>().ok().filter(|n| (1..=24).contains(n));
                        let Some(severity) = Severity::from_name(name).or(number.map(Severity))
                        else {
                            f.errors.push(crate::error::ConfigError::new(
                                path.key(name),
                                format!("`{name}` is not a severity (expected trace, debug, info, warn, error or fatal, optionally with 2, 3 or 4)"),
                            ));
                            continue;
                        };
                        if let Err(e) = add_values(&mut mapping, severity, values) {
                            f.errors
                                .push(crate::error::ConfigError::new(path.key(name), e));
                        }
                    }
                }
                other => {
                    let kind = json_kind(other);
                    f.error("mapping", format!("expected a map, found {kind}"));
                }
            }
        }
        Some(SeverityParser {
            parse_from: parse_from?,
            mapping,
            overwrite_text,
        })
    }

    /// Sets the entry's severity from its `parse_from` field.
    pub(crate) fn apply(&self, entry: &mut Entry) -> Result<(), String> {
        let value = self
            .parse_from
            .get(entry)
            .ok_or_else(|| format!("entry is missing the severity field `{}`", self.parse_from))?;
        let (severity, text) = self.lookup(value)?;
        entry.severity = severity;
        entry.severity_text = if self.overwrite_text {
            severity.name()
        } else {
            text
        };
        Ok(())
    }

    fn lookup(&self, value: &Value) -> Result<(Severity, String), String> {
        let text = match value {
            Value::Int(i) => i.to_string(),
            Value::Double(d) if d.fract() == 0.0 => format!("{d:.0}"),
            Value::String(_) | Value::Bytes(_) => value
                .as_text()
                .ok_or("the severity is not UTF-8")?
                .to_string(),
            other => return Err(format!("a {} cannot be a severity", other.kind())),
        };
        let severity = match self.mapping.get(&text) {
            Some(s) => *s,
            None => self
                .mapping
                .get(&text.to_lowercase())
                .copied()
                .unwrap_or(Severity::DEFAULT),
        };
        Ok((severity, text))
    }
}

fn add_values(
    mapping: &mut HashMap<String, Severity>,
    severity: Severity,
    values: &Json,
) -> Result<(), String> {
    match values {
        Json::String(s) => {
            let lower = s.to_lowercase();
            if let Some(class) = lower.strip_suffix("xx").and_then(|d| d.parse::<u16>().ok())
                && (1..=5).contains(&class)
            {
                for code in class * 100..class * 100 + 100 {
                    mapping.insert(code.to_string(), severity);
                }
            } else {
                mapping.insert(lower, severity);
            }
            Ok(())
        }
        Json::Number(n) => {
            mapping.insert(n.to_string(), severity);
            Ok(())
        }
        Json::Array(items) => items
            .iter()
            .try_for_each(|v| add_values(mapping, severity, v)),
        Json::Object(range) => {
            let bound = |k: &str| range.get(k).and_then(Json::as_i64);
            match (bound("min"), bound("max")) {
                (Some(min), Some(max)) if range.len() == 2 => {
                    let (lo, hi) = (min.min(max), min.max(max));
                    if hi - lo > 100_000 {
                        return Err(format!("the range {lo}..{hi} is too wide"));
                    }
                    for n in lo..=hi {
                        mapping.insert(n.to_string(), severity);
                    }
                    Ok(())
                }
                _ => Err("a range is written `{min: N, max: M}` with integers".into()),
            }
        }
        other => Err(format!(
            "{} cannot be mapped to a severity",
            json_kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Path;

    fn parser(config: serde_json::Value) -> SeverityParser {
        let map = config.as_object().unwrap().clone();
        let mut f = Fields::new(&map, Path::default().key("severity"));
        let p = SeverityParser::from_config(&mut f);
        let mut errors = Vec::new();
        f.finish(&mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        p.unwrap()
    }

    fn severity_of(p: &SeverityParser, v: Value) -> (Severity, String) {
        let mut e = Entry::new(v, 0);
        p.apply(&mut e).unwrap();
        (e.severity, e.severity_text)
    }

    #[test]
    fn default_preset_knows_level_names_in_any_case() {
        let p = parser(serde_json::json!({"parse_from": "body"}));
        assert_eq!(
            severity_of(&p, "ERROR".into()),
            (Severity::ERROR, "ERROR".into())
        );
        assert_eq!(
            severity_of(&p, "warn2".into()),
            (Severity(14), "warn2".into())
        );
        assert_eq!(severity_of(&p, "Warning".into()).0, Severity::WARN);
        assert_eq!(severity_of(&p, "err3".into()).0, Severity::ERROR3);
        assert_eq!(severity_of(&p, Value::Int(17)).0, Severity::ERROR);
        assert_eq!(
            severity_of(&p, "chatty".into()),
            (Severity::DEFAULT, "chatty".into())
        );
    }

    #[test]
    fn mapping_takes_strings_lists_ranges_and_status_classes() {
        let p = parser(serde_json::json!({
            "parse_from": "body",
            "preset": "none",
            "mapping": {
                "error": "oops",
                "fatal": ["panic", "die"],
                "info": {"min": 200, "max": 299},
                "warn": "4xx",
                "debug": 7
            }
        }));
        assert_eq!(severity_of(&p, "OOPS".into()).0, Severity::ERROR);
        assert_eq!(severity_of(&p, "die".into()).0, Severity::FATAL);
        assert_eq!(severity_of(&p, Value::Int(204)).0, Severity::INFO);
        assert_eq!(severity_of(&p, "404".into()).0, Severity::WARN);
        assert_eq!(severity_of(&p, Value::Int(7)).0, Severity::DEBUG);
        assert_eq!(severity_of(&p, "error".into()).0, Severity::DEFAULT);
    }

    #[test]
    fn overwrite_text_writes_the_level_name() {
        let p = parser(
            serde_json::json!({"parse_from": "body", "overwrite_text": true, "mapping": {"error2": "E"}}),
        );
        assert_eq!(
            severity_of(&p, "e".into()),
            (Severity::ERROR2, "ERROR2".into())
        );
    }

    #[test]
    fn a_map_cannot_be_a_severity() {
        let p = parser(serde_json::json!({"parse_from": "body"}));
        let mut e = Entry::new(Value::Map(Default::default()), 0);
        assert!(p.apply(&mut e).is_err());
    }
}
