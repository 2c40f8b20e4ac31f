//! The sink's OTLP/HTTP server: `POST /v1/traces|metrics|logs` with protobuf bodies, optionally
//! gzip- or zstd-compressed. Answers 200 with an empty `Export*ServiceResponse`, 503 with
//! `Retry-After` (and a `google.rpc.Status` body) for refusals, 400 for invalid requests, 404,
//! 405 and 415 for the wrong path, method or content type.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use prost::Message;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use weir_core::batch::Signal;
use weir_core::net::compression::{Compression, decompress_bytes};
use weir_core::net::rpc_status::{RpcStatus, retry_after_header};
use weir_core::net::server;

use super::{Answer, MAX_REQUEST_BYTES, SinkCore, server_options};

const PROTOBUF: &str = "application/x-protobuf";

pub(super) fn serve(
    listener: TcpListener,
    core: Arc<SinkCore>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let make = move |_peer| HttpService { core: core.clone() };
    server::serve(listener, make, server_options("sink/http", false), shutdown)
}

#[derive(Clone)]
struct HttpService {
    core: Arc<SinkCore>,
}

impl hyper::service::Service<Request<Incoming>> for HttpService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let core = self.core.clone();
        Box::pin(async move { Ok(handle(core, request).await) })
    }
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.into())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn status_response(status: StatusCode, rpc: &RpcStatus) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(rpc.encode_to_vec())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
    response
}

fn invalid(message: String) -> Response<Full<Bytes>> {
    status_response(
        StatusCode::BAD_REQUEST,
        &RpcStatus::new(Code::InvalidArgument, message),
    )
}

async fn handle(core: Arc<SinkCore>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let signal = request
        .uri()
        .path()
        .strip_prefix("/v1/")
        .and_then(Signal::parse);
    let Some(signal) = signal else {
        return plain(
            StatusCode::NOT_FOUND,
            "unknown path; use /v1/traces, /v1/metrics or /v1/logs",
        );
    };
    if request.method() != Method::POST {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let headers = request.headers();
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(|c| c.starts_with(PROTOBUF)) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the sink takes application/x-protobuf only",
        );
    }
    let encoding = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok());
    let encoding = match Compression::from_header(encoding) {
        Ok(encoding) => encoding,
        Err(e) => return invalid(e.to_string()),
    };
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return invalid(format!("reading the body: {e}")),
    };
    let body = match decompress_bytes(encoding, body, MAX_REQUEST_BYTES) {
        Ok(body) => body,
        Err(e) => return invalid(e.to_string()),
    };
    match core.export(signal, &body).await {
        Answer::Accepted => {
            let mut response = Response::new(Full::new(Bytes::new()));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
            response
        }
        Answer::Refused(delay) => {
            let rpc = RpcStatus::new(Code::Unavailable, "sink refuses (fault drill)")
                .with_retry_delay(delay);
            let mut response = status_response(StatusCode::SERVICE_UNAVAILABLE, &rpc);
            if let Ok(value) = HeaderValue::from_str(&retry_after_header(delay)) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            response
        }
        Answer::Invalid(message) => invalid(message),
    }
}
