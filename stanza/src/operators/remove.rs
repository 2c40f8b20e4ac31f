//! `remove`: deletes a field (or empties a root).

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;

pub(crate) struct Remove {
    field: Field,
}

impl Remove {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Remove> {
        Some(Remove {
            field: f.required_field("field")?,
        })
    }
}

impl Transform for Remove {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        self.field
            .delete(entry)
            .ok_or_else(|| format!("remove: field does not exist: {}", self.field))?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn removes_one_attribute_or_all() {
        let mut p = pipeline(json!([
            {"type": "add", "field": "attributes.a", "value": 1},
            {"type": "add", "id": "b", "field": "attributes.b", "value": 2},
            {"type": "remove", "field": "attributes.a"}
        ]));
        let out = run(&mut p, "x");
        assert!(!out[0].attributes.contains_key("a"));
        assert!(out[0].attributes.contains_key("b"));
        let mut p = pipeline(
            json!([{"type": "add", "field": "attributes.a", "value": 1}, {"type": "remove", "field": "attributes"}]),
        );
        assert!(run(&mut p, "x")[0].attributes.is_empty());
    }
}
