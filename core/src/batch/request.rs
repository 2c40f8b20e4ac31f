//! The decoded form of a batch: one of the three OTLP export requests.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;

use super::Signal;

/// A decoded OTLP export request.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `ExportTraceServiceRequest`.
    Traces(ExportTraceServiceRequest),
    /// `ExportMetricsServiceRequest`.
    Metrics(ExportMetricsServiceRequest),
    /// `ExportLogsServiceRequest`.
    Logs(ExportLogsServiceRequest),
}

/// Bytes that are not a valid request of the expected signal.
#[derive(Debug, thiserror::Error)]
#[error("invalid {signal} request: {source}")]
pub struct DecodeError {
    /// The signal that was expected.
    pub signal: Signal,
    /// What prost found wrong.
    #[source]
    pub source: prost::DecodeError,
}

impl Request {
    /// Decodes protobuf bytes as a request of `signal`.
    pub fn decode(signal: Signal, bytes: &[u8]) -> Result<Request, DecodeError> {
        let wrap = |source| DecodeError { signal, source };
        Ok(match signal {
            Signal::Traces => {
                Request::Traces(ExportTraceServiceRequest::decode(bytes).map_err(wrap)?)
            }
            Signal::Metrics => {
                Request::Metrics(ExportMetricsServiceRequest::decode(bytes).map_err(wrap)?)
            }
            Signal::Logs => Request::Logs(ExportLogsServiceRequest::decode(bytes).map_err(wrap)?),
        })
    }

    /// The signal of this request.
    pub fn signal(&self) -> Signal {
        match self {
            Request::Traces(_) => Signal::Traces,
            Request::Metrics(_) => Signal::Metrics,
            Request::Logs(_) => Signal::Logs,
        }
    }

    /// Encodes to protobuf.
    pub fn encode_to_bytes(&self) -> Bytes {
        Bytes::from(match self {
            Request::Traces(r) => r.encode_to_vec(),
            Request::Metrics(r) => r.encode_to_vec(),
            Request::Logs(r) => r.encode_to_vec(),
        })
    }

    /// Exact protobuf size.
    pub fn encoded_len(&self) -> usize {
        match self {
            Request::Traces(r) => r.encoded_len(),
            Request::Metrics(r) => r.encoded_len(),
            Request::Logs(r) => r.encoded_len(),
        }
    }

    /// Spans, metric data points (as otelcol counts them) or log records.
    pub fn item_count(&self) -> usize {
        match self {
            Request::Traces(r) => r
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum(),
            Request::Metrics(r) => r
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .map(point_count)
                .sum(),
            Request::Logs(r) => r
                .resource_logs
                .iter()
                .flat_map(|rl| &rl.scope_logs)
                .map(|sl| sl.log_records.len())
                .sum(),
        }
    }
}

/// The data points of one metric, whatever its type.
pub fn point_count(metric: &opentelemetry_proto::tonic::metrics::v1::Metric) -> usize {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}
