//! Inferring the context of statements written with context-prefixed paths, as otelcol's
//! transform and filter processors do for their flat form (`trace_statements: [set(span.name,
//! "y")]`): the lowest context any path names, provided every other named context is one it
//! reaches.

use crate::ast::PathExpr;
use crate::contexts::{Context, prefix_of};
use crate::error::{Error, ErrorKind};
use crate::parser::{parse_condition, parse_statement};

fn depth(c: Context) -> u8 {
    match c {
        Context::Resource => 0,
        Context::Scope => 1,
        Context::Span | Context::Metric | Context::Log => 2,
        Context::SpanEvent | Context::DataPoint => 3,
    }
}

struct Use {
    context: Context,
    statement: usize,
    offset: usize,
}

/// The context for a group of statements (`editor(...) where ...`).
pub fn infer_context(statements: &[&str]) -> Result<Context, Error> {
    infer(statements, |text, uses, i| {
        let s = parse_statement(text)?;
        let mut result = Ok(());
        s.visit_paths(&mut |p| {
            if result.is_ok() {
                result = note(p, i, uses).map_err(|e| e.locate(text));
            }
        });
        result
    })
}

/// The context for a group of conditions (as the filter processor's `traces: - span.name == "x"`).
pub fn infer_condition_context(conditions: &[&str]) -> Result<Context, Error> {
    infer(conditions, |text, uses, i| {
        let c = parse_condition(text)?;
        let mut result = Ok(());
        c.visit_paths(&mut |p| {
            if result.is_ok() {
                result = note(p, i, uses).map_err(|e| e.locate(text));
            }
        });
        result
    })
}

fn note(p: &PathExpr, statement: usize, uses: &mut Vec<Use>) -> Result<(), Error> {
    let offset = p.segments.first().map_or(0, |s| s.span.start);
    match prefix_of(p) {
        Some(context) => {
            uses.push(Use {
                context,
                statement,
                offset,
            });
            Ok(())
        }
        None => {
            let name = p
                .segments
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(".");
            Err(Error::new(
                ErrorKind::Context,
                offset,
                format!(
                    "path `{name}` names no context, so none can be inferred; prefix it, e.g. `span.{name}` or `log.{name}`"
                ),
            ))
        }
    }
}

fn infer(
    texts: &[&str],
    collect: impl Fn(&str, &mut Vec<Use>, usize) -> Result<(), Error>,
) -> Result<Context, Error> {
    let mut uses = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        collect(text, &mut uses, i)?;
    }
    let Some(lowest) = uses.iter().max_by_key(|u| depth(u.context)) else {
        return Err(Error::new(
            ErrorKind::Context,
            0,
            "no path names a context (such as `span.` or `log.`), so none can be inferred",
        )
        .locate(""));
    };
    for u in &uses {
        if !lowest.context.reaches(u.context) {
            let text = texts.get(u.statement).copied().unwrap_or("");
            return Err(Error::new(
                ErrorKind::Context,
                u.offset,
                format!(
                    "`{}` paths cannot be used with `{}` paths{}",
                    u.context,
                    lowest.context,
                    if texts.len() > 1 {
                        format!(" (statement {})", u.statement + 1)
                    } else {
                        String::new()
                    }
                ),
            )
            .locate(text));
        }
    }
    Ok(lowest.context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_context_wins() {
        assert_eq!(
            infer_context(&[r#"set(span.attributes["x"], resource.attributes["y"])"#]).unwrap(),
            Context::Span
        );
        assert_eq!(
            infer_context(&[
                r#"set(resource.attributes["x"], "y")"#,
                r#"set(spanevent.name, "e") where span.name == "s""#
            ])
            .unwrap(),
            Context::SpanEvent
        );
        assert_eq!(
            infer_condition_context(&["datapoint.value_int > 1"]).unwrap(),
            Context::DataPoint
        );
        assert_eq!(
            infer_condition_context(&[r#"instrumentation_scope.name == "x""#]).unwrap(),
            Context::Scope
        );
    }

    #[test]
    fn mixing_signals_is_an_error_at_the_offending_path() {
        let e = infer_context(&[r#"set(log.body, "x") where span.name == "y""#]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Context);
        assert!(
            e.message.contains("`log` paths cannot be used with `span`")
                || e.message.contains("`span` paths cannot be used with `log`"),
            "{}",
            e.message
        );
        let e =
            infer_condition_context(&["metric.name == \"a\"", "span.name == \"b\""]).unwrap_err();
        assert!(e.message.contains("statement"), "{}", e.message);
    }

    #[test]
    fn span_event_and_its_parent_span_go_together_but_not_with_metrics() {
        assert!(
            infer_condition_context(&["spanevent.name == \"a\" and metric.name == \"b\""]).is_err()
        );
    }

    #[test]
    fn unprefixed_paths_cannot_be_inferred() {
        let e = infer_context(&[r#"set(attributes["x"], "y")"#]).unwrap_err();
        assert_eq!(e.column, 5);
        assert!(e.message.contains("prefix"));
        assert!(infer_condition_context(&["true"]).is_err());
    }
}
