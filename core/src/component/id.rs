//! Component and pipeline ids: `type[/name]`, as otelcol spells them.

use std::fmt;
use std::str::FromStr;

/// `type` or `type/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId {
    ty: String,
    name: Option<String>,
}

/// An id that is not `type[/name]`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// Nothing before the slash, or nothing at all.
    #[error("id `{0}` has an empty type")]
    EmptyType(String),
    /// A slash with nothing after it.
    #[error("id `{0}` has an empty name after `/`")]
    EmptyName(String),
    /// A character outside letters, digits, `_`, `-`, `.`.
    #[error("id `{0}` contains `{1}`; types use letters, digits and `_`")]
    BadChar(String, char),
}

impl ComponentId {
    /// Builds an id from its parts.
    pub fn new(ty: impl Into<String>, name: Option<String>) -> Self {
        ComponentId {
            ty: ty.into(),
            name,
        }
    }

    /// The component type (`otlp` in `otlp/2`).
    pub fn ty(&self) -> &str {
        &self.ty
    }

    /// The name after the slash, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The same id with another type (used when an alias is resolved).
    pub fn with_type(&self, ty: &str) -> ComponentId {
        ComponentId {
            ty: ty.to_string(),
            name: self.name.clone(),
        }
    }
}

impl FromStr for ComponentId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let (ty, name) = match s.split_once('/') {
            Some((ty, name)) => (ty, Some(name)),
            None => (s, None),
        };
        if ty.is_empty() {
            return Err(IdError::EmptyType(s.to_string()));
        }
        if let Some(c) = ty
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(IdError::BadChar(s.to_string(), c));
        }
        match name {
            Some("") => Err(IdError::EmptyName(s.to_string())),
            Some(name) => Ok(ComponentId::new(ty, Some(name.to_string()))),
            None => Ok(ComponentId::new(ty, None)),
        }
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.ty, name),
            None => f.write_str(&self.ty),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_and_optional_name() {
        let id: ComponentId = "otlp/2".parse().unwrap();
        assert_eq!((id.ty(), id.name()), ("otlp", Some("2")));
        assert_eq!(id.to_string(), "otlp/2");
        let id: ComponentId = "batch".parse().unwrap();
        assert_eq!((id.ty(), id.name()), ("batch", None));
    }

    #[test]
    fn rejects_empty_parts_and_bad_characters() {
        assert!(matches!(
            "/x".parse::<ComponentId>(),
            Err(IdError::EmptyType(_))
        ));
        assert!(matches!(
            "otlp/".parse::<ComponentId>(),
            Err(IdError::EmptyName(_))
        ));
        assert!(matches!(
            "ot lp".parse::<ComponentId>(),
            Err(IdError::BadChar(_, ' '))
        ));
    }
}
