//! Durations as otelcol configs write them (`500ms`, `10s`, `1m30s`, `2h`), for plugin configs
//! that take an interval or a timeout.

use std::time::Duration;

/// Parses a sequence of number-and-unit parts (`ms`, `s`, `m`, `h`), such as `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let value: u32 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: expected a number"))?;
        rest = &rest[digits..];
        let (unit, len) = match rest.as_bytes() {
            [b'm', b's', ..] => (Duration::from_millis(1), 2),
            [b's', ..] => (Duration::from_secs(1), 1),
            [b'm', ..] => (Duration::from_secs(60), 1),
            [b'h', ..] => (Duration::from_secs(3600), 1),
            _ => return Err(format!("`{text}`: expected a unit (ms, s, m, h)")),
        };
        total = unit
            .checked_mul(value)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("`{text}`: too long"))?;
        rest = &rest[len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_otelcol_writes_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "5", "s", "10x", "99999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
