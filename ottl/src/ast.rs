//! The syntax tree of a statement or condition, as written, with byte spans; names are not
//! resolved yet (that is [`crate::check`]'s job, for one context).

/// Byte range in the statement's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// An expression with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The forms an expression takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `nil`
    Nil,
    /// `true`, `false`
    Bool(bool),
    /// An integer literal (a leading minus is folded in).
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal, escapes decoded.
    Str(String),
    /// `0x...`
    Bytes(Vec<u8>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{"k": v}`
    Map(Vec<MapEntry>),
    /// `a.b["k"][0]`
    Path(PathExpr),
    /// A bare upper-case word: an enum, or a converter passed by name (`SHA256`).
    Name(String),
    /// `Name(args)[keys]` or `name(args)`
    Call(Call),
    /// `-x`
    Neg(Box<Expr>),
    /// `not x`
    Not(Box<Expr>),
    /// `a + b`, ...
    Math(MathOp, Box<Expr>, Box<Expr>),
    /// `a == b`, ...
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
}

/// One entry of a map literal.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Expr,
}

/// A path: dot-separated names, then keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PathExpr {
    /// The names, e.g. `span`, `status`, `code`.
    pub segments: Vec<Segment>,
    /// The keys after the last name, e.g. `["a"]`, `[0]`.
    pub keys: Vec<Expr>,
}

/// One name of a path.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A function call: an editor (lower-case) or a converter (capitalised).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function's name.
    pub name: String,
    /// Where the name is.
    pub name_span: Span,
    /// The arguments in order.
    pub args: Vec<Arg>,
    /// Keys indexing the result, e.g. `Split(x, ",")[0]`.
    pub keys: Vec<Expr>,
}

/// One argument, positional or `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The parameter name when written `name = value`.
    pub name: Option<Segment>,
    /// The value.
    pub value: Expr,
}

/// `editor(args) where condition`
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The editor invoked.
    pub editor: Call,
    /// The span of the editor call.
    pub editor_span: Span,
    /// The `where` condition, if any.
    pub condition: Option<Expr>,
}

impl Expr {
    /// Calls `f` on every path in the expression, in order.
    pub fn visit_paths<'a>(&'a self, f: &mut dyn FnMut(&'a PathExpr)) {
        match &self.kind {
            ExprKind::Path(p) => {
                f(p);
                p.keys.iter().for_each(|k| k.visit_paths(f));
            }
            ExprKind::List(items) => items.iter().for_each(|e| e.visit_paths(f)),
            ExprKind::Map(entries) => entries.iter().for_each(|e| e.value.visit_paths(f)),
            ExprKind::Call(c) => c.visit_paths(f),
            ExprKind::Neg(e) | ExprKind::Not(e) => e.visit_paths(f),
            ExprKind::Math(_, a, b)
            | ExprKind::Compare(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b) => {
                a.visit_paths(f);
                b.visit_paths(f);
            }
            ExprKind::Nil
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bytes(_)
            | ExprKind::Name(_) => {}
        }
    }
}

impl Call {
    /// Calls `f` on every path in the arguments and keys.
    pub fn visit_paths<'a>(&'a self, f: &mut dyn FnMut(&'a PathExpr)) {
        self.args.iter().for_each(|a| a.value.visit_paths(f));
        self.keys.iter().for_each(|k| k.visit_paths(f));
    }
}

impl Statement {
    /// Calls `f` on every path in the editor call and the condition.
    pub fn visit_paths<'a>(&'a self, f: &mut dyn FnMut(&'a PathExpr)) {
        self.editor.visit_paths(f);
        if let Some(c) = &self.condition {
            c.visit_paths(f);
        }
    }
}
