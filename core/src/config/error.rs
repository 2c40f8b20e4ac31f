//! What can be wrong with a config, and where: every error carries the file, line and column of
//! the node at fault, the path of that node (`processors.batch`), and the problem itself.

use std::fmt;
use std::sync::Arc;

use crate::component::Kind;

/// Where a node came from: a file (or `--set` argument, or embedded text), line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file path as given, the embedded source's name, or the `--set` argument.
    pub source: Arc<str>,
    /// 1-based line; 0 when the source is a single `--set` argument.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The position of the source in the load order, so errors sort the way sources were given.
    pub(crate) order: usize,
}

impl Location {
    pub(crate) fn new(source: Arc<str>, order: usize, line: usize, column: usize) -> Self {
        Location {
            source,
            line,
            column,
            order,
        }
    }

    fn sort_key(&self) -> (usize, usize, usize) {
        (self.order, self.line, self.column)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.source)
        } else {
            write!(f, "{}:{}:{}", self.source, self.line, self.column)
        }
    }
}

/// What would have been right, appended to a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Nothing useful to add.
    None,
    /// A close match: "; did you mean `x`?".
    DidYouMean(String),
    /// Nothing close, so the whole list: "; expected one of `a`, `b`".
    OneOf(Vec<String>),
    /// Ids defined in the section a reference points at: "; defined: a, b".
    Defined(Vec<String>),
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::None => Ok(()),
            Hint::DidYouMean(name) => write!(f, "; did you mean `{name}`?"),
            Hint::OneOf(names) if names.is_empty() => f.write_str("; none are available"),
            Hint::OneOf(names) => {
                f.write_str("; expected one of ")?;
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}`")?;
                }
                Ok(())
            }
            Hint::Defined(ids) if ids.is_empty() => f.write_str("; none are defined"),
            Hint::Defined(ids) => write!(f, "; defined: {}", ids.join(", ")),
        }
    }
}

/// The problem itself, without its location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A file could not be read.
    #[error("cannot read the file: {0}")]
    Read(String),
    /// The text is not valid YAML.
    #[error("invalid YAML: {0}")]
    Syntax(String),
    /// A key, type or name that does not exist (`what` is e.g. `field`, `receiver type`).
    #[error("unknown {what} `{name}`{hint}")]
    Unknown {
        /// What kind of name it is.
        what: String,
        /// The name as written.
        name: String,
        /// A suggestion or the list of valid names.
        hint: Hint,
    },
    /// A pipeline or `service.extensions` names a component the config does not define.
    #[error("`{id}` is not defined under {section}{hint}")]
    Undefined {
        /// The id as written.
        id: String,
        /// The section it should be defined in.
        section: &'static str,
        /// A suggestion or the ids that are defined.
        hint: Hint,
    },
    /// A pipeline uses a component that cannot carry its signal.
    #[error("{kind} `{id}` does not support {signal} (it supports {supported})")]
    UnsupportedSignal {
        /// The component's kind.
        kind: Kind,
        /// The id as written.
        id: String,
        /// The pipeline's signal.
        signal: String,
        /// The signals it does support, comma-separated.
        supported: String,
    },
    /// Any other invalid value: type mismatches, failed validation, bad references.
    #[error("{0}")]
    Invalid(String),
}

/// One problem in a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the offending node is; absent only when there is no node (an unreadable file).
    pub location: Option<Location>,
    /// The dotted path of the node (`processors.batch`, `service.pipelines.traces`); may be empty.
    pub path: String,
    /// What is wrong.
    pub problem: Problem,
}

impl ConfigError {
    pub(crate) fn new(location: &Location, path: impl Into<String>, problem: Problem) -> Self {
        ConfigError {
            location: Some(location.clone()),
            path: path.into(),
            problem,
        }
    }

    pub(crate) fn invalid(
        location: &Location,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(location, path, Problem::Invalid(message.into()))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one pass over the config, in source order; displays one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems, sorted by source, line and column.
    pub errors: Vec<ConfigError>,
    /// Warnings found on the way (an unset variable, say), which often explain an error.
    pub warnings: Vec<String>,
}

impl ConfigErrors {
    /// Sorts by position (errors without one first) so output follows the files, not the order
    /// in which the loader's passes happened to find them.
    pub(crate) fn sorted(mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by_key(|e| e.location.as_ref().map(Location::sort_key));
        errors.dedup();
        ConfigErrors {
            errors,
            warnings: Vec::new(),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
