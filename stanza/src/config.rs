//! Reading one operator's map of options: typed getters that record every problem at its
//! path and, at the end, refuse the keys nobody asked for (with a "did you mean").

use serde_json::Value as Json;

use crate::error::{ConfigError, Path};
use crate::expr::Expr;
use crate::field::Field;

/// The options of one operator (or of a `timestamp:`/`severity:` block inside a parser).
pub(crate) struct Fields<'a> {
    map: &'a serde_json::Map<String, Json>,
    pub(crate) path: Path,
    known: Vec<&'static str>,
    pub(crate) errors: Vec<ConfigError>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a serde_json::Map<String, Json>, path: Path) -> Self {
        Fields {
            map,
            path,
            known: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The raw value of an option (null counts as absent, as an empty YAML key does).
    pub(crate) fn raw(&mut self, name: &'static str) -> Option<&'a Json> {
        self.known.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .push(ConfigError::new(self.path.key(name), message));
    }

    pub(crate) fn missing(&mut self, name: &str) {
        self.errors.push(ConfigError::new(
            self.path.key(name),
            format!("missing required field `{name}`"),
        ));
    }

    pub(crate) fn string(&mut self, name: &'static str) -> Option<String> {
        match self.raw(name)? {
            Json::String(s) => Some(s.clone()),
            // YAML writes `value: 5` for what stanza reads as text in many places.
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            other => {
                self.error(
                    name,
                    format!("expected a string, found {}", json_kind(other)),
                );
                None
            }
        }
    }

    pub(crate) fn required_string(&mut self, name: &'static str) -> Option<String> {
        let v = self.string(name);
        if v.is_none() && !self.map.contains_key(name) {
            self.missing(name);
        }
        v
    }

    pub(crate) fn bool(&mut self, name: &'static str, default: bool) -> bool {
        match self.raw(name) {
            None => default,
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) if s == "true" || s == "false" => s == "true",
            Some(other) => {
                let kind = json_kind(other);
                self.error(name, format!("expected true or false, found {kind}"));
                default
            }
        }
    }

    pub(crate) fn u64(&mut self, name: &'static str, default: u64) -> u64 {
        match self.raw(name) {
            None => default,
            Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(default),
            Some(Json::String(s)) if s.parse::<u64>().is_ok() => s.parse().unwrap_or(default),
            Some(other) => {
                let kind = json_kind(other);
                self.error(
                    name,
                    format!("expected a non-negative integer, found {kind}"),
                );
                default
            }
        }
    }

    pub(crate) fn f64(&mut self, name: &'static str, default: f64) -> f64 {
        match self.raw(name) {
            None => default,
            Some(Json::Number(n)) => n.as_f64().unwrap_or(default),
            Some(Json::String(s)) if s.trim().parse::<f64>().is_ok() => {
                s.trim().parse().unwrap_or(default)
            }
            Some(other) => {
                let kind = json_kind(other);
                self.error(name, format!("expected a number, found {kind}"));
                default
            }
        }
    }

    /// A duration as otelcol writes it (`200ms`, `5s`, `1m`), or a bare number of seconds.
    pub(crate) fn duration(
        &mut self,
        name: &'static str,
        default: std::time::Duration,
    ) -> std::time::Duration {
        let Some(raw) = self.raw(name) else {
            return default;
        };
        let parsed = match raw {
            Json::Number(n) => n.as_f64().map(std::time::Duration::from_secs_f64),
            Json::String(s) => parse_duration(s),
            _ => None,
        };
        parsed.unwrap_or_else(|| {
            self.error(
                name,
                format!("`{raw}` is not a duration (like `200ms` or `5s`)"),
            );
            default
        })
    }

    pub(crate) fn field(&mut self, name: &'static str) -> Option<Field> {
        let text = self.string(name)?;
        Field::parse(&text).map_err(|e| self.error(name, e)).ok()
    }

    pub(crate) fn field_or(&mut self, name: &'static str, default: Field) -> Field {
        self.field(name).unwrap_or(default)
    }

    pub(crate) fn required_field(&mut self, name: &'static str) -> Option<Field> {
        if !self.map.contains_key(name) {
            self.known.push(name);
            self.missing(name);
            return None;
        }
        self.field(name)
    }

    pub(crate) fn expr(&mut self, name: &'static str) -> Option<Expr> {
        let text = self.string(name)?;
        match Expr::compile(&text) {
            Ok(e) => Some(e),
            Err(e) => {
                let mut error = ConfigError::new(self.path.key(name), e.to_string());
                error.column = Some(e.column);
                self.errors.push(error);
                None
            }
        }
    }

    /// A nested block (`timestamp:`), read by its own `Fields`.
    pub(crate) fn block(&mut self, name: &'static str) -> Option<Fields<'a>> {
        let path = self.path.key(name);
        match self.raw(name)? {
            Json::Object(map) => Some(Fields::new(map, path)),
            other => {
                let kind = json_kind(other);
                self.error(name, format!("expected a map, found {kind}"));
                None
            }
        }
    }

    /// Ends reading: refuses keys no getter asked for, and hands every problem on.
    pub(crate) fn finish(mut self, errors: &mut Vec<ConfigError>) {
        for key in self.map.keys() {
            if !self.known.contains(&key.as_str()) {
                let mut known = self.known.clone();
                known.sort_unstable();
                known.dedup();
                self.errors.push(ConfigError::unknown(
                    self.path.key(key),
                    "field",
                    key,
                    &known,
                ));
            }
        }
        errors.append(&mut self.errors);
    }
}

pub(crate) fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "nothing",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

/// Go's `time.ParseDuration`: one or more `<number><unit>` (`1m30s`, `1.5h`, `200ms`).
pub(crate) fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut rest = s.trim();
    match rest {
        "0" => return Some(std::time::Duration::ZERO),
        "" => return None,
        _ => {}
    }
    let mut secs = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, after) = rest.split_at(digits);
        let n: f64 = number.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        secs += n * match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = after;
    }
    std::time::Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_are_read_as_go_writes_them() {
        assert_eq!(parse_duration("200ms"), Some(Duration::from_millis(200)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }
}
