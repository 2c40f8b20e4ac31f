//! Splits statement text into tokens, each with its byte span.

use crate::error::{Error, ErrorKind};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident,
    Str(String),
    /// Unsigned: the parser folds a leading minus, so `-9223372036854775808` fits.
    Int(u64),
    Float(f64),
    Bytes(Vec<u8>),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    Assign,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let single = |tok| Token {
            tok,
            start,
            end: start + 1,
        };
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => out.push(single(Tok::LParen)),
            b')' => out.push(single(Tok::RParen)),
            b'[' => out.push(single(Tok::LBracket)),
            b']' => out.push(single(Tok::RBracket)),
            b'{' => out.push(single(Tok::LBrace)),
            b'}' => out.push(single(Tok::RBrace)),
            b',' => out.push(single(Tok::Comma)),
            b'.' => out.push(single(Tok::Dot)),
            b':' => out.push(single(Tok::Colon)),
            b'+' => out.push(single(Tok::Plus)),
            b'-' => out.push(single(Tok::Minus)),
            b'*' => out.push(single(Tok::Star)),
            b'/' => out.push(single(Tok::Slash)),
            b'=' | b'!' | b'<' | b'>' => {
                let next_eq = bytes.get(i + 1) == Some(&b'=');
                let tok = match (b, next_eq) {
                    (b'=', true) => Tok::Eq,
                    (b'=', false) => Tok::Assign,
                    (b'!', true) => Tok::Ne,
                    (b'<', true) => Tok::Le,
                    (b'<', false) => Tok::Lt,
                    (b'>', true) => Tok::Ge,
                    (b'>', false) => Tok::Gt,
                    _ => {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            start,
                            "unexpected `!`: use `not` to negate, `!=` to compare",
                        ));
                    }
                };
                let end = start + if next_eq { 2 } else { 1 };
                out.push(Token { tok, start, end });
                i = end;
                continue;
            }
            b'"' => {
                let (s, end) = string(text, start)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    start,
                    end,
                });
                i = end;
                continue;
            }
            b'0'..=b'9' => {
                let (tok, end) = number(text, start)?;
                out.push(Token { tok, start, end });
                i = end;
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                        .count();
                out.push(Token {
                    tok: Tok::Ident,
                    start,
                    end,
                });
                i = end;
                continue;
            }
            _ => {
                let ch = text[start..].chars().next().unwrap_or('?');
                return Err(Error::new(
                    ErrorKind::Syntax,
                    start,
                    format!("unexpected character `{ch}`"),
                ));
            }
        }
        i += 1;
    }
    out.push(Token {
        tok: Tok::Eof,
        start: text.len(),
        end: text.len(),
    });
    Ok(out)
}

/// A double-quoted string starting at `start`; returns its value and the offset after it.
fn string(text: &str, start: usize) -> Result<(String, usize), Error> {
    let mut out = String::new();
    let mut chars = text[start + 1..]
        .char_indices()
        .map(|(i, c)| (i + start + 1, c));
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    'x' | 'u' | 'U' => {
                        let digits = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..digits {
                            let d = chars.next().and_then(|(_, d)| d.to_digit(16));
                            let Some(d) = d else {
                                return Err(Error::new(
                                    ErrorKind::Syntax,
                                    i,
                                    format!("`\\{e}` needs {digits} hex digits"),
                                ));
                            };
                            code = code * 16 + d;
                        }
                        let Some(ch) = char::from_u32(code) else {
                            return Err(Error::new(
                                ErrorKind::Syntax,
                                i,
                                format!("`\\{e}{code:x}` is not a character"),
                            ));
                        };
                        out.push(ch);
                    }
                    other => {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            i,
                            format!(
                                "unknown escape `\\{other}` (a backslash in a regex is written `\\\\`)"
                            ),
                        ));
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(Error::new(ErrorKind::Syntax, start, "unterminated string"))
}

fn number(text: &str, start: usize) -> Result<(Tok, usize), Error> {
    let bytes = text.as_bytes();
    if bytes.get(start) == Some(&b'0') && matches!(bytes.get(start + 1), Some(b'x' | b'X')) {
        let digits = bytes[start + 2..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let end = start + 2 + digits;
        let hex = &text[start + 2..end];
        if hex.is_empty() || !hex.len().is_multiple_of(2) {
            return Err(Error::new(
                ErrorKind::Syntax,
                start,
                "a bytes literal needs an even number of hex digits after `0x`",
            ));
        }
        let decoded = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        return Ok((Tok::Bytes(decoded), end));
    }
    let int_len = bytes[start..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let mut end = start + int_len;
    let is_float = bytes.get(end) == Some(&b'.');
    if is_float {
        end += 1;
        end += bytes[end..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let value = text[start..end]
            .parse::<f64>()
            .map_err(|_| Error::new(ErrorKind::Syntax, start, "invalid float literal"))?;
        return Ok((Tok::Float(value), end));
    }
    let value = text[start..end].parse::<u64>().map_err(|_| {
        Error::new(
            ErrorKind::Syntax,
            start,
            "integer literal out of the 64-bit range",
        )
    })?;
    Ok((Tok::Int(value), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn operators_and_literals_tokenize() {
        assert_eq!(
            toks(r#"a == "x\n" != 1.5 <= 0x0aFF >= 3"#),
            vec![
                Tok::Ident,
                Tok::Eq,
                Tok::Str("x\n".into()),
                Tok::Ne,
                Tok::Float(1.5),
                Tok::Le,
                Tok::Bytes(vec![0x0a, 0xff]),
                Tok::Ge,
                Tok::Int(3),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn string_escapes_decode_and_unknown_escapes_are_refused() {
        assert_eq!(toks(r#""\"\\\u00e9\x41""#)[0], Tok::Str("\"\\éA".into()));
        let e = tokenize(r#""a\d""#).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.message.contains("unknown escape"));
    }

    #[test]
    fn unterminated_string_points_at_its_quote() {
        let e = tokenize(r#"set(x, "abc)"#).unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(e.message.contains("unterminated"));
    }

    #[test]
    fn odd_hex_and_huge_ints_are_errors() {
        assert!(tokenize("0xabc").is_err());
        assert!(tokenize("99999999999999999999").is_err());
        assert_eq!(toks("9223372036854775808")[0], Tok::Int(1 << 63));
    }

    #[test]
    fn bang_alone_is_an_error_with_a_hint() {
        let e = tokenize("!x").unwrap_err();
        assert!(e.message.contains("not"));
    }
}
