//! `router`: sends each entry to the outputs of the first route whose `expr` matches, else to
//! `default`, else drops it.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::error::ConfigError;
use crate::expr::Expr;
use crate::pipeline::{OutputSpec, read_outputs};
use crate::value::{Map, Value};

struct Route {
    expr: Expr,
    attributes: Map,
}

pub(crate) struct Router {
    routes: Vec<Route>,
    has_default: bool,
}

impl Router {
    /// The router and its ports: one per route, then the default.
    pub(crate) fn from_config(f: &mut Fields) -> Option<(Router, Vec<Option<OutputSpec>>)> {
        let default = read_outputs(f, "default");
        let raw = f.raw("routes");
        let Some(serde_json::Value::Array(items)) = raw else {
            if raw.is_some() {
                f.error("routes", "expected a list of routes");
            } else {
                f.missing("routes");
            }
            return None;
        };
        let mut routes = Vec::new();
        let mut ports = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let path = f.path.key("routes").index(i);
            let Some(map) = item.as_object() else {
                f.errors.push(ConfigError::new(
                    path,
                    "expected a map with `expr` and `output`",
                ));
                ok = false;
                continue;
            };
            let mut rf = Fields::new(map, path);
            let expr = if rf.raw("expr").is_some() {
                rf.expr("expr")
            } else {
                rf.missing("expr");
                None
            };
            let output = read_outputs(&mut rf, "output");
            if output.is_none() && rf.raw("output").is_none() {
                rf.missing("output");
            }
            let attributes = match rf.raw("attributes") {
                None => Some(Map::new()),
                Some(serde_json::Value::Object(m)) => Some(
                    m.iter()
                        .map(|(k, v)| (k.clone(), Value::from_json(v.clone(), true)))
                        .collect(),
                ),
                Some(_) => {
                    rf.error("attributes", "expected a map");
                    None
                }
            };
            ok &= rf.errors.is_empty();
            rf.finish(&mut f.errors);
            if let (Some(expr), Some(output), Some(attributes)) = (expr, output, attributes) {
                routes.push(Route { expr, attributes });
                ports.push(Some(output));
            }
        }
        if !ok {
            return None;
        }
        let has_default = default.is_some();
        ports.push(default);
        Some((
            Router {
                routes,
                has_default,
            },
            ports,
        ))
    }
}

impl Transform for Router {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        for (i, route) in self.routes.iter().enumerate() {
            if route.expr.matches(entry) {
                for (k, v) in &route.attributes {
                    entry.attributes.insert(k.clone(), v.clone());
                }
                return Ok(Verdict::Route(i));
            }
        }
        if self.has_default {
            Ok(Verdict::Route(self.routes.len()))
        } else {
            Ok(Verdict::Drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    fn routed() -> crate::Pipeline {
        pipeline(json!([
            {"type": "router", "routes": [
                {"expr": "body matches \"^\\\\{\"", "output": "json", "attributes": {"format": "json"}},
                {"expr": "body startsWith \"k\"", "output": ["kv"]}
            ], "default": "tag"},
            {"type": "json_parser", "id": "json", "output": "end"},
            {"type": "key_value_parser", "id": "kv", "output": "end"},
            {"type": "add", "id": "tag", "field": "attributes.unparsed", "value": true},
            {"type": "noop", "id": "end"}
        ]))
    }

    #[test]
    fn routes_by_expression_and_falls_back_to_default() {
        let mut p = routed();
        let out = run(&mut p, r#"{"a": "b"}"#);
        assert_eq!(attr(&out[0], "a"), "b");
        assert_eq!(attr(&out[0], "format"), "json");
        let out = run(&mut p, "k=v");
        assert_eq!(attr(&out[0], "k"), "v");
        let out = run(&mut p, "plain");
        assert_eq!(
            out[0].attributes["unparsed"],
            crate::value::Value::Bool(true)
        );
    }

    #[test]
    fn without_default_unmatched_entries_are_dropped() {
        let mut p = pipeline(json!([
            {"type": "router", "routes": [{"expr": "body == \"a\"", "output": "end"}]},
            {"type": "noop", "id": "end"}
        ]));
        assert_eq!(run(&mut p, "a").len(), 1);
        assert!(run(&mut p, "b").is_empty());
    }

    #[test]
    fn an_unknown_route_output_is_a_config_error() {
        let errors = config_errors(json!([
            {"type": "router", "routes": [{"expr": "true", "output": "jsn"}]},
            {"type": "json_parser", "id": "json"}
        ]));
        assert_eq!(errors[0].path.to_string(), "operators[0].routes[0].output");
        assert!(
            errors[0].message.contains("did you mean `json`"),
            "{}",
            errors[0].message
        );
    }
}
