//! A tonic [`Codec`] that passes gRPC message bytes through untouched.
//!
//! Weir keeps OTLP requests encoded (DESIGN.md §2), so neither side of a gRPC call should run
//! prost: the receiver hands the request bytes to `Batch::from_encoded`, and the exporter sends
//! the batch's bytes as they are. gRPC framing, compression and the message size limits stay
//! tonic's job; only the message body is raw.
//!
//! Server side:
//! ```ignore
//! let mut grpc = tonic::server::Grpc::new(RawCodec)
//!     .accept_compressed(CompressionEncoding::Gzip)
//!     .max_decoding_message_size(limit);
//! let response = grpc.unary(service, http_request).await; // service: UnaryService<Bytes, Response = Bytes>
//! ```
//!
//! Client side (the response bytes are an `Export*ServiceResponse`, decode it with prost when
//! its `partial_success` matters):
//! ```ignore
//! let mut grpc = tonic::client::Grpc::new(channel).send_compressed(CompressionEncoding::Gzip);
//! grpc.ready().await?;
//! let path = http::uri::PathAndQuery::from_static(TRACES_EXPORT_PATH);
//! let response: tonic::Response<Bytes> = grpc.unary(tonic::Request::new(batch.to_bytes()), path, RawCodec).await?;
//! ```

use bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::batch::Signal;

/// gRPC path of the OTLP traces export method.
pub const TRACES_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// gRPC path of the OTLP metrics export method.
pub const METRICS_EXPORT_PATH: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
/// gRPC path of the OTLP logs export method.
pub const LOGS_EXPORT_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// The gRPC method path that exports `signal` (`/opentelemetry.proto.collector.….v1.…Service/Export`).
pub fn export_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => TRACES_EXPORT_PATH,
        Signal::Metrics => METRICS_EXPORT_PATH,
        Signal::Logs => LOGS_EXPORT_PATH,
    }
}

/// The signal whose export method is at `path`, if any.
pub fn signal_of_path(path: &str) -> Option<Signal> {
    Signal::ALL.into_iter().find(|s| export_path(*s) == path)
}

/// A [`Codec`] whose messages are the encoded protobuf bytes, both ways. Works for servers
/// (`tonic::server::Grpc::new(RawCodec)`) and clients (`tonic::client::Grpc::unary(.., RawCodec)`)
/// alike, since requests and responses are both [`Bytes`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

/// Writes message bytes as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.len());
        dst.put(item);
        Ok(())
    }
}

/// Takes the whole message as [`Bytes`]; tonic has already framed (and decompressed) it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // `copy_to_bytes` over tonic's `BytesMut` splits the buffer rather than copying.
        let len = src.remaining();
        Ok(Some(src.copy_to_bytes(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_otlp_services() {
        for signal in Signal::ALL {
            assert_eq!(signal_of_path(export_path(signal)), Some(signal));
        }
        assert_eq!(
            export_path(Signal::Traces),
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        );
        assert_eq!(
            signal_of_path("/opentelemetry.proto.collector.trace.v1.TraceService/Other"),
            None
        );
    }
}
