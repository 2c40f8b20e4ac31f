//! The operators, one file each, and the table of type names: what each type reads from its
//! config and how it changes an entry. The graph, `id`, `output`, `if` and `on_error` are the
//! pipeline's (see `pipeline.rs`).

mod add;
mod copy;
mod csv;
mod filter;
mod flatten;
mod json;
mod key_value;
mod move_field;
mod parser;
pub(crate) mod recombine;
mod regex;
mod remove;
mod retain;
mod router;
pub(crate) mod scope_name;
mod severity;
mod syslog;
mod time;
mod trace;

use crate::config::Fields;
use crate::entry::Entry;
use crate::expr::Expr;

/// What becomes of an entry after an operator.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// On to the operator's outputs.
    Pass,
    /// Dropped on purpose (`filter`, a router with no matching route and no default).
    Drop,
    /// On to the router's route of this index; the default route is `routes.len()`.
    Route(usize),
}

/// An operator that looks at one entry at a time.
pub(crate) trait Transform: Send {
    /// Changes `entry` in place. An `Err` is a failure the pipeline handles by `on_error`.
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String>;
}

/// What a type builds.
pub(crate) enum Built {
    Transform(Box<dyn Transform>),
    /// `router`: its route conditions and the outputs of each route plus the default.
    Router(router::Router, Vec<Option<crate::pipeline::OutputSpec>>),
    Recombine(Box<recombine::Recombine>),
}

/// The types built here, as otelcol-contrib names them.
pub(crate) const TYPES: &[&str] = &[
    "regex_parser",
    "json_parser",
    "key_value_parser",
    "csv_parser",
    "syslog_parser",
    "time_parser",
    "severity_parser",
    "trace_parser",
    "scope_name_parser",
    "move",
    "copy",
    "add",
    "remove",
    "retain",
    "flatten",
    "recombine",
    "router",
    "filter",
    "noop",
];

/// otelcol-contrib's operators that Weir does not have (yet); refused by name.
const NOT_BUILT: &[&str] = &[
    "json_array_parser",
    "xml_parser",
    "uri_parser",
    "regex_replace",
    "unquote",
    "assign_keys",
    "container",
    "stdout",
    "file_output",
];

/// Whether `name` is an otelcol operator that Weir refuses by name.
pub(crate) fn not_built(name: &str) -> bool {
    NOT_BUILT.contains(&name)
}

/// Reads the type-specific options and builds the operator; `None` when the config is bad
/// (the problems are in `f`).
pub(crate) fn build(kind: &str, f: &mut Fields) -> Option<Built> {
    let transform: Box<dyn Transform> = match kind {
        "regex_parser" => Box::new(regex::RegexParser::from_config(f)?),
        "json_parser" => Box::new(json::JsonParser::from_config(f)?),
        "key_value_parser" => Box::new(key_value::KeyValueParser::from_config(f)?),
        "csv_parser" => Box::new(csv::CsvParser::from_config(f)?),
        "syslog_parser" => Box::new(syslog::SyslogParser::from_config(f)?),
        "time_parser" => Box::new(time::TimeOperator::from_config(f)?),
        "severity_parser" => Box::new(severity::SeverityOperator::from_config(f)?),
        "trace_parser" => Box::new(trace::TraceOperator::from_config(f)?),
        "scope_name_parser" => Box::new(scope_name::ScopeNameParser::from_config(f)?),
        "move" => Box::new(move_field::Move::from_config(f)?),
        "copy" => Box::new(copy::Copy::from_config(f)?),
        "add" => Box::new(add::Add::from_config(f)?),
        "remove" => Box::new(remove::Remove::from_config(f)?),
        "retain" => Box::new(retain::Retain::from_config(f)?),
        "flatten" => Box::new(flatten::Flatten::from_config(f)?),
        "filter" => Box::new(filter::Filter::from_config(f)?),
        "noop" => Box::new(Noop),
        "router" => {
            let (router, outputs) = router::Router::from_config(f)?;
            return Some(Built::Router(router, outputs));
        }
        "recombine" => {
            return Some(Built::Recombine(Box::new(
                recombine::Recombine::from_config(f)?,
            )));
        }
        _ => return None,
    };
    Some(Built::Transform(transform))
}

/// Whether a type reads `if` and `on_error` (all but `router`, as in stanza).
pub(crate) fn is_transformer(kind: &str) -> bool {
    kind != "router"
}

struct Noop;

impl Transform for Noop {
    fn apply(&mut self, _: &mut Entry) -> Result<Verdict, String> {
        Ok(Verdict::Pass)
    }
}

/// The expression inside a value written `EXPR(...)` (`add`'s `value`), if it is one.
pub(crate) fn expr_value(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("EXPR(")
        .and_then(|rest| rest.strip_suffix(')'))
}

/// Compiles an `EXPR(...)` body found inside a value.
pub(crate) fn compile_expr_value(f: &mut Fields, name: &str, body: &str) -> Option<Expr> {
    match Expr::compile(body) {
        Ok(e) => Some(e),
        Err(e) => {
            let mut error = crate::error::ConfigError::new(f.path.key(name), e.to_string());
            // The column inside the value as written, past `EXPR(`.
            error.column = Some(e.column + 5);
            f.errors.push(error);
            None
        }
    }
}

#[cfg(test)]
pub(crate) mod testkit;
