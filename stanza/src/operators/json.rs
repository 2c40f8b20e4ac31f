//! `json_parser`: a JSON object in text becomes fields.

use super::parser::ParserCore;
use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::value::Value;

pub(crate) struct JsonParser {
    core: ParserCore,
    parse_ints: bool,
}

impl JsonParser {
    pub(crate) fn from_config(f: &mut Fields) -> Option<JsonParser> {
        let parse_ints = f.bool("parse_ints", false);
        Some(JsonParser {
            core: ParserCore::from_config(f)?,
            parse_ints,
        })
    }
}

impl Transform for JsonParser {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let input = self.core.input(entry)?;
        let text = input
            .as_text()
            .ok_or_else(|| format!("type {} cannot be parsed as JSON", input.kind()))?;
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        if !json.is_object() {
            return Err("expected a JSON object".into());
        }
        let parsed = Value::from_json(json, self.parse_ints);
        self.core.finish(entry, parsed)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use crate::value::Value;
    use serde_json::json;

    #[test]
    fn an_object_becomes_attributes_with_numbers_as_doubles() {
        let mut p = pipeline(json!([{"type": "json_parser"}]));
        let out = run(&mut p, r#"{"key": "val", "n": 1, "nested": {"a": true}}"#);
        assert_eq!(attr(&out[0], "key"), "val");
        assert_eq!(out[0].attributes["n"], Value::Double(1.0));
        assert_eq!(
            out[0].attributes["nested"].as_map().unwrap()["a"],
            Value::Bool(true)
        );
    }

    #[test]
    fn parse_ints_keeps_integers() {
        let mut p = pipeline(json!([{"type": "json_parser", "parse_ints": true}]));
        let out = run(&mut p, r#"{"n": 1}"#);
        assert_eq!(out[0].attributes["n"], Value::Int(1));
    }

    #[test]
    fn not_an_object_is_a_parse_error_and_the_entry_is_sent_on() {
        let mut p = pipeline(json!([{"type": "json_parser"}]));
        let out = run(&mut p, "[1, 2]");
        assert_eq!(out.len(), 1);
        assert!(out[0].attributes.is_empty());
        assert_eq!(p.parse_errors().next().unwrap().1, 1);
    }
}
