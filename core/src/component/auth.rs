//! Authentication as otelcol does it: an extension checks the credentials of requests a
//! receiver takes (server side) or adds credentials to requests an exporter sends (client
//! side); components name it with `auth: { authenticator: <id> }`. The runtime hands the started
//! extensions over as a [`Host`], where components look their authenticator up by id.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ComponentId, Extension, KvStore};

/// Why a request was not authenticated, or credentials could not be produced. Never contains a
/// credential.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// Checks the credentials of incoming requests.
#[async_trait]
pub trait ServerAuthenticator: Send + Sync {
    /// `Ok` when the request's headers (HTTP headers, or gRPC metadata) carry valid credentials.
    async fn authenticate(&self, headers: &http::HeaderMap) -> Result<(), AuthError>;
}

/// Adds credentials to outgoing requests.
pub trait ClientAuthenticator: Send + Sync {
    /// The headers to add to one request (read per request: a token file may have changed).
    fn headers(&self) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, AuthError>;
}

/// `auth:` of a receiver's protocol or of an exporter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Id of the authenticator extension (`bearertokenauth`, `basicauth/clients`); it must be
    /// listed in `service.extensions`.
    pub authenticator: String,
}

/// Which sides an authenticator extension's config can serve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthSides {
    /// It can check requests a receiver takes.
    pub server: bool,
    /// It can add credentials to requests an exporter sends.
    pub client: bool,
}

/// The started extensions, as components see them.
#[derive(Clone, Default)]
pub struct Host {
    extensions: Arc<Vec<(ComponentId, Arc<dyn Extension>)>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.extensions.iter().map(|(id, _)| id.to_string()))
            .finish()
    }
}

impl Host {
    /// A host over the started extensions.
    pub fn new(extensions: Vec<(ComponentId, Arc<dyn Extension>)>) -> Self {
        Host {
            extensions: Arc::new(extensions),
        }
    }

    fn find(&self, id: &str) -> Result<&Arc<dyn Extension>, AuthError> {
        self.extensions
            .iter()
            .find(|(ext, _)| ext.to_string() == id)
            .map(|(_, e)| e)
            .ok_or_else(|| {
                AuthError(format!(
                    "authenticator `{id}` is not an extension listed in service.extensions"
                ))
            })
    }

    /// The server authenticator with this id.
    pub fn server_authenticator(
        &self,
        id: &str,
    ) -> Result<Arc<dyn ServerAuthenticator>, AuthError> {
        self.find(id)?.server_authenticator().ok_or_else(|| {
            AuthError(format!(
                "extension `{id}` cannot authenticate requests a receiver takes"
            ))
        })
    }

    /// The records of `owner` in the storage extension `id` (a component's `storage:`).
    pub fn storage_client(&self, id: &str, owner: &str) -> Result<Arc<dyn KvStore>, String> {
        let extension = self
            .extensions
            .iter()
            .find(|(ext, _)| ext.to_string() == id)
            .map(|(_, e)| e)
            .ok_or_else(|| {
                format!("storage `{id}` is not an extension listed in service.extensions")
            })?;
        let storage = extension
            .storage()
            .ok_or_else(|| format!("extension `{id}` is not a storage extension"))?;
        storage
            .open_client(owner)
            .map_err(|e| format!("cannot open its records on `{id}`: {e}"))
    }

    /// The client authenticator with this id.
    pub fn client_authenticator(
        &self,
        id: &str,
    ) -> Result<Arc<dyn ClientAuthenticator>, AuthError> {
        self.find(id)?.client_authenticator().ok_or_else(|| {
            AuthError(format!(
                "extension `{id}` cannot add credentials to requests an exporter sends"
            ))
        })
    }
}
