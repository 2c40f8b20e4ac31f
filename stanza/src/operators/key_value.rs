//! `key_value_parser`: `k=v` pairs, split by `pair_delimiter` (whitespace by default), become
//! fields; quotes around a key or value are removed.

use super::parser::ParserCore;
use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::value::{Map, Value};

pub(crate) struct KeyValueParser {
    core: ParserCore,
    delimiter: String,
    /// `None`: any run of whitespace.
    pair_delimiter: Option<String>,
}

impl KeyValueParser {
    pub(crate) fn from_config(f: &mut Fields) -> Option<KeyValueParser> {
        let delimiter = f.string("delimiter").unwrap_or_else(|| "=".into());
        let pair_delimiter = f.string("pair_delimiter");
        let core = ParserCore::from_config(f);
        if delimiter.is_empty() {
            f.error("delimiter", "the delimiter must not be empty");
            return None;
        }
        match &pair_delimiter {
            Some(p) if p.is_empty() => {
                f.error("pair_delimiter", "the pair delimiter must not be empty");
                return None;
            }
            Some(p) if *p == delimiter => {
                f.error(
                    "pair_delimiter",
                    "the pair delimiter must differ from the delimiter",
                );
                return None;
            }
            None if delimiter.trim().is_empty() => {
                f.error(
                    "delimiter",
                    "a whitespace delimiter needs a `pair_delimiter`",
                );
                return None;
            }
            _ => {}
        }
        Some(KeyValueParser {
            core: core?,
            delimiter,
            pair_delimiter,
        })
    }
}

impl Transform for KeyValueParser {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let input = self.core.input(entry)?;
        let text = input
            .as_text()
            .ok_or_else(|| format!("type {} cannot be parsed as key-value pairs", input.kind()))?;
        if text.is_empty() {
            return Err("parse from field is empty".into());
        }
        let pairs = match &self.pair_delimiter {
            Some(d) => split_quoted(text, |rest| rest.starts_with(d.as_str()).then_some(d.len())),
            None => split_quoted(text, |rest| {
                let c = rest.chars().next()?;
                c.is_whitespace().then_some(c.len_utf8())
            }),
        }
        .ok_or("never reached the end of a quoted value")?;
        let mut map = Map::new();
        for pair in pairs.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once(self.delimiter.as_str())
                .ok_or_else(|| format!("cannot split {pair:?} into 2 items, got 1 item(s)"))?;
            map.insert(
                unquote(k.trim()).to_string(),
                Value::String(unquote(v.trim()).to_string()),
            );
        }
        self.core.finish(entry, Value::Map(map))?;
        Ok(Verdict::Pass)
    }
}

/// Splits at delimiters outside double or single quotes; `at` says how long a delimiter
/// starts the rest of the text, if one does.
fn split_quoted(text: &str, at: impl Fn(&str) -> Option<usize>) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or_default();
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {
                if let Some(len) = at(rest) {
                    parts.push(&text[start..i]);
                    i += len;
                    start = i;
                    continue;
                }
            }
        }
        i += c.len_utf8();
    }
    parts.push(&text[start..]);
    quote.is_none().then_some(parts)
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn whitespace_separated_pairs_with_quotes() {
        let mut p = pipeline(json!([{"type": "key_value_parser"}]));
        let out = run(&mut p, r#"name=stanza  msg="hello world" 'k'=v"#);
        assert_eq!(attr(&out[0], "name"), "stanza");
        assert_eq!(attr(&out[0], "msg"), "hello world");
        assert_eq!(attr(&out[0], "k"), "v");
    }

    #[test]
    fn custom_delimiters() {
        let mut p = pipeline(
            json!([{"type": "key_value_parser", "delimiter": ":", "pair_delimiter": "!"}]),
        );
        let out = run(&mut p, "a:1!b:two");
        assert_eq!(attr(&out[0], "a"), "1");
        assert_eq!(attr(&out[0], "b"), "two");
    }

    #[test]
    fn a_pair_without_delimiter_is_a_parse_error() {
        let mut p = pipeline(json!([{"type": "key_value_parser", "on_error": "drop_quiet"}]));
        assert!(run(&mut p, "a=1 lonely").is_empty());
    }

    #[test]
    fn an_unclosed_quote_or_an_empty_line_is_a_parse_error() {
        let mut p = pipeline(json!([{"type": "key_value_parser", "on_error": "drop_quiet"}]));
        assert!(run(&mut p, "a=\"open").is_empty());
        assert!(run(&mut p, "").is_empty());
    }

    #[test]
    fn same_delimiters_are_a_config_error() {
        let errors = config_errors(
            json!([{"type": "key_value_parser", "delimiter": ",", "pair_delimiter": ","}]),
        );
        assert_eq!(errors[0].path.to_string(), "operators[0].pair_delimiter");
    }
}
