//! The expression language of `if`, `expr` and `EXPR(...)`: the subset of antonmedv/expr that
//! otelcol's stanza examples use. Field references, literals, comparisons, `matches`,
//! `contains`, `startsWith`, `endsWith`, `in [..]`, `and`/`or`/`not` and `env("X")`.
//!
//! Evaluation never fails: a missing field is `nil`, and a comparison between values that
//! cannot be compared is false, so a bad record cannot stop the pipeline.

mod lexer;
mod parser;

use std::borrow::Cow;
use std::cmp::Ordering;

use regex::Regex;

use crate::entry::Entry;
use crate::field::Field;
use crate::value::Value;

/// An expression that did not compile, with the 1-based column where the problem starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct CompileError {
    /// 1-based column in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

fn cmp_op(s: &str) -> CmpOp {
    match s {
        "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        _ => CmpOp::Ge,
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Literal(Value),
    Field(Field),
    List(Vec<Node>),
    Env(Box<Node>),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    /// `matches` with a literal pattern, compiled once.
    MatchesConst(Box<Node>, Regex),
    Matches(Box<Node>, Box<Node>),
    Str(StrOp, Box<Node>, Box<Node>),
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub struct Expr {
    root: Node,
    source: String,
}

impl Expr {
    /// Compiles `text`; errors carry the column inside `text`.
    pub fn compile(text: &str) -> Result<Expr, CompileError> {
        let tokens = lexer::tokenize(text)?;
        let end = text.chars().count() + 1;
        let root = parser::Parser::new(tokens, end).parse()?;
        Ok(Expr {
            root,
            source: text.to_string(),
        })
    }

    /// The text it was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The value of the expression for `entry`.
    pub fn eval(&self, entry: &Entry) -> Value {
        eval(&self.root, entry).into_owned()
    }

    /// Whether the expression holds for `entry`; anything but `true` does not.
    pub fn matches(&self, entry: &Entry) -> bool {
        matches!(eval(&self.root, entry).as_ref(), Value::Bool(true))
    }
}

fn eval<'e>(node: &'e Node, entry: &'e Entry) -> Cow<'e, Value> {
    match node {
        Node::Literal(v) => Cow::Borrowed(v),
        Node::Field(f) => match f.get(entry) {
            Some(v) => Cow::Borrowed(v),
            None if f.is_root() => Cow::Owned(f.get_owned(entry).unwrap_or_default()),
            None => Cow::Owned(Value::Null),
        },
        Node::List(items) => Cow::Owned(Value::List(
            items.iter().map(|n| eval(n, entry).into_owned()).collect(),
        )),
        Node::Env(name) => {
            let name = eval(name, entry);
            let value = name
                .as_str()
                .and_then(|n| std::env::var(n).ok())
                .unwrap_or_default();
            Cow::Owned(Value::String(value))
        }
        Node::Not(inner) => Cow::Owned(Value::Bool(!truthy(&eval(inner, entry)))),
        Node::And(a, b) => Cow::Owned(Value::Bool(
            truthy(&eval(a, entry)) && truthy(&eval(b, entry)),
        )),
        Node::Or(a, b) => Cow::Owned(Value::Bool(
            truthy(&eval(a, entry)) || truthy(&eval(b, entry)),
        )),
        Node::Compare(op, a, b) => {
            let (a, b) = (eval(a, entry), eval(b, entry));
            Cow::Owned(Value::Bool(compare(*op, &a, &b)))
        }
        Node::In(a, b) => {
            let needle = eval(a, entry);
            // `"k" in attributes` looks the key up rather than copying the whole map.
            if let Node::Field(f) = b.as_ref()
                && f.is_root()
                && f.root != crate::field::Root::Body
            {
                let map = match f.root {
                    crate::field::Root::Attributes => &entry.attributes,
                    _ => &entry.resource,
                };
                let found = needle.as_str().is_some_and(|k| map.contains_key(k));
                return Cow::Owned(Value::Bool(found));
            }
            let hay = eval(b, entry);
            let found = match hay.as_ref() {
                Value::List(items) => items.iter().any(|i| equal(i, &needle)),
                Value::Map(m) => needle.as_str().is_some_and(|k| m.contains_key(k)),
                _ => false,
            };
            Cow::Owned(Value::Bool(found))
        }
        Node::MatchesConst(a, re) => {
            let v = eval(a, entry);
            Cow::Owned(Value::Bool(v.as_text().is_some_and(|s| re.is_match(s))))
        }
        Node::Matches(a, b) => {
            let (v, pattern) = (eval(a, entry), eval(b, entry));
            let hit = match (v.as_text(), pattern.as_str()) {
                (Some(s), Some(p)) => Regex::new(p).is_ok_and(|re| re.is_match(s)),
                _ => false,
            };
            Cow::Owned(Value::Bool(hit))
        }
        Node::Str(op, a, b) => {
            let (a, b) = (eval(a, entry), eval(b, entry));
            let hit = match (a.as_text(), b.as_text()) {
                (Some(a), Some(b)) => match op {
                    StrOp::Contains => a.contains(b),
                    StrOp::StartsWith => a.starts_with(b),
                    StrOp::EndsWith => a.ends_with(b),
                },
                _ => false,
            };
            Cow::Owned(Value::Bool(hit))
        }
    }
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) => Some(*d),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    match op {
        CmpOp::Eq => return equal(a, b),
        CmpOp::Ne => return !equal(a, b),
        _ => {}
    }
    let ordering = match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CmpOp::Lt => ordering == Ordering::Less,
        CmpOp::Le => ordering != Ordering::Greater,
        CmpOp::Gt => ordering == Ordering::Greater,
        _ => ordering != Ordering::Less,
    }
}

#[cfg(test)]
mod tests;
