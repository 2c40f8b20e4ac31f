//! The `basicauth` extension (otelcol's name): HTTP Basic authentication. As a server
//! authenticator it checks `Authorization: Basic` against bcrypt hashes from htpasswd; as a
//! client authenticator it sends `client_auth`'s user and password.
//!
//! bcrypt is slow on purpose (tens of milliseconds per check), and OTLP clients send the same
//! credentials with every export, so a password that verified is remembered per user and later
//! requests compare against it in constant time; bcrypt runs again only for a different
//! password. Checks run on the blocking pool, never on the I/O threads.

mod config;
mod htpasswd;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use http::{HeaderName, HeaderValue};
use weir_core::component::{
    AuthError, AuthSides, BuildError, ClientAuthenticator, CreateSettings, Extension,
    ExtensionContext, ExtensionError, ExtensionFactory, ServerAuthenticator, Stability,
};

use crate::bearertokenauth::constant_time_eq;

pub use config::{BasicAuthConfig, ClientAuthConfig, HtpasswdConfig};

/// Factory of the `basicauth` extension.
#[derive(Debug, Default)]
pub struct BasicAuthFactory;

impl ExtensionFactory for BasicAuthFactory {
    type Config = BasicAuthConfig;
    const TYPE: &'static str = "basicauth";
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &BasicAuthConfig,
        _settings: &CreateSettings,
    ) -> Result<Arc<dyn Extension>, BuildError> {
        let client = config
            .client_auth
            .as_ref()
            .map(|c| {
                let pair = format!("{}:{}", c.username, c.password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                    .map_err(|_| BuildError("client_auth: not a valid header value".into()))?;
                value.set_sensitive(true);
                Ok::<_, BuildError>(Arc::new(BasicClient(value)))
            })
            .transpose()?;
        Ok(Arc::new(BasicAuth {
            htpasswd: config.htpasswd.clone(),
            server: Mutex::new(None),
            client,
        }))
    }

    fn auth_sides(&self, config: &BasicAuthConfig) -> AuthSides {
        AuthSides {
            server: config.htpasswd.is_some(),
            client: config.client_auth.is_some(),
        }
    }
}

/// A started `basicauth` extension.
pub struct BasicAuth {
    htpasswd: Option<HtpasswdConfig>,
    /// Set by `start`, once the htpasswd file is read.
    server: Mutex<Option<Arc<BasicServer>>>,
    client: Option<Arc<BasicClient>>,
}

#[async_trait]
impl Extension for BasicAuth {
    async fn start(&self, _ctx: ExtensionContext) -> Result<(), ExtensionError> {
        if let Some(config) = &self.htpasswd {
            let users = htpasswd::load(config).map_err(ExtensionError)?;
            let server = Arc::new(BasicServer {
                users: Arc::new(users),
                verified: Arc::new(Mutex::new(BTreeMap::new())),
            });
            *self.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server);
        }
        Ok(())
    }

    fn server_authenticator(&self) -> Option<Arc<dyn ServerAuthenticator>> {
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        server
            .as_ref()
            .map(|s| s.clone() as Arc<dyn ServerAuthenticator>)
    }

    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        self.client
            .as_ref()
            .map(|c| c.clone() as Arc<dyn ClientAuthenticator>)
    }
}

struct BasicServer {
    users: Arc<htpasswd::Users>,
    /// The last password that verified, per user.
    verified: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

/// User and password of an `Authorization: Basic` header.
fn credentials(headers: &http::HeaderMap) -> Result<(String, String), AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| AuthError("missing `authorization` header".into()))?;
    let malformed = || AuthError("`authorization` is not HTTP Basic credentials".into());
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (user, password) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((user.to_string(), password.to_string()))
}

#[async_trait]
impl ServerAuthenticator for BasicServer {
    async fn authenticate(&self, headers: &http::HeaderMap) -> Result<(), AuthError> {
        let (user, password) = credentials(headers)?;
        let refused = || AuthError("invalid user name or password".into());
        let Some(hash) = self.users.get(&user).cloned() else {
            return Err(refused());
        };
        let remembered = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            .is_some_and(|known| constant_time_eq(known, password.as_bytes()));
        if remembered {
            return Ok(());
        }
        let verified = self.verified.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let ok = bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false);
            if ok {
                verified
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(user, password.into_bytes());
            }
            ok
        })
        .await
        .unwrap_or(false);
        if ok { Ok(()) } else { Err(refused()) }
    }
}

struct BasicClient(HeaderValue);

impl ClientAuthenticator for BasicClient {
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, AuthError> {
        Ok(vec![(http::header::AUTHORIZATION, self.0.clone())])
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;
    use weir_core::component::{ComponentConfig, ComponentId};

    use super::*;

    async fn started(config: serde_json::Value) -> Arc<dyn Extension> {
        let config: BasicAuthConfig = serde_json::from_value(config).unwrap();
        config.validate().unwrap();
        let id = ComponentId::new("basicauth", None);
        let settings = CreateSettings {
            id: id.clone(),
            signal: None,
            pipeline: None,
            host: Default::default(),
        };
        let ext = BasicAuthFactory.create(&config, &settings).unwrap();
        ext.start(ExtensionContext {
            id,
            shutdown: CancellationToken::new(),
            status: Default::default(),
        })
        .await
        .unwrap();
        ext
    }

    fn basic(user: &str, password: &str) -> http::HeaderMap {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut h = http::HeaderMap::new();
        h.insert("authorization", format!("Basic {encoded}").parse().unwrap());
        h
    }

    #[tokio::test]
    async fn checks_bcrypt_passwords_and_sends_client_credentials() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let ext = started(serde_json::json!({
            "htpasswd": {"inline": format!("alice:{hash}")},
            "client_auth": {"username": "bob", "password": "pw"},
        }))
        .await;
        let server = ext.server_authenticator().unwrap();
        server
            .authenticate(&basic("alice", "s3cret"))
            .await
            .unwrap();
        // The remembered password still has to be the same one.
        server
            .authenticate(&basic("alice", "s3cret"))
            .await
            .unwrap();
        let wrong = server
            .authenticate(&basic("alice", "guess"))
            .await
            .unwrap_err();
        assert_eq!(wrong.0, "invalid user name or password");
        assert!(
            server
                .authenticate(&basic("mallory", "s3cret"))
                .await
                .is_err()
        );
        assert!(server.authenticate(&http::HeaderMap::new()).await.is_err());
        let sent = ext.client_authenticator().unwrap().headers().unwrap();
        assert_eq!(sent[0].1, "Basic Ym9iOnB3");
    }

    #[test]
    fn debug_never_prints_the_password_and_weak_hashes_are_refused() {
        let config: BasicAuthConfig = serde_json::from_value(serde_json::json!({
            "htpasswd": {"inline": "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
            "client_auth": {"username": "bob", "password": "hunter2"},
        }))
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        let problems = config.validate().unwrap_err();
        assert!(problems[0].contains("only bcrypt hashes"), "{problems:?}");
    }
}
