//! Config errors, each at a path inside the receiver's config (`operators[2].regex`), so the
//! receiver can point at the file, line and column the way the config loader does.

use std::fmt;

/// One step of a path: a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from the receiver's config root to a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Segment>);

impl Path {
    /// This path with a key appended.
    pub fn key(&self, key: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// This path with an index appended.
    pub fn index(&self, index: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }

    /// The segments as strings (indices in decimal), the shape of `weir_core`'s
    /// `FieldError::path`.
    pub fn keys(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|s| match s {
                Segment::Key(k) => k.clone(),
                Segment::Index(i) => i.to_string(),
            })
            .collect()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A problem with one node of the operators' config.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where the node is. For an unknown field, the path ends at the field itself.
    pub path: Path,
    /// What is wrong (includes "did you mean" and, for expressions, the column).
    pub message: String,
    /// For an unknown field or type: the names that exist there.
    pub expected: Vec<String>,
    /// For expressions and regexes: the 1-based column inside the string value at fault.
    pub column: Option<usize>,
}

impl ConfigError {
    /// A problem at `path`.
    pub fn new(path: Path, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path,
            message: message.into(),
            expected: Vec::new(),
            column: None,
        }
    }

    /// An unknown name, with a suggestion when one is close.
    pub fn unknown(path: Path, what: &str, name: &str, expected: &[&str]) -> ConfigError {
        let hint = suggest(name, expected)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| {
                let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
                format!("; expected one of {}", list.join(", "))
            });
        ConfigError {
            path,
            message: format!("unknown {what} `{name}`{hint}"),
            expected: expected.iter().map(|s| s.to_string()).collect(),
            column: None,
        }
    }
}

/// The closest name, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Every problem found in the operators' config, in order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
