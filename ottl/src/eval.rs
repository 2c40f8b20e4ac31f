//! The compiled form of expressions and how it evaluates against a [`Record`].

use std::borrow::Cow;

use crate::access::index_all;
use crate::ast::{CmpOp, MathOp};
use crate::compare::compare;
use crate::error::EvalError;
use crate::functions::glob::Glob;
use crate::functions::{Converter, converters};
use crate::math;
use crate::path::{Key, Path};
use crate::record::Record;
use crate::value::Value;

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Const(Value<'static>),
    Path(PathRef),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Call(Box<ConverterCall>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Math(MathOp, Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A path whose keys may be computed: `dynamic` holds the expressions for the keys at those
/// positions of `path.keys` (which hold placeholders until run time).
#[derive(Debug, Clone)]
pub(crate) struct PathRef {
    pub path: Path,
    pub dynamic: Vec<(usize, Expr)>,
}

#[derive(Debug, Clone)]
pub(crate) struct ConverterCall {
    pub func: Converter,
    pub args: Vec<Arg>,
    pub keys: Vec<KeyExpr>,
}

#[derive(Debug, Clone)]
pub(crate) enum KeyExpr {
    Static(Key),
    Dynamic(Expr),
}

/// A compiled argument; its form follows the parameter's kind.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Absent,
    Expr(Expr),
    Target(PathRef),
    Regex(Box<regex::Regex>),
    Glob(Box<Glob>),
    Str(String),
    Int(i64),
    StrList(Vec<String>),
    ExprList(Vec<Expr>),
    Function(Converter),
}

pub(crate) fn eval<'a, R: Record + ?Sized>(
    expr: &'a Expr,
    rec: &'a R,
) -> Result<Value<'a>, EvalError> {
    match expr {
        Expr::Const(v) => Ok(v.reborrow()),
        Expr::Path(p) => read_path(p, rec),
        Expr::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(eval(item, rec)?.into_any()?.unwrap_or_default());
            }
            Ok(Value::Slice(Cow::Owned(out)))
        }
        Expr::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                out.push(opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: key.clone(),
                    value: eval(value, rec)?.into_any()?,
                    ..Default::default()
                });
            }
            Ok(Value::Map(Cow::Owned(out)))
        }
        Expr::Call(call) => {
            let value = converters::call(call.func, &call.args, rec)?;
            if call.keys.is_empty() {
                return Ok(value);
            }
            let keys = resolve_keys(&call.keys, rec)?;
            index_all(value, &keys)
        }
        Expr::Neg(inner) => math::negate(&eval(inner, rec)?),
        Expr::Not(inner) => Ok(Value::Bool(!eval_bool(inner, rec)?)),
        Expr::Math(op, a, b) => math::apply(*op, &eval(a, rec)?, &eval(b, rec)?),
        Expr::Compare(..) | Expr::And(..) | Expr::Or(..) => Ok(Value::Bool(eval_bool(expr, rec)?)),
    }
}

pub(crate) fn eval_bool<R: Record + ?Sized>(expr: &Expr, rec: &R) -> Result<bool, EvalError> {
    match expr {
        Expr::Compare(op, a, b) => Ok(compare(&eval(a, rec)?, &eval(b, rec)?, *op)),
        Expr::And(a, b) => Ok(eval_bool(a, rec)? && eval_bool(b, rec)?),
        Expr::Or(a, b) => Ok(eval_bool(a, rec)? || eval_bool(b, rec)?),
        Expr::Not(inner) => Ok(!eval_bool(inner, rec)?),
        other => match eval(other, rec)? {
            Value::Bool(b) => Ok(b),
            v => Err(EvalError::Type {
                what: "condition".into(),
                expected: "bool",
                found: v.type_name(),
            }),
        },
    }
}

pub(crate) fn read_path<'a, R: Record + ?Sized>(
    p: &'a PathRef,
    rec: &'a R,
) -> Result<Value<'a>, EvalError> {
    match resolve_path(p, rec)? {
        Cow::Borrowed(path) => rec.get(path),
        Cow::Owned(path) => rec.get(&path),
    }
}

/// The path with its computed keys filled in (borrowed when it has none).
pub(crate) fn resolve_path<'p, R: Record + ?Sized>(
    p: &'p PathRef,
    rec: &R,
) -> Result<Cow<'p, Path>, EvalError> {
    if p.dynamic.is_empty() {
        return Ok(Cow::Borrowed(&p.path));
    }
    let mut path = p.path.clone();
    for (i, expr) in &p.dynamic {
        let key = key_of(eval(expr, rec)?)?;
        if let Some(slot) = path.keys.get_mut(*i) {
            *slot = key;
        }
    }
    Ok(Cow::Owned(path))
}

fn resolve_keys<R: Record + ?Sized>(keys: &[KeyExpr], rec: &R) -> Result<Vec<Key>, EvalError> {
    keys.iter()
        .map(|k| match k {
            KeyExpr::Static(k) => Ok(k.clone()),
            KeyExpr::Dynamic(e) => key_of(eval(e, rec)?),
        })
        .collect()
}

fn key_of(v: Value<'_>) -> Result<Key, EvalError> {
    match v {
        Value::Str(s) => Ok(Key::Str(s.into_owned())),
        Value::Int(i) => Ok(Key::Index(i)),
        other => Err(EvalError::Type {
            what: "key".into(),
            expected: "string or int",
            found: other.type_name(),
        }),
    }
}

/// The expression of an argument that holds one (the checker guarantees the form).
pub(crate) fn arg_expr(args: &[Arg], i: usize) -> Option<&Expr> {
    match args.get(i) {
        Some(Arg::Expr(e)) => Some(e),
        _ => None,
    }
}

/// Evaluates an expression argument; an absent one is `nil`.
pub(crate) fn eval_arg<'a, R: Record + ?Sized>(
    args: &'a [Arg],
    i: usize,
    rec: &'a R,
) -> Result<Value<'a>, EvalError> {
    match arg_expr(args, i) {
        Some(e) => eval(e, rec),
        None => Ok(Value::Nil),
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
