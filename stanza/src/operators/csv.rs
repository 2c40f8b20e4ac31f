//! `csv_parser`: one delimited line becomes fields named by `header` (or, per entry, by the
//! header held in the attribute `header_attribute`).

use super::parser::ParserCore;
use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::value::{Map, Value};

pub(crate) struct CsvParser {
    core: ParserCore,
    header: Option<Vec<String>>,
    header_attribute: Option<String>,
    header_delimiter: char,
    delimiter: char,
    lazy_quotes: bool,
    ignore_quotes: bool,
}

fn one_char(f: &mut Fields, name: &'static str, value: Option<String>) -> Option<char> {
    let value = value?;
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '"' && c != '\n' && c != '\r' => Some(c),
        _ => {
            f.error(name, format!("`{value}` is not a valid delimiter: it must be one character, not a quote or newline"));
            None
        }
    }
}

impl CsvParser {
    pub(crate) fn from_config(f: &mut Fields) -> Option<CsvParser> {
        let header = f.string("header");
        let header_attribute = f.string("header_attribute");
        let delimiter_text = f.string("delimiter").or(Some(",".into()));
        let delimiter = one_char(f, "delimiter", delimiter_text);
        let header_delimiter_text = f.string("header_delimiter");
        let header_delimiter = match header_delimiter_text {
            Some(_) => one_char(f, "header_delimiter", header_delimiter_text),
            None => delimiter,
        };
        let lazy_quotes = f.bool("lazy_quotes", false);
        let ignore_quotes = f.bool("ignore_quotes", false);
        let core = ParserCore::from_config(f);
        if lazy_quotes && ignore_quotes {
            f.error(
                "ignore_quotes",
                "only one of `lazy_quotes` and `ignore_quotes` can be set",
            );
            return None;
        }
        match (&header, &header_attribute) {
            (Some(_), Some(_)) => {
                f.error(
                    "header_attribute",
                    "only one of `header` and `header_attribute` can be set",
                );
                return None;
            }
            (None, None) => {
                f.error(
                    "header",
                    "missing required field `header` (or `header_attribute`)",
                );
                return None;
            }
            _ => {}
        }
        let (delimiter, header_delimiter) = (delimiter?, header_delimiter?);
        let header = header.map(|h| h.split(header_delimiter).map(str::to_string).collect());
        Some(CsvParser {
            core: core?,
            header,
            header_attribute,
            header_delimiter,
            delimiter,
            lazy_quotes,
            ignore_quotes,
        })
    }
}

impl Transform for CsvParser {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let dynamic: Vec<String>;
        let header: &[String] = match (&self.header, &self.header_attribute) {
            (Some(h), _) => h,
            (None, Some(attr)) => {
                let text = entry
                    .attributes
                    .get(attr)
                    .and_then(Value::as_text)
                    .ok_or_else(|| format!("entry has no header in the attribute `{attr}`"))?;
                dynamic = text
                    .split(self.header_delimiter)
                    .map(str::to_string)
                    .collect();
                &dynamic
            }
            (None, None) => return Err("no header".into()),
        };
        let input = self.core.input(entry)?;
        let text = input
            .as_text()
            .ok_or_else(|| format!("type {} cannot be parsed as CSV", input.kind()))?;
        let fields = if self.ignore_quotes {
            text.split(self.delimiter).map(str::to_string).collect()
        } else {
            split(text, self.delimiter, self.lazy_quotes)?
        };
        if fields.len() != header.len() {
            return Err(format!(
                "wrong number of fields: expected {}, found {}",
                header.len(),
                fields.len()
            ));
        }
        let map: Map = header
            .iter()
            .cloned()
            .zip(fields.into_iter().map(Value::String))
            .collect();
        self.core.finish(entry, Value::Map(map))?;
        Ok(Verdict::Pass)
    }
}

/// Splits one record as Go's `encoding/csv` reads it: quoted fields, `""` for a quote, and with
/// `lazy` a quote may appear in an unquoted field and a lone quote inside a quoted one.
fn split(text: &str, delimiter: char, lazy: bool) -> Result<Vec<String>, String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None if lazy => break,
                    None => return Err("extraneous or missing \" in quoted-field".into()),
                    Some('"') => match chars.peek() {
                        Some('"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some(c) if *c == delimiter => break,
                        None => break,
                        Some(_) if lazy => field.push('"'),
                        Some(_) => return Err("extraneous or missing \" in quoted-field".into()),
                    },
                    Some(c) => field.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == delimiter {
                    break;
                }
                if c == '"' && !lazy {
                    return Err("bare \" in non-quoted-field".into());
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        match chars.next() {
            Some(c) if c == delimiter => continue,
            None => return Ok(fields),
            Some(_) => return Err("extraneous text after a quoted field".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use crate::value::Value;
    use serde_json::json;

    #[test]
    fn header_names_the_fields() {
        let mut p = pipeline(json!([{"type": "csv_parser", "header": "id,severity,message"}]));
        let out = run(&mut p, r#"1,debug,"Debug Message, with comma""#);
        assert_eq!(attr(&out[0], "id"), "1");
        assert_eq!(attr(&out[0], "message"), "Debug Message, with comma");
    }

    #[test]
    fn different_header_and_field_delimiters() {
        let mut p = pipeline(
            json!([{"type": "csv_parser", "header": "a|b", "header_delimiter": "|", "delimiter": "\t"}]),
        );
        let out = run(&mut p, "x\ty");
        assert_eq!(attr(&out[0], "b"), "y");
    }

    #[test]
    fn lazy_quotes_accepts_stray_quotes() {
        let mut strict =
            pipeline(json!([{"type": "csv_parser", "header": "a,b", "on_error": "drop_quiet"}]));
        assert!(run(&mut strict, r#"x"y,z"#).is_empty());
        let mut lazy =
            pipeline(json!([{"type": "csv_parser", "header": "a,b", "lazy_quotes": true}]));
        assert_eq!(attr(&run(&mut lazy, r#"x"y,z"#)[0], "a"), r#"x"y"#);
    }

    #[test]
    fn header_attribute_reads_the_header_per_entry() {
        let mut p = pipeline(json!([{"type": "csv_parser", "header_attribute": "hdr"}]));
        let mut e = crate::entry::Entry::new("1,2", 0);
        e.attributes.insert("hdr".into(), Value::from("one,two"));
        let out = p.process(vec![e]);
        assert_eq!(attr(&out[0], "two"), "2");
    }

    #[test]
    fn a_field_count_mismatch_is_a_parse_error() {
        let mut p = pipeline(json!([{"type": "csv_parser", "header": "a,b", "on_error": "drop"}]));
        assert!(run(&mut p, "1,2,3").is_empty());
    }

    #[test]
    fn header_is_required_and_a_delimiter_is_one_character() {
        let errors = config_errors(json!([{"type": "csv_parser"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].header");
        let errors =
            config_errors(json!([{"type": "csv_parser", "header": "a", "delimiter": "::"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].delimiter");
    }
}
