//! The `otlp` receiver: OTLP/gRPC and OTLP/HTTP (protobuf and JSON) for traces, metrics and logs,
//! configured as otelcol's `otlp` receiver is.
//!
//! - [`config`]: the `protocols.grpc` / `protocols.http` settings;
//! - [`grpc`]: the gRPC server — request bytes go to `Batch::from_encoded` untouched, through
//!   a raw codec instead of the generated prost services;
//! - [`http`]: the HTTP server — protobuf bodies likewise stay encoded, JSON bodies are decoded;
//!   `cors` answers browsers' preflights and refuses origins that are not allowed.
//!
//! Both answer from the pipeline's [`PushOutcome`]: accepted → an empty `Export*ServiceResponse`,
//! partial → `partial_success`, refused → gRPC `UNAVAILABLE` / HTTP 503 with a retry delay,
//! failed → gRPC `INTERNAL` / HTTP 500 (not retryable by OTLP clients). A signal no pipeline
//! listens to is answered as otelcol does: gRPC `UNIMPLEMENTED` (unknown service), HTTP 404.

pub mod config;
mod cors;
pub mod grpc;
pub mod http;
mod security;

#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::task::JoinHandle;
use weir_core::batch::json::PartialSuccess;
use weir_core::batch::{Batch, BatchMeta, ClientInfo, Signal};
use weir_core::component::{
    BuildError, ComponentId, Consumer, CreateSettings, PushOutcome, Receiver, ReceiverContext,
    ReceiverError, ReceiverFactory, Stability,
};
use weir_core::net::server;

use security::Security;

pub use config::{CorsConfig, GrpcConfig, HttpConfig, OtlpReceiverConfig, Protocols};

/// Makes `otlp` receivers.
#[derive(Clone, Copy, Debug, Default)]
pub struct OtlpReceiverFactory;

impl ReceiverFactory for OtlpReceiverFactory {
    type Config = OtlpReceiverConfig;
    const TYPE: &'static str = "otlp";
    const SIGNALS: &'static [Signal] = &Signal::ALL;
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &OtlpReceiverConfig,
        _settings: &CreateSettings,
    ) -> Result<Box<dyn Receiver>, BuildError> {
        Ok(Box::new(OtlpReceiver::new(config.clone())))
    }
}

/// One `otlp` receiver instance, serving every pipeline that lists it.
#[derive(Clone, Debug)]
pub struct OtlpReceiver {
    config: OtlpReceiverConfig,
}

/// A started receiver: where it listens, and the task that ends after shutdown has drained.
#[derive(Debug)]
pub struct Running {
    /// Address the gRPC server is bound to (the real port when the endpoint asked for port 0).
    pub grpc: Option<SocketAddr>,
    /// Address the HTTP server is bound to.
    pub http: Option<SocketAddr>,
    /// Completes once `ctx.shutdown` is cancelled and in-flight requests are answered.
    pub handle: JoinHandle<()>,
}

impl OtlpReceiver {
    /// A receiver for a validated config.
    pub fn new(config: OtlpReceiverConfig) -> Self {
        OtlpReceiver { config }
    }

    /// Binds every configured protocol, then serves. Binding happens before anything is spawned,
    /// so a port in use fails startup with nothing left running.
    pub async fn run(self, ctx: ReceiverContext) -> Result<Running, ReceiverError> {
        let grpc_security = match &self.config.protocols.grpc {
            Some(config) => Some(Security::prepare(
                &ctx.id,
                "grpc",
                config.tls.as_ref(),
                config.auth.as_ref(),
                &[b"h2"],
                &ctx.host,
            )?),
            None => None,
        };
        let http_security = match &self.config.protocols.http {
            Some(config) => Some(Security::prepare(
                &ctx.id,
                "http",
                config.tls.as_ref(),
                config.auth.as_ref(),
                &[b"h2", b"http/1.1"],
                &ctx.host,
            )?),
            None => None,
        };
        let grpc = match (&self.config.protocols.grpc, grpc_security) {
            (Some(config), Some(security)) => {
                Some((config, security, bind(&config.endpoint).await?))
            }
            _ => None,
        };
        let http = match (&self.config.protocols.http, http_security) {
            (Some(config), Some(security)) => {
                Some((config, security, bind(&config.endpoint).await?))
            }
            _ => None,
        };
        let consumers = if self.config.acknowledgements {
            ctx.consumers
                .iter()
                .map(|(signal, inner)| {
                    (
                        *signal,
                        Arc::new(Acknowledging(inner.clone())) as Arc<dyn Consumer>,
                    )
                })
                .collect()
        } else {
            ctx.consumers.clone()
        };
        let shared = Arc::new(Shared {
            id: ctx.id.clone(),
            consumers,
        });
        let mut tasks = Vec::new();
        let mut running = Running {
            grpc: None,
            http: None,
            handle: tokio::spawn(async {}),
        };
        if let Some((config, security, listener)) = grpc {
            let addr = local_addr(&listener, &config.endpoint)?;
            let tls = security.tls.is_some();
            tracing::info!(receiver = %ctx.id, endpoint = %addr, tls, "OTLP/gRPC server listening");
            running.grpc = Some(addr);
            tasks.push(grpc::serve(
                listener,
                config,
                shared.clone(),
                security,
                ctx.shutdown.clone(),
            ));
        }
        if let Some((config, security, listener)) = http {
            let addr = local_addr(&listener, &config.endpoint)?;
            let tls = security.tls.is_some();
            tracing::info!(receiver = %ctx.id, endpoint = %addr, tls, "OTLP/HTTP server listening");
            running.http = Some(addr);
            tasks.push(http::serve(
                listener,
                config,
                shared.clone(),
                security,
                ctx.shutdown.clone(),
            ));
        }
        let id = ctx.id;
        running.handle = tokio::spawn(async move {
            for task in tasks {
                if let Err(error) = task.await {
                    tracing::error!(receiver = %id, %error, "OTLP server task failed");
                }
            }
            tracing::debug!(receiver = %id, "OTLP receiver stopped");
        });
        Ok(running)
    }
}

#[async_trait]
impl Receiver for OtlpReceiver {
    async fn start(self: Box<Self>, ctx: ReceiverContext) -> Result<JoinHandle<()>, ReceiverError> {
        Ok(self.run(ctx).await?.handle)
    }
}

async fn bind(endpoint: &str) -> Result<tokio::net::TcpListener, ReceiverError> {
    server::bind(endpoint)
        .await
        .map_err(|source| ReceiverError::Bind {
            endpoint: endpoint.to_string(),
            source,
        })
}

fn local_addr(
    listener: &tokio::net::TcpListener,
    endpoint: &str,
) -> Result<SocketAddr, ReceiverError> {
    listener.local_addr().map_err(|source| ReceiverError::Bind {
        endpoint: endpoint.to_string(),
        source,
    })
}

/// Asks the pipelines to answer only after delivery (`acknowledgements: true`).
struct Acknowledging(Arc<dyn Consumer>);

#[async_trait]
impl Consumer for Acknowledging {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        let meta = BatchMeta {
            acknowledge: true,
            ..BatchMeta::clone(batch.meta())
        };
        self.0.consume(batch.with_meta(Arc::new(meta))).await
    }
}

/// What both servers need for every request.
pub(crate) struct Shared {
    pub(crate) id: ComponentId,
    pub(crate) consumers: BTreeMap<Signal, Arc<dyn Consumer>>,
}

/// The metadata of one request: the peer, the transport (`grpc`, `http`: the receiver metrics'
/// `transport` label), and the headers when `include_metadata` asks for them.
pub(crate) fn batch_meta(
    peer: SocketAddr,
    transport: &'static str,
    headers: Option<&::http::HeaderMap>,
) -> Arc<BatchMeta> {
    let headers = headers
        .map(|headers| {
            headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    Arc::new(BatchMeta {
        client: ClientInfo {
            peer: Some(peer),
            headers,
        },
        received_at: SystemTime::now(),
        transport: Some(transport),
        ..BatchMeta::default()
    })
}

/// The `partial_success` to send back for an outcome, if any.
pub(crate) fn partial_success(outcome: &PushOutcome) -> Option<PartialSuccess> {
    match outcome {
        PushOutcome::Partial { rejected, message } => Some(PartialSuccess {
            rejected: i64::try_from(*rejected).unwrap_or(i64::MAX),
            error_message: message.clone(),
        }),
        _ => None,
    }
}

/// An `Export*ServiceResponse` of `signal` as protobuf: empty when everything was accepted.
pub(crate) fn response_protobuf(signal: Signal, partial: Option<&PartialSuccess>) -> Bytes {
    let bytes = match (signal, partial) {
        (_, None) => Vec::new(),
        (Signal::Traces, Some(p)) => ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: p.rejected,
                error_message: p.error_message.clone(),
            }),
        }
        .encode_to_vec(),
        (Signal::Metrics, Some(p)) => ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: p.rejected,
                error_message: p.error_message.clone(),
            }),
        }
        .encode_to_vec(),
        (Signal::Logs, Some(p)) => ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: p.rejected,
                error_message: p.error_message.clone(),
            }),
        }
        .encode_to_vec(),
    };
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use weir_core::component::Registry;

    use super::testing::{FakeConsumer, context};
    use super::*;

    #[tokio::test]
    async fn bind_failure_names_the_endpoint() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = taken.local_addr().unwrap().to_string();
        let config = OtlpReceiverConfig {
            acknowledgements: false,
            protocols: Protocols {
                grpc: None,
                http: Some(HttpConfig {
                    endpoint: endpoint.clone(),
                    ..HttpConfig::default()
                }),
            },
        };
        let (ctx, _shutdown) = context(&[(Signal::Logs, FakeConsumer::accepting())]);
        let err = OtlpReceiver::new(config).run(ctx).await.unwrap_err();
        match &err {
            ReceiverError::Bind {
                endpoint: named, ..
            } => assert_eq!(named, &endpoint),
            other => panic!("expected a bind error, got {other:?}"),
        }
        assert!(err.to_string().contains(&endpoint), "{err}");
    }

    #[tokio::test]
    async fn starts_through_the_registry_and_stops_on_shutdown() {
        let mut registry = Registry::new();
        crate::register(&mut registry);
        let factory = registry
            .get(weir_core::component::Kind::Receiver, "otlp")
            .expect("otlp registered");
        assert_eq!(factory.signals(), Signal::ALL);
        let parsed = factory
            .parse(serde_json::json!({"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}}))
            .unwrap();
        let settings = CreateSettings {
            id: ComponentId::new("otlp", None),
            signal: None,
            pipeline: None,
            host: Default::default(),
        };
        let weir_core::component::Built::Receiver(receiver) =
            factory.build(&parsed, &settings).unwrap()
        else {
            panic!("not a receiver");
        };
        let (ctx, shutdown) = context(&[(Signal::Traces, FakeConsumer::accepting())]);
        let handle = receiver.start(ctx).await.unwrap();
        assert!(!handle.is_finished());
        shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(10), handle)
            .await
            .expect("receiver did not stop")
            .unwrap();
    }

    #[test]
    fn otlp_without_protocols_is_refused_like_otelcol() {
        let mut registry = Registry::new();
        crate::register(&mut registry);
        let factory = registry
            .get(weir_core::component::Kind::Receiver, "otlp")
            .unwrap();
        let errors = factory.parse(serde_json::Value::Null).unwrap_err();
        assert!(
            errors[0].message.contains("at least one protocol"),
            "{errors:?}"
        );
    }

    #[test]
    fn protobuf_responses_carry_partial_success_per_signal() {
        let partial = PartialSuccess {
            rejected: 4,
            error_message: "dropped".into(),
        };
        assert!(response_protobuf(Signal::Traces, None).is_empty());
        let traces =
            ExportTraceServiceResponse::decode(response_protobuf(Signal::Traces, Some(&partial)))
                .unwrap();
        assert_eq!(traces.partial_success.unwrap().rejected_spans, 4);
        let metrics = ExportMetricsServiceResponse::decode(response_protobuf(
            Signal::Metrics,
            Some(&partial),
        ))
        .unwrap();
        assert_eq!(metrics.partial_success.unwrap().rejected_data_points, 4);
        let logs =
            ExportLogsServiceResponse::decode(response_protobuf(Signal::Logs, Some(&partial)))
                .unwrap();
        let logs = logs.partial_success.unwrap();
        assert_eq!(
            (logs.rejected_log_records, logs.error_message.as_str()),
            (4, "dropped")
        );
    }
}
