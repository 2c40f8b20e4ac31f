//! Layouts, strptime's (`%Y-%m-%d %H:%M:%S.%f %z`) and Go's (`2006-01-02T15:04:05Z07:00`),
//! compiled to one list of items so that one matcher parses both.

/// One piece of a layout.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    Literal(String),
    /// Four digits (Go's `2006`, `%Y`).
    Year,
    /// Two digits, 19xx for 69–99 as Go does (`06`, `%y`).
    Year2,
    /// Month number, one or two digits (`01`, `1`, `%m`).
    Month,
    MonthAbbr,
    MonthName,
    Day,
    /// Space-padded day (`_2`, `%e`).
    DaySpace,
    YearDay,
    Hour24,
    Hour12,
    Minute,
    Second,
    /// Fractional seconds: `Some(n)` exactly n digits, `None` any count (Go's `.999`).
    Fraction(Option<usize>),
    AmPm,
    WeekdayAbbr,
    WeekdayName,
    /// A numeric offset; `z` also accepts `Z` for UTC (Go's `Z07:00`).
    Offset {
        z: bool,
    },
    /// A zone abbreviation (`MST`, `UTC`).
    ZoneName,
}

/// Compiles a strptime layout as stanza (ctimefmt) reads it; `%j` and `%N` are accepted
/// beyond ctimefmt's set.
pub(crate) fn strptime(layout: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut chars = layout.chars();
    let mut literal = String::new();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            return Err("layout ends with a lone `%`".into());
        };
        let expansion: &[Item] = match d {
            '%' => {
                literal.push('%');
                continue;
            }
            'n' => {
                literal.push('\n');
                continue;
            }
            't' => {
                literal.push('\t');
                continue;
            }
            'Y' => &[Item::Year],
            'y' => &[Item::Year2],
            'm' => &[Item::Month],
            'b' | 'h' => &[Item::MonthAbbr],
            'B' => &[Item::MonthName],
            'd' => &[Item::Day],
            'e' => &[Item::DaySpace],
            'j' => &[Item::YearDay],
            'H' => &[Item::Hour24],
            'I' => &[Item::Hour12],
            'M' => &[Item::Minute],
            'S' => &[Item::Second],
            'L' => &[Item::Fraction(Some(3))],
            'f' => &[Item::Fraction(None)],
            'N' => &[Item::Fraction(Some(9))],
            'p' => &[Item::AmPm],
            'a' => &[Item::WeekdayAbbr],
            'A' => &[Item::WeekdayName],
            'z' => &[Item::Offset { z: true }],
            'Z' => &[Item::ZoneName],
            'T' | 'X' => &[
                Item::Hour24,
                Item::Literal(String::new()),
                Item::Minute,
                Item::Literal(String::new()),
                Item::Second,
            ],
            'R' => &[Item::Hour24, Item::Literal(String::new()), Item::Minute],
            'D' | 'x' => &[
                Item::Month,
                Item::Literal(String::new()),
                Item::Day,
                Item::Literal(String::new()),
                Item::Year,
            ],
            'r' => &[
                Item::Hour12,
                Item::Literal(String::new()),
                Item::Minute,
                Item::Literal(String::new()),
                Item::Second,
                Item::Literal(String::new()),
                Item::AmPm,
            ],
            'F' => &[
                Item::Year,
                Item::Literal(String::new()),
                Item::Month,
                Item::Literal(String::new()),
                Item::Day,
            ],
            'c' => &[
                Item::WeekdayAbbr,
                Item::Literal(String::new()),
                Item::MonthAbbr,
                Item::Literal(String::new()),
                Item::Day,
                Item::Literal(String::new()),
                Item::Hour24,
                Item::Literal(String::new()),
                Item::Minute,
                Item::Literal(String::new()),
                Item::Second,
                Item::Literal(String::new()),
                Item::Year,
            ],
            other => return Err(format!("unsupported strptime directive `%{other}`")),
        };
        flush(&mut items, &mut literal);
        // The compound directives' separators, in order.
        let separators: &[&str] = match d {
            'T' | 'X' | 'R' => &[":", ":"],
            'r' => &[":", ":", " "],
            'D' | 'x' => &["/", "/"],
            'F' => &["-", "-"],
            'c' => &[" ", " ", " ", ":", ":", " "],
            _ => &[],
        };
        let mut sep = separators.iter();
        for item in expansion {
            match item {
                Item::Literal(_) => {
                    items.push(Item::Literal(sep.next().unwrap_or(&"").to_string()))
                }
                other => items.push(other.clone()),
            }
        }
    }
    flush(&mut items, &mut literal);
    Ok(items)
}

/// Compiles a Go reference-time layout.
pub(crate) fn gotime(layout: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut literal = String::new();
    let b = layout.as_bytes();
    let mut i = 0;
    let mut any = false;
    while i < b.len() {
        let rest = &layout[i..];
        let (item, len) = if rest.starts_with("January") {
            (Item::MonthName, 7)
        } else if rest.starts_with("Jan") {
            (Item::MonthAbbr, 3)
        } else if rest.starts_with("Monday") {
            (Item::WeekdayName, 6)
        } else if rest.starts_with("Mon") {
            (Item::WeekdayAbbr, 3)
        } else if rest.starts_with("MST") {
            (Item::ZoneName, 3)
        } else if rest.starts_with("2006") {
            (Item::Year, 4)
        } else if rest.starts_with("002") {
            (Item::YearDay, 3)
        } else if rest.starts_with("01") {
            (Item::Month, 2)
        } else if rest.starts_with("02") {
            (Item::Day, 2)
        } else if rest.starts_with("03") {
            (Item::Hour12, 2)
        } else if rest.starts_with("04") {
            (Item::Minute, 2)
        } else if rest.starts_with("05") {
            (Item::Second, 2)
        } else if rest.starts_with("06") {
            (Item::Year2, 2)
        } else if rest.starts_with("15") {
            (Item::Hour24, 2)
        } else if rest.starts_with("_2") && !rest.starts_with("_2006") {
            (Item::DaySpace, 2)
        } else if rest.starts_with('1') {
            (Item::Month, 1)
        } else if rest.starts_with('2') {
            (Item::Day, 1)
        } else if rest.starts_with('3') {
            (Item::Hour12, 1)
        } else if rest.starts_with('4') {
            (Item::Minute, 1)
        } else if rest.starts_with('5') {
            (Item::Second, 1)
        } else if rest.starts_with("PM") || rest.starts_with("pm") {
            (Item::AmPm, 2)
        } else if let Some(len) = ["-07:00:00", "-070000", "-07:00", "-0700", "-07"]
            .iter()
            .find(|p| rest.starts_with(**p))
            .map(|p| p.len())
        {
            (Item::Offset { z: false }, len)
        } else if let Some(len) = ["Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07"]
            .iter()
            .find(|p| rest.starts_with(**p))
            .map(|p| p.len())
        {
            (Item::Offset { z: true }, len)
        } else if let Some((item, len)) = fraction(rest) {
            (item, len)
        } else {
            let c = rest.chars().next().unwrap_or_default();
            literal.push(c);
            i += c.len_utf8();
            continue;
        };
        any = true;
        flush(&mut items, &mut literal);
        if let Item::Fraction(_) = item {
            // The separator (`.` or `,`) is part of Go's fraction chunk.
            items.push(Item::Literal(rest[..1].to_string()));
        }
        items.push(item);
        i += len;
    }
    flush(&mut items, &mut literal);
    if !any {
        return Err(format!(
            "`{layout}` has no element of Go's reference time (2006-01-02T15:04:05Z07:00)"
        ));
    }
    Ok(items)
}

/// `.000`, `,999`: a fraction of a second, if not followed by another digit.
fn fraction(rest: &str) -> Option<(Item, usize)> {
    let b = rest.as_bytes();
    if !(b.first() == Some(&b'.') || b.first() == Some(&b',')) {
        return None;
    }
    let digit = *b.get(1)?;
    if digit != b'0' && digit != b'9' {
        return None;
    }
    let n = b[1..].iter().take_while(|c| **c == digit).count();
    if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let item = if digit == b'0' {
        Item::Fraction(Some(n))
    } else {
        Item::Fraction(None)
    };
    Some((item, 1 + n))
}

fn flush(items: &mut Vec<Item>, literal: &mut String) {
    if !literal.is_empty() {
        items.push(Item::Literal(std::mem::take(literal)));
    }
}
