//! Go's regular expressions (RE2 syntax, as otelcol's `regexp.Compile` reads them) on Rust's
//! `regex` crate. The syntaxes mostly agree; where the same text would match differently, it is
//! rewritten before compiling:
//!
//! - `\d`, `\w`, `\s` (and `\D`, `\W`, `\S`) are ASCII in Go, Unicode in Rust: written as the
//!   ASCII classes Go means (Go's `\s` has no vertical tab, Rust's ASCII one has).
//! - `\b` and `\B` are ASCII word boundaries in Go: written `(?-u:\b)`.
//! - `\Q…\E` quotes literal text in Go; Rust has none: the text is escaped.
//! - `\<` and `\>` are the characters in Go, word boundaries in Rust: written unescaped.
//! - A `{` that does not start a repetition is a literal in Go, an error in Rust: escaped.
//! - Inside a class, Go takes `[`, `&&`, `~~` and `--` literally; Rust nests classes and sets
//!   with them: escaped.
//!
//! Anything else Go accepts and Rust does not (octal escapes, `\C`) is refused with Rust's
//! message when the config loads.

use regex::Regex;

/// `pattern` compiled with Go's meaning.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate(pattern)).map_err(|e| {
        // The regex crate's message is a multi-line diagram of the translated text.
        let message = e.to_string();
        let last = message.lines().last().unwrap_or(&message).trim();
        last.trim_start_matches("error: ").to_string()
    })
}

/// The ASCII class a Perl class escape stands for in Go.
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        's' => r"[\t\n\f\r ]",
        'S' => r"[^\t\n\f\r ]",
        _ => return None,
    })
}

/// The length of a repetition `{n}`, `{n,}` or `{n,m}` at the start of `rest`, if it is one.
fn repetition(rest: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while rest.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if rest.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (rest.get(i) == Some(&'}')).then_some(i + 1)
}

/// The length of `\p{…}` / `\x{…}` braces at the start of `rest` (after the letter), if any.
fn braces(rest: &[char]) -> usize {
    if rest.first() != Some(&'{') {
        return 0;
    }
    rest.iter().position(|&c| c == '}').map_or(0, |end| end + 1)
}

/// The length of `:name:]` at the start of `rest` (after a `[` in a class), 0 when there is
/// none: then Go reads the `[` as a literal.
fn named_class(rest: &[char]) -> usize {
    if rest.first() != Some(&':') {
        return 0;
    }
    rest.windows(2)
        .skip(1)
        .position(|w| w == [':', ']'])
        .map_or(0, |p| p + 3)
}

/// The Go pattern as a Rust pattern of the same meaning.
pub(super) fn translate(go: &str) -> String {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut after_dash = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                out.push('\\');
                break;
            };
            i += 2;
            if let Some(class) = perl_class(next) {
                out.push_str(class);
            } else if next == '<' || next == '>' {
                // Word-boundary assertions in Rust.
                out.push(next);
            } else if !in_class && (next == 'b' || next == 'B') {
                out.push_str("(?-u:\\");
                out.push(next);
                out.push(')');
            } else if !in_class && next == 'Q' {
                let rest: String = chars[i..].iter().collect();
                let (literal, used) = match rest.find("\\E") {
                    Some(end) => (&rest[..end], rest[..end].chars().count() + 2),
                    None => (&rest[..], rest.chars().count()),
                };
                out.push_str(&regex::escape(literal));
                i += used;
            } else {
                out.push('\\');
                out.push(next);
                if matches!(next, 'p' | 'P' | 'x') {
                    let n = braces(&chars[i..]);
                    out.extend(&chars[i..i + n]);
                    i += n;
                }
            }
            after_dash = false;
            continue;
        }
        i += 1;
        if in_class {
            match c {
                ']' => in_class = false,
                '[' if chars.get(i) == Some(&':') && named_class(&chars[i..]) > 0 => {
                    let end = named_class(&chars[i..]);
                    out.push('[');
                    out.extend(&chars[i..i + end]);
                    i += end;
                    after_dash = false;
                    continue;
                }
                '[' | '&' | '~' => out.push('\\'),
                '-' if after_dash => out.push('\\'),
                _ => {}
            }
            out.push(c);
            after_dash = c == '-' && !after_dash;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                after_dash = false;
                out.push('[');
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal in Go.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '{' => match repetition(&chars[i - 1..]) {
                Some(n) => {
                    out.extend(&chars[i - 1..i - 1 + n]);
                    i += n - 1;
                }
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
    }
    out
}
