//! `scope_name_parser` and the parsers' `scope_name:` block: a field's text becomes the name
//! of the entry's instrumentation scope.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;

#[derive(Clone, Debug)]
pub(crate) struct ScopeNameParser {
    parse_from: Field,
}

impl ScopeNameParser {
    pub(crate) fn from_config(f: &mut Fields) -> Option<ScopeNameParser> {
        Some(ScopeNameParser {
            parse_from: f.required_field("parse_from")?,
        })
    }

    pub(crate) fn apply(&self, entry: &mut Entry) -> Result<(), String> {
        let value = self.parse_from.get(entry).ok_or_else(|| {
            format!(
                "entry is missing the scope name field `{}`",
                self.parse_from
            )
        })?;
        let name = value
            .as_text()
            .ok_or_else(|| format!("a {} cannot be a scope name", value.kind()))?
            .to_string();
        entry.scope_name = name;
        Ok(())
    }
}

impl Transform for ScopeNameParser {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        ScopeNameParser::apply(self, entry)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn the_operator_and_the_block_set_the_scope_name() {
        let mut p = pipeline(json!([
            {"type": "regex_parser", "regex": "^(?P<logger>\\S+) ", "scope_name": {"parse_from": "attributes.logger"}}
        ]));
        assert_eq!(
            run(&mut p, "com.example.Foo hello")[0].scope_name,
            "com.example.Foo"
        );
        let mut p = pipeline(json!([
            {"type": "add", "field": "attributes.s", "value": "lib"},
            {"type": "scope_name_parser", "parse_from": "attributes.s"}
        ]));
        assert_eq!(run(&mut p, "x")[0].scope_name, "lib");
    }
}
