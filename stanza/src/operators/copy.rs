//! `copy`: writes a copy of a field to another place.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;

pub(crate) struct Copy {
    from: Field,
    to: Field,
}

impl Copy {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Copy> {
        let from = f.required_field("from");
        let to = f.required_field("to");
        Some(Copy {
            from: from?,
            to: to?,
        })
    }
}

impl Transform for Copy {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let value = self
            .from
            .get_owned(entry)
            .ok_or_else(|| format!("copy: from field does not exist: {}", self.from))?;
        self.to.set(entry, value)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn copies_an_attribute_into_the_resource() {
        let mut p = pipeline(json!([
            {"type": "add", "field": "attributes.host", "value": "a"},
            {"type": "copy", "from": "attributes.host", "to": "resource.host"}
        ]));
        let out = run(&mut p, "x");
        assert_eq!(attr(&out[0], "host"), "a");
        assert_eq!(out[0].resource["host"], "a".into());
    }
}
