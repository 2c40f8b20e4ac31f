//! Compiling a parsed statement or condition for one context: names resolve to fields, enums
//! and functions, arguments bind to parameters and are type-checked, regular expressions and
//! globs compile once. Every error carries the offset of what it is about.

use crate::ast::{self, ExprKind, PathExpr, Span};
use crate::contexts::{self, Context, FieldInfo, Keyed};
use crate::error::{Error, ErrorKind, suggest};
use crate::eval::{Arg, ConverterCall, Expr, KeyExpr, PathRef};
use crate::functions::glob::Glob;
use crate::functions::{self, Editor, Func, Param, ParamKind, Spec};
use crate::math;
use crate::path::{Key, Path};
use crate::value::{Type, Value};

/// Keys in order, and the computed ones with their positions.
type CompiledKeys = (Vec<KeyExpr>, Vec<(usize, Expr)>);

pub(crate) struct Checker {
    pub ctx: Context,
}

fn err(kind: ErrorKind, at: usize, message: impl Into<String>) -> Error {
    Error::new(kind, at, message)
}

/// `name(a, b, Optional[c])`, for messages.
fn signature(spec: &Spec) -> String {
    let params: Vec<String> = spec
        .params
        .iter()
        .map(|p| {
            if p.optional {
                format!("Optional[{}]", p.name)
            } else {
                p.name.to_owned()
            }
        })
        .collect();
    format!("{}({})", spec.name, params.join(", "))
}

/// Parameter names match ignoring case and underscores: `replacement_format` is
/// `replacementFormat`.
fn same_param(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    norm(a) == norm(b)
}

impl Checker {
    pub(crate) fn condition(&self, e: &ast::Expr) -> Result<Expr, Error> {
        let (expr, ty) = self.expr(e)?;
        require_bool(ty, e)?;
        Ok(expr)
    }

    pub(crate) fn editor(&self, call: &ast::Call) -> Result<(Editor, Vec<Arg>), Error> {
        let spec = lookup(call)?;
        let Func::Editor(editor) = spec.func else {
            return Err(err(
                ErrorKind::FunctionKind,
                call.name_span.start,
                format!(
                    "`{}` is a converter; a statement starts with an editor such as `set`",
                    call.name
                ),
            ));
        };
        if let Some(k) = call.keys.first() {
            return Err(err(
                ErrorKind::Syntax,
                k.span.start,
                "an editor's result cannot be indexed",
            ));
        }
        let args = self.bind(spec, call)?;
        if editor == Editor::Limit
            && let (Some(Arg::Int(limit)), Some(Arg::StrList(keys))) = (args.get(1), args.get(2))
            && i64::try_from(keys.len()).unwrap_or(i64::MAX) > *limit
        {
            let at = call
                .args
                .get(2)
                .map_or(call.name_span.start, |a| a.value.span.start);
            return Err(err(
                ErrorKind::Type,
                at,
                format!(
                    "{} priority keys is more than the limit of {limit}",
                    keys.len()
                ),
            ));
        }
        Ok((editor, args))
    }

    pub(crate) fn expr(&self, e: &ast::Expr) -> Result<(Expr, Type), Error> {
        let constant = |v: Value<'static>| {
            let ty = v.ty();
            Ok((Expr::Const(v), ty))
        };
        match &e.kind {
            ExprKind::Nil => constant(Value::Nil),
            ExprKind::Bool(b) => constant(Value::Bool(*b)),
            ExprKind::Int(i) => constant(Value::Int(*i)),
            ExprKind::Float(f) => constant(Value::Double(*f)),
            ExprKind::Str(s) => constant(Value::Str(s.clone().into())),
            ExprKind::Bytes(b) => constant(Value::Bytes(b.clone().into())),
            ExprKind::List(items) => {
                let items = items
                    .iter()
                    .map(|i| self.expr(i).map(|(e, _)| e))
                    .collect::<Result<_, _>>()?;
                Ok((Expr::List(items), Type::Slice))
            }
            ExprKind::Map(entries) => {
                let entries = entries
                    .iter()
                    .map(|m| self.expr(&m.value).map(|(e, _)| (m.key.clone(), e)))
                    .collect::<Result<_, _>>()?;
                Ok((Expr::Map(entries), Type::Map))
            }
            ExprKind::Path(p) => {
                let (r, _, ty) = self.path(p, e.span)?;
                Ok((Expr::Path(r), ty))
            }
            ExprKind::Name(n) => self
                .enum_value(n, e.span)
                .map(|v| (Expr::Const(Value::Int(v)), Type::Int)),
            ExprKind::Call(c) => self.converter(c),
            ExprKind::Neg(inner) => {
                let (x, ty) = self.expr(inner)?;
                if !matches!(ty, Type::Int | Type::Double | Type::Duration | Type::Any) {
                    return Err(err(
                        ErrorKind::Type,
                        e.span.start,
                        format!(
                            "unary `-` takes an int, double or duration, not {}",
                            ty.name()
                        ),
                    ));
                }
                Ok((Expr::Neg(Box::new(x)), ty))
            }
            ExprKind::Not(inner) => {
                let (x, ty) = self.expr(inner)?;
                require_bool(ty, inner)?;
                Ok((Expr::Not(Box::new(x)), Type::Bool))
            }
            ExprKind::Math(op, a, b) => {
                let (x, tx) = self.expr(a)?;
                let (y, ty) = self.expr(b)?;
                let out = math::result_type(*op, tx, ty).map_err(|()| {
                    err(
                        ErrorKind::Type,
                        b.span.start,
                        format!(
                            "`{}` cannot combine {} and {}",
                            math::symbol(*op),
                            tx.name(),
                            ty.name()
                        ),
                    )
                })?;
                Ok((Expr::Math(*op, Box::new(x), Box::new(y)), out))
            }
            ExprKind::Compare(op, a, b) => {
                let (x, _) = self.expr(a)?;
                let (y, _) = self.expr(b)?;
                Ok((Expr::Compare(*op, Box::new(x), Box::new(y)), Type::Bool))
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let (x, tx) = self.expr(a)?;
                require_bool(tx, a)?;
                let (y, ty) = self.expr(b)?;
                require_bool(ty, b)?;
                let (x, y) = (Box::new(x), Box::new(y));
                let out = if matches!(e.kind, ExprKind::And(..)) {
                    Expr::And(x, y)
                } else {
                    Expr::Or(x, y)
                };
                Ok((out, Type::Bool))
            }
        }
    }

    fn path(&self, p: &PathExpr, span: Span) -> Result<(PathRef, &'static FieldInfo, Type), Error> {
        let info = contexts::resolve(self.ctx, p, span.start)?;
        if let Some(first) = p.keys.first() {
            if info.keyed == Keyed::No {
                return Err(err(
                    ErrorKind::Type,
                    first.span.start,
                    format!("`{}` cannot be indexed", info.name),
                ));
            }
            if info.ty == Type::Map && matches!(first.kind, ExprKind::Int(_)) {
                return Err(err(
                    ErrorKind::Type,
                    first.span.start,
                    "map keys are strings, not indexes",
                ));
            }
        }
        let (keys, dynamic) = self.keys(&p.keys)?;
        let ty = if p.keys.is_empty() {
            info.ty
        } else {
            Type::Any
        };
        let keys = keys
            .into_iter()
            .map(|k| match k {
                KeyExpr::Static(k) => k,
                KeyExpr::Dynamic(_) => Key::Index(0),
            })
            .collect();
        Ok((
            PathRef {
                path: Path::with_keys(info.field, keys),
                dynamic,
            },
            info,
            ty,
        ))
    }

    /// Keys as written; computed ones are also returned with their positions.
    fn keys(&self, keys: &[ast::Expr]) -> Result<CompiledKeys, Error> {
        let mut out = Vec::with_capacity(keys.len());
        let mut dynamic = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match &k.kind {
                ExprKind::Str(s) => out.push(KeyExpr::Static(Key::Str(s.clone()))),
                ExprKind::Int(n) => out.push(KeyExpr::Static(Key::Index(*n))),
                _ => {
                    let (e, ty) = self.expr(k)?;
                    if !matches!(ty, Type::String | Type::Int | Type::Any) {
                        return Err(err(
                            ErrorKind::Type,
                            k.span.start,
                            format!("a key is a string or an int, not {}", ty.name()),
                        ));
                    }
                    dynamic.push((i, e.clone()));
                    out.push(KeyExpr::Dynamic(e));
                }
            }
        }
        Ok((out, dynamic))
    }

    fn enum_value(&self, name: &str, span: Span) -> Result<i64, Error> {
        let enums = self.ctx.enums();
        if let Some((_, v)) = enums.iter().find(|(n, _)| *n == name) {
            return Ok(*v);
        }
        if functions::lookup(name).is_some() {
            return Err(err(
                ErrorKind::FunctionKind,
                span.start,
                format!("`{name}` is a function; call it as `{name}(...)`"),
            ));
        }
        let other = Context::ALL
            .into_iter()
            .find(|c| c.enums().iter().any(|(n, _)| *n == name));
        let message = match other {
            Some(c) => format!(
                "enum `{name}` belongs to the {c} context, not the {}",
                self.ctx
            ),
            None => format!("unknown enum `{name}` in the {} context", self.ctx),
        };
        Err(err(ErrorKind::UnknownEnum, span.start, message)
            .with_suggestion(suggest(name, enums.iter().map(|(n, _)| *n))))
    }

    fn converter(&self, call: &ast::Call) -> Result<(Expr, Type), Error> {
        let spec = lookup(call)?;
        let Func::Converter(func) = spec.func else {
            return Err(err(
                ErrorKind::FunctionKind,
                call.name_span.start,
                format!(
                    "`{}` is an editor; only converters (capitalised, such as `IsMatch`) can be used in an expression",
                    call.name
                ),
            ));
        };
        let args = self.bind(spec, call)?;
        let (keys, _) = self.keys(&call.keys)?;
        let ty = if keys.is_empty() { spec.ret } else { Type::Any };
        Ok((Expr::Call(Box::new(ConverterCall { func, args, keys })), ty))
    }

    fn bind(&self, spec: &'static Spec, call: &ast::Call) -> Result<Vec<Arg>, Error> {
        let params = spec.params;
        let mut slots: Vec<Option<&ast::Arg>> = vec![None; params.len()];
        for (i, a) in call.args.iter().enumerate() {
            let idx = match &a.name {
                None => {
                    if i >= params.len() {
                        return Err(err(
                            ErrorKind::Arity,
                            a.value.span.start,
                            format!(
                                "`{}` takes at most {} arguments: {}",
                                spec.name,
                                params.len(),
                                signature(spec)
                            ),
                        ));
                    }
                    i
                }
                Some(n) => params
                    .iter()
                    .position(|p| same_param(p.name, &n.name))
                    .ok_or_else(|| {
                        err(
                            ErrorKind::UnknownArgument,
                            n.span.start,
                            format!(
                                "`{}` has no argument `{}`: {}",
                                spec.name,
                                n.name,
                                signature(spec)
                            ),
                        )
                        .with_suggestion(suggest(&n.name, params.iter().map(|p| p.name)))
                    })?,
            };
            let Some(slot) = slots.get_mut(idx) else {
                continue;
            };
            if slot.is_some() {
                let at = a.name.as_ref().map_or(a.value.span.start, |n| n.span.start);
                let name = params.get(idx).map_or("?", |p| p.name);
                return Err(err(
                    ErrorKind::Arity,
                    at,
                    format!("argument `{name}` given twice"),
                ));
            }
            *slot = Some(a);
        }
        params
            .iter()
            .zip(slots)
            .map(|(param, slot)| match slot {
                Some(a) => self.arg(spec, param, &a.value),
                None if param.optional => Ok(Arg::Absent),
                None => Err(err(
                    ErrorKind::Arity,
                    call.name_span.start,
                    format!(
                        "`{}` needs argument `{}`: {}",
                        spec.name,
                        param.name,
                        signature(spec)
                    ),
                )),
            })
            .collect()
    }

    fn arg(&self, spec: &Spec, param: &Param, e: &ast::Expr) -> Result<Arg, Error> {
        let at = e.span.start;
        let what = || format!("argument `{}` of `{}`", param.name, spec.name);
        let type_err =
            |wanted: &str| err(ErrorKind::Type, at, format!("{} must be {wanted}", what()));
        let string_literal = || match &e.kind {
            ExprKind::Str(s) => Ok(s.as_str()),
            _ => Err(type_err("a string literal")),
        };
        Ok(match param.kind {
            ParamKind::Get(want) => {
                let (x, found) = self.expr(e)?;
                if !want.accepts(found) {
                    return Err(type_err(&format!("{}, not {}", want.name(), found.name())));
                }
                Arg::Expr(x)
            }
            ParamKind::Target(want) => {
                let ExprKind::Path(p) = &e.kind else {
                    return Err(type_err("a path to write to"));
                };
                let (r, info, found) = self.path(p, e.span)?;
                if !info.writable {
                    return Err(err(
                        ErrorKind::ReadOnly,
                        at,
                        format!("`{}` is read-only", info.name),
                    ));
                }
                if !want.accepts(found) {
                    return Err(type_err(&format!(
                        "a path holding a {}, not {}",
                        want.name(),
                        found.name()
                    )));
                }
                Arg::Target(r)
            }
            ParamKind::Regex => {
                let s = string_literal()?;
                let re = regex::Regex::new(s).map_err(|x| {
                    let detail = x.to_string();
                    let last = detail.lines().last().unwrap_or("invalid").trim().to_owned();
                    err(
                        ErrorKind::Pattern,
                        at,
                        format!("{} is not a valid regex: {last}", what()),
                    )
                })?;
                Arg::Regex(Box::new(re))
            }
            ParamKind::Glob => {
                let s = string_literal()?;
                let glob = Glob::new(s).map_err(|m| {
                    err(
                        ErrorKind::Pattern,
                        at,
                        format!("{} is not a valid glob: {m}", what()),
                    )
                })?;
                Arg::Glob(Box::new(glob))
            }
            ParamKind::Choice(options) => {
                let s = string_literal()?;
                if !options.contains(&s) {
                    let list = options
                        .iter()
                        .map(|o| format!("\"{o}\""))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(type_err(&format!("one of {list}"))
                        .with_suggestion(suggest(s, options.iter().copied())));
                }
                Arg::Str(s.to_owned())
            }
            ParamKind::Format => {
                let s = string_literal()?;
                if s.matches("%s").count() != 1 {
                    return Err(err(
                        ErrorKind::Pattern,
                        at,
                        format!("{} must contain exactly one `%s`", what()),
                    ));
                }
                Arg::Str(s.to_owned())
            }
            ParamKind::Count => match e.kind {
                ExprKind::Int(n) if n >= 0 => Arg::Int(n),
                ExprKind::Int(_) => return Err(type_err("zero or more")),
                _ => return Err(type_err("an int literal")),
            },
            ParamKind::StrList => {
                let ExprKind::List(items) = &e.kind else {
                    return Err(type_err("a list of strings, e.g. [\"a\", \"b\"]"));
                };
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match &item.kind {
                        ExprKind::Str(s) => out.push(s.clone()),
                        _ => {
                            return Err(err(
                                ErrorKind::Type,
                                item.span.start,
                                format!("{} must list string literals", what()),
                            ));
                        }
                    }
                }
                Arg::StrList(out)
            }
            ParamKind::GetList => {
                let ExprKind::List(items) = &e.kind else {
                    return Err(type_err("a list, e.g. [a, b]"));
                };
                Arg::ExprList(
                    items
                        .iter()
                        .map(|i| self.expr(i).map(|(x, _)| x))
                        .collect::<Result<_, _>>()?,
                )
            }
            ParamKind::Function => match &e.kind {
                ExprKind::Name(n) => {
                    let found = functions::lookup(n);
                    match found {
                        Some(s) if functions::is_string_function(s) => match s.func {
                            Func::Converter(c) => Arg::Function(c),
                            Func::Editor(_) => return Err(type_err("a converter")),
                        },
                        Some(_) => {
                            return Err(type_err(
                                "a converter from string to string, such as `SHA256`",
                            ));
                        }
                        None => {
                            let names = functions::SPECS
                                .iter()
                                .filter(|s| functions::is_string_function(s))
                                .map(|s| s.name);
                            return Err(err(
                                ErrorKind::UnknownFunction,
                                at,
                                format!("unknown function `{n}`"),
                            )
                            .with_suggestion(suggest(n, names)));
                        }
                    }
                }
                ExprKind::Call(c) => {
                    return Err(type_err(&format!(
                        "a converter passed by name, without parentheses: `{}`",
                        c.name
                    )));
                }
                _ => return Err(type_err("a converter passed by name, such as `SHA256`")),
            },
        })
    }
}

fn lookup(call: &ast::Call) -> Result<&'static Spec, Error> {
    functions::lookup(&call.name).ok_or_else(|| {
        err(
            ErrorKind::UnknownFunction,
            call.name_span.start,
            format!("unknown function `{}`", call.name),
        )
        .with_suggestion(suggest(&call.name, functions::names()))
    })
}

fn require_bool(ty: Type, e: &ast::Expr) -> Result<(), Error> {
    if matches!(ty, Type::Bool | Type::Any) {
        return Ok(());
    }
    Err(err(
        ErrorKind::Type,
        e.span.start,
        format!(
            "a condition must be true or false, and this is {}",
            ty.name()
        ),
    ))
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
