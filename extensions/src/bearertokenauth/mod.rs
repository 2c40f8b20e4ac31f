//! The `bearertokenauth` extension (otelcol's name): a shared token in a header. As a server
//! authenticator it accepts requests whose `header` is `<scheme> <token>`; as a client
//! authenticator it adds that header. With `filename`, the file is read again whenever its
//! modification time or size changes, so tokens rotate without a restart.

mod config;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use http::{HeaderName, HeaderValue};
use weir_core::component::{
    AuthError, AuthSides, BuildError, ClientAuthenticator, CreateSettings, Extension,
    ExtensionContext, ExtensionError, ExtensionFactory, ServerAuthenticator, Stability,
};

pub use config::BearerTokenAuthConfig;

/// Factory of the `bearertokenauth` extension.
#[derive(Debug, Default)]
pub struct BearerTokenAuthFactory;

impl ExtensionFactory for BearerTokenAuthFactory {
    type Config = BearerTokenAuthConfig;
    const TYPE: &'static str = "bearertokenauth";
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &BearerTokenAuthConfig,
        _settings: &CreateSettings,
    ) -> Result<Arc<dyn Extension>, BuildError> {
        let header = HeaderName::from_bytes(config.header.as_bytes())
            .map_err(|e| BuildError(format!("header `{}`: {e}", config.header)))?;
        let source = match &config.filename {
            Some(path) => Source::File {
                path: path.clone(),
                cached: Mutex::new(None),
            },
            None => Source::Fixed(
                config
                    .token
                    .iter()
                    .chain(&config.tokens)
                    .map(|t| t.expose().trim().to_string())
                    .collect(),
            ),
        };
        Ok(Arc::new(BearerTokenAuth(Arc::new(Inner {
            header,
            scheme: config.scheme.clone(),
            source,
        }))))
    }

    fn auth_sides(&self, _config: &BearerTokenAuthConfig) -> AuthSides {
        AuthSides {
            server: true,
            client: true,
        }
    }
}

/// `filename: ` followed by what is wrong with the file.
pub(crate) fn read_token(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{path}`: file not found"),
        _ => format!("`{path}`: cannot be read: {e}"),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("`{path}`: the file is empty"));
    }
    Ok(token.to_string())
}

/// Where the tokens come from.
enum Source {
    Fixed(Vec<String>),
    File {
        path: String,
        /// The token and the file's (modification time, size) when it was read.
        cached: Mutex<Option<((SystemTime, u64), String)>>,
    },
}

impl Source {
    /// The current tokens; the file is read again only when it changed.
    fn tokens(&self) -> Result<Vec<String>, AuthError> {
        match self {
            Source::Fixed(tokens) => Ok(tokens.clone()),
            Source::File { path, cached } => {
                let stamp = std::fs::metadata(path)
                    .and_then(|m| Ok((m.modified()?, m.len())))
                    .map_err(|e| AuthError(format!("token file `{path}`: {e}")))?;
                let mut cached = cached.lock().unwrap_or_else(|e| e.into_inner());
                match cached.as_ref() {
                    Some((seen, token)) if *seen == stamp => Ok(vec![token.clone()]),
                    _ => {
                        let token =
                            read_token(path).map_err(|e| AuthError(format!("token file {e}")))?;
                        *cached = Some((stamp, token.clone()));
                        Ok(vec![token])
                    }
                }
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Fixed(_) => "configured token".to_string(),
            Source::File { path, .. } => format!("token file `{path}`"),
        }
    }
}

struct Inner {
    header: HeaderName,
    scheme: String,
    source: Source,
}

impl Inner {
    fn value(&self, token: &str) -> String {
        if self.scheme.is_empty() {
            token.to_string()
        } else {
            format!("{} {token}", self.scheme)
        }
    }
}

/// A started `bearertokenauth` extension.
pub struct BearerTokenAuth(Arc<Inner>);

#[async_trait]
impl Extension for BearerTokenAuth {
    async fn start(&self, _ctx: ExtensionContext) -> Result<(), ExtensionError> {
        // A missing token file fails startup instead of every request.
        self.0
            .source
            .tokens()
            .map(|_| ())
            .map_err(|e| ExtensionError(e.0))
    }

    fn server_authenticator(&self) -> Option<Arc<dyn ServerAuthenticator>> {
        Some(self.0.clone())
    }

    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        Some(self.0.clone())
    }
}

#[async_trait]
impl ServerAuthenticator for Inner {
    async fn authenticate(&self, headers: &http::HeaderMap) -> Result<(), AuthError> {
        let Some(sent) = headers.get(&self.header) else {
            return Err(AuthError(format!("missing `{}` header", self.header)));
        };
        let tokens = self.source.tokens().map_err(|e| {
            tracing::warn!(source = %self.source.describe(), error = %e, "bearer token unavailable");
            AuthError("the server cannot check credentials now".to_string())
        })?;
        let accepted = tokens
            .iter()
            .any(|token| constant_time_eq(sent.as_bytes(), self.value(token).as_bytes()));
        if accepted {
            Ok(())
        } else {
            Err(AuthError(format!("invalid `{}` header", self.header)))
        }
    }
}

impl ClientAuthenticator for Inner {
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, AuthError> {
        let tokens = self.source.tokens()?;
        let Some(token) = tokens.first() else {
            return Err(AuthError("no token configured".to_string()));
        };
        let mut value = HeaderValue::from_str(&self.value(token)).map_err(|_| {
            AuthError(format!(
                "{} is not a valid header value",
                self.source.describe()
            ))
        })?;
        value.set_sensitive(true);
        Ok(vec![(self.header.clone(), value)])
    }
}

/// Compares without stopping at the first difference, so response times do not reveal how much
/// of a guessed token was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use weir_core::component::ComponentId;

    use super::*;

    fn build(json: serde_json::Value) -> Arc<dyn Extension> {
        let config: BearerTokenAuthConfig = serde_json::from_value(json).unwrap();
        let settings = CreateSettings {
            id: ComponentId::new("bearertokenauth", None),
            signal: None,
            pipeline: None,
            host: Default::default(),
        };
        BearerTokenAuthFactory.create(&config, &settings).unwrap()
    }

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", value.parse().unwrap());
        h
    }

    #[tokio::test]
    async fn accepts_the_token_and_refuses_others_and_none() {
        let ext = build(serde_json::json!({"tokens": ["old", "new"]}));
        let server = ext.server_authenticator().unwrap();
        server.authenticate(&headers("Bearer old")).await.unwrap();
        server.authenticate(&headers("Bearer new")).await.unwrap();
        let wrong = server
            .authenticate(&headers("Bearer nope"))
            .await
            .unwrap_err();
        assert!(
            !wrong.0.contains("nope"),
            "the error must not echo credentials"
        );
        assert!(server.authenticate(&headers("Basic old")).await.is_err());
        let missing = server
            .authenticate(&http::HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(missing.0, "missing `authorization` header");
        let client = ext.client_authenticator().unwrap().headers().unwrap();
        assert_eq!(client[0].1, "Bearer old");
        assert!(client[0].1.is_sensitive());
    }

    #[tokio::test]
    async fn a_rewritten_token_file_is_used_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let ext =
            build(serde_json::json!({"filename": path, "scheme": "Token", "header": "x-auth"}));
        let client = ext.client_authenticator().unwrap();
        assert_eq!(client.headers().unwrap()[0].1, "Token first");
        // A different length changes the size even where mtime granularity is coarse.
        std::fs::write(&path, "second-token\n").unwrap();
        assert_eq!(client.headers().unwrap()[0].1, "Token second-token");
        let mut h = http::HeaderMap::new();
        h.insert("x-auth", "Token second-token".parse().unwrap());
        ext.server_authenticator()
            .unwrap()
            .authenticate(&h)
            .await
            .unwrap();
    }
}
