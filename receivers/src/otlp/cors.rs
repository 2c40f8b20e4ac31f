//! CORS for OTLP/HTTP (`protocols.http.cors`), so that web pages may export from a browser.
//!
//! otelcol wraps its HTTP handler in rs/cors (v1.11) with `AllowCredentials: true`; Weir answers
//! as that does, in front of authentication (browsers never send credentials on a preflight):
//! - a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, `204` on any
//!   path, with `Vary`; when the origin, the method (`GET`, `HEAD`, `POST`) and every requested
//!   header are allowed it also carries `Access-Control-Allow-Origin` (the origin, or `*` when
//!   every origin is allowed), `-Allow-Methods` and `-Allow-Headers` (what was asked),
//!   `-Allow-Credentials: true` and `-Max-Age`; otherwise none of them, which the browser
//!   takes as a refusal;
//! - other requests are served with `Vary: Origin`, and from an allowed origin with
//!   `Access-Control-Allow-Origin` and `-Allow-Credentials`, whatever the answer (a browser
//!   shows a client an error only when it may read it).
//!
//! Where Weir differs: a request from an origin that is not allowed gets `403` instead of being
//! served without CORS headers (otelcol takes its data, and only the browser hides the answer).
//! Two differences only let more preflights through, so that a browser an otelcol config serves
//! is served here too: the always-allowed headers stay allowed when `allowed_headers` lists
//! others, as confighttp documents, where rs/cors replaces them
//! (open-telemetry/opentelemetry-collector#6513); and `Access-Control-Request-Headers` is read
//! in any order and case, where rs/cors wants browsers' sorted lowercase list. [`problems`]
//! refuses origin patterns that rs/cors takes but that can never match a browser's `Origin`.

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;

use super::config::CorsConfig;

/// Request headers a preflight may always ask for (confighttp's documented list).
const ALWAYS_ALLOWED_HEADERS: [&str; 4] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
];

/// rs/cors's default methods; `OPTIONS` is always allowed too.
const ALLOWED_METHODS: [&str; 4] = ["GET", "HEAD", "POST", "OPTIONS"];

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// The CORS policy of one HTTP server.
#[derive(Debug)]
pub(crate) struct Cors {
    any_origin: bool,
    origins: Vec<OriginPattern>,
    any_header: bool,
    /// Lowercase names, the always-allowed ones included.
    headers: Vec<String>,
    max_age: Option<HeaderValue>,
}

/// One entry of `allowed_origins`, lowercased.
#[derive(Debug, PartialEq)]
enum OriginPattern {
    Exact(String),
    /// `prefix*suffix`: the `*` stands for 0 or more characters.
    Wildcard {
        prefix: String,
        suffix: String,
    },
}

impl OriginPattern {
    fn parse(pattern: &str) -> OriginPattern {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.split_once('*') {
            Some((prefix, suffix)) => OriginPattern::Wildcard {
                prefix: prefix.to_string(),
                suffix: suffix.to_string(),
            },
            None => OriginPattern::Exact(pattern),
        }
    }

    /// `origin` must already be lowercase.
    fn matches(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Exact(exact) => origin == exact,
            OriginPattern::Wildcard { prefix, suffix } => {
                origin.len() >= prefix.len() + suffix.len()
                    && origin.starts_with(prefix.as_str())
                    && origin.ends_with(suffix.as_str())
            }
        }
    }
}

/// What to do with a request before it is served.
pub(crate) enum Admission {
    /// Answer with this and serve nothing: a preflight, or a refused origin.
    Answer(Response<Full<Bytes>>),
    /// Serve the request, then [`Decoration::apply`] to the answer.
    Serve(Decoration),
}

/// The CORS headers an answer to a served request gets.
#[derive(Debug, PartialEq)]
pub(crate) struct Decoration {
    allow_origin: Option<HeaderValue>,
}

impl Decoration {
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        headers.append(VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allow_origin {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

impl Cors {
    /// The policy of a config; `None` when no origin is listed (CORS off, as in otelcol).
    pub(crate) fn new(config: &CorsConfig) -> Option<Cors> {
        if config.allowed_origins.is_empty() {
            return None;
        }
        let any_origin = config.allowed_origins.iter().any(|o| o == "*");
        let any_header = config.allowed_headers.iter().any(|h| h == "*");
        let mut headers: Vec<String> = ALWAYS_ALLOWED_HEADERS
            .into_iter()
            .map(String::from)
            .collect();
        if config.allowed_headers.is_empty() {
            headers.push("x-requested-with".to_string());
        }
        headers.extend(
            config
                .allowed_headers
                .iter()
                .map(|h| h.trim().to_ascii_lowercase()),
        );
        let max_age = match config.max_age {
            0 => None,
            age if age < 0 => Some(HeaderValue::from_static("0")),
            age => Some(HeaderValue::from(age)),
        };
        Some(Cors {
            any_origin,
            origins: config
                .allowed_origins
                .iter()
                .map(|o| OriginPattern::parse(o))
                .collect(),
            any_header,
            headers,
            max_age,
        })
    }

    /// Answers preflights and refused origins; lets everything else be served.
    pub(crate) fn admit(&self, method: &Method, headers: &HeaderMap) -> Admission {
        if method == Method::OPTIONS && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return Admission::Answer(self.preflight(headers));
        }
        let Some(origin) = headers.get(ORIGIN) else {
            return Admission::Serve(Decoration { allow_origin: None });
        };
        if !self.origin_allowed(origin) {
            return Admission::Answer(forbidden());
        }
        let allow_origin = ALLOWED_METHODS
            .contains(&method.as_str())
            .then(|| self.allow_origin_value(origin));
        Admission::Serve(Decoration { allow_origin })
    }

    fn preflight(&self, request: &HeaderMap) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(VARY, HeaderValue::from_static(PREFLIGHT_VARY));
        let Some(origin) = request.get(ORIGIN) else {
            return response;
        };
        let Some(method) = request.get(ACCESS_CONTROL_REQUEST_METHOD) else {
            return response;
        };
        let asked = request.get_all(ACCESS_CONTROL_REQUEST_HEADERS);
        if !self.origin_allowed(origin)
            || !ALLOWED_METHODS.contains(&method.to_str().unwrap_or_default())
            || !asked.iter().all(|value| self.headers_allowed(value))
        {
            return response;
        }
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, method.clone());
        for value in asked.iter().filter(|v| !v.is_empty()) {
            headers.append(ACCESS_CONTROL_ALLOW_HEADERS, value.clone());
        }
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if let Some(age) = &self.max_age {
            headers.insert(ACCESS_CONTROL_MAX_AGE, age.clone());
        }
        response
    }

    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        if self.any_origin {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        self.origins.iter().any(|p| p.matches(&origin))
    }

    /// Every name in one `Access-Control-Request-Headers` value is allowed.
    fn headers_allowed(&self, value: &HeaderValue) -> bool {
        if self.any_header {
            return true;
        }
        let Ok(value) = value.to_str() else {
            return false;
        };
        value
            .split(',')
            .map(|name| name.trim_matches([' ', '\t']))
            .filter(|name| !name.is_empty())
            .all(|name| self.headers.iter().any(|h| h.eq_ignore_ascii_case(name)))
    }

    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        if self.any_origin {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        }
    }
}

/// Weir's answer to a non-preflight request from an origin that is not allowed.
fn forbidden() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(
        b"403 Forbidden: this Origin is not in protocols.http.cors.allowed_origins",
    )));
    *response.status_mut() = StatusCode::FORBIDDEN;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    response
}

/// Config problems: patterns that could never match a browser's `Origin`, bad header names.
pub(crate) fn problems(prefix: &str, config: &CorsConfig) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, origin) in config.allowed_origins.iter().enumerate() {
        let field = format!("{prefix}.allowed_origins[{i}]");
        if origin.trim().is_empty() {
            problems.push(format!("{field} is empty"));
        } else if origin.matches('*').count() > 1 {
            problems.push(format!(
                "{field} `{origin}` has more than one `*`; an origin may hold one, standing for any characters (e.g. `https://*.example.com`)"
            ));
        } else if !origin.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push(format!(
                "{field} `{origin}` is not an origin: it holds spaces or non-ASCII characters (browsers send `scheme://host[:port]`, international names in punycode)"
            ));
        } else if let Some((_, rest)) = origin.split_once("://")
            && rest.contains('/')
        {
            problems.push(format!(
                "{field} `{origin}` has a path; browsers send `scheme://host[:port]` with nothing after the host, so it would never match"
            ));
        }
    }
    for (i, header) in config.allowed_headers.iter().enumerate() {
        if header != "*" && HeaderName::from_bytes(header.trim().as_bytes()).is_err() {
            problems.push(format!(
                "{prefix}.allowed_headers[{i}] `{header}` is not a header name"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests;
