//! Recursive-descent parser for OTTL statements (`editor(args) where condition`) and bare
//! conditions. Precedence, loosest first: `or`, `and`, `not`, comparisons, `+ -`, `* /`,
//! unary minus, then literals, paths, calls and parentheses.

use crate::ast::{
    Arg, Call, CmpOp, Expr, ExprKind, MapEntry, MathOp, PathExpr, Segment, Span, Statement,
};
use crate::error::{Error, ErrorKind};
use crate::lexer::{Tok, Token, tokenize};

/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Parses `editor(args)` with an optional `where` condition.
pub fn parse_statement(text: &str) -> Result<Statement, Error> {
    let mut p = Parser::new(text)?;
    let statement = p.statement().map_err(|e| e.locate(text))?;
    Ok(statement)
}

/// Parses a condition (a boolean expression, as the filter processor's conditions are).
pub fn parse_condition(text: &str) -> Result<Expr, Error> {
    let mut p = Parser::new(text)?;
    let expr = p.whole_expr().map_err(|e| e.locate(text))?;
    Ok(expr)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "where" | "and" | "or" | "not" | "true" | "false" | "nil"
    )
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Result<Self, Error> {
        let tokens = tokenize(text).map_err(|e| e.locate(text))?;
        Ok(Self {
            text,
            tokens,
            pos: 0,
            depth: 0,
        })
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        // The last token is always Eof, so running past the end keeps answering Eof.
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn word(&self, t: &Token) -> &'t str {
        self.text.get(t.start..t.end).unwrap_or("")
    }

    fn at_word(&self, w: &str) -> bool {
        let t = self.peek();
        t.tok == Tok::Ident && self.word(t) == w
    }

    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::Eof => "the end of the statement".into(),
            _ => format!("`{}`", self.text.get(t.start..t.end).unwrap_or("?")),
        }
    }

    fn unexpected(&self, wanted: &str) -> Error {
        let t = self.peek();
        Error::new(
            ErrorKind::Syntax,
            t.start,
            format!("expected {wanted}, found {}", self.describe(t)),
        )
    }

    fn expect(&mut self, tok: Tok, wanted: &str) -> Result<Token, Error> {
        if self.peek().tok == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Syntax,
                self.peek().start,
                format!("expression nested more than {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    fn statement(&mut self) -> Result<Statement, Error> {
        let t = self.peek().clone();
        let is_call =
            t.tok == Tok::Ident && !is_keyword(self.word(&t)) && self.peek_at(1).tok == Tok::LParen;
        if !is_call {
            return Err(Error::new(
                ErrorKind::Syntax,
                t.start,
                format!(
                    "a statement starts with an editor call such as `set(...)`, found {}",
                    self.describe(&t)
                ),
            ));
        }
        let start = t.start;
        let editor = self.call()?;
        let editor_span = Span {
            start,
            end: self
                .tokens
                .get(self.pos.saturating_sub(1))
                .map_or(start, |t| t.end),
        };
        let condition = if self.at_word("where") {
            self.bump();
            Some(self.or_expr()?)
        } else {
            None
        };
        if self.peek().tok != Tok::Eof {
            let wanted = if condition.is_some() {
                "`and`, `or` or the end of the statement"
            } else {
                "`where` or the end of the statement"
            };
            return Err(self.unexpected(wanted));
        }
        Ok(Statement {
            editor,
            editor_span,
            condition,
        })
    }

    fn whole_expr(&mut self) -> Result<Expr, Error> {
        let e = self.or_expr()?;
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected("an operator or the end of the condition"));
        }
        Ok(e)
    }

    fn or_expr(&mut self) -> Result<Expr, Error> {
        let mut lhs = self.and_expr()?;
        while self.at_word("or") {
            self.bump();
            let rhs = self.and_expr()?;
            lhs = join(ExprKind::Or, lhs, rhs);
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> Result<Expr, Error> {
        let mut lhs = self.not_expr()?;
        while self.at_word("and") {
            self.bump();
            let rhs = self.not_expr()?;
            lhs = join(ExprKind::And, lhs, rhs);
        }
        Ok(lhs)
    }

    fn not_expr(&mut self) -> Result<Expr, Error> {
        if self.at_word("not") {
            let start = self.bump().start;
            self.enter()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            let span = Span {
                start,
                end: inner.span.end,
            };
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Result<Expr, Error> {
        let lhs = self.add_expr()?;
        let op = match self.peek().tok {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.add_expr()?;
        if matches!(
            self.peek().tok,
            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
        ) {
            return Err(Error::new(
                ErrorKind::Syntax,
                self.peek().start,
                "comparisons do not chain; join them with `and`",
            ));
        }
        Ok(join(|a, b| ExprKind::Compare(op, a, b), lhs, rhs))
    }

    fn add_expr(&mut self) -> Result<Expr, Error> {
        let mut lhs = self.mul_expr()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => MathOp::Add,
                Tok::Minus => MathOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.mul_expr()?;
            lhs = join(|a, b| ExprKind::Math(op, a, b), lhs, rhs);
        }
    }

    fn mul_expr(&mut self) -> Result<Expr, Error> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => MathOp::Mul,
                Tok::Slash => MathOp::Div,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.unary()?;
            lhs = join(|a, b| ExprKind::Math(op, a, b), lhs, rhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Minus | Tok::Plus => {
                self.bump();
                let negative = t.tok == Tok::Minus;
                // A sign directly on a number literal is part of the literal, so the most
                // negative integer can be written.
                let next = self.peek().clone();
                match next.tok {
                    Tok::Int(n) => {
                        self.bump();
                        let span = Span {
                            start: t.start,
                            end: next.end,
                        };
                        let value = if negative {
                            0i64.checked_sub_unsigned(n)
                        } else {
                            i64::try_from(n).ok()
                        };
                        let value = value.ok_or_else(|| {
                            Error::new(
                                ErrorKind::Syntax,
                                t.start,
                                "integer literal out of the 64-bit range",
                            )
                        })?;
                        return Ok(Expr {
                            kind: ExprKind::Int(value),
                            span,
                        });
                    }
                    Tok::Float(f) => {
                        self.bump();
                        let span = Span {
                            start: t.start,
                            end: next.end,
                        };
                        let value = if negative { -f } else { f };
                        return Ok(Expr {
                            kind: ExprKind::Float(value),
                            span,
                        });
                    }
                    _ => {}
                }
                self.enter()?;
                let inner = self.unary()?;
                self.depth -= 1;
                if !negative {
                    return Ok(inner);
                }
                let span = Span {
                    start: t.start,
                    end: inner.span.end,
                };
                Ok(Expr {
                    kind: ExprKind::Neg(Box::new(inner)),
                    span,
                })
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let e = self.primary_inner();
        self.depth -= 1;
        e
    }

    fn primary_inner(&mut self) -> Result<Expr, Error> {
        let t = self.peek().clone();
        let span = Span {
            start: t.start,
            end: t.end,
        };
        let simple = |kind| Ok(Expr { kind, span });
        match t.tok {
            Tok::Str(s) => {
                self.bump();
                simple(ExprKind::Str(s))
            }
            Tok::Int(n) => {
                self.bump();
                let n = i64::try_from(n).map_err(|_| {
                    Error::new(
                        ErrorKind::Syntax,
                        t.start,
                        "integer literal out of the 64-bit range",
                    )
                })?;
                simple(ExprKind::Int(n))
            }
            Tok::Float(f) => {
                self.bump();
                simple(ExprKind::Float(f))
            }
            Tok::Bytes(b) => {
                self.bump();
                simple(ExprKind::Bytes(b))
            }
            Tok::LParen => {
                self.bump();
                let inner = self.or_expr()?;
                let close = self.expect(Tok::RParen, "`)`")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: Span {
                        start: t.start,
                        end: close.end,
                    },
                })
            }
            Tok::LBracket => self.list(),
            Tok::LBrace => self.map(),
            Tok::Ident => self.ident_expr(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn list(&mut self) -> Result<Expr, Error> {
        let open = self.bump();
        let mut items = Vec::new();
        if self.peek().tok != Tok::RBracket {
            loop {
                items.push(self.or_expr()?);
                if self.peek().tok == Tok::Comma {
                    self.bump();
                    continue;
                }
                break;
            }
        }
        let close = self.expect(Tok::RBracket, "`,` or `]`")?;
        Ok(Expr {
            kind: ExprKind::List(items),
            span: Span {
                start: open.start,
                end: close.end,
            },
        })
    }

    fn map(&mut self) -> Result<Expr, Error> {
        let open = self.bump();
        let mut entries = Vec::new();
        if self.peek().tok != Tok::RBrace {
            loop {
                let key = match self.peek().tok.clone() {
                    Tok::Str(s) => {
                        self.bump();
                        s
                    }
                    _ => return Err(self.unexpected("a string key")),
                };
                self.expect(Tok::Colon, "`:`")?;
                let value = self.or_expr()?;
                entries.push(MapEntry { key, value });
                if self.peek().tok == Tok::Comma {
                    self.bump();
                    continue;
                }
                break;
            }
        }
        let close = self.expect(Tok::RBrace, "`,` or `}`")?;
        Ok(Expr {
            kind: ExprKind::Map(entries),
            span: Span {
                start: open.start,
                end: close.end,
            },
        })
    }

    fn ident_expr(&mut self) -> Result<Expr, Error> {
        let t = self.peek().clone();
        let word = self.word(&t);
        let span = Span {
            start: t.start,
            end: t.end,
        };
        match word {
            "true" | "false" | "nil" => {
                self.bump();
                let kind = match word {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    _ => ExprKind::Nil,
                };
                return Ok(Expr { kind, span });
            }
            w if is_keyword(w) => return Err(self.unexpected("a value")),
            _ => {}
        }
        if self.peek_at(1).tok == Tok::LParen {
            let call = self.call()?;
            let end = self
                .tokens
                .get(self.pos.saturating_sub(1))
                .map_or(t.end, |t| t.end);
            return Ok(Expr {
                kind: ExprKind::Call(call),
                span: Span {
                    start: t.start,
                    end,
                },
            });
        }
        if word.starts_with(|c: char| c.is_ascii_uppercase()) && self.peek_at(1).tok != Tok::Dot {
            self.bump();
            return Ok(Expr {
                kind: ExprKind::Name(word.to_owned()),
                span,
            });
        }
        self.path()
    }

    fn path(&mut self) -> Result<Expr, Error> {
        let mut segments = Vec::new();
        let start = self.peek().start;
        loop {
            let t = self.expect(Tok::Ident, "a path name")?;
            let name = self.word(&t);
            if is_keyword(name) {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    t.start,
                    format!("`{name}` is a keyword, not a path name"),
                ));
            }
            segments.push(Segment {
                name: name.to_owned(),
                span: Span {
                    start: t.start,
                    end: t.end,
                },
            });
            if self.peek().tok == Tok::Dot {
                self.bump();
                continue;
            }
            break;
        }
        let keys = self.keys()?;
        if self.peek().tok == Tok::Dot {
            return Err(Error::new(
                ErrorKind::Syntax,
                self.peek().start,
                "keys come after the last name of a path",
            ));
        }
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(start, |t| t.end);
        Ok(Expr {
            kind: ExprKind::Path(PathExpr { segments, keys }),
            span: Span { start, end },
        })
    }

    fn keys(&mut self) -> Result<Vec<Expr>, Error> {
        let mut keys = Vec::new();
        while self.peek().tok == Tok::LBracket {
            self.bump();
            keys.push(self.or_expr()?);
            self.expect(Tok::RBracket, "`]`")?;
        }
        Ok(keys)
    }

    fn call(&mut self) -> Result<Call, Error> {
        let name_tok = self.bump();
        let name = self.word(&name_tok).to_owned();
        self.expect(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        let mut named_seen = false;
        if self.peek().tok != Tok::RParen {
            loop {
                let is_named = self.peek().tok == Tok::Ident && self.peek_at(1).tok == Tok::Assign;
                let arg_name = if is_named {
                    let t = self.bump();
                    self.bump();
                    named_seen = true;
                    Some(Segment {
                        name: self.word(&t).to_owned(),
                        span: Span {
                            start: t.start,
                            end: t.end,
                        },
                    })
                } else {
                    if named_seen {
                        return Err(Error::new(
                            ErrorKind::Syntax,
                            self.peek().start,
                            "positional arguments must come before named ones",
                        ));
                    }
                    None
                };
                let value = self.or_expr()?;
                args.push(Arg {
                    name: arg_name,
                    value,
                });
                if self.peek().tok == Tok::Comma {
                    self.bump();
                    continue;
                }
                break;
            }
        }
        self.expect(Tok::RParen, "`,` or `)`")?;
        let keys = self.keys()?;
        Ok(Call {
            name,
            name_span: Span {
                start: name_tok.start,
                end: name_tok.end,
            },
            args,
            keys,
        })
    }
}

fn join(make: impl FnOnce(Box<Expr>, Box<Expr>) -> ExprKind, lhs: Expr, rhs: Expr) -> Expr {
    let span = Span {
        start: lhs.span.start,
        end: rhs.span.end,
    };
    Expr {
        kind: make(Box::new(lhs), Box::new(rhs)),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(text: &str) -> ExprKind {
        parse_condition(text).unwrap().kind
    }

    #[test]
    fn statement_with_where_clause_parses() {
        let s = parse_statement(r#"set(attributes["a"]["b"][0], "x") where name == "y""#).unwrap();
        assert_eq!(s.editor.name, "set");
        assert_eq!(s.editor.args.len(), 2);
        let ExprKind::Path(p) = &s.editor.args[0].value.kind else {
            panic!()
        };
        assert_eq!(p.segments.len(), 1);
        assert_eq!(p.keys.len(), 3);
        assert!(matches!(
            s.condition.unwrap().kind,
            ExprKind::Compare(CmpOp::Eq, _, _)
        ));
    }

    #[test]
    fn literals_of_every_kind_parse() {
        let s = parse_statement(
            r#"set(x, [1, -2, 3.5, "s", true, false, nil, 0xab, {"k": [1], "m": {}}, SPAN_KIND_SERVER])"#,
        )
        .unwrap();
        let ExprKind::List(items) = &s.editor.args[1].value.kind else {
            panic!()
        };
        assert_eq!(items[1].kind, ExprKind::Int(-2));
        assert_eq!(items[2].kind, ExprKind::Float(3.5));
        assert_eq!(items[6].kind, ExprKind::Nil);
        assert_eq!(items[7].kind, ExprKind::Bytes(vec![0xab]));
        assert!(matches!(items[8].kind, ExprKind::Map(ref m) if m.len() == 2));
        assert_eq!(items[9].kind, ExprKind::Name("SPAN_KIND_SERVER".into()));
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_applies_to_the_comparison() {
        let ExprKind::Or(_, rhs) = cond("a == 1 or b == 2 and not c == 3") else {
            panic!()
        };
        let ExprKind::And(_, not) = rhs.kind else {
            panic!()
        };
        assert!(
            matches!(not.kind, ExprKind::Not(ref c) if matches!(c.kind, ExprKind::Compare(..)))
        );
    }

    #[test]
    fn multiplication_binds_tighter_than_addition() {
        let ExprKind::Compare(_, lhs, _) = cond("1 + 2 * 3 == 7") else {
            panic!()
        };
        let ExprKind::Math(MathOp::Add, _, rhs) = lhs.kind else {
            panic!()
        };
        assert!(matches!(rhs.kind, ExprKind::Math(MathOp::Mul, _, _)));
    }

    #[test]
    fn converter_results_can_be_indexed_and_named_arguments_parse() {
        let ExprKind::Compare(_, lhs, _) = cond(r#"Split(name, delimiter = ",")[0] == "a""#) else {
            panic!()
        };
        let ExprKind::Call(c) = lhs.kind else {
            panic!()
        };
        assert_eq!(c.keys.len(), 1);
        assert_eq!(c.args[1].name.as_ref().unwrap().name, "delimiter");
    }

    #[test]
    fn most_negative_integer_is_a_literal() {
        assert_eq!(cond("-9223372036854775808"), ExprKind::Int(i64::MIN));
        assert!(parse_condition("9223372036854775808").is_err());
    }

    #[test]
    fn syntax_errors_carry_byte_offset_and_character_column() {
        let e = parse_statement(r#"set(attributes["é"], "x") wher"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert_eq!(e.offset, 27);
        assert_eq!(e.column, 27);
        assert!(e.message.contains("`where`"), "{}", e.message);

        let e = parse_statement(r#"set(attributes["é"], "x" "#).unwrap_err();
        assert_eq!((e.offset, e.column), (26, 26));
    }

    #[test]
    fn statement_must_start_with_a_call() {
        let e = parse_statement("name == 1").unwrap_err();
        assert!(e.message.contains("editor call"));
        assert_eq!(e.column, 1);
    }

    #[test]
    fn positional_after_named_is_refused() {
        let e = parse_statement(r#"set(target = x, "v")"#).unwrap_err();
        assert!(e.message.contains("positional"));
        assert_eq!(e.column, 17);
    }

    #[test]
    fn chained_comparisons_are_refused() {
        assert!(parse_condition("1 < 2 < 3").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert!(parse_condition(&text).is_err());
        let text = "not ".repeat(10_000) + "true";
        assert!(parse_condition(&text).is_err());
        let text = "-".repeat(10_000) + "x";
        assert!(parse_condition(&text).is_err());
    }

    #[test]
    fn keys_in_the_middle_of_a_path_are_refused() {
        let e = parse_condition(r#"attributes["a"].b == 1"#).unwrap_err();
        assert!(e.message.contains("keys come after"));
    }
}
