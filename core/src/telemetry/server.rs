//! The internal metrics endpoint: `GET /metrics` in the Prometheus text format.

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::net::server::{ServerOptions, bind, serve};
use std::sync::Arc;

use crate::component::StatusBoard;

/// Serves the counters of the graph `status` publishes (it follows reloads) on `endpoint`
/// until `shutdown`; returns the bound address and the task.
pub async fn serve_metrics(
    endpoint: &str,
    stats: Arc<StatusBoard>,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = bind(endpoint).await?;
    let addr = listener.local_addr()?;
    let make = move |_peer: SocketAddr| {
        let stats = stats.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let response = respond(&req, &stats);
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let options = ServerOptions {
        name: "telemetry/metrics".to_string(),
        ..ServerOptions::default()
    };
    Ok((addr, serve(listener, make, options, shutdown)))
}

fn respond(req: &Request<Incoming>, status: &StatusBoard) -> Response<String> {
    let mut response = Response::new(String::new());
    if req.uri().path() != "/metrics" {
        *response.status_mut() = StatusCode::NOT_FOUND;
        *response.body_mut() = "not found; metrics are at /metrics\n".to_string();
    } else if req.method() != Method::GET && req.method() != Method::HEAD {
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    } else {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        *response.body_mut() = super::render(&status.graph().unwrap_or_default());
    }
    response
}
