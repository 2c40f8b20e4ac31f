//! The two error types: [`Error`] for text that does not parse or compile (it carries where),
//! and [`EvalError`] for a record that a compiled statement cannot be applied to.

use thiserror::Error;

/// What class of problem a compile-time [`Error`] is; processors and tests match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not OTTL: a bad token, a missing parenthesis, trailing input.
    Syntax,
    /// A function name that no editor or converter has.
    UnknownFunction,
    /// A path the context does not have.
    UnknownPath,
    /// An upper-case word that is not one of the context's enums.
    UnknownEnum,
    /// A named argument that the function has no parameter for.
    UnknownArgument,
    /// Too many or too few arguments, or one given twice.
    Arity,
    /// An argument or operand of a type the function or operator does not take.
    Type,
    /// A converter where a statement needs an editor, or an editor inside an expression.
    FunctionKind,
    /// A path an editor writes to that cannot be written.
    ReadOnly,
    /// A regular expression, glob or format argument that does not compile.
    Pattern,
    /// Paths of contexts that cannot be used together, or a context that cannot be inferred.
    Context,
}

/// A statement or condition that does not parse or compile.
///
/// `offset` is the byte offset in the statement's text, `column` the 1-based character column
/// there (what an editor shows); `suggestion` is the closest known name, when one is close.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at column {column}{}", did_you_mean(suggestion.as_deref()))]
pub struct Error {
    /// The class of problem.
    pub kind: ErrorKind,
    /// Byte offset in the statement where the problem starts.
    pub offset: usize,
    /// 1-based character column of `offset`.
    pub column: usize,
    /// What is wrong, in words.
    pub message: String,
    /// The closest known name (function, path, enum, argument), if there is a close one.
    pub suggestion: Option<String>,
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

impl Error {
    /// An error at `offset`; the column is filled in by [`Error::locate`] once the text is known.
    pub(crate) fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        Self {
            kind,
            offset,
            column: 0,
            message: message.into(),
            suggestion: None,
        }
    }

    pub(crate) fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    /// Computes the character column of the offset in `text`.
    pub(crate) fn locate(mut self, text: &str) -> Self {
        let chars = text
            .char_indices()
            .take_while(|(i, _)| *i < self.offset)
            .count();
        self.column = chars + 1;
        self
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be what was meant.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = if candidate.eq_ignore_ascii_case(word) {
            2.0
        } else {
            strsim::jaro_winkler(&lower, &candidate.to_ascii_lowercase())
        };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.filter(|(score, _)| *score >= 0.8)
        .map(|(_, c)| c.to_owned())
}

/// Why a compiled statement or condition could not be applied to one record.
///
/// These are values, never panics: a processor applies its `error_mode` (ignore, silent,
/// propagate) to them.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvalError {
    /// A value of the wrong type for a function argument, an operator or a field.
    #[error("{what}: expected {expected}, got {found}")]
    Type {
        /// The argument, operator or field.
        what: String,
        /// The type or types it takes.
        expected: &'static str,
        /// The type it was given.
        found: &'static str,
    },
    /// Integer or float division by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// Arithmetic on times or durations that does not fit 64-bit nanoseconds.
    #[error("{0} overflows")]
    Overflow(&'static str),
    /// A list index outside the list.
    #[error("index {index} out of range for a list of {len}")]
    IndexOutOfRange {
        /// The index asked for.
        index: i64,
        /// The list's length.
        len: usize,
    },
    /// A key or index applied to a value that has none.
    #[error("cannot index {found} with {key}")]
    NotIndexable {
        /// The type of the value indexed.
        found: &'static str,
        /// The key, as written.
        key: String,
    },
    /// A path this record does not have (another context's record, or the wrong metric kind).
    #[error("{0}")]
    Unsupported(String),
    /// A function that failed on its input (a bad duration string, invalid JSON, ...).
    #[error("{function}: {message}")]
    Function {
        /// The function's name.
        function: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A record implementation that could not read its data (e.g. malformed wire bytes).
    #[error("record: {0}")]
    Record(String),
}

impl EvalError {
    pub(crate) fn function(function: &'static str, message: impl Into<String>) -> Self {
        Self::Function {
            function,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_characters_not_bytes() {
        let e = Error::new(ErrorKind::Syntax, "é€x".len() - 1, "bad").locate("é€x");
        assert_eq!(e.column, 3);
        assert_eq!(e.to_string(), "bad at column 3");
    }

    #[test]
    fn suggestion_is_offered_only_when_close() {
        assert_eq!(
            suggest("IsMach", ["IsMatch", "Concat"]),
            Some("IsMatch".into())
        );
        assert_eq!(suggest("zzzz", ["IsMatch", "Concat"]), None);
        assert_eq!(suggest("ismatch", ["IsMatch"]), Some("IsMatch".into()));
    }
}
