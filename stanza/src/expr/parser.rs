//! Turning tokens into an expression tree, with expr's precedence: `or` below `and` below
//! comparisons and the word operators, unary `not` above them.

use regex::Regex;

use super::lexer::Token;
use super::{CompileError, Node, StrOp};
use crate::field::{Field, Root};
use crate::value::Value;

pub(super) struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    end_column: usize,
}

impl Parser {
    pub(super) fn new(tokens: Vec<(Token, usize)>, end_column: usize) -> Self {
        Parser {
            tokens,
            pos: 0,
            end_column,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.end_column, |(_, c)| *c)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, CompileError> {
        Err(CompileError {
            column: self.column(),
            message: message.into(),
        })
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Some(Token::Sym(s)) if *s == sym)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w == word)
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), CompileError> {
        if self.is_sym(sym) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(format!("expected `{sym}`"))
        }
    }

    pub(super) fn parse(mut self) -> Result<Node, CompileError> {
        let node = self.or()?;
        if self.peek().is_some() {
            return self.error("unexpected token after the end of the expression");
        }
        Ok(node)
    }

    fn or(&mut self) -> Result<Node, CompileError> {
        let mut left = self.and()?;
        while self.is_sym("||") || self.is_word("or") {
            self.pos += 1;
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, CompileError> {
        let mut left = self.comparison()?;
        while self.is_sym("&&") || self.is_word("and") {
            self.pos += 1;
            left = Node::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Node, CompileError> {
        let mut left = self.unary()?;
        loop {
            let column = self.column();
            let op = match self.peek() {
                Some(Token::Sym(s @ ("==" | "!=" | "<" | "<=" | ">" | ">="))) => s.to_string(),
                Some(Token::Ident(w)) => w.clone(),
                _ => return Ok(left),
            };
            let negate = op == "not";
            if negate {
                // `x not in [..]`, `x not matches ".."`: expr's negated word operators.
                match self.tokens.get(self.pos + 1) {
                    Some((Token::Ident(w), _))
                        if matches!(
                            w.as_str(),
                            "in" | "matches" | "contains" | "startsWith" | "endsWith"
                        ) => {}
                    _ => return Ok(left),
                }
                self.pos += 1;
            }
            let op = match self.peek() {
                Some(Token::Ident(w)) => w.clone(),
                _ => op,
            };
            let node = match op.as_str() {
                "==" | "!=" | "<" | "<=" | ">" | ">=" => {
                    self.pos += 1;
                    let right = self.unary()?;
                    Node::Compare(super::cmp_op(&op), Box::new(left), Box::new(right))
                }
                "in" => {
                    self.pos += 1;
                    Node::In(Box::new(left), Box::new(self.unary()?))
                }
                "matches" => {
                    self.pos += 1;
                    let right = self.unary()?;
                    match right {
                        Node::Literal(Value::String(pattern)) => match Regex::new(&pattern) {
                            Ok(re) => Node::MatchesConst(Box::new(left), re),
                            Err(e) => {
                                return Err(CompileError {
                                    column,
                                    message: format!("invalid regex in `matches`: {e}"),
                                });
                            }
                        },
                        right => Node::Matches(Box::new(left), Box::new(right)),
                    }
                }
                "contains" | "startsWith" | "endsWith" => {
                    self.pos += 1;
                    let kind = match op.as_str() {
                        "contains" => StrOp::Contains,
                        "startsWith" => StrOp::StartsWith,
                        _ => StrOp::EndsWith,
                    };
                    Node::Str(kind, Box::new(left), Box::new(self.unary()?))
                }
                _ => return Ok(left),
            };
            left = if negate {
                Node::Not(Box::new(node))
            } else {
                node
            };
        }
    }

    fn unary(&mut self) -> Result<Node, CompileError> {
        if self.is_sym("!") || self.is_word("not") {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        if self.is_sym("-") {
            // Only negative number literals: the subset has no arithmetic.
            self.pos += 1;
            return match self.peek().cloned() {
                Some(Token::Int(i)) => {
                    self.pos += 1;
                    Ok(Node::Literal(Value::Int(-i)))
                }
                Some(Token::Float(f)) => {
                    self.pos += 1;
                    Ok(Node::Literal(Value::Double(-f)))
                }
                _ => self.error("expected a number after `-`"),
            };
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, CompileError> {
        let column = self.column();
        let Some(token) = self.peek().cloned() else {
            return self.error("unexpected end of expression");
        };
        self.pos += 1;
        match token {
            Token::Str(s) => Ok(Node::Literal(Value::String(s))),
            Token::Int(i) => Ok(Node::Literal(Value::Int(i))),
            Token::Float(f) => Ok(Node::Literal(Value::Double(f))),
            Token::Sym("(") => {
                let inner = self.or()?;
                self.expect_sym(")")?;
                Ok(inner)
            }
            Token::Sym("[") => {
                let mut items = Vec::new();
                while !self.is_sym("]") {
                    items.push(self.or()?);
                    if !self.is_sym("]") {
                        self.expect_sym(",")?;
                    }
                }
                self.pos += 1;
                // A list of literals (the usual `in [..]`) is built once, not per entry.
                if items.iter().all(|i| matches!(i, Node::Literal(_))) {
                    let values = items
                        .into_iter()
                        .filter_map(|i| match i {
                            Node::Literal(v) => Some(v),
                            _ => None,
                        })
                        .collect();
                    return Ok(Node::Literal(Value::List(values)));
                }
                Ok(Node::List(items))
            }
            Token::Ident(word) => match word.as_str() {
                "true" => Ok(Node::Literal(Value::Bool(true))),
                "false" => Ok(Node::Literal(Value::Bool(false))),
                "nil" => Ok(Node::Literal(Value::Null)),
                "env" => {
                    self.expect_sym("(")?;
                    let arg = self.or()?;
                    self.expect_sym(")")?;
                    Ok(Node::Env(Box::new(arg)))
                }
                "body" | "$body" | "$record" | "$" => self.field(Root::Body),
                "attributes" | "$attributes" | "$labels" => self.field(Root::Attributes),
                "resource" | "$resource" => self.field(Root::Resource),
                other => Err(CompileError {
                    column,
                    message: format!(
                        "unknown name `{other}` (expected body, attributes, resource, env, a literal or an operator)"
                    ),
                }),
            },
            Token::Sym(s) => Err(CompileError {
                column,
                message: format!("unexpected `{s}`"),
            }),
        }
    }

    fn field(&mut self, root: Root) -> Result<Node, CompileError> {
        let mut keys = Vec::new();
        loop {
            if self.is_sym(".") {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Token::Ident(key)) => keys.push(key),
                    _ => return self.error("expected a key after `.`"),
                }
                self.pos += 1;
            } else if self.is_sym("[") {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Token::Str(key)) => keys.push(key),
                    _ => return self.error("expected a quoted key inside `[]`"),
                }
                self.pos += 1;
                self.expect_sym("]")?;
            } else {
                return Ok(Node::Field(Field { root, keys }));
            }
        }
    }
}
