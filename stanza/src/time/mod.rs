//! Timestamps: the `timestamp:` block of parsers and the `time_parser` operator. Layouts are
//! strptime (default), Go's reference time, or epoch units; a value without an offset is read
//! in `location` (an IANA name from the system's tz database, `Local` by default).

mod layout;
mod parse;

use jiff::tz::{Offset, TimeZone};

use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;
use crate::value::Value;
use layout::Item;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Epoch {
    Seconds,
    Millis,
    Micros,
    Nanos,
    /// `s.ms`, `s.us`, `s.ns`: seconds with a decimal fraction.
    SecondsFraction,
}

#[derive(Clone, Debug)]
enum Layout {
    Items(Vec<Item>),
    Epoch(Epoch),
}

/// A configured timestamp parser.
#[derive(Clone, Debug)]
pub(crate) struct TimeParser {
    parse_from: Field,
    layout: Layout,
    zone: TimeZone,
}

impl TimeParser {
    /// Reads `parse_from`, `layout_type`, `layout` and `location`.
    pub(crate) fn from_config(f: &mut Fields) -> Option<TimeParser> {
        let parse_from = f.required_field("parse_from");
        let layout_type = f.string("layout_type").unwrap_or_else(|| "strptime".into());
        let layout_text = f.string("layout");
        let location = f.string("location");
        let layout = match (layout_type.as_str(), layout_text) {
            (_, None) => {
                f.missing("layout");
                None
            }
            ("strptime", Some(l)) => layout::strptime(&l)
                .map_err(|e| f.error("layout", e))
                .ok()
                .map(Layout::Items),
            ("gotime", Some(l)) => layout::gotime(&l)
                .map_err(|e| f.error("layout", e))
                .ok()
                .map(Layout::Items),
            ("epoch", Some(l)) => {
                let unit = match l.as_str() {
                    "s" => Some(Epoch::Seconds),
                    "ms" => Some(Epoch::Millis),
                    "us" => Some(Epoch::Micros),
                    "ns" => Some(Epoch::Nanos),
                    "s.ms" | "s.us" | "s.ns" => Some(Epoch::SecondsFraction),
                    other => {
                        f.error(
                            "layout",
                            format!("unknown epoch layout `{other}`; expected one of `s`, `ms`, `us`, `ns`, `s.ms`, `s.us`, `s.ns`"),
                        );
                        None
                    }
                };
                unit.map(Layout::Epoch)
            }
            (other, Some(_)) => {
                f.error(
                    "layout_type",
                    format!("unknown layout_type `{other}`; expected one of `strptime`, `gotime`, `epoch`"),
                );
                None
            }
        };
        let zone = match TimeParser::zone(location.as_deref()) {
            Ok(z) => z,
            Err(e) => {
                f.error("location", e);
                return None;
            }
        };
        Some(TimeParser {
            parse_from: parse_from?,
            layout: layout?,
            zone,
        })
    }

    /// A strptime parser for values read elsewhere (syslog's RFC 3164 stamp).
    pub(crate) fn strptime_in(layout: &str, zone: TimeZone) -> TimeParser {
        TimeParser {
            parse_from: Field::body(),
            layout: Layout::Items(layout::strptime(layout).unwrap_or_default()),
            zone,
        }
    }

    /// The zone a `location` names: `Local`, `UTC` or an IANA name.
    pub(crate) fn zone(name: Option<&str>) -> Result<TimeZone, String> {
        match name {
            None | Some("Local") => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
            Some("UTC") => Ok(TimeZone::UTC),
            Some(name) => {
                TimeZone::get(name).map_err(|e| format!("unknown time zone `{name}`: {e}"))
            }
        }
    }

    /// Sets the entry's timestamp from its `parse_from` field.
    pub(crate) fn apply(&self, entry: &mut Entry) -> Result<(), String> {
        let value = self
            .parse_from
            .get(entry)
            .ok_or_else(|| format!("entry is missing the timestamp field `{}`", self.parse_from))?;
        let ns = self.parse_value(value)?;
        entry.timestamp = Some(ns);
        Ok(())
    }

    /// Nanoseconds since the epoch for one value.
    pub(crate) fn parse_value(&self, value: &Value) -> Result<i64, String> {
        match &self.layout {
            Layout::Epoch(unit) => epoch(*unit, value),
            Layout::Items(items) => {
                let text = value
                    .as_text()
                    .ok_or_else(|| format!("cannot parse a {} as a timestamp", value.kind()))?;
                let p = parse::parse(items, text)?;
                self.to_nanos(&p, text)
            }
        }
    }

    fn to_nanos(&self, p: &parse::Parsed, text: &str) -> Result<i64, String> {
        let bad = |e: jiff::Error| format!("`{text}` is not a valid time: {e}");
        let year = match p.year {
            Some(y) => y,
            None => jiff::Timestamp::now()
                .to_zoned_datetime(self.zone.clone())
                .year(),
        };
        let date = match p.year_day {
            Some(yday) => jiff::civil::Date::new(year, 1, 1)
                .and_then(|d| d.with().day_of_year(yday).build())
                .map_err(bad)?,
            None => jiff::civil::Date::new(year, p.month.max(1), p.day.max(1)).map_err(bad)?,
        };
        let time = jiff::civil::Time::new(p.hour, p.minute, p.second, p.nanos).map_err(bad)?;
        let dt = date.to_datetime(time);
        let ts = match (p.offset, p.utc) {
            (Some(seconds), _) => {
                let offset = Offset::from_seconds(seconds).map_err(bad)?;
                offset.to_timestamp(dt).map_err(bad)?
            }
            (None, true) => Offset::UTC.to_timestamp(dt).map_err(bad)?,
            (None, false) => self
                .zone
                .to_ambiguous_timestamp(dt)
                .compatible()
                .map_err(bad)?,
        };
        i64::try_from(ts.as_nanosecond()).map_err(|_| format!("`{text}` is out of range"))
    }
}

fn epoch(unit: Epoch, value: &Value) -> Result<i64, String> {
    let text = match value {
        Value::Int(i) => i.to_string(),
        Value::Double(d) => format!("{d:.9}"),
        other => other
            .as_text()
            .ok_or_else(|| format!("cannot parse a {} as an epoch timestamp", other.kind()))?
            .to_string(),
    };
    let bad = || format!("`{text}` is not an epoch timestamp");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let scale: i64 = match unit {
        Epoch::Seconds | Epoch::SecondsFraction => 1_000_000_000,
        Epoch::Millis => 1_000_000,
        Epoch::Micros => 1_000,
        Epoch::Nanos => 1,
    };
    let mut frac_ns: i64 = 0;
    let mut place = scale;
    for b in fraction.bytes() {
        place /= 10;
        if place == 0 {
            break;
        }
        frac_ns += i64::from(b - b'0') * place;
    }
    let sign = if text.starts_with('-') { -1 } else { 1 };
    whole
        .checked_mul(scale)
        .and_then(|n| n.checked_add(sign * frac_ns))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests;
