//! A config string that must never be printed: private keys written inline, tokens, passwords.
//! Its `Debug` and `Display` show `[REDACTED]`, so a config logged with `{:?}` leaks nothing;
//! the value itself is reached only through [`Secret::expose`].

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A secret string from the config.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Config keys whose values are secrets wherever they appear.
const SECRET_KEYS: [&str; 5] = ["token", "tokens", "password", "key_pem", "hmac_key"];

/// `Debug` for a component config that may hold credentials: `name` and its JSON through
/// [`redact_json`].
pub fn debug_redacted<T: serde::Serialize>(
    name: &str,
    config: &T,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    let json = serde_json::to_value(config).unwrap_or_default();
    write!(f, "{name} {}", redact_json(&json))
}

/// `value` (a component's config as JSON) with secrets replaced by `[REDACTED]`: the values of
/// [`SECRET_KEYS`], and of credential headers in a `headers` map.
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    redact_in(value, false)
}

fn redact_in(value: &serde_json::Value, in_headers: bool) -> serde_json::Value {
    let hidden = || serde_json::Value::String("[REDACTED]".to_string());
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let secret = SECRET_KEYS.contains(&key.as_str())
                        || (in_headers && crate::batch::is_sensitive_header(key));
                    let shown = if secret {
                        hidden()
                    } else {
                        redact_in(v, key == "headers")
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| redact_in(v, false)).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_json_hides_tokens_passwords_keys_and_credential_headers() {
        let value = serde_json::json!({
            "endpoint": "https://backend:4317",
            "headers": {"authorization": "Bearer abc", "x-tenant": "acme"},
            "tls": {"key_pem": "-----BEGIN PRIVATE KEY-----"},
            "client_auth": {"username": "weir", "password": "pw"},
            "tokens": ["t1"],
            "hmac_key": "redaction-key",
        });
        let shown = redact_json(&value).to_string();
        for secret in [
            "Bearer abc",
            "BEGIN PRIVATE KEY",
            "\"pw\"",
            "t1",
            "redaction-key",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("acme") && shown.contains("weir"), "{shown}");
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret: Secret = serde_json::from_value(serde_json::json!("hunter2")).unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
        assert_eq!(serde_json::to_value(&secret).unwrap(), "hunter2");
    }
}
