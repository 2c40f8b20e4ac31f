//! Glob patterns for `replace_match` and `replace_all_matches`, with the syntax otelcol's glob
//! library takes when no separators are given: `*` any run of characters (including `/`),
//! `?` one character, `[abc]`, `[a-z]`, `[!abc]`, `{a,b}` alternatives, `\` escapes. A glob
//! matches the whole string. It compiles to a regular expression once.

use regex::Regex;

/// A compiled glob.
#[derive(Debug, Clone)]
pub(crate) struct Glob(Regex);

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let mut out = String::from("^(?s:");
        let mut chars = pattern.chars().peekable();
        let mut braces = 0usize;
        while let Some(c) = chars.next() {
            match c {
                '*' => out.push_str(".*"),
                '?' => out.push('.'),
                '\\' => match chars.next() {
                    Some(e) => out.push_str(&regex::escape(&e.to_string())),
                    None => return Err("pattern ends with `\\`".into()),
                },
                '[' => {
                    out.push('[');
                    if matches!(chars.peek(), Some('!' | '^')) {
                        chars.next();
                        out.push('^');
                    }
                    let mut closed = false;
                    let mut empty = true;
                    for c in chars.by_ref() {
                        if c == ']' && !empty {
                            closed = true;
                            break;
                        }
                        empty = false;
                        match c {
                            '\\' | '[' | '&' | '~' => {
                                out.push('\\');
                                out.push(c);
                            }
                            _ => out.push(c),
                        }
                    }
                    if !closed {
                        return Err("unclosed `[`".into());
                    }
                    out.push(']');
                }
                '{' => {
                    braces += 1;
                    out.push_str("(?:");
                }
                ',' if braces > 0 => out.push('|'),
                '}' if braces > 0 => {
                    braces -= 1;
                    out.push(')');
                }
                c => out.push_str(&regex::escape(&c.to_string())),
            }
        }
        if braces > 0 {
            return Err("unclosed `{`".into());
        }
        out.push_str(")$");
        Regex::new(&out).map(Glob).map_err(|e| e.to_string())
    }

    pub(crate) fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().is_match(s)
    }

    #[test]
    fn star_matches_across_slashes_and_the_whole_string_must_match() {
        assert!(m("/user/*/list/*", "/user/123/list/4/5"));
        assert!(!m("/user/*", "x/user/1"));
        assert!(m("a*", "a"));
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("{foo,bar}.log", "bar.log"));
        assert!(!m("{foo,bar}.log", "baz.log"));
        assert!(m(r"a\*", "a*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m("a.b", "a.b"));
        assert!(!m("a.b", "axb"));
        assert!(m("?", "é"));
    }

    #[test]
    fn malformed_globs_are_errors() {
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("{a,b").is_err());
        assert!(Glob::new("a\\").is_err());
    }
}
