//! `retain`: keeps only the listed fields of each root that the list names; roots the list
//! does not mention are left alone, as in stanza.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::{Field, Root};
use crate::value::{Map, Value};

pub(crate) struct Retain {
    fields: Vec<Field>,
    body: bool,
    attributes: bool,
    resource: bool,
}

impl Retain {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Retain> {
        let raw = f.raw("fields");
        let Some(serde_json::Value::Array(items)) = raw else {
            if raw.is_some() {
                f.error("fields", "expected a list of fields");
            } else {
                f.missing("fields");
            }
            return None;
        };
        let mut fields = Vec::new();
        let path = f.path.key("fields");
        for (i, item) in items.iter().enumerate() {
            match item.as_str().map(Field::parse) {
                Some(Ok(field)) if !field.is_root() => fields.push(field),
                Some(Err(e)) => f
                    .errors
                    .push(crate::error::ConfigError::new(path.index(i), e)),
                _ => f.errors.push(crate::error::ConfigError::new(
                    path.index(i),
                    "expected a field below body, attributes or resource",
                )),
            }
        }
        if fields.len() != items.len() {
            return None;
        }
        let has = |root| fields.iter().any(|field| field.root == root);
        Some(Retain {
            body: has(Root::Body),
            attributes: has(Root::Attributes),
            resource: has(Root::Resource),
            fields,
        })
    }
}

impl Transform for Retain {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let mut kept = Entry {
            body: if self.body {
                Value::Map(Map::new())
            } else {
                std::mem::take(&mut entry.body)
            },
            attributes: if self.attributes {
                Map::new()
            } else {
                std::mem::take(&mut entry.attributes)
            },
            resource: if self.resource {
                Map::new()
            } else {
                std::mem::take(&mut entry.resource)
            },
            ..Entry::default()
        };
        for field in &self.fields {
            if let Some(value) = field.delete(entry) {
                field.set(&mut kept, value)?;
            }
        }
        entry.body = kept.body;
        entry.attributes = kept.attributes;
        entry.resource = kept.resource;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn keeps_listed_attributes_and_leaves_other_roots() {
        let mut p = pipeline(json!([
            {"type": "key_value_parser"},
            {"type": "add", "field": "resource.r", "value": 1},
            {"type": "retain", "fields": ["attributes.a", "attributes.c"]}
        ]));
        let out = run(&mut p, "a=1 b=2 c=3");
        let keys: Vec<&String> = out[0].attributes.keys().collect();
        assert_eq!(keys, ["a", "c"]);
        assert!(out[0].resource.contains_key("r"));
        assert_eq!(out[0].body, "a=1 b=2 c=3".into());
    }
}
