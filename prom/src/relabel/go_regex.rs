//! Go's RE2 dialect where the `regex` crate reads the same pattern differently.
//!
//! Both are RE2, but in Go `\d`, `\w`, `\s` and `\b` are ASCII-only while here they are
//! Unicode-aware, and Go has `\Q…\E` literals, which this crate lacks. A relabel rule must
//! match the same label values as it does in Prometheus, so patterns are rewritten before
//! compiling: the Perl classes become their ASCII sets (which nest inside `[…]` too) and a
//! quoted literal becomes escaped text.

/// `pattern` as the `regex` crate must read it to match what Go's `regexp` matches.
pub(crate) fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            // A trailing backslash is an error either way; let the compiler report it.
            out.push('\\');
            break;
        };
        match next {
            'd' => out.push_str("[0-9]"),
            'D' => out.push_str("[^0-9]"),
            'w' => out.push_str("[0-9A-Za-z_]"),
            'W' => out.push_str("[^0-9A-Za-z_]"),
            's' => out.push_str(r"[\t\n\f\r ]"),
            'S' => out.push_str(r"[^\t\n\f\r ]"),
            'b' => out.push_str(r"(?-u:\b)"),
            'B' => out.push_str(r"(?-u:\B)"),
            'Q' => {
                let rest = chars.as_str();
                let (literal, after) = match rest.find(r"\E") {
                    Some(end) => (&rest[..end], &rest[end + 2..]),
                    None => (rest, ""),
                };
                out.push_str(&regex::escape(literal));
                chars = after.chars();
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::translate;
    use crate::relabel::anchored;

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        let digits = anchored(r"\d+").unwrap();
        assert!(digits.is_match("123"));
        assert!(
            !digits.is_match("١٢٣"),
            "Arabic-Indic digits are not \\d in Go"
        );
        let word = anchored(r"\w+").unwrap();
        assert!(!word.is_match("héllo"));
        let in_class = anchored(r"[\w.-]+").unwrap();
        assert!(in_class.is_match("a.b-c_1"));
        assert!(!in_class.is_match("a b"));
        assert!(anchored(r"\S+\s\S+").unwrap().is_match("a b"));
        assert!(anchored(r".*\bx\b.*").unwrap().is_match("a x b"));
        assert!(anchored(r"[^\d]+").unwrap().is_match("abc"));
    }

    #[test]
    fn quoted_literals_match_as_text() {
        assert_eq!(translate(r"a\Q.*\Eb"), r"a\.\*b");
        assert!(anchored(r"\Q1.2.3").unwrap().is_match("1.2.3"));
        assert!(!anchored(r"\Q1.2.3").unwrap().is_match("1x2x3"));
    }

    #[test]
    fn escaped_backslashes_are_not_read_as_classes() {
        assert_eq!(translate(r"\\d"), r"\\d");
        assert!(anchored(r"\\d").unwrap().is_match(r"\d"));
    }
}
