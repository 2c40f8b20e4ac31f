//! Splitting an expression into tokens, each with the column it starts at.

use super::CompileError;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// Punctuation and operators written with symbols: `(`, `==`, `&&`, ...
    Sym(&'static str),
}

const SYMBOLS: [&str; 17] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "+", "-",
];

/// Tokens with their 1-based character columns.
pub(super) fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, CompileError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            let (s, next) = string(&chars, i, c).ok_or_else(|| CompileError {
                column,
                message: "unterminated string".into(),
            })?;
            out.push((Token::Str(s), column));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                // `1.x` is not a float; stop before a dot that is not followed by a digit.
                if chars[i].1 == '.' && !chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit()) {
                    break;
                }
                i += 1;
            }
            let end = chars.get(i).map_or(text.len(), |(b, _)| *b);
            let literal = &text[at..end];
            let token = if literal.contains('.') {
                literal.parse().map(Token::Float).ok()
            } else {
                literal.parse().map(Token::Int).ok()
            };
            out.push((
                token.ok_or_else(|| CompileError {
                    column: start + 1,
                    message: format!("invalid number `{literal}`"),
                })?,
                column,
            ));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = at;
            while i < chars.len()
                && (chars[i].1.is_alphanumeric() || matches!(chars[i].1, '_' | '$'))
            {
                i += 1;
            }
            let end = chars.get(i).map_or(text.len(), |(b, _)| *b);
            out.push((Token::Ident(text[start..end].to_string()), column));
        } else if let Some(sym) = SYMBOLS.iter().find(|s| text[at..].starts_with(**s)) {
            out.push((Token::Sym(sym), column));
            i += sym.chars().count();
        } else {
            return Err(CompileError {
                column,
                message: format!("unexpected character `{c}`"),
            });
        }
    }
    Ok(out)
}

/// A quoted string from `start` (at the quote); returns the text and the index after it.
fn string(chars: &[(usize, char)], start: usize, quote: char) -> Option<(String, usize)> {
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i].1;
        if c == quote {
            return Some((s, i + 1));
        }
        if c == '\\' && quote != '`' {
            i += 1;
            let escaped = chars.get(i)?.1;
            s.push(match escaped {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                other => other,
            });
        } else {
            s.push(c);
        }
        i += 1;
    }
    None
}
