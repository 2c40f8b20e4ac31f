//! The log entry that flows through the operators, as stanza's `entry.Entry`.

use crate::value::{Map, Value};

/// Stanza's severity: the OTLP severity numbers 1–24, 0 when unset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Severity(pub u8);

const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

impl Severity {
    /// Not set (stanza's `Default`).
    pub const DEFAULT: Severity = Severity(0);
    /// TRACE.
    pub const TRACE: Severity = Severity(1);
    /// DEBUG.
    pub const DEBUG: Severity = Severity(5);
    /// INFO.
    pub const INFO: Severity = Severity(9);
    /// INFO2.
    pub const INFO2: Severity = Severity(10);
    /// WARN.
    pub const WARN: Severity = Severity(13);
    /// ERROR.
    pub const ERROR: Severity = Severity(17);
    /// ERROR2.
    pub const ERROR2: Severity = Severity(18);
    /// ERROR3.
    pub const ERROR3: Severity = Severity(19);
    /// FATAL.
    pub const FATAL: Severity = Severity(21);

    /// Stanza's name for the level (`INFO`, `ERROR2`, `DEFAULT`), used by `overwrite_text`.
    pub fn name(self) -> String {
        match self.0 {
            0 => "DEFAULT".to_string(),
            n @ 1..=24 => {
                let level = LEVELS[usize::from((n - 1) / 4)];
                match (n - 1) % 4 {
                    0 => level.to_string(),
                    step => format!("{level}{}", step + 1),
                }
            }
            n => n.to_string(),
        }
    }

    /// The level a lower-case name stands for (`info`, `warn3`, `warning`, `default`).
    pub fn from_name(name: &str) -> Option<Severity> {
        let lower = name.to_ascii_lowercase();
        if lower == "default" {
            return Some(Severity::DEFAULT);
        }
        let lower = if lower.starts_with("warning") {
            lower.replacen("warning", "warn", 1)
        } else {
            lower
        };
        let (word, step) = match lower.as_bytes().last() {
            Some(d @ b'2'..=b'4') => (&lower[..lower.len() - 1], d - b'0'),
            _ => (lower.as_str(), 1),
        };
        let level = LEVELS.iter().position(|l| l.eq_ignore_ascii_case(word))?;
        Some(Severity(level as u8 * 4 + step))
    }
}

/// Which of the caller's reads an entry came from: tags the caller gives the entries it makes
/// (a receiver numbers its reads), carried through every operator; an entry `recombine` made
/// of several spans all their tags. A receiver that moves its offsets only once what it read
/// is delivered uses it to know which reads an entry leaving the pipeline (or still held in it)
/// stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The lowest tag.
    pub first: u64,
    /// The highest tag.
    pub last: u64,
}

impl Origin {
    /// The one read `tag`.
    pub fn of(tag: u64) -> Origin {
        Origin {
            first: tag,
            last: tag,
        }
    }

    /// The reads of both.
    pub fn span(self, other: Origin) -> Origin {
        Origin {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }
}

/// One log record on its way through the operators.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// The record itself: a line of text as read, or what parsers made of it.
    pub body: Value,
    /// The record's attributes (`log.file.name`, parsed fields).
    pub attributes: Map,
    /// Attributes of the resource that produced the record.
    pub resource: Map,
    /// When the event happened, in nanoseconds since the Unix epoch; `None` until parsed.
    pub timestamp: Option<i64>,
    /// When the record was read, in nanoseconds since the Unix epoch.
    pub observed_timestamp: i64,
    /// The parsed severity.
    pub severity: Severity,
    /// The severity as the record wrote it (or its name, with `overwrite_text`).
    pub severity_text: String,
    /// 16 bytes when set.
    pub trace_id: Vec<u8>,
    /// 8 bytes when set.
    pub span_id: Vec<u8>,
    /// W3C trace flags.
    pub trace_flags: u8,
    /// The instrumentation scope's name (`scope_name_parser`); empty when unset.
    pub scope_name: String,
    /// The caller's reads it came from (operators only carry it).
    pub origin: Origin,
}

impl Entry {
    /// An entry whose body is `body`, observed at `observed_timestamp` (ns since the epoch).
    pub fn new(body: impl Into<Value>, observed_timestamp: i64) -> Entry {
        Entry {
            body: body.into(),
            observed_timestamp,
            ..Entry::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names_follow_stanza() {
        assert_eq!(Severity(0).name(), "DEFAULT");
        assert_eq!(Severity(9).name(), "INFO");
        assert_eq!(Severity(18).name(), "ERROR2");
        assert_eq!(Severity(24).name(), "FATAL4");
        assert_eq!(Severity::from_name("warn3"), Some(Severity(15)));
        assert_eq!(Severity::from_name("WARNING"), Some(Severity::WARN));
        assert_eq!(Severity::from_name("fatal4"), Some(Severity(24)));
        assert_eq!(Severity::from_name("loud"), None);
    }
}
