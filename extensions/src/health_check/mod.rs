//! The `health_check` extension (otelcol's name and answer): an HTTP endpoint for load
//! balancers and Kubernetes probes. It answers 200 `{"status":"Server available",...}` while
//! the pipelines run and 503 `{"status":"Server not available",...}` before they start; with
//! `check_collector_pipeline` also while an exporter has been failing for longer than a
//! threshold or a sending queue is full, naming them in an `unhealthy` list.
//!
//! - `config`: the documented options;
//! - `health`: the decision and the JSON answer, pure and tested with injected counters;
//! - this module: the factory, the periodic check and the HTTP server (the one server loop of
//!   `weir_core::net::server`).

mod config;
mod health;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::component::{
    BuildError, CreateSettings, Extension, ExtensionContext, ExtensionError, ExtensionFactory,
    Stability, StatusBoard,
};
use weir_core::net::server::{ServerOptions, bind, serve};

pub use config::{CheckPipelineConfig, HealthCheckConfig};
pub use health::{Problem, answer, assess};

/// Probes are answered at once, so shutdown need not wait long for one in flight.
const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

/// Why the health check could not start.
#[derive(Debug, thiserror::Error)]
enum HealthCheckError {
    /// The endpoint could not be bound (in use, bad address).
    #[error("cannot serve the health check on {endpoint}: {source}")]
    Bind {
        /// The configured endpoint.
        endpoint: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// Factory of the `health_check` extension.
#[derive(Debug, Default)]
pub struct HealthCheckFactory;

impl ExtensionFactory for HealthCheckFactory {
    type Config = HealthCheckConfig;
    const TYPE: &'static str = "health_check";
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &HealthCheckConfig,
        _settings: &CreateSettings,
    ) -> Result<Arc<dyn Extension>, BuildError> {
        Ok(Arc::new(HealthCheck::new(config.clone())))
    }
}

/// What a probe is answered from.
struct State {
    board: Arc<StatusBoard>,
    path: String,
    /// The latest pipeline check's findings; stays empty without `check_collector_pipeline`.
    problems: RwLock<Vec<Problem>>,
}

impl State {
    fn respond(&self, req: &Request<Incoming>) -> Response<String> {
        let mut response = Response::new(String::new());
        if req.uri().path() != self.path {
            *response.status_mut() = StatusCode::NOT_FOUND;
            *response.body_mut() = format!("not found; the health check is at {}\n", self.path);
            return response;
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return response;
        }
        let (status, body) = match self.problems.read() {
            // Draining for shutdown: load balancers should stop sending here.
            Ok(_) if self.board.stopping() => (503, answer(None, SystemTime::now(), &[]).1),
            Ok(problems) => answer(self.board.started_at(), SystemTime::now(), &problems),
            // A check that panicked mid-write cannot vouch for anything.
            Err(_) => (503, answer(None, SystemTime::now(), &[]).1),
        };
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        *response.body_mut() = body;
        response
    }

    /// Checks the published graph once and keeps what it found.
    fn check(&self, threshold: Duration) {
        let problems = self
            .board
            .graph()
            .map(|graph| assess(&graph, SystemTime::now(), threshold))
            .unwrap_or_default();
        if let Ok(mut latest) = self.problems.write() {
            if *latest != problems {
                log_change(&latest, &problems);
            }
            *latest = problems;
        }
    }
}

fn log_change(before: &[Problem], after: &[Problem]) {
    if after.is_empty() {
        tracing::info!("health check: exporters and queues are healthy again");
        return;
    }
    for problem in after.iter().filter(|p| !before.contains(p)) {
        match problem {
            Problem::ExporterFailing {
                exporter,
                data_type,
                ..
            } => {
                tracing::warn!(%exporter, data_type, "health check: exporter failing past the threshold; reporting unhealthy")
            }
            Problem::QueueFull {
                exporter,
                data_type,
                ..
            } => {
                tracing::warn!(%exporter, data_type, "health check: sending queue full; reporting unhealthy")
            }
        }
    }
}

/// The tasks of a started health check.
struct Running {
    stop: CancellationToken,
    server: JoinHandle<()>,
    checker: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

/// A `health_check` extension.
pub struct HealthCheck {
    config: HealthCheckConfig,
    running: Mutex<Option<Running>>,
}

impl HealthCheck {
    /// An extension serving `config` once started.
    pub fn new(config: HealthCheckConfig) -> Self {
        HealthCheck {
            config,
            running: Mutex::new(None),
        }
    }

    /// The address it listens on, once started (the real port when the endpoint asked for 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.addr))
    }
}

#[async_trait]
impl Extension for HealthCheck {
    async fn start(&self, ctx: ExtensionContext) -> Result<(), ExtensionError> {
        let endpoint = &self.config.endpoint;
        let listener = bind(endpoint).await.map_err(|source| {
            ExtensionError(
                HealthCheckError::Bind {
                    endpoint: endpoint.clone(),
                    source,
                }
                .to_string(),
            )
        })?;
        let addr = listener.local_addr().map_err(|source| {
            ExtensionError(
                HealthCheckError::Bind {
                    endpoint: endpoint.clone(),
                    source,
                }
                .to_string(),
            )
        })?;
        let state = Arc::new(State {
            board: ctx.status.clone(),
            path: self.config.path.clone(),
            problems: RwLock::new(Vec::new()),
        });
        let stop = ctx.shutdown.child_token();
        let check = &self.config.check_collector_pipeline;
        let checker = check.enabled.then(|| {
            let (state, stop) = (state.clone(), stop.clone());
            let (period, threshold) = (check.interval, check.exporter_failure_threshold);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = ticks.tick() => state.check(threshold),
                    }
                }
            })
        });
        let make = move |_peer: SocketAddr| {
            let state = state.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = state.respond(&req);
                async move { Ok::<_, Infallible>(response) }
            })
        };
        let options = ServerOptions {
            name: ctx.id.to_string(),
            drain_deadline: DRAIN_DEADLINE,
            ..ServerOptions::default()
        };
        let server = serve(listener, make, options, stop.clone());
        tracing::info!(extension = %ctx.id, address = %addr, path = %self.config.path, "health check serving");
        if let Ok(mut running) = self.running.lock() {
            *running = Some(Running {
                stop,
                server,
                checker,
                addr,
            });
        }
        Ok(())
    }

    async fn shutdown(&self) {
        let running = self.running.lock().ok().and_then(|mut r| r.take());
        let Some(running) = running else {
            return;
        };
        running.stop.cancel();
        if let Some(checker) = running.checker {
            let _ = checker.await;
        }
        let _ = running.server.await;
    }
}

#[cfg(test)]
mod tests;
