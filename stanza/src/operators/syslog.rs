//! `syslog_parser`: RFC 3164 and RFC 5424 messages become fields (`appname`, `hostname`,
//! `message`, `structured_data`, ...), and set the entry's timestamp and severity.
//!
//! Hand-written rather than taken from a crate: the fields must be named and typed as stanza
//! (go-syslog) gives them, RFC 5424 is parsed as strictly as go-syslog does, and RFC 3164's
//! year-less stamp must be read in `location` with this crate's own time code.

use jiff::tz::TimeZone;

use super::parser::ParserCore;
use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::{Entry, Severity};
use crate::time::TimeParser;
use crate::value::{Map, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Rfc3164,
    Rfc5424,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trailer {
    None,
    Lf,
    Nul,
}

pub(crate) struct SyslogParser {
    core: ParserCore,
    protocol: Protocol,
    octet_counting: bool,
    /// The longest octet-counted message taken (stanza's `max_octets`, 8192 by default).
    max_octets: usize,
    trailer: Trailer,
    skip_pri: bool,
    stamp3164: TimeParser,
}

/// Syslog severities 0–7 as stanza maps them.
const SEVERITIES: [(Severity, &str); 8] = [
    (Severity::FATAL, "emerg"),
    (Severity::ERROR3, "alert"),
    (Severity::ERROR2, "crit"),
    (Severity::ERROR, "err"),
    (Severity::WARN, "warning"),
    (Severity::INFO2, "notice"),
    (Severity::INFO, "info"),
    (Severity::DEBUG, "debug"),
];

/// Facility keywords by number, the `facility_text` go-syslog gives stanza.
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl SyslogParser {
    pub(crate) fn from_config(f: &mut Fields) -> Option<SyslogParser> {
        let protocol = match f.required_string("protocol").as_deref() {
            Some("rfc3164") => Some(Protocol::Rfc3164),
            Some("rfc5424") => Some(Protocol::Rfc5424),
            Some(other) => {
                f.error(
                    "protocol",
                    format!("unknown protocol `{other}`; expected `rfc3164` or `rfc5424`"),
                );
                None
            }
            None => None,
        };
        let location = f.string("location");
        let zone = match TimeParser::zone(Some(location.as_deref().unwrap_or("UTC"))) {
            Ok(z) => z,
            Err(e) => {
                f.error("location", e);
                TimeZone::UTC
            }
        };
        let octet_counting = f.bool("enable_octet_counting", false);
        let max_octets = f.u64("max_octets", 8192) as usize;
        let skip_pri = f.bool("allow_skip_pri_header", false);
        let trailer = match f.string("non_transparent_framing_trailer").as_deref() {
            None => Trailer::None,
            Some("LF") => Trailer::Lf,
            Some("NUL") => Trailer::Nul,
            Some(other) => {
                f.error(
                    "non_transparent_framing_trailer",
                    format!("`{other}` is not `LF` or `NUL`"),
                );
                Trailer::None
            }
        };
        let core = ParserCore::from_config(f);
        let protocol = protocol?;
        if protocol == Protocol::Rfc3164 && (octet_counting || trailer != Trailer::None) {
            f.error(
                "protocol",
                "octet counting and framing trailers are only for rfc5424",
            );
            return None;
        }
        if octet_counting && trailer != Trailer::None {
            f.error(
                "non_transparent_framing_trailer",
                "cannot be used with enable_octet_counting",
            );
            return None;
        }
        Some(SyslogParser {
            core: core?,
            protocol,
            octet_counting,
            max_octets,
            trailer,
            skip_pri,
            stamp3164: TimeParser::strptime_in("%b %e %H:%M:%S", zone),
        })
    }

    fn parse(&self, text: &str) -> Result<Parsed, String> {
        let mut text = text;
        if self.octet_counting {
            let (len, rest) = text.split_once(' ').ok_or("missing the octet count")?;
            let len: usize = len
                .parse()
                .map_err(|_| format!("`{len}` is not an octet count"))?;
            if self.max_octets > 0 && len > self.max_octets {
                return Err(format!(
                    "message length {len} exceeds max_octets {}",
                    self.max_octets
                ));
            }
            text = rest
                .get(..len)
                .ok_or("the message is shorter than its octet count")?;
        }
        text = match self.trailer {
            Trailer::Lf => text.strip_suffix('\n').unwrap_or(text),
            Trailer::Nul => text.strip_suffix('\0').unwrap_or(text),
            Trailer::None => text,
        };
        let mut c = Cursor(text);
        let pri = if self.skip_pri && !c.0.starts_with('<') {
            None
        } else {
            Some(c.pri()?)
        };
        match self.protocol {
            Protocol::Rfc5424 => rfc5424(c, pri),
            Protocol::Rfc3164 => self.rfc3164(c, pri),
        }
    }

    fn rfc3164(&self, mut c: Cursor, pri: Option<u8>) -> Result<Parsed, String> {
        let mut p = Parsed::with_pri(pri);
        // `Mmm dd hh:mm:ss` is 15 characters; an RFC 3339 stamp runs to the next space.
        let stamp = match c.0.get(..15) {
            Some(s) if self.stamp3164.parse_value(&Value::from(s)).is_ok() => {
                c.0 = &c.0[15..];
                p.timestamp = self.stamp3164.parse_value(&Value::from(s)).ok();
                true
            }
            _ => {
                let word = c.0.split(' ').next().unwrap_or_default();
                match word.parse::<jiff::Timestamp>() {
                    Ok(ts) => {
                        p.timestamp = i64::try_from(ts.as_nanosecond()).ok();
                        c.0 = &c.0[word.len()..];
                        true
                    }
                    Err(_) => false,
                }
            }
        };
        if !stamp {
            return Err("expected an RFC 3164 timestamp (`Jan  2 15:04:05`)".into());
        }
        c.space()?;
        let host = c.word();
        if host.is_empty() {
            return Err("expected a hostname".into());
        }
        p.fields.insert("hostname".into(), host.into());
        if c.0.is_empty() {
            return Ok(p);
        }
        c.space()?;
        let rest = c.0;
        let tag_end = rest.find(['[', ':', ' ']).unwrap_or(rest.len());
        let (tag, after) = rest.split_at(tag_end);
        let mut message = rest;
        if !tag.is_empty() && tag.len() <= 48 {
            if let Some(inner) = after.strip_prefix('[')
                && let Some((pid, tail)) = inner.split_once(']')
            {
                let tail = tail.strip_prefix(':').unwrap_or(tail);
                p.fields.insert("appname".into(), tag.into());
                p.fields.insert("proc_id".into(), pid.into());
                message = tail.strip_prefix(' ').unwrap_or(tail);
            } else if let Some(tail) = after.strip_prefix(':') {
                p.fields.insert("appname".into(), tag.into());
                message = tail.strip_prefix(' ').unwrap_or(tail);
            }
        }
        if !message.is_empty() {
            p.fields.insert("message".into(), message.into());
        }
        Ok(p)
    }
}

struct Parsed {
    fields: Map,
    timestamp: Option<i64>,
    severity: Option<u8>,
}

impl Parsed {
    fn with_pri(pri: Option<u8>) -> Parsed {
        let mut fields = Map::new();
        if let Some(pri) = pri {
            fields.insert("priority".into(), Value::Int(i64::from(pri)));
            fields.insert("facility".into(), Value::Int(i64::from(pri / 8)));
            fields.insert(
                "facility_text".into(),
                Value::from(FACILITIES[usize::from(pri / 8)]),
            );
            // stanza promotes the syslog severity to the entry's and drops the attribute.
        }
        Parsed {
            fields,
            timestamp: None,
            severity: pri.map(|p| p % 8),
        }
    }
}

struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn pri(&mut self) -> Result<u8, String> {
        let rest = self
            .0
            .strip_prefix('<')
            .ok_or("expected `<` to open the priority")?;
        let (digits, rest) = rest
            .split_once('>')
            .ok_or("expected `>` to close the priority")?;
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{digits}` is not a priority"));
        }
        let pri: u16 = digits.parse().map_err(|_| "bad priority")?;
        if pri > 191 || (digits.len() > 1 && digits.starts_with('0')) {
            return Err(format!("`{digits}` is not a priority (0 to 191)"));
        }
        self.0 = rest;
        Ok(pri as u8)
    }

    fn space(&mut self) -> Result<(), String> {
        self.0 = self
            .0
            .strip_prefix(' ')
            .ok_or_else(|| format!("expected a space at `{}`", self.0))?;
        Ok(())
    }

    fn word(&mut self) -> &'a str {
        let end = self.0.find(' ').unwrap_or(self.0.len());
        let (w, rest) = self.0.split_at(end);
        self.0 = rest;
        w
    }

    /// An RFC 5424 header field: printable ASCII up to `max` characters, `-` for nil.
    fn header(&mut self, name: &str, max: usize) -> Result<Option<&'a str>, String> {
        let w = self.word();
        if w.is_empty() || w.len() > max || !w.bytes().all(|b| (33..=126).contains(&b)) {
            return Err(format!("expected the {name} at `{w}`"));
        }
        Ok((w != "-").then_some(w))
    }
}

fn rfc5424(mut c: Cursor, pri: Option<u8>) -> Result<Parsed, String> {
    let mut p = Parsed::with_pri(pri);
    let version = c.word();
    let v: u16 = version
        .parse()
        .ok()
        .filter(|v| *v > 0 && version.len() <= 3)
        .ok_or_else(|| format!("expected the version at `{version}`"))?;
    p.fields.insert("version".into(), Value::Int(i64::from(v)));
    c.space()?;
    let stamp = c.word();
    if stamp != "-" {
        let ts: jiff::Timestamp = stamp
            .parse()
            .map_err(|_| format!("expected an RFC 3339 timestamp at `{stamp}`"))?;
        p.timestamp = i64::try_from(ts.as_nanosecond()).ok();
    }
    for (name, key, max) in [
        ("hostname", "hostname", 255),
        ("app name", "appname", 48),
        ("process id", "proc_id", 128),
        ("message id", "msg_id", 32),
    ] {
        c.space()?;
        if let Some(v) = c.header(name, max)? {
            p.fields.insert(key.into(), v.into());
        }
    }
    c.space()?;
    if let Some(rest) = c.0.strip_prefix('-') {
        c.0 = rest;
    } else {
        let sd = structured_data(&mut c)?;
        p.fields.insert("structured_data".into(), Value::Map(sd));
    }
    if !c.0.is_empty() {
        c.space()?;
        let message = c.0.strip_prefix('\u{feff}').unwrap_or(c.0);
        if !message.is_empty() {
            p.fields.insert("message".into(), message.into());
        }
    }
    Ok(p)
}

fn structured_data(c: &mut Cursor) -> Result<Map, String> {
    let mut sd = Map::new();
    if !c.0.starts_with('[') {
        return Err(format!("expected structured data or `-` at `{}`", c.0));
    }
    while let Some(rest) = c.0.strip_prefix('[') {
        let id_end = rest
            .find([' ', ']'])
            .ok_or("unterminated structured data")?;
        let id = &rest[..id_end];
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| (33..=126).contains(&b) && !b"=\"".contains(&b))
        {
            return Err(format!("`{id}` is not an SD-ID"));
        }
        let mut params = Map::new();
        let mut rest = &rest[id_end..];
        while let Some(after) = rest.strip_prefix(' ') {
            let (name, after) = after.split_once("=\"").ok_or("expected `name=\"value\"`")?;
            if name.is_empty() || name.contains([' ', ']', '"']) {
                return Err(format!("`{name}` is not a parameter name"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err("unterminated parameter value".into()),
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, e @ ('"' | '\\' | ']'))) => value.push(e),
                        Some((_, other)) => {
                            value.push('\\');
                            value.push(other);
                        }
                        None => return Err("unterminated parameter value".into()),
                    },
                    Some((_, ch)) => value.push(ch),
                }
            };
            params.insert(name.to_string(), Value::String(value));
            rest = &after[end + 1..];
        }
        c.0 = rest
            .strip_prefix(']')
            .ok_or("expected `]` to close structured data")?;
        sd.insert(id.to_string(), Value::Map(params));
    }
    Ok(sd)
}

impl Transform for SyslogParser {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let input = self.core.input(entry)?;
        let text = input
            .as_text()
            .ok_or_else(|| format!("type {} cannot be parsed as syslog", input.kind()))?;
        let parsed = self.parse(text)?;
        if let Some(ts) = parsed.timestamp {
            entry.timestamp = Some(ts);
        }
        if let Some(s) = parsed.severity {
            let (severity, text) = SEVERITIES[usize::from(s)];
            entry.severity = severity;
            entry.severity_text = text.to_string();
        }
        self.core.finish(entry, Value::Map(parsed.fields))?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests;
