//! The sink's control endpoint (HTTP/1.1, JSON): `GET /stats` for the counts, `GET /mode` and
//! `POST /mode` to read and change the fault settings, `POST /reset` to zero the counts.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::net::server;

use super::{ModePatch, SinkCore, json_body, server_options};

/// Largest `POST /mode` body.
const MAX_CONTROL_BODY: usize = 64 * 1024;

pub(super) fn serve(
    listener: TcpListener,
    core: Arc<SinkCore>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let make = move |_peer| ControlService { core: core.clone() };
    server::serve(
        listener,
        make,
        server_options("sink/control", false),
        shutdown,
    )
}

#[derive(Clone)]
struct ControlService {
    core: Arc<SinkCore>,
}

impl hyper::service::Service<Request<Incoming>> for ControlService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let core = self.core.clone();
        Box::pin(async move { Ok(handle(&core, request).await) })
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    respond(status, json_body(&serde_json::json!({ "error": message })))
}

async fn handle(core: &SinkCore, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    match (request.method().clone(), path.as_str()) {
        (Method::GET, "/stats") => respond(StatusCode::OK, json_body(&core.ledger.stats())),
        (Method::GET, "/mode") => respond(StatusCode::OK, json_body(&core.mode.settings())),
        (Method::POST, "/reset") => {
            core.ledger.reset();
            respond(StatusCode::OK, json_body(&core.ledger.stats()))
        }
        (Method::POST, "/mode") => {
            let body = match Limited::new(request.into_body(), MAX_CONTROL_BODY)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
            };
            let patch: ModePatch = match serde_json::from_slice(&body) {
                Ok(patch) => patch,
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("mode: {e}")),
            };
            match core.mode.apply(patch) {
                Ok(settings) => respond(StatusCode::OK, json_body(&settings)),
                Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
            }
        }
        (_, "/stats" | "/mode" | "/reset") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "wrong method".to_string())
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "unknown path; use GET /stats, GET|POST /mode, POST /reset".to_string(),
        ),
    }
}
