//! Where records end in a buffer of file bytes: at newlines (in the file's encoding, a
//! trailing CR dropped) or by a multiline regex applied to the raw bytes, as otelcol does.

use std::ops::Range;

use regex::bytes::Regex;

use crate::config::{ConfigError, Encoding, Multiline};

/// What the splitter found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// A record: `token` is its bytes, `advance` how far the next one starts.
    Token { token: Range<usize>, advance: usize },
    /// No complete record yet.
    NeedMore,
}

pub(crate) enum Splitter {
    Newline(Encoding),
    LineStart(Regex),
    LineEnd(Regex),
}

impl Splitter {
    pub fn new(encoding: Encoding, multiline: Option<&Multiline>) -> Result<Splitter, ConfigError> {
        let compile = |pattern: &String| {
            // Users write `^` for "at a line start", so it must match after every newline.
            Regex::new(&format!("(?m:{pattern})")).map_err(|source| ConfigError::Regex {
                pattern: pattern.clone(),
                source,
            })
        };
        Ok(match multiline {
            None => Splitter::Newline(encoding),
            Some(Multiline::LineStart(p)) => Splitter::LineStart(compile(p)?),
            Some(Multiline::LineEnd(p)) => Splitter::LineEnd(compile(p)?),
        })
    }

    /// The next record in `data`. `at_eof`: nothing follows `data` for now; `flush`: what is
    /// left is a record even without its end.
    pub fn next(&self, data: &[u8], at_eof: bool, flush: bool) -> Split {
        if data.is_empty() {
            return Split::NeedMore;
        }
        let found = match self {
            Splitter::Newline(encoding) => newline(*encoding, data),
            Splitter::LineStart(re) => line_start(re, data),
            Splitter::LineEnd(re) => line_end(re, data, at_eof),
        };
        match found {
            Some(split) => split,
            None if flush => Split::Token {
                token: 0..data.len(),
                advance: data.len(),
            },
            None => Split::NeedMore,
        }
    }
}

fn newline(encoding: Encoding, data: &[u8]) -> Option<Split> {
    let (at, cr) = match encoding {
        Encoding::Utf16Le => {
            let at = memchr::memchr_iter(b'\n', data)
                .find(|&i| i % 2 == 0 && data.get(i + 1) == Some(&0))?;
            (at, at >= 2 && data[at - 2..at] == [b'\r', 0])
        }
        Encoding::Utf16Be => {
            let at =
                memchr::memchr_iter(b'\n', data).find(|&i| i % 2 == 1 && data[i - 1] == 0)? - 1;
            (at, at >= 2 && data[at - 2..at] == [0, b'\r'])
        }
        _ => {
            let at = memchr::memchr(b'\n', data)?;
            (at, at >= 1 && data[at - 1] == b'\r')
        }
    };
    let unit = encoding.unit();
    let end = if cr { at - unit } else { at };
    Some(Split::Token {
        token: 0..end,
        advance: at + unit,
    })
}

fn line_start(re: &Regex, data: &[u8]) -> Option<Split> {
    let first = re.find(data)?;
    if first.start() > 0 {
        // What comes before the first start is kept as a record of its own, not lost.
        let end = first.start();
        return Some(Split::Token {
            token: 0..end,
            advance: end,
        });
    }
    // An empty match would find itself again.
    let from = first.end().max(1);
    let second = re.find_iter(data).find(|m| m.start() >= from)?;
    Some(Split::Token {
        token: 0..second.start(),
        advance: second.start(),
    })
}

fn line_end(re: &Regex, data: &[u8], at_eof: bool) -> Option<Split> {
    let end = re.find_iter(data).find(|m| m.end() > 0)?.end();
    if end == data.len() && !at_eof {
        // The match may go on in bytes not read yet.
        return None;
    }
    Some(Split::Token {
        token: 0..end,
        advance: end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(splitter: &Splitter, mut data: &[u8], flush: bool) -> Vec<String> {
        let mut out = Vec::new();
        while let Split::Token { token, advance } = splitter.next(data, true, flush) {
            out.push(String::from_utf8_lossy(&data[token]).into_owned());
            data = &data[advance..];
        }
        out
    }

    #[test]
    fn newlines_split_and_a_cr_before_them_is_dropped() {
        let s = Splitter::new(Encoding::Utf8, None).unwrap();
        assert_eq!(tokens(&s, b"a\r\nb\nc", false), ["a", "b"]);
        assert_eq!(tokens(&s, b"a\r\nb\nc", true), ["a", "b", "c"]);
    }

    #[test]
    fn utf16_newlines_are_found_only_on_code_unit_boundaries() {
        let s = Splitter::new(Encoding::Utf16Le, None).unwrap();
        // U+0A0A is one code unit whose bytes are both 0x0A.
        let data = [0x0A, 0x0A, b'\r', 0, b'\n', 0, b'x', 0];
        assert_eq!(
            s.next(&data, true, false),
            Split::Token {
                token: 0..2,
                advance: 6
            }
        );
        let be = Splitter::new(Encoding::Utf16Be, None).unwrap();
        assert_eq!(
            be.next(&[0, b'a', 0, b'\n'], true, false),
            Split::Token {
                token: 0..2,
                advance: 4
            }
        );
    }

    #[test]
    fn line_start_keeps_leading_text_and_waits_for_the_next_start() {
        let s = Splitter::new(Encoding::Utf8, Some(&Multiline::LineStart("^\\d".into()))).unwrap();
        let data = b"junk\n1 a\n  more\n2 b\n  tail";
        assert_eq!(tokens(&s, data, false), ["junk\n", "1 a\n  more\n"]);
        assert_eq!(tokens(&s, data, true).last().unwrap(), "2 b\n  tail");
    }

    #[test]
    fn line_end_cuts_after_the_match() {
        let s = Splitter::new(Encoding::Utf8, Some(&Multiline::LineEnd("\\}$".into()))).unwrap();
        assert_eq!(tokens(&s, b"{a\n}\n{b\n}\n{c", false), ["{a\n}", "\n{b\n}"]);
    }
}
