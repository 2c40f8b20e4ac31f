//! `move`: takes a field out of one place and writes it to another.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;

pub(crate) struct Move {
    from: Field,
    to: Field,
}

impl Move {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Move> {
        let from = f.required_field("from");
        let to = f.required_field("to");
        Some(Move {
            from: from?,
            to: to?,
        })
    }
}

impl Transform for Move {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let value = self
            .from
            .delete(entry)
            .ok_or_else(|| format!("move: field does not exist: {}", self.from))?;
        self.to.set(entry, value)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn moves_a_body_string_into_an_attribute() {
        let mut p = pipeline(json!([{"type": "move", "from": "body", "to": "attributes.message"}]));
        let out = run(&mut p, "hello");
        assert_eq!(attr(&out[0], "message"), "hello");
        assert_eq!(out[0].body, crate::value::Value::Null);
    }

    #[test]
    fn a_missing_source_is_an_error_sent_on() {
        let mut p =
            pipeline(json!([{"type": "move", "from": "attributes.nope", "to": "attributes.x"}]));
        let out = run(&mut p, "hello");
        assert_eq!(out.len(), 1);
        assert_eq!(p.parse_errors().next().unwrap().1, 1);
    }
}
