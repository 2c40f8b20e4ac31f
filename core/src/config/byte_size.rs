//! Byte sizes as otelcol's stanza-based components write them: a number of bytes (`1048576`)
//! or a number with a unit, decimal (`kb`, `mb`, `gb`, `tb`, `pb`: powers of 1000) or binary
//! (`kib`, `mib`, `gib`, `tib`, `pib`: powers of 1024), any letter case, optionally spaced
//! (`1kb`, `16KiB`, `1.5 MiB`).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes, read from an integer or a string with a unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// Parses `1kb`, `16KiB`, `1.5 MiB` or `1048576`.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    if number.is_empty() || number.starts_with('.') {
        return Err(format!(
            "`{text}` is not a byte size (such as 1048576, 1kb or 16KiB)"
        ));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: `{number}` is not a number"))?;
    let multiplier: f64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" => 1.0,
        "kb" => 1e3,
        "kib" => 1024.0,
        "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        "pb" => 1e15,
        "pib" => 1024f64.powi(5),
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use kb, mb, gb, tb, pb or kib, mib, gib, tib, pib)"
            ));
        }
    };
    let bytes = value * multiplier;
    if bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes as u64)
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n.is_multiple_of(1024 * 1024) {
            write!(f, "{}MiB", n / (1024 * 1024))
        } else if n != 0 && n.is_multiple_of(1024) {
            write!(f, "{}KiB", n / 1024)
        } else {
            write!(f, "{n}")
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Float(x) if x >= 0.0 && x < u64::MAX as f64 => Ok(ByteSize(x as u64)),
            Raw::Float(x) => Err(serde::de::Error::custom(format!(
                "`{x}` is not a byte size"
            ))),
            Raw::Text(t) => parse_byte_size(&t)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A size in bytes: a number (`1048576`) or a number with a unit (`1kb` = 1000, `16KiB` = 16384, `1MiB`).",
            "type": ["integer", "string"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_binary_units_read_as_otelcol_reads_them() {
        assert_eq!(parse_byte_size("1kb"), Ok(1000));
        assert_eq!(parse_byte_size("1KiB"), Ok(1024));
        assert_eq!(parse_byte_size("16KiB"), Ok(16384));
        assert_eq!(parse_byte_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_byte_size("1.5 MiB"), Ok(1024 * 1024 * 3 / 2));
        assert_eq!(parse_byte_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_byte_size("512"), Ok(512));
    }

    #[test]
    fn junk_is_refused_with_what_would_do() {
        assert!(parse_byte_size("").unwrap_err().contains("not a byte size"));
        assert!(
            parse_byte_size("kb")
                .unwrap_err()
                .contains("not a byte size")
        );
        assert!(
            parse_byte_size("10 qb")
                .unwrap_err()
                .contains("unknown unit `qb`")
        );
        assert!(parse_byte_size("1.2.3kb").is_err());
    }

    #[test]
    fn integers_strings_and_floats_deserialize() {
        let sizes: Vec<ByteSize> = serde_json::from_str(r#"[1048576, "1kb", 2.0]"#).unwrap();
        assert_eq!(sizes, vec![ByteSize(1048576), ByteSize(1000), ByteSize(2)]);
        assert!(serde_json::from_str::<ByteSize>(r#""lots""#).is_err());
        assert_eq!(ByteSize(1024 * 1024).to_string(), "1MiB");
    }
}
