//! `add`: writes a constant, or the value of an `EXPR(...)`, to a field.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::expr::Expr;
use crate::field::Field;
use crate::value::Value;

enum Source {
    Constant(Value),
    Expr(Expr),
}

pub(crate) struct Add {
    field: Field,
    value: Source,
}

impl Add {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Add> {
        let field = f.required_field("field");
        let value = match f.raw("value") {
            None => {
                f.missing("value");
                None
            }
            Some(serde_json::Value::String(s)) => match super::expr_value(s) {
                Some(body) => super::compile_expr_value(f, "value", body).map(Source::Expr),
                None => Some(Source::Constant(Value::String(s.clone()))),
            },
            Some(other) => Some(Source::Constant(Value::from_json(other.clone(), true))),
        };
        Some(Add {
            field: field?,
            value: value?,
        })
    }
}

impl Transform for Add {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let value = match &self.value {
            Source::Constant(v) => v.clone(),
            Source::Expr(e) => e.eval(entry),
        };
        self.field.set(entry, value)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use crate::value::Value;
    use serde_json::json;

    #[test]
    fn adds_constants_of_any_type() {
        let mut p = pipeline(json!([
            {"type": "add", "field": "attributes.s", "value": "v"},
            {"type": "add", "id": "n", "field": "attributes.n", "value": 3},
            {"type": "add", "id": "m", "field": "resource.m", "value": {"k": [1, true]}}
        ]));
        let out = run(&mut p, "x");
        assert_eq!(attr(&out[0], "s"), "v");
        assert_eq!(out[0].attributes["n"], Value::Int(3));
        assert!(out[0].resource["m"].as_map().is_some());
    }

    #[test]
    fn expr_values_are_evaluated_per_entry() {
        let mut p = pipeline(
            json!([{"type": "add", "field": "attributes.long", "value": "EXPR(body contains \"error\")"}]),
        );
        assert_eq!(
            run(&mut p, "an error")[0].attributes["long"],
            Value::Bool(true)
        );
        assert_eq!(
            run(&mut p, "fine")[0].attributes["long"],
            Value::Bool(false)
        );
    }

    #[test]
    fn a_bad_expr_value_is_a_config_error_with_its_column() {
        let errors =
            config_errors(json!([{"type": "add", "field": "body.x", "value": "EXPR(body ==)"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].value");
        assert_eq!(errors[0].column, Some(13));
    }
}
