//! Configuration of the `routing` connector: otelcol-contrib's routing table, each route an
//! OTTL `statement` (`route() where …`) or `condition` in its context, or a `request`
//! condition on the client's headers, with the pipelines it routes to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_processors::error_mode::ErrorMode;

use super::request::RequestCondition;
use super::table::compile_route;

/// Routes each span, metric, data point or log record to the pipelines of the first route
/// whose condition holds for it (or of every route that holds, with `match_once: false`), and
/// what no route takes to `default_pipelines`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// The routes, tried in order. Required (at least one).
    pub table: Vec<RouteConfig>,
    /// Pipelines for what no route takes. Empty: such data is dropped, and counted in
    /// `weir_connector_routing_unrouted_items_total{connector}`.
    pub default_pipelines: Vec<String>,
    /// A condition that fails at run time on an item: `propagate` refuses the batch (the
    /// default); `ignore` logs and counts it and sends the item to `default_pipelines`;
    /// `silent` does the same without logging.
    pub error_mode: ErrorMode,
    /// Each item goes to the first route that takes it (the default, and otelcol's only
    /// behaviour since v0.120); `false` sends it to every route that takes it, as otelcol did
    /// with `match_once: false` before.
    pub match_once: MatchOnce,
}

/// `match_once`, true unless written `false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct MatchOnce(pub bool);

impl Default for MatchOnce {
    fn default() -> Self {
        MatchOnce(true)
    }
}

/// One route of the table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConfig {
    /// The OTTL context the route is decided in: `resource` (the default: every item of a
    /// resource goes the same way), `span`, `metric`, `datapoint`, `log`, or `request` (the
    /// client's HTTP headers or gRPC metadata, kept by the OTLP receiver's
    /// `include_metadata: true`; the whole batch goes the same way).
    pub context: Option<String>,
    /// A routing statement, `route() where <condition>`. Not with `condition`; not in the
    /// `request` context.
    pub statement: String,
    /// An OTTL condition; in the `request` context exactly `request["<name>"] == "<value>"`
    /// or `!=` (true when any value of the header compares so; false when it is absent).
    pub condition: String,
    /// The pipelines the route sends to (of the signal routed; each must list this connector
    /// under its receivers). Required.
    pub pipelines: Vec<String>,
}

/// The contexts a route may name.
pub(super) const CONTEXTS: [&str; 6] =
    ["resource", "span", "metric", "datapoint", "log", "request"];

impl ComponentConfig for RoutingConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.table.is_empty() {
            problems.push("table must list at least one route".to_string());
        }
        for (i, route) in self.table.iter().enumerate() {
            let at = format!("table.{i}");
            let context = route.context.as_deref().unwrap_or("resource");
            if !CONTEXTS.contains(&context) {
                problems.push(format!(
                    "{at}.context `{context}` is not a routing context; use one of {}",
                    CONTEXTS.map(|c| format!("`{c}`")).join(", ")
                ));
                continue;
            }
            match (route.statement.is_empty(), route.condition.is_empty()) {
                (true, true) => {
                    problems.push(format!("{at} needs a `statement` or a `condition`"));
                    continue;
                }
                (false, false) => {
                    problems.push(format!(
                        "{at}.statement and {at}.condition are both given; a route has one"
                    ));
                    continue;
                }
                _ => {}
            }
            if route.pipelines.is_empty() {
                problems.push(format!("{at}.pipelines must list at least one pipeline"));
            }
            if context == "request" {
                if !route.statement.is_empty() {
                    problems.push(format!(
                        "{at}.statement cannot be used in the `request` context; write a \
                         `condition` such as request[\"X-Tenant\"] == \"acme\""
                    ));
                } else if let Err(e) = RequestCondition::parse(&route.condition) {
                    problems.push(format!("{at}.condition {e}"));
                }
                continue;
            }
            if let Err(e) = compile_route(route, context) {
                problems.push(format!("{at}.{e}"));
            }
            if let Some(signal) = signal_of(context) {
                for (j, p) in route.pipelines.iter().enumerate() {
                    if p.split('/').next() != Some(signal) {
                        problems.push(format!(
                            "{at}.pipelines.{j} `{p}` is not a {signal} pipeline, but the \
                             `{context}` context routes {signal}"
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The signal a record context belongs to (`None` for `resource` and `request`, which every
/// signal has).
pub(super) fn signal_of(context: &str) -> Option<&'static str> {
    match context {
        "span" => Some("traces"),
        "metric" | "datapoint" => Some("metrics"),
        "log" => Some("logs"),
        _ => None,
    }
}
