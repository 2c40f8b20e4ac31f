//! `flatten`: lifts the keys of a nested map one level up into its parent.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;
use crate::value::Value;

pub(crate) struct Flatten {
    field: Field,
}

impl Flatten {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Flatten> {
        let field = f.required_field("field")?;
        if field.is_root() {
            f.error(
                "field",
                "flatten needs a field below a root, such as `body.nested`",
            );
            return None;
        }
        Some(Flatten { field })
    }
}

impl Transform for Flatten {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let map = match self.field.get(entry) {
            Some(Value::Map(_)) => match self.field.delete(entry) {
                Some(Value::Map(m)) => m,
                _ => unreachable!("the field was just seen to hold a map"),
            },
            Some(other) => {
                return Err(format!(
                    "flatten: {} is a {}, not a map",
                    self.field,
                    other.kind()
                ));
            }
            None => return Err(format!("flatten: field does not exist: {}", self.field)),
        };
        let parent = Field {
            root: self.field.root,
            keys: self.field.keys[..self.field.keys.len() - 1].to_vec(),
        };
        for (key, value) in map {
            let mut target = parent.clone();
            target.keys.push(key);
            target.set(entry, value)?;
        }
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use crate::value::Value;
    use serde_json::json;

    #[test]
    fn lifts_one_level_only() {
        let mut p = pipeline(json!([
            {"type": "json_parser", "parse_to": "body", "parse_ints": true},
            {"type": "flatten", "field": "body.key1"}
        ]));
        let out = run(
            &mut p,
            r#"{"key1": {"a": 1, "deep": {"b": 2}}, "key2": "x"}"#,
        );
        let body = out[0].body.as_map().unwrap();
        assert_eq!(body["a"], Value::Int(1));
        assert!(body["deep"].as_map().is_some());
        assert!(!body.contains_key("key1"));
        assert_eq!(body["key2"], "x".into());
    }
}
