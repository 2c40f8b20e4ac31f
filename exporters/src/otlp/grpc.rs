//! The OTLP/gRPC client: sends a batch's protobuf bytes as they are, and classifies the outcome
//! as otelcol's `otlp` exporter does. Uncompressed, the batch's own `Bytes` go out as the request
//! message without a copy ([`unary`]); compressed, tonic's client with the raw codec compresses
//! them into a new buffer.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::uri::PathAndQuery;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::time::Instant;
use tonic::codec::CompressionEncoding;
use tonic::codegen::Service;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, ClientAuthenticator, CreateSettings, Delivered, ExportError, Exporter,
};
use weir_core::net::grpc_codec::export_path;
use weir_core::net::tls::Connector;
use weir_core::net::{RawCodec, RpcStatus};

use super::config::OtlpGrpcConfig;
use super::proxy_answer::ProxyAnswers;
use super::unary;

/// One exporter instance: a channel shared by all concurrent exports.
pub(crate) struct GrpcExporter {
    id: String,
    endpoint: Endpoint,
    /// TCP, and TLS when the config asks for it; tonic is always given an `http://` URL so
    /// that its own TLS (present in some builds) never steps in.
    connector: Connector,
    /// Adds credentials to each export (`auth`).
    auth: Option<Arc<dyn ClientAuthenticator>>,
    /// Created on the first export: `connect_lazy` spawns the channel's worker, which needs the
    /// tokio runtime that `create` may not run on.
    channel: OnceLock<Channel>,
    metadata: MetadataMap,
    compression: Option<CompressionEncoding>,
    timeout: Duration,
}

impl GrpcExporter {
    pub(crate) fn new(
        config: &OtlpGrpcConfig,
        settings: &CreateSettings,
    ) -> Result<Self, BuildError> {
        let id = settings.id.to_string();
        let authority = config.authority().map_err(BuildError)?;
        let connector = Connector::for_exporter(&config.tls, config.uses_tls(), &[b"h2"], true)
            .map_err(|e| BuildError(e.to_string()))?;
        let auth = crate::http_client::authenticator(config.auth.as_ref(), settings)?;
        let endpoint = Endpoint::from_shared(format!("http://{authority}"))
            .and_then(|e| e.user_agent(concat!("weir/", env!("CARGO_PKG_VERSION"))))
            .map_err(|e| BuildError(format!("endpoint `{}`: {e}", config.endpoint)))?
            .tcp_nodelay(true);
        let mut metadata = MetadataMap::new();
        for (name, value) in &config.headers {
            let key = MetadataKey::from_bytes(name.as_bytes())
                .map_err(|e| BuildError(format!("header name `{name}`: {e}")))?;
            let value = MetadataValue::try_from(value.as_str())
                .map_err(|e| BuildError(format!("value of header `{name}`: {e}")))?;
            metadata.insert(key, value);
        }
        let compression = config.compression.grpc_encoding();
        Ok(GrpcExporter {
            id,
            endpoint,
            connector,
            auth,
            channel: OnceLock::new(),
            metadata,
            compression,
            timeout: config.timeout,
        })
    }

    fn channel(&self) -> ProxyAnswers<Channel> {
        ProxyAnswers(
            self.channel
                .get_or_init(|| {
                    self.endpoint
                        .connect_with_connector_lazy(self.connector.clone())
                })
                .clone(),
        )
    }

    async fn call(&self, signal: Signal, payload: Bytes) -> Result<Bytes, Status> {
        if self.compression.is_none() {
            self.call_uncopied(signal, payload).await
        } else {
            self.call_tonic(signal, payload).await
        }
    }

    /// The metadata of one export: the configured `headers`, the authenticator's headers and
    /// `grpc-timeout` (our deadline, so the server can stop work we no longer wait for).
    fn metadata(&self) -> Result<MetadataMap, Status> {
        let mut request = tonic::Request::new(());
        *request.metadata_mut() = self.metadata.clone();
        if let Some(auth) = &self.auth {
            let headers = auth
                .headers()
                // UNAVAILABLE, so the batch is retried: a token file being rotated comes back.
                .map_err(|e| Status::unavailable(format!("no credentials to send: {e}")))?;
            for (name, value) in headers {
                let key = MetadataKey::from_bytes(name.as_str().as_bytes())
                    .map_err(|e| Status::internal(format!("authenticator header name: {e}")))?;
                let value = MetadataValue::try_from(value.as_bytes())
                    .map_err(|e| Status::internal(format!("authenticator header value: {e}")))?;
                request.metadata_mut().insert(key, value);
            }
        }
        request.set_timeout(self.timeout);
        Ok(request.into_parts().0)
    }

    /// Sends the payload's own bytes as the request message (see [`unary`]); uncompressed only.
    pub(crate) async fn call_uncopied(
        &self,
        signal: Signal,
        payload: Bytes,
    ) -> Result<Bytes, Status> {
        let mut channel = self.channel();
        std::future::poll_fn(|cx| channel.poll_ready(cx))
            .await
            .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
        let request = unary::request(export_path(signal), self.metadata()?, payload)?;
        unary::call(&mut channel, request).await
    }

    /// Sends through tonic's client, whose encoder copies the message (and compresses it).
    pub(crate) async fn call_tonic(&self, signal: Signal, payload: Bytes) -> Result<Bytes, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel());
        if let Some(encoding) = self.compression {
            grpc = grpc.send_compressed(encoding);
        }
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
        let request = tonic::Request::from_parts(self.metadata()?, Default::default(), payload);
        let path = PathAndQuery::from_static(export_path(signal));
        let response = grpc.unary(request, path, RawCodec).await?;
        Ok(response.into_inner())
    }
}

#[async_trait]
impl Exporter for GrpcExporter {
    async fn export(&self, batch: &Batch) -> Result<Delivered, ExportError> {
        let deadline_exceeded = || ExportError::Retryable {
            retry_after: None,
            reason: format!(
                "gRPC export timed out after {:?} (DEADLINE_EXCEEDED)",
                self.timeout
            ),
        };
        let started = Instant::now();
        let call = self.call(batch.signal(), batch.to_bytes());
        let body = match tokio::time::timeout(self.timeout, call).await {
            Err(_elapsed) => return Err(deadline_exceeded()),
            Ok(Err(status)) => {
                // tonic enforces the grpc-timeout it sends, and reports expiry as CANCELLED.
                let expired = status.code() == Code::Cancelled && started.elapsed() >= self.timeout;
                return Err(if expired {
                    deadline_exceeded()
                } else {
                    classify(&status)
                });
            }
            Ok(Ok(body)) => body,
        };
        Ok(partial_success(batch.signal(), &body).unwrap_or_else(|e| {
            // The server said OK, so the data arrived; an unreadable reply is not worth a
            // duplicate send.
            tracing::warn!(exporter = %self.id, error = %e, "export response is not OTLP");
            Delivered::default()
        }))
    }
}

/// otelcol's classification: transient codes are retryable; RESOURCE_EXHAUSTED only when the
/// server says when to come back (otherwise it is a quota that retrying will not fix).
pub(crate) fn classify(status: &Status) -> ExportError {
    let rpc = RpcStatus::from_tonic(status);
    let retry_after = rpc.retry_delay();
    let code = status.code();
    let reason = format!("gRPC status {code:?}: {}", status.message());
    let retryable = match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => retry_after.is_some(),
        // A status made from a transport error (tonic keeps it as the source), not an answer
        // of the server: the connection broke, e.g. in the middle of the response, and the
        // batch may or may not have arrived. Sending it again risks a duplicate; dropping it
        // risks a loss.
        _ => std::error::Error::source(status).is_some(),
    };
    if retryable {
        ExportError::Retryable {
            retry_after,
            reason,
        }
    } else {
        ExportError::Permanent { reason }
    }
}

/// The response's `partial_success`; the three responses differ only in the name of the count.
pub(crate) fn partial_success(
    signal: Signal,
    body: &[u8],
) -> Result<Delivered, prost::DecodeError> {
    let (rejected, message) = match signal {
        Signal::Traces => {
            let p = ExportTraceServiceResponse::decode(body)?
                .partial_success
                .unwrap_or_default();
            (p.rejected_spans, p.error_message)
        }
        Signal::Metrics => {
            let p = ExportMetricsServiceResponse::decode(body)?
                .partial_success
                .unwrap_or_default();
            (p.rejected_data_points, p.error_message)
        }
        Signal::Logs => {
            let p = ExportLogsServiceResponse::decode(body)?
                .partial_success
                .unwrap_or_default();
            (p.rejected_log_records, p.error_message)
        }
    };
    Ok(Delivered {
        rejected_items: u64::try_from(rejected).unwrap_or(0),
        message,
    })
}
