//! Answers that are not gRPC: an HTTP status other than 200 without `grpc-status`, typically a
//! proxy's error page (`503 upstream connect error`) while the backend restarts.
//!
//! tonic reads such a body as gRPC messages first, so a text body fails as a malformed message
//! (`INTERNAL`, permanent) and the batch would be dropped instead of retried. gRPC's own
//! mapping of HTTP statuses (`doc/http-grpc-status-mapping.md`: 429, 502, 503 and 504 are
//! `UNAVAILABLE`, ...) is what tonic applies to an empty body; [`ProxyAnswers`] applies it
//! whatever the body says, before anything reads it, on both of the exporter's paths.

use std::task::{Context, Poll};

use futures::TryFutureExt as _;
use futures::future::MapOk;
use http::StatusCode;
use tonic::body::Body;
use tonic::codegen::Service;
use tonic::{Code, Status};

/// `S` (a `tonic::transport::Channel`) with non-gRPC answers turned into the gRPC status their
/// HTTP status maps to.
#[derive(Clone, Debug)]
pub(crate) struct ProxyAnswers<S>(pub(crate) S);

type Answer = http::Response<Body>;

impl<S> Service<http::Request<Body>> for ProxyAnswers<S>
where
    S: Service<http::Request<Body>, Response = Answer>,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = MapOk<S::Future, fn(Answer) -> Answer>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        self.0.call(request).map_ok(as_grpc as fn(Answer) -> Answer)
    }
}

/// `response` itself when it is a gRPC answer; otherwise a trailers-only gRPC answer with the
/// status its HTTP status maps to (its body is dropped unread).
pub(crate) fn as_grpc(response: Answer) -> Answer {
    let http_status = response.status();
    if http_status == StatusCode::OK || response.headers().contains_key("grpc-status") {
        return response;
    }
    let code = match http_status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    };
    Status::new(
        code,
        format!("HTTP status {http_status} from a server that did not answer in gRPC (a proxy?)"),
    )
    .into_http()
}
