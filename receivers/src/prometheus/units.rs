//! Durations and sizes as Prometheus's own YAML writes them, which is not how otelcol's
//! fields do: durations are `1h30m`, `15s`, `100ms`, `2d`, `1w`, `1y` (integers only, units
//! from largest to smallest), and sizes are `units.Base2Bytes` (`10MB` is 10 MiB).

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Prometheus duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration(pub Duration);

const UNITS: [(&str, u64); 8] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
    ("", 0),
];

/// Parses `1h30m`, `15s`, `100ms`, `0`: each unit at most once, largest first.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{text}` is not a Prometheus duration (such as 15s, 1m, 1h30m or 500ms; units y w d h m s ms)"
        )
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total: u64 = 0;
    // The index of the last unit used: each must come after the one before.
    let mut last: Option<usize> = None;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let index = UNITS[..7]
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(bad)?;
        if last.is_some_and(|l| index <= l) {
            return Err(bad());
        }
        last = Some(index);
        total = number
            .checked_mul(UNITS[index].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration as Prometheus does (`1m30s`, `15s`, `0s`).
pub fn format_duration(duration: Duration) -> String {
    let mut ms = duration.as_millis() as u64;
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (name, size) in &UNITS[..7] {
        if ms >= *size {
            out.push_str(&format!("{}{name}", ms / size));
            ms %= size;
        }
    }
    out
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(PromDuration)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PromDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PromDuration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A Prometheus duration: 15s, 1m, 1h30m, 500ms (units y w d h m s ms)."
        })
    }
}

/// A Prometheus size (`body_size_limit`): bytes, or a number with `B`, `KB`, `MB`, `GB`,
/// `TB`, `PB`, `EB` (powers of 1024, as Prometheus reads them; `KiB`... are taken too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PromSize(pub u64);

pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size (such as 0, 512KB, 10MB or 1GB)");
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return Err(bad());
    }
    let number: u64 = text[..digits].parse().map_err(|_| bad())?;
    let unit = text[digits..].trim();
    let shift = match unit.trim_end_matches('B').trim_end_matches('i') {
        "" if unit.is_empty() || unit == "B" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        "E" => 60,
        _ => return Err(bad()),
    };
    number.checked_mul(1u64 << shift).ok_or_else(bad)
}

impl Serialize for PromSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for PromSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(PromSize(n)),
            Raw::Text(t) => parse_size(&t)
                .map(PromSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for PromSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PromSize".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "integer"],
            "description": "A size: bytes, or a number with B, KB, MB, GB (powers of 1024)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_prometheus_writes_them() {
        let ms = |t: &str| parse_duration(t).map(|d| d.as_millis() as u64);
        assert_eq!(ms("15s"), Ok(15_000));
        assert_eq!(ms("1m"), Ok(60_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("1d"), Ok(86_400_000));
        assert_eq!(ms("0"), Ok(0));
        for bad in ["", "1.5s", "s", "30m1h", "1s1s", "10", "1sec", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad} was taken");
        }
        assert_eq!(format_duration(Duration::from_millis(90_500)), "1m30s500ms");
        assert_eq!(format_duration(Duration::from_secs(15)), "15s");
    }

    #[test]
    fn sizes_are_powers_of_1024() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("10MB"), Ok(10 << 20));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("2GB"), Ok(2 << 30));
        assert!(parse_size("1.5MB").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("10XB").is_err());
    }
}
