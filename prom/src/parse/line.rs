//! The lexer both formats share: names, label sets, quoted values, numbers.
//!
//! It works on one line's bytes with a position; a failure is a short static message the
//! caller puts a line number on.

use std::borrow::Cow;

use crate::model::Label;

pub(crate) struct Cursor<'a> {
    pub(crate) s: &'a str,
    pub(crate) at: usize,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s, at: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }

    pub(crate) fn done(&self) -> bool {
        self.at >= self.s.len()
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    /// Skips spaces and tabs; says whether there were any.
    pub(crate) fn blanks(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        self.at > start
    }

    /// A metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub(crate) fn metric_name(&mut self) -> Option<&'a str> {
        self.name_where(is_name_start, is_name_char)
    }

    /// A label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
    pub(crate) fn label_name(&mut self) -> Option<&'a str> {
        self.name_where(
            |b| b.is_ascii_alphabetic() || b == b'_',
            |b| b.is_ascii_alphanumeric() || b == b'_',
        )
    }

    fn name_where(&mut self, start: fn(u8) -> bool, rest: fn(u8) -> bool) -> Option<&'a str> {
        let from = self.at;
        if !self.peek().is_some_and(start) {
            return None;
        }
        self.at += 1;
        while self.peek().is_some_and(rest) {
            self.at += 1;
        }
        Some(&self.s[from..self.at])
    }

    /// The bytes up to the next space or tab (or the end).
    pub(crate) fn token(&mut self) -> &'a str {
        let from = self.at;
        while !matches!(self.peek(), None | Some(b' ' | b'\t')) {
            self.at += 1;
        }
        &self.s[from..self.at]
    }

    /// A double-quoted label value, unescaped: `\\`, `\"` and `\n`. Prometheus keeps any
    /// other backslash pair as written, so this does too.
    pub(crate) fn quoted(&mut self) -> Result<Cow<'a, str>, &'static str> {
        if !self.eat(b'"') {
            return Err("expected `\"` to open a label value");
        }
        let from = self.at;
        let bytes = self.s.as_bytes();
        let mut escaped = false;
        loop {
            match bytes.get(self.at) {
                None => return Err("label value is not closed by `\"`"),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.at += 2;
                }
                Some(_) => self.at += 1,
            }
        }
        if self.at > self.s.len() {
            return Err("label value is not closed by `\"`");
        }
        let raw = &self.s[from..self.at];
        self.at += 1;
        Ok(if escaped {
            Cow::Owned(unescape(raw, true))
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// A label set after its `{`, through the `}`, appended to `out`. `lenient` is the text
    /// format's lexer: blanks between tokens and a trailing comma are allowed.
    pub(crate) fn label_set(
        &mut self,
        lenient: bool,
        out: &mut Vec<Label<'a>>,
    ) -> Result<(), &'static str> {
        let first = out.len();
        loop {
            if lenient {
                self.blanks();
            }
            if self.eat(b'}') {
                if !lenient && out.len() > first && self.s.as_bytes()[self.at - 2] == b',' {
                    return Err("trailing `,` in a label set");
                }
                return Ok(());
            }
            let name = self.label_name().ok_or("expected a label name or `}`")?;
            if lenient {
                self.blanks();
            }
            if !self.eat(b'=') {
                return Err("expected `=` after a label name");
            }
            if lenient {
                self.blanks();
            }
            let value = self.quoted()?;
            if out[first..].iter().any(|l| l.name == name) {
                return Err("a label name appears twice");
            }
            out.push(Label { name, value });
            if lenient {
                self.blanks();
            }
            if !self.eat(b',') && self.peek() != Some(b'}') {
                return Err("expected `,` or `}` after a label value");
            }
        }
    }
}

/// Undoes `\\`, `\n` and, when `quote`, `\"`; other backslash pairs stay as written.
pub(crate) fn unescape(raw: &str, quote: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A sample value as Go's `strconv.ParseFloat` reads the forms exporters write: decimals,
/// exponents, `NaN`, `+Inf`/`-Inf`/`Inf` in any case.
pub(crate) fn number(s: &str) -> Option<f64> {
    // Rust reads "inf", "infinity" and "nan" in any case, as Go does; Prometheus refuses
    // what Go reads beyond that (hex floats, `_` separators), and so does Rust.
    let v = s.parse::<f64>().ok()?;
    // Go's ParseFloat fails on a finite literal too large for an f64 (`1e400`), where Rust
    // rounds it to infinity.
    if v.is_infinite() && !s.bytes().any(|b| b == b'i' || b == b'I') {
        return None;
    }
    Some(v)
}

/// The length OpenMetrics limits in an exemplar's label set (at most 128): code points of
/// names and values together.
pub(crate) fn exemplar_runes(labels: &[Label<'_>]) -> usize {
    labels
        .iter()
        .map(|l| l.name.chars().count() + l.value.chars().count())
        .sum()
}
