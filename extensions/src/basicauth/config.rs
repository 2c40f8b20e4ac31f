//! Configuration of the `basicauth` extension, with otelcol's option names.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::config::Secret;

/// HTTP Basic authentication: `htpasswd` makes it a server authenticator (receivers check
/// `Authorization: Basic`), `client_auth` a client authenticator (exporters send it). Either or
/// both may be set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuthConfig {
    /// The users receivers accept, in htpasswd format (`user:hash` lines, bcrypt hashes only,
    /// as `htpasswd -B` writes them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub htpasswd: Option<HtpasswdConfig>,
    /// The user and password exporters send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuthConfig>,
}

/// Where the htpasswd lines come from; both may be given and are merged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HtpasswdConfig {
    /// An htpasswd file, read at startup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// htpasswd lines written in the config; a user given here wins over the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

/// Credentials an exporter sends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientAuthConfig {
    /// The user name; it must not contain `:`.
    pub username: String,
    /// The password; never printed.
    pub password: Secret,
}

impl ComponentConfig for BasicAuthConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.htpasswd.is_none() && self.client_auth.is_none() {
            problems.push(
                "set htpasswd (to check receivers' clients) or client_auth (for exporters)"
                    .to_string(),
            );
        }
        if let Some(htpasswd) = &self.htpasswd {
            if htpasswd.file.is_none() && htpasswd.inline.is_none() {
                problems.push("htpasswd needs file or inline".to_string());
            }
            if let Err(e) = super::htpasswd::load(htpasswd) {
                problems.push(e);
            }
        }
        if let Some(client) = &self.client_auth {
            if client.username.is_empty() {
                problems.push("client_auth.username is required".to_string());
            }
            if client.username.contains(':') {
                problems.push("client_auth.username must not contain `:`".to_string());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
