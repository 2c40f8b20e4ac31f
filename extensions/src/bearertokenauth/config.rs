//! Configuration of the `bearertokenauth` extension, with otelcol's option names.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::config::Secret;

/// A bearer token: receivers that name this extension accept only requests carrying it,
/// exporters that name it send it with every request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BearerTokenAuthConfig {
    /// Header the token travels in.
    pub header: String,
    /// Word in front of the token in the header's value (`Bearer <token>`); empty sends the
    /// token alone.
    pub scheme: String,
    /// The token. One of `token`, `tokens` or `filename` is required; never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Several tokens, any of which a receiver accepts (for rotating tokens without downtime);
    /// exporters send the first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Secret>,
    /// File holding the token (surrounding whitespace ignored); read again whenever it changes,
    /// so a rotated token is used without a restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl Default for BearerTokenAuthConfig {
    fn default() -> Self {
        BearerTokenAuthConfig {
            header: "Authorization".to_string(),
            scheme: "Bearer".to_string(),
            token: None,
            tokens: Vec::new(),
            filename: None,
        }
    }
}

impl ComponentConfig for BearerTokenAuthConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let given = [
            self.token.is_some(),
            !self.tokens.is_empty(),
            self.filename.is_some(),
        ];
        match given.iter().filter(|g| **g).count() {
            0 => problems.push("one of token, tokens or filename is required".to_string()),
            1 => {}
            _ => problems.push("set only one of token, tokens or filename".to_string()),
        }
        if self
            .token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
            || self.tokens.iter().any(|t| t.expose().trim().is_empty())
        {
            problems.push("token must not be empty".to_string());
        }
        if http::HeaderName::from_bytes(self.header.as_bytes()).is_err() {
            problems.push(format!(
                "header `{}` is not a valid header name",
                self.header
            ));
        }
        if self.scheme.contains(char::is_whitespace) {
            problems.push(format!("scheme `{}` must be one word", self.scheme));
        }
        if let Some(path) = &self.filename
            && let Err(e) = super::read_token(path)
        {
            problems.push(format!("filename {e}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_exactly_one_source_of_tokens_and_hides_them() {
        let config: BearerTokenAuthConfig =
            serde_json::from_value(serde_json::json!({"token": "abc"})).unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(
            (config.header.as_str(), config.scheme.as_str()),
            ("Authorization", "Bearer")
        );
        assert!(!format!("{config:?}").contains("abc"));
        let none = BearerTokenAuthConfig::default().validate().unwrap_err();
        assert_eq!(none, ["one of token, tokens or filename is required"]);
        let both: BearerTokenAuthConfig =
            serde_json::from_value(serde_json::json!({"token": "a", "filename": "/nonexistent/t"}))
                .unwrap();
        let problems = both.validate().unwrap_err();
        assert_eq!(problems[0], "set only one of token, tokens or filename");
        assert_eq!(problems[1], "filename `/nonexistent/t`: file not found");
    }
}
