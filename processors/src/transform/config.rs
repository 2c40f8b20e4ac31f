//! Configuration of the `transform` processor: otelcol-contrib's `error_mode` and
//! `trace_statements` / `metric_statements` / `log_statements`, each a list whose entries are
//! either a statement in the flat form (its context inferred from its paths' prefixes:
//! `set(span.attributes["x"], "y")`) or a group in the structured form (`context`,
//! `statements`, optional `conditions` and `error_mode`). Every statement and condition is
//! compiled when the config loads; one that does not is reported at its place
//! (`trace_statements.1.statements.0 …`) with the column inside it.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use weir_core::batch::Signal;
use weir_core::component::ComponentConfig;
use weir_ottl::{Condition, Context, Statement, infer_context};

use crate::error_mode::ErrorMode;

/// Changes spans, span events, metrics, data points, log records, scopes and resources with
/// OTTL statements, in order, per record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TransformConfig {
    /// What a statement that fails on a record does: `propagate` (the default, as in otelcol:
    /// the batch is refused with a permanent error), `ignore` (logged at most every 10 s and
    /// counted; the record goes on to the next statement) or `silent` (counted only). A group
    /// may set its own.
    pub error_mode: ErrorMode,
    /// Statements on traces, in the resource, scope, span or spanevent context.
    pub trace_statements: Vec<StatementGroup>,
    /// Statements on metrics, in the resource, scope, metric or datapoint context.
    pub metric_statements: Vec<StatementGroup>,
    /// Statements on logs, in the resource, scope or log context.
    pub log_statements: Vec<StatementGroup>,
}

/// One entry of a statement list.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatementGroup {
    /// A statement whose paths carry their context's prefix (`span.name`, `resource.attributes`);
    /// it runs in the lowest context they name.
    Flat(String),
    /// Statements in one context.
    Structured(GroupConfig),
}

/// Statements run in one context, for each record of it that meets the conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GroupConfig {
    /// `resource`, `scope`, `span`, `spanevent`, `metric`, `datapoint` or `log`. Without it,
    /// the context is inferred from the paths' prefixes, as in the flat form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The statements, run in order on each record.
    pub statements: Vec<String>,
    /// OTTL conditions: the statements run only on records for which at least one holds.
    pub conditions: Vec<String>,
    /// This group's error mode, instead of the processor's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_mode: Option<ErrorMode>,
}

// By hand, so a string is the flat form and a map the structured form with its own field
// errors, instead of serde's "did not match any variant".
impl<'de> Deserialize<'de> for StatementGroup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = StatementGroup;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a statement, or a map with `context` and `statements`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatementGroup, E> {
                Ok(StatementGroup::Flat(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StatementGroup, A::Error> {
                GroupConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(StatementGroup::Structured)
            }
        }
        deserializer.deserialize_any(Entry)
    }
}

/// A group ready to run.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) context: Context,
    pub(crate) statements: Vec<Statement>,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) error_mode: Option<ErrorMode>,
}

/// The contexts a signal's statements may use.
fn contexts(signal: Signal) -> &'static [Context] {
    match signal {
        Signal::Traces => &[
            Context::Resource,
            Context::Scope,
            Context::Span,
            Context::SpanEvent,
        ],
        Signal::Metrics => &[
            Context::Resource,
            Context::Scope,
            Context::Metric,
            Context::DataPoint,
        ],
        Signal::Logs => &[Context::Resource, Context::Scope, Context::Log],
    }
}

fn names(contexts: &[Context]) -> String {
    let names: Vec<_> = contexts.iter().map(|c| format!("`{}`", c.name())).collect();
    names.join(", ")
}

impl TransformConfig {
    /// Each list with its key and signal.
    pub(crate) fn lists(&self) -> [(&'static str, Signal, &[StatementGroup]); 3] {
        [
            ("trace_statements", Signal::Traces, &self.trace_statements),
            (
                "metric_statements",
                Signal::Metrics,
                &self.metric_statements,
            ),
            ("log_statements", Signal::Logs, &self.log_statements),
        ]
    }
}

/// Compiles one list, reporting what does not compile at its place under `at`.
pub(crate) fn compile(
    at: &str,
    signal: Signal,
    groups: &[StatementGroup],
    problems: &mut Vec<String>,
) -> Vec<Group> {
    let allowed = contexts(signal);
    let mut out = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let place = format!("{at}.{i}");
        let (context, statements, conditions, error_mode): (_, _, &[String], _) = match group {
            StatementGroup::Flat(text) => (None, std::slice::from_ref(text), &[], None),
            StatementGroup::Structured(g) => (
                g.context.as_deref(),
                g.statements.as_slice(),
                g.conditions.as_slice(),
                g.error_mode,
            ),
        };
        if statements.is_empty() {
            problems.push(format!(
                "{place}.statements must list at least one statement"
            ));
            continue;
        }
        let context = match context {
            Some(name) => match Context::from_name(name).filter(|c| allowed.contains(c)) {
                Some(c) => c,
                None => {
                    problems.push(format!(
                        "{place}.context `{name}` is not a context of {at}; use one of {}",
                        names(allowed)
                    ));
                    continue;
                }
            },
            None => {
                let texts: Vec<&str> = statements.iter().map(String::as_str).collect();
                match infer_context(&texts) {
                    Ok(c) if allowed.contains(&c) => c,
                    Ok(c) => {
                        problems.push(format!(
                            "{place} names the `{}` context, which is not one of {at}'s ({})",
                            c.name(),
                            names(allowed)
                        ));
                        continue;
                    }
                    Err(e) => {
                        problems.push(format!(
                            "{place} needs a context: {e}; or give the group a `context:`"
                        ));
                        continue;
                    }
                }
            }
        };
        let flat = matches!(group, StatementGroup::Flat(_));
        let compiled: Vec<Statement> = statements
            .iter()
            .enumerate()
            .filter_map(|(j, text)| {
                let where_ = if flat {
                    place.clone()
                } else {
                    format!("{place}.statements.{j}")
                };
                Statement::compile(text, context)
                    .map_err(|e| {
                        problems.push(format!("{where_} is not a valid OTTL statement: {e}"))
                    })
                    .ok()
            })
            .collect();
        let conditions: Vec<Condition> = conditions
            .iter()
            .enumerate()
            .filter_map(|(j, text)| {
                Condition::compile(text, context)
                    .map_err(|e| {
                        problems.push(format!(
                            "{place}.conditions.{j} is not a valid OTTL condition: {e}"
                        ))
                    })
                    .ok()
            })
            .collect();
        out.push(Group {
            context,
            statements: compiled,
            conditions,
            error_mode,
        });
    }
    out
}

impl ComponentConfig for TransformConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (at, signal, groups) in self.lists() {
            compile(at, signal, groups, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
