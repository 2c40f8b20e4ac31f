//! Go's regex meaning on Rust's engine.

use crate::tail_sampling::policies::go_regex::{compile, translate};

fn matches(pattern: &str, text: &str) -> bool {
    compile(pattern).expect("compiles").is_match(text)
}

#[test]
fn perl_classes_and_word_boundaries_are_ascii_as_in_go() {
    assert!(matches(r"^\d+$", "123"));
    assert!(
        !matches(r"^\d+$", "١٢٣"),
        "Arabic-Indic digits are not \\d in Go"
    );
    assert!(!matches(r"^\w+$", "héllo"));
    assert!(matches(r"^\W$", "é"));
    assert!(!matches(r"^\s$", "\u{0b}"), "Go's \\s has no vertical tab");
    assert!(matches(r"^\s$", "\t"));
    assert!(matches(r"^\S$", "\u{a0}"));
    assert!(
        matches(r"\bé", "xé"),
        "é is no word character in Go, so x|é is a boundary"
    );
    assert!(matches(r"^[\d\s]+$", "1 2"));
    assert!(!matches(r"^[\d]+$", "٣"));
    assert!(matches(r"^[^\d]$", "a"));
}

#[test]
fn literal_text_goes_through_as_in_go() {
    assert!(matches(r"^\Qa.b*c\E$", "a.b*c"));
    assert!(!matches(r"^\Qa.b\E$", "axb"));
    assert!(
        matches(r"^\Q[x]", "[x]yz"),
        "\\Q without \\E runs to the end"
    );
    assert!(
        matches(r"^a{$", "a{"),
        "a brace that starts no repetition is a literal"
    );
    assert!(matches(r"^a{,2}$", "a{,2}"));
    assert!(matches(r"^a{2}$", "aa"));
    assert!(matches(r"^a{1,}b}$", "aab}"));
    assert!(
        matches(r"^[]a]+$", "]a]"),
        "a ] first in a class is a literal"
    );
    assert!(matches(r"^[^]a]$", "b"));
    assert!(
        matches(r"^[a[]+$", "a[["),
        "[ in a class is a literal in Go"
    );
    assert!(matches(r"^[a&&b]+$", "&ab"), "&& is no intersection in Go");
    assert!(matches(r"^[a~~b]+$", "~"));
    assert!(matches(r"^[+--]+$", ",+-"), "+ to - is a range");
    assert!(matches(r"^[[:alpha:]]+$", "abc"));
    assert!(matches(r"^\p{Greek}+$", "αβ"));
    assert!(matches(r"^\x{41}$", "A"));
    assert!(matches(r"(?i)^ABC$", "abc"));
    assert!(matches(r"^\<a\>$", "<a>"), "escaped punctuation is itself");
    assert!(matches(r"^[\<]$", "<"));
    assert!(
        matches(r"^a\b{start}$", "a{start}"),
        "no Rust boundary names in Go"
    );
}

#[test]
fn what_rust_cannot_read_is_an_error() {
    assert!(compile(r"(").is_err());
    assert!(compile(r"\C").is_err());
    assert!(compile(r"[z-a]").is_err());
    assert_eq!(translate(r"a\d"), "a[0-9]");
}
