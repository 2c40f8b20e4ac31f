//! Matching a value against a compiled layout, giving the civil date-time and, when the
//! value carries one, its UTC offset.

use super::layout::Item;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// What a value said; `year` is `None` when the layout has none (syslog's `Jan  2 15:04:05`).
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub year: Option<i16>,
    pub month: i8,
    pub day: i8,
    pub year_day: Option<i16>,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub nanos: i32,
    pub offset: Option<i32>,
    /// A zone abbreviation that means UTC (`UTC`, `GMT`, `Z`).
    pub utc: bool,
}

struct Cursor<'a> {
    s: &'a str,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let n = self
            .s
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min {
            return None;
        }
        let v = self.s[..n].parse().ok()?;
        self.s = &self.s[n..];
        Some(v)
    }

    fn word(&mut self, names: &[&str], abbreviated: bool) -> Option<usize> {
        names.iter().position(|name| {
            let want = if abbreviated { &name[..3] } else { name };
            let hit = self
                .s
                .get(..want.len())
                .is_some_and(|got| got.eq_ignore_ascii_case(want));
            if hit {
                self.s = &self.s[want.len()..];
            }
            hit
        })
    }

    fn fraction(&mut self, exact: Option<usize>) -> Option<i32> {
        let n = self.s.bytes().take_while(u8::is_ascii_digit).count();
        match exact {
            Some(want) if n != want => return None,
            None if n == 0 => return None,
            _ => {}
        }
        let digits = &self.s[..n];
        self.s = &self.s[n..];
        // Nanoseconds: the first nine digits, right-padded; further digits are below precision.
        let mut nanos: i32 = 0;
        for i in 0..9 {
            let d = digits.as_bytes().get(i).map_or(0, |b| i32::from(b - b'0'));
            nanos = nanos * 10 + d;
        }
        Some(nanos)
    }
}

/// Takes `literal` off the front of `value`, a run of spaces in either matching a run of
/// spaces in the other, as Go's time parsing does.
fn skip<'v>(mut value: &'v str, literal: &str) -> Option<&'v str> {
    let mut layout = literal;
    while let Some(l) = layout.chars().next() {
        if l == ' ' {
            if !value.starts_with(' ') {
                return None;
            }
            layout = layout.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        value = value.strip_prefix(l)?;
        layout = &layout[l.len_utf8()..];
    }
    Some(value)
}

/// Matches `value` against `items`; `Err` says what did not match.
pub(crate) fn parse(items: &[Item], value: &str) -> Result<Parsed, String> {
    let mut c = Cursor { s: value };
    let mut p = Parsed::default();
    let mut pm: Option<bool> = None;
    let bad = |what: &str| format!("cannot parse `{value}` as {what}");
    for (idx, item) in items.iter().enumerate() {
        match item {
            Item::Literal(lit) => {
                c.s = skip(c.s, lit)
                    .ok_or_else(|| format!("`{value}` does not match the layout at `{}`", c.s))?;
            }
            Item::Year => p.year = Some(c.digits(4, 4).ok_or_else(|| bad("a year"))? as i16),
            Item::Year2 => {
                let y = c.digits(2, 2).ok_or_else(|| bad("a year"))?;
                p.year = Some(if y >= 69 { 1900 + y } else { 2000 + y } as i16);
            }
            Item::Month => p.month = c.digits(1, 2).ok_or_else(|| bad("a month"))? as i8,
            Item::MonthAbbr => {
                p.month = c.word(&MONTHS, true).ok_or_else(|| bad("a month"))? as i8 + 1;
            }
            Item::MonthName => {
                p.month = c.word(&MONTHS, false).ok_or_else(|| bad("a month"))? as i8 + 1;
            }
            Item::Day => p.day = c.digits(1, 2).ok_or_else(|| bad("a day"))? as i8,
            Item::DaySpace => {
                c.s = c.s.strip_prefix(' ').unwrap_or(c.s);
                p.day = c.digits(1, 2).ok_or_else(|| bad("a day"))? as i8;
            }
            Item::YearDay => {
                p.year_day = Some(c.digits(1, 3).ok_or_else(|| bad("a day of the year"))? as i16);
            }
            Item::Hour24 => p.hour = c.digits(1, 2).ok_or_else(|| bad("an hour"))? as i8,
            Item::Hour12 => p.hour = c.digits(1, 2).ok_or_else(|| bad("an hour"))? as i8,
            Item::Minute => p.minute = c.digits(1, 2).ok_or_else(|| bad("a minute"))? as i8,
            Item::Second => {
                p.second = c.digits(1, 2).ok_or_else(|| bad("a second"))? as i8;
                // Go accepts a fraction after the seconds even when the layout has none.
                let next_takes_it = match items.get(idx + 1) {
                    Some(Item::Fraction(_)) => true,
                    Some(Item::Literal(l)) => l.starts_with(['.', ',']),
                    _ => false,
                };
                if !next_takes_it
                    && c.s.starts_with(['.', ','])
                    && c.s[1..].starts_with(|ch: char| ch.is_ascii_digit())
                {
                    c.s = &c.s[1..];
                    p.nanos = c.fraction(None).unwrap_or(0);
                }
            }
            Item::Fraction(exact) => {
                p.nanos = c
                    .fraction(*exact)
                    .ok_or_else(|| bad("a fraction of a second"))?;
            }
            Item::AmPm => {
                let head = c.s.get(..2).ok_or_else(|| bad("AM or PM"))?;
                pm = match head.to_ascii_uppercase().as_str() {
                    "AM" => Some(false),
                    "PM" => Some(true),
                    _ => return Err(bad("AM or PM")),
                };
                c.s = &c.s[2..];
            }
            Item::WeekdayAbbr => {
                c.word(&WEEKDAYS, true).ok_or_else(|| bad("a weekday"))?;
            }
            Item::WeekdayName => {
                c.word(&WEEKDAYS, false).ok_or_else(|| bad("a weekday"))?;
            }
            Item::Offset { z } => {
                if *z && c.s.starts_with('Z') {
                    c.s = &c.s[1..];
                    p.offset = Some(0);
                    continue;
                }
                let sign = match c.s.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad("a UTC offset")),
                };
                c.s = &c.s[1..];
                let hours = c.digits(2, 2).ok_or_else(|| bad("a UTC offset"))?;
                c.s = c.s.strip_prefix(':').unwrap_or(c.s);
                let minutes = c.digits(2, 2).unwrap_or(0);
                c.s = c.s.strip_prefix(':').unwrap_or(c.s);
                let seconds = c.digits(2, 2).unwrap_or(0);
                p.offset = Some(sign * (hours * 3600 + minutes * 60 + seconds) as i32);
            }
            Item::ZoneName => {
                let n = c.s.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
                if n < 1 {
                    return Err(bad("a time zone abbreviation"));
                }
                let name = &c.s[..n];
                p.utc = matches!(name, "UTC" | "GMT" | "Z");
                c.s = &c.s[n..];
            }
        }
    }
    if !c.s.is_empty() {
        return Err(format!(
            "`{value}` has extra text `{}` after the layout",
            c.s
        ));
    }
    match pm {
        Some(true) if p.hour < 12 => p.hour += 12,
        Some(false) if p.hour == 12 => p.hour = 0,
        _ => {}
    }
    Ok(p)
}
