//! The contexts (resource, scope, span, span event, metric, data point, log): which paths and
//! enums each has, which other contexts' paths it reaches, and resolving a written path.

mod datapoint;
mod log;
mod metric;
mod resource;
mod scope;
mod span;
mod spanevent;

use crate::ast::PathExpr;
use crate::error::{Error, ErrorKind, suggest};
use crate::path::Field;
use crate::value::Type;

/// The kind of record a statement runs on, as otelcol's `ottl<context>` packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// A resource (of spans, metrics or logs).
    Resource,
    /// An instrumentation scope.
    Scope,
    /// A span.
    Span,
    /// An event of a span.
    SpanEvent,
    /// A metric.
    Metric,
    /// A data point of a metric.
    DataPoint,
    /// A log record.
    Log,
}

/// How a field takes keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyed {
    /// Not at all.
    No,
    /// Like any value: string keys into maps, int indexes into lists.
    Yes,
}

/// One path of a context.
#[derive(Debug)]
pub(crate) struct FieldInfo {
    /// As written after the context prefix, e.g. `status.code`.
    pub name: &'static str,
    pub field: Field,
    pub ty: Type,
    pub writable: bool,
    pub keyed: Keyed,
}

pub(crate) const fn f(name: &'static str, field: Field, ty: Type, writable: bool) -> FieldInfo {
    FieldInfo {
        name,
        field,
        ty,
        writable,
        keyed: Keyed::No,
    }
}

pub(crate) const fn keyed(name: &'static str, field: Field, ty: Type) -> FieldInfo {
    FieldInfo {
        name,
        field,
        ty,
        writable: true,
        keyed: Keyed::Yes,
    }
}

impl Context {
    /// Every context.
    pub const ALL: [Context; 7] = [
        Context::Resource,
        Context::Scope,
        Context::Span,
        Context::SpanEvent,
        Context::Metric,
        Context::DataPoint,
        Context::Log,
    ];

    /// The name otelcol uses for it, which is also its path prefix (`span.name`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Resource => "resource",
            Context::Scope => "scope",
            Context::Span => "span",
            Context::SpanEvent => "spanevent",
            Context::Metric => "metric",
            Context::DataPoint => "datapoint",
            Context::Log => "log",
        }
    }

    /// The context named by a path prefix or a config key; `instrumentation_scope` is `scope`.
    pub fn from_name(name: &str) -> Option<Context> {
        match name {
            "instrumentation_scope" => Some(Context::Scope),
            _ => Context::ALL.into_iter().find(|c| c.name() == name),
        }
    }

    /// The contexts above this one, whose paths a statement in this context may use.
    pub fn parents(self) -> &'static [Context] {
        match self {
            Context::Resource => &[],
            Context::Scope => &[Context::Resource],
            Context::Span | Context::Metric | Context::Log => &[Context::Scope, Context::Resource],
            Context::SpanEvent => &[Context::Span, Context::Scope, Context::Resource],
            Context::DataPoint => &[Context::Metric, Context::Scope, Context::Resource],
        }
    }

    /// Whether a statement in this context can use paths of `other`.
    pub fn reaches(self, other: Context) -> bool {
        self == other || self.parents().contains(&other)
    }

    pub(crate) fn fields(self) -> &'static [FieldInfo] {
        match self {
            Context::Resource => resource::FIELDS,
            Context::Scope => scope::FIELDS,
            Context::Span => span::FIELDS,
            Context::SpanEvent => spanevent::FIELDS,
            Context::Metric => metric::FIELDS,
            Context::DataPoint => datapoint::FIELDS,
            Context::Log => log::FIELDS,
        }
    }

    /// The enums usable in this context and their values.
    pub fn enums(self) -> &'static [(&'static str, i64)] {
        match self {
            Context::Resource | Context::Scope => &[],
            Context::Span | Context::SpanEvent => span::ENUMS,
            Context::Metric => metric::ENUMS,
            Context::DataPoint => datapoint::ENUMS,
            Context::Log => log::ENUMS,
        }
    }

    /// Every path this context accepts, with its prefix where it needs one, for help texts.
    pub fn path_names(self) -> Vec<String> {
        let mut out: Vec<String> = self.fields().iter().map(|f| f.name.to_owned()).collect();
        for c in std::iter::once(self).chain(self.parents().iter().copied()) {
            out.extend(
                c.fields()
                    .iter()
                    .map(|f| format!("{}.{}", c.name(), f.name)),
            );
        }
        out
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The context a path's first name selects, if it is a context prefix. A bare `name` path is
/// not prefixed; `resource.attributes` is, and means the same in every context that reaches it.
pub(crate) fn prefix_of(path: &PathExpr) -> Option<Context> {
    if path.segments.len() < 2 {
        return None;
    }
    path.segments
        .first()
        .and_then(|s| Context::from_name(&s.name))
}

/// Resolves a written path in `ctx` to its field.
pub(crate) fn resolve(
    ctx: Context,
    path: &PathExpr,
    start: usize,
) -> Result<&'static FieldInfo, Error> {
    let (owner, rest) = match prefix_of(path) {
        Some(prefix) => {
            if !ctx.reaches(prefix) {
                return Err(Error::new(
                    ErrorKind::Context,
                    start,
                    format!(
                        "`{}` paths cannot be used in the {ctx} context (it reaches {})",
                        prefix,
                        reach_list(ctx)
                    ),
                ));
            }
            (prefix, path.segments.get(1..).unwrap_or_default())
        }
        None => (ctx, path.segments.as_slice()),
    };
    let name = rest
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".");
    if let Some(info) = owner.fields().iter().find(|f| f.name == name) {
        return Ok(info);
    }
    let written = path
        .segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".");
    let candidates = ctx.path_names();
    let suggestion = suggest(&written, candidates.iter().map(String::as_str));
    Err(Error::new(
        ErrorKind::UnknownPath,
        start,
        format!("unknown path `{written}` in the {ctx} context"),
    )
    .with_suggestion(suggestion))
}

fn reach_list(ctx: Context) -> String {
    std::iter::once(ctx)
        .chain(ctx.parents().iter().copied())
        .map(|c| format!("`{}`", c.name()))
        .collect::<Vec<_>>()
        .join(", ")
}
