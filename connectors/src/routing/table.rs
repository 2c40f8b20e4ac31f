//! The routing table compiled: each route's condition in its context and the pipelines it
//! names, and the decision for one item: which of the pipelines fed with its signal it goes to.

use weir_core::batch::BatchMeta;
use weir_core::batch::select::{ItemKind, ItemView};
use weir_ottl::{Condition, Context};
use weir_processors::wire_record::WireRecord;

use super::config::{RouteConfig, RoutingConfig};
use super::request::RequestCondition;

/// What a route's condition reads.
pub(super) enum When {
    /// The client's metadata: the same for the whole batch.
    Request(RequestCondition),
    /// The item's resource, or the item (span, metric, data point, log record) itself.
    Record(Condition),
}

/// One route.
pub(super) struct Route {
    pub(super) when: When,
    pub(super) pipelines: Vec<String>,
}

/// The compiled table.
pub(super) struct Table {
    pub(super) routes: Vec<Route>,
    pub(super) default: Vec<String>,
    pub(super) match_once: bool,
    /// Every route is a `request` one: the batch goes one way as a whole.
    pub(super) per_batch: bool,
}

/// The OTTL condition of a route outside the `request` context, compiled for `context`; the
/// error names the field (`statement …` or `condition …`).
pub(super) fn compile_route(route: &RouteConfig, context: &str) -> Result<Condition, String> {
    let ctx = Context::from_name(context).unwrap_or(Context::Resource);
    if route.statement.is_empty() {
        Condition::compile(&route.condition, ctx)
            .map_err(|e| format!("condition is not a valid OTTL condition: {e}"))
    } else {
        Condition::compile_route(&route.statement, ctx)
            .map_err(|e| format!("statement is not a valid OTTL routing statement: {e}"))
    }
}

impl Table {
    /// Compiles a config its `validate` accepted.
    pub(super) fn new(config: &RoutingConfig) -> Result<Table, String> {
        let mut routes = Vec::with_capacity(config.table.len());
        for (i, route) in config.table.iter().enumerate() {
            let context = route.context.as_deref().unwrap_or("resource");
            let when = if context == "request" {
                When::Request(
                    RequestCondition::parse(&route.condition)
                        .map_err(|e| format!("table.{i}.condition {e}"))?,
                )
            } else {
                When::Record(compile_route(route, context).map_err(|e| format!("table.{i}.{e}"))?)
            };
            routes.push(Route {
                when,
                pipelines: route.pipelines.clone(),
            });
        }
        let per_batch = routes.iter().all(|r| matches!(r.when, When::Request(_)));
        Ok(Table {
            routes,
            default: config.default_pipelines.clone(),
            match_once: config.match_once.0,
            per_batch,
        })
    }

    /// Whether a route's context can be decided on items of `kind` (a `span` route is not
    /// one for log records); `resource` and `request` routes apply to every kind.
    pub(super) fn applies(condition: &Condition, kind: ItemKind) -> bool {
        match condition.context() {
            Context::Resource => true,
            Context::Span => kind == ItemKind::Span,
            Context::Log => kind == ItemKind::Log,
            Context::Metric | Context::DataPoint => !matches!(kind, ItemKind::Span | ItemKind::Log),
            Context::Scope | Context::SpanEvent => false,
        }
    }
}

/// The answers of the `request` routes for one batch (`None` for the other routes).
pub(super) fn request_answers(table: &Table, meta: &BatchMeta) -> Vec<Option<bool>> {
    table
        .routes
        .iter()
        .map(|r| match &r.when {
            When::Request(c) => Some(c.holds(meta)),
            When::Record(_) => None,
        })
        .collect()
}

/// Whether `route` (not a `request` one) takes the item `view` (its data point index
/// `index`), or the condition's failure.
pub(super) fn takes(route: &Route, view: &ItemView<'_>, index: usize) -> Result<bool, String> {
    let When::Record(condition) = &route.when else {
        return Ok(false);
    };
    if !Table::applies(condition, view.kind) {
        return Ok(false);
    }
    let record = WireRecord {
        view: *view,
        event: None,
        index,
    };
    condition
        .evaluate(&record)
        .map_err(|e| format!("route `{}` failed: {e}", condition.text()))
}
