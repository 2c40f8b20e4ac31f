//! OTTL, the OpenTelemetry Transformation Language, as otelcol-contrib's `filter`,
//! `transform`, `routing`, `count` and `tail_sampling` components use it: statements and
//! conditions are parsed and type-checked when the config loads, then evaluated per record.
//!
//! This crate owns the language: the lexer and parser ([`parse_statement`],
//! [`parse_condition`]), the contexts and their paths ([`Context`]), the checker that compiles
//! text for one context ([`Statement::compile`], [`Condition::compile`]), context inference
//! ([`infer_context`]), the evaluator and its functions, and the decoded record
//! implementations over `opentelemetry-proto` structs ([`decoded`]). Processors own their
//! config, error mode and iteration over batches.
//!
//! ```
//! use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
//! use opentelemetry_proto::tonic::resource::v1::Resource;
//! use opentelemetry_proto::tonic::trace::v1::Span;
//! use weir_ottl::{Condition, Context, Statement, decoded::SpanCtx};
//!
//! let statement = Statement::compile(
//!     r#"set(attributes["http.route"], "/users/{id}") where kind == SPAN_KIND_SERVER"#,
//!     Context::Span,
//! )?;
//! let drop = Condition::compile(r#"IsMatch(name, "^health")"#, Context::Span)?;
//!
//! let (mut resource, mut scope) = (Resource::default(), InstrumentationScope::default());
//! let mut span = Span { name: "GET /users/7".into(), kind: 2, ..Default::default() };
//! let mut record = SpanCtx { resource: &mut resource, scope: &mut scope, span: &mut span };
//! assert!(statement.execute(&mut record)?);
//! assert!(!drop.evaluate(&record)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A record that is not decoded (a view over encoded protobuf bytes) implements [`Record`]
//! (and [`RecordMut`] if it can be written): `get` answers a [`Path`], whose [`Field`] names
//! the field and whose keys index into it. Conditions then run on it unchanged.
//!
//! # Supported
//!
//! Grammar: editor statements with `where`, bare conditions, `and`/`or`/`not`, comparisons,
//! `+ - * /`, parentheses, string (with escapes), int, float, bool, `nil`, bytes (`0x..`),
//! list and map literals, enums, paths with nested keys (literal or computed), converter calls
//! with indexed results, named arguments.
//!
//! Contexts and paths (unprefixed, or prefixed with the context's name; parent contexts by
//! their prefix): see [`Context::path_names`].
//! - resource: `attributes`, `dropped_attributes_count`
//! - scope (`instrumentation_scope`): `name`, `version`, `attributes`, `dropped_attributes_count`
//! - span: `trace_id`, `trace_id.string`, `span_id`, `span_id.string`, `parent_span_id`,
//!   `parent_span_id.string`, `trace_state`, `trace_state["k"]`, `name`, `kind`,
//!   `kind.string`, `start_time_unix_nano`, `end_time_unix_nano`, `start_time`, `end_time`,
//!   `attributes`, `dropped_attributes_count`, `dropped_events_count`, `dropped_links_count`,
//!   `status.code`, `status.message`, `flags`
//! - spanevent: `name`, `time_unix_nano`, `time`, `attributes`, `dropped_attributes_count`,
//!   `event_index`, and `span.*`
//! - metric: `name`, `description`, `unit`, `type`, `aggregation_temporality`,
//!   `is_monotonic`, `metadata`
//! - datapoint: `attributes`, `start_time_unix_nano`, `time_unix_nano`, `start_time`, `time`,
//!   `value_double`, `value_int`, `flags`, `count`, `sum`, `min`, `max`, `bucket_counts`,
//!   `explicit_bounds`, `scale`, `zero_count`, `positive.offset`, `positive.bucket_counts`,
//!   `negative.offset`, `negative.bucket_counts`, and `metric.*`
//! - log: `time_unix_nano`, `observed_time_unix_nano`, `time`, `observed_time`,
//!   `severity_number`, `severity_text`, `body` (indexable), `body.string`, `attributes`,
//!   `dropped_attributes_count`, `flags`, `trace_id`, `trace_id.string`, `span_id`,
//!   `span_id.string`, `event_name`
//!
//! Enums: `SPAN_KIND_*`, `STATUS_CODE_*` (span, spanevent), `SEVERITY_NUMBER_*` (log),
//! `METRIC_DATA_TYPE_*`, `AGGREGATION_TEMPORALITY_*` (metric, datapoint), `FLAG_*` (datapoint).
//!
//! Editors: `set`, `append`, `delete_key`, `delete_matching_keys`, `keep_keys`,
//! `keep_matching_keys`, `truncate_all`, `limit`, `replace_pattern`, `replace_all_patterns`,
//! `replace_match`, `replace_all_matches`, `merge_maps` (the `replace_*` editors take the
//! optional `function` and `replacementFormat` arguments).
//!
//! Converters: `IsMatch`, `Concat`, `Split`, `ToLowerCase`, `ToUpperCase`, `Substring`, `Int`,
//! `Double`, `String`, `Len`, `SHA1`, `SHA256`, `SHA512`, `IsString`, `IsMap`, `IsInt`,
//! `IsDouble`, `IsBool`, `IsList`, `Duration`, `UnixNano`, `UnixMicro`, `UnixMilli`,
//! `UnixSeconds`, `Unix`, `Now`, `Nanoseconds`, `Microseconds`, `Milliseconds`, `Seconds`,
//! `Minutes`, `Hours`, `ParseJSON`, `Hex`, `TraceID`, `SpanID`.
//!
//! # Not yet supported
//!
//! The `cache` path and the `resource.schema_url`/`instrumentation_scope.schema_url` paths;
//! span links and the spanlink context; exemplars, summary quantiles and `metric.data_points`;
//! the profile contexts; `flatten`, `delete_index`, `delete_matching_values` and the
//! converters not listed above (`MD5`, `FNV`, `Murmur3Hash`, `Base64Decode`/`Decode`,
//! `ConvertCase`, `ExtractPatterns`, `ExtractGrokPatterns`, `Format`, `FormatTime`, `Time`,
//! `TruncateTime`, `ParseKeyValue`, `ParseCSV`, the XML functions, `IsRootSpan`, `SliceToMap`,
//! `Sort`, `UUID`, `UserAgent`, `Year`..`Nanosecond`, `Log`); OTTL's list comprehensions.

mod access;
pub mod ast;
mod check;
mod compare;
mod contexts;
pub mod decoded;
mod error;
mod eval;
mod functions;
mod infer;
mod lexer;
mod math;
mod parser;
mod path;
mod record;
mod value;

pub use access::{attrs_get, attrs_map_mut, attrs_set, index_value};
pub use contexts::Context;
pub use error::{Error, ErrorKind, EvalError};
pub use infer::{infer_condition_context, infer_context};
pub use parser::{parse_condition, parse_statement};
pub use path::{Field, Key, Path};
pub use record::{Record, RecordMut};
pub use value::{Type, Value, hex, unhex};

use check::Checker;
use functions::Editor;

/// A statement compiled for one context: an editor call and an optional `where` condition.
#[derive(Debug, Clone)]
pub struct Statement {
    text: String,
    context: Context,
    editor: Editor,
    args: Vec<eval::Arg>,
    condition: Option<eval::Expr>,
}

impl Statement {
    /// Parses and compiles `text` for `context`. Errors carry the offset and column in `text`.
    pub fn compile(text: &str, context: Context) -> Result<Self, Error> {
        let ast = parse_statement(text)?;
        let checker = Checker { ctx: context };
        let compiled = (|| {
            let (editor, args) = checker.editor(&ast.editor)?;
            let condition = ast
                .condition
                .as_ref()
                .map(|c| checker.condition(c))
                .transpose()?;
            Ok((editor, args, condition))
        })();
        let (editor, args, condition) = compiled.map_err(|e: Error| e.locate(text))?;
        Ok(Self {
            text: text.to_owned(),
            context,
            editor,
            args,
            condition,
        })
    }

    /// The statement as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The context it was compiled for.
    pub fn context(&self) -> Context {
        self.context
    }

    /// The fields the editor writes (its target paths): a caller can tell whether running it
    /// on a span may change the span's resource or scope.
    pub fn writes(&self) -> impl Iterator<Item = Field> + '_ {
        self.args.iter().filter_map(|arg| match arg {
            eval::Arg::Target(target) => Some(target.path.field),
            _ => None,
        })
    }

    /// Whether the statement's `where` holds for `record` (true when it has none), without
    /// running the editor: a reader that cannot be written (the wire view of an encoded
    /// record) can tell whether the statement would do anything.
    pub fn applies<R: Record + ?Sized>(&self, record: &R) -> Result<bool, EvalError> {
        match &self.condition {
            Some(c) => eval::eval_bool(c, record),
            None => Ok(true),
        }
    }

    /// Runs the statement on one record: `Ok(true)` if the condition held (or there is none)
    /// and the editor ran, `Ok(false)` if the condition was false.
    pub fn execute<R: RecordMut + ?Sized>(&self, record: &mut R) -> Result<bool, EvalError> {
        if let Some(c) = &self.condition
            && !eval::eval_bool(c, &*record)?
        {
            return Ok(false);
        }
        functions::editors::execute(self.editor, &self.args, record)?;
        Ok(true)
    }
}

/// A condition compiled for one context.
#[derive(Debug, Clone)]
pub struct Condition {
    text: String,
    context: Context,
    expr: eval::Expr,
}

impl Condition {
    /// Compiles each of `conditions` for `context`, as a config's list of them: the ones that
    /// compile, in order; each failure added to `problems` as `{at}.{i} is not a valid OTTL
    /// condition: …` (`at` is the list's place in the config).
    pub fn compile_list(
        at: &str,
        context: Context,
        conditions: &[String],
        problems: &mut Vec<String>,
    ) -> Vec<Condition> {
        conditions
            .iter()
            .enumerate()
            .filter_map(|(i, text)| match Condition::compile(text, context) {
                Ok(c) => Some(c),
                Err(e) => {
                    problems.push(format!("{at}.{i} is not a valid OTTL condition: {e}"));
                    None
                }
            })
            .collect()
    }

    /// Parses and compiles a boolean expression for `context`.
    pub fn compile(text: &str, context: Context) -> Result<Self, Error> {
        let ast = parse_condition(text)?;
        let expr = Checker { ctx: context }
            .condition(&ast)
            .map_err(|e| e.locate(text))?;
        Ok(Self {
            text: text.to_owned(),
            context,
            expr,
        })
    }

    /// Compiles a routing statement, the `routing` connector's `statement`: `route()`, with
    /// an optional `where` whose condition becomes this one (without it, always true).
    /// `route` is the only editor there and takes no arguments.
    pub fn compile_route(text: &str, context: Context) -> Result<Self, Error> {
        let ast = parse_statement(text)?;
        let call = &ast.editor;
        if call.name != "route" {
            let suggestion = error::suggest(&call.name, ["route"]);
            return Err(Error::new(
                ErrorKind::UnknownFunction,
                call.name_span.start,
                format!(
                    "a routing statement calls `route()`, not `{}`; write `route() where …`",
                    call.name
                ),
            )
            .with_suggestion(suggestion)
            .locate(text));
        }
        if let Some(arg) = call.args.first() {
            return Err(Error::new(
                ErrorKind::Arity,
                arg.value.span.start,
                "`route()` takes no arguments",
            )
            .locate(text));
        }
        let always = ast::Expr {
            kind: ast::ExprKind::Bool(true),
            span: ast.editor_span,
        };
        let expr = Checker { ctx: context }
            .condition(ast.condition.as_ref().unwrap_or(&always))
            .map_err(|e| e.locate(text))?;
        Ok(Self {
            text: text.to_owned(),
            context,
            expr,
        })
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The context it was compiled for.
    pub fn context(&self) -> Context {
        self.context
    }

    /// Whether the condition holds for `record`.
    pub fn evaluate<R: Record + ?Sized>(&self, record: &R) -> Result<bool, EvalError> {
        eval::eval_bool(&self.expr, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[&str] = &[
        r#"set(attributes["http.route"], "/users/{id}") where kind == SPAN_KIND_SERVER and IsMatch(name, "^GET ")"#,
        r#"replace_pattern(name, "^kube_([0-9A-Za-z]+_)", "$1.", SHA256, "k8s.%s")"#,
        r#"merge_maps(log.attributes, ParseJSON(log.body), "upsert") where IsString(log.body)"#,
        r#"datapoint.value_int * 2 >= 10 or metric.type == METRIC_DATA_TYPE_SUM"#,
        r#"set(attributes["m"], {"k": [1, -2.5, "s\né", true, nil, 0xff]}) where Split(name, "é")[1] != nil"#,
        r#"limit(attributes, 2, ["a"]) where end_time - start_time > Duration("1s")"#,
    ];

    /// The fuzz target's invariant on stable: every prefix of real statements, in every
    /// context, compiles or fails with a position inside the text.
    #[test]
    fn every_prefix_compiles_or_fails_with_a_position_inside_it() {
        for sample in SAMPLES {
            for (end, _) in sample.char_indices().chain([(sample.len(), ' ')]) {
                let text = &sample[..end];
                for ctx in Context::ALL {
                    let results = [
                        Statement::compile(text, ctx).err(),
                        Condition::compile(text, ctx).err(),
                        infer_context(&[text]).err(),
                    ];
                    for e in results.into_iter().flatten() {
                        assert!(text.is_char_boundary(e.offset), "{text:?}: {e:?}");
                        assert!(
                            e.column >= 1 && e.column <= text.chars().count() + 1,
                            "{text:?}: {e:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn applies_tells_whether_the_where_holds_without_running_the_editor() {
        use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
        use opentelemetry_proto::tonic::resource::v1::Resource;
        use opentelemetry_proto::tonic::trace::v1::Span;
        let (resource, scope) = (Resource::default(), InstrumentationScope::default());
        let span = Span {
            name: "GET /a".into(),
            ..Default::default()
        };
        let view = decoded::SpanView {
            resource: &resource,
            scope: &scope,
            span: &span,
        };
        let with = |text| Statement::compile(text, Context::Span).unwrap();
        assert!(
            with(r#"set(name, "x") where name == "GET /a""#)
                .applies(&view)
                .unwrap()
        );
        assert!(
            !with(r#"set(name, "x") where name == "b""#)
                .applies(&view)
                .unwrap()
        );
        assert!(
            with(r#"set(name, "x")"#).applies(&view).unwrap(),
            "no where"
        );
        assert!(
            with(r#"set(name, "x") where 1 / 0 == 1"#)
                .applies(&view)
                .is_err()
        );
        assert_eq!(span.name, "GET /a");
    }

    #[test]
    fn writes_names_the_fields_an_editor_targets() {
        let writes = |text| {
            Statement::compile(text, Context::Span)
                .unwrap()
                .writes()
                .map(Field::context)
                .collect::<Vec<_>>()
        };
        assert_eq!(writes(r#"set(attributes["a"], name)"#), [Context::Span]);
        assert_eq!(
            writes(r#"set(resource.attributes["a"], name)"#),
            [Context::Resource]
        );
        assert_eq!(
            writes(r#"merge_maps(instrumentation_scope.attributes, attributes, "upsert")"#),
            [Context::Scope]
        );
    }

    #[test]
    fn statement_and_condition_remember_text_and_context() {
        let s = Statement::compile(r#"set(name, "x")"#, Context::Span).unwrap();
        assert_eq!(
            (s.text(), s.context()),
            (r#"set(name, "x")"#, Context::Span)
        );
        let c = Condition::compile("true", Context::Log).unwrap();
        assert_eq!((c.text(), c.context()), ("true", Context::Log));
    }

    #[test]
    fn route_statement_compiles_to_its_where_condition() {
        use crate::decoded::ResourceCtx;
        let mut resource = opentelemetry_proto::tonic::resource::v1::Resource::default();
        resource
            .attributes
            .push(opentelemetry_proto::tonic::common::v1::KeyValue {
                key: "tenant".into(),
                value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                    value: Some(
                        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                            "acme".into(),
                        ),
                    ),
                }),
                ..Default::default()
            });
        let record = ResourceCtx {
            resource: &mut resource,
        };
        let acme = r#"route() where attributes["tenant"] == "acme""#;
        let other = r#"route() where attributes["tenant"] == "ecorp""#;
        let on = |t| Condition::compile_route(t, Context::Resource).unwrap();
        assert!(on(acme).evaluate(&record).unwrap());
        assert!(!on(other).evaluate(&record).unwrap());
        assert!(on("route()").evaluate(&record).unwrap());
    }

    #[test]
    fn route_statement_refuses_other_editors_and_arguments_with_a_column() {
        let e = Condition::compile_route(r#"rout() where true"#, Context::Resource).unwrap_err();
        assert_eq!((e.column, e.suggestion.as_deref()), (1, Some("route")));
        let e = Condition::compile_route(r#"route("x")"#, Context::Resource).unwrap_err();
        assert_eq!(e.column, 7, "{e}");
        let e = Condition::compile_route(r#"route() where atributes["a"] == 1"#, Context::Resource)
            .unwrap_err();
        assert_eq!(e.column, 15, "{e}");
    }
}
