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

/// Length of the prefix gRPC writes before every message: a compressed flag (0 or 1) and the
/// message's length as a big-endian `u32`.
pub const MESSAGE_PREFIX_LEN: usize = 5;

/// The prefix of a message of `len` bytes, compressed or not.
pub fn message_prefix(compressed: bool, len: u32) -> [u8; MESSAGE_PREFIX_LEN] {
    let [a, b, c, d] = len.to_be_bytes();
    [u8::from(compressed), a, b, c, d]
}

/// The compressed flag byte and the length announced by the prefix at the start of `bytes`,
/// if `bytes` is long enough to hold one. The flag is returned as sent: only 0 and 1 are valid.
pub fn read_message_prefix(bytes: &[u8]) -> Option<(u8, u32)> {
    let [flag, a, b, c, d] = *bytes.first_chunk::<MESSAGE_PREFIX_LEN>()?;
    Some((flag, u32::from_be_bytes([a, b, c, d])))
}

/// `message` with its prefix, as a client sends it in a request body (tests, fuzz seeds).
///
/// # Panics
/// If `message` is 4 GiB or longer, which gRPC cannot frame.
pub fn framed_message(compressed: bool, message: &[u8]) -> Vec<u8> {
    let len = u32::try_from(message.len()).expect("a gRPC message is shorter than 4 GiB");
    let mut out = message_prefix(compressed, len).to_vec();
    out.extend_from_slice(message);
    out
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

/// Writes message bytes as they are (tonic's encoder copies them into its buffer; Weir's `otlp`
/// exporter sends an uncompressed batch without it, see `weir-exporters`' `otlp/unary.rs`).
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

    #[test]
    fn a_message_prefix_reads_back_as_written() {
        assert_eq!(message_prefix(false, 0x0102_0304), [0, 1, 2, 3, 4]);
        assert_eq!(read_message_prefix(&[1, 0, 0, 1, 0, 9]), Some((1, 256)));
        assert_eq!(read_message_prefix(&[0, 0, 0, 1]), None);
        assert_eq!(framed_message(true, b"ab"), [1, 0, 0, 0, 2, b'a', b'b']);
    }

    /// The server path the OTLP receiver uses: tonic's framing and `grpc-encoding` in front
    /// of [`RawCodec`] (the fuzz target `grpc_frame` checks the same on arbitrary bodies).
    mod frames {
        use std::sync::{Arc, Mutex};

        use http_body_util::{BodyExt, Full};
        use proptest::collection::vec;
        use proptest::prelude::*;
        use tonic::codec::CompressionEncoding;
        use tonic::server::{Grpc, UnaryService};

        use super::super::*;
        use crate::net::compression::{Compression, compress};

        /// Keeps the message the server handed over.
        #[derive(Clone, Default)]
        struct Keep(Arc<Mutex<Option<Bytes>>>);

        impl UnaryService<Bytes> for Keep {
            type Response = Bytes;
            type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

            fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
                *self.0.lock().unwrap() = Some(request.into_inner());
                std::future::ready(Ok(tonic::Response::new(Bytes::new())))
            }
        }

        /// The message the handler got after the server read `body` with a limit of `max`.
        fn serve(encoding: Compression, body: Vec<u8>, max: usize) -> Option<Bytes> {
            let request = http::Request::builder()
                .method("POST")
                .uri(format!("http://localhost{TRACES_EXPORT_PATH}"))
                .header("content-type", "application/grpc")
                .header("grpc-encoding", encoding.as_header_value())
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let keep = Keep::default();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut grpc = Grpc::new(RawCodec)
                    .accept_compressed(CompressionEncoding::Gzip)
                    .accept_compressed(CompressionEncoding::Zstd)
                    .max_decoding_message_size(max);
                let response = grpc.unary(keep.clone(), request).await;
                response.into_body().collect().await.unwrap();
            });
            keep.0.lock().unwrap().take()
        }

        fn frame(compressed: bool, declared: usize, content: &[u8]) -> Vec<u8> {
            let mut out = message_prefix(compressed, declared as u32).to_vec();
            out.extend_from_slice(content);
            out
        }

        fn any_encoding() -> impl Strategy<Value = Compression> {
            prop_oneof![
                Just(Compression::None),
                Just(Compression::Gzip),
                Just(Compression::Zstd)
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            #[test]
            fn a_well_formed_frame_arrives_whole_or_not_at_all_by_the_limit(
                encoding in any_encoding(),
                message in vec(any::<u8>(), 0..256),
                max in 0usize..320,
            ) {
                let packed = compress(encoding, &message).unwrap();
                let got = serve(encoding, frame(!encoding.is_none(), packed.len(), &packed), max);
                if packed.len() <= max && message.len() <= max {
                    prop_assert_eq!(got.as_deref(), Some(message.as_slice()));
                } else {
                    prop_assert_eq!(got, None, "a message over the limit of {} reached the handler", max);
                }
            }

            /// Lying lengths, stray flags, garbage after the prefix: refused or read, never more
            /// than the limit handed over.
            #[test]
            fn malformed_frames_never_hand_over_more_than_the_limit(
                encoding in any_encoding(),
                flag in 0u8..3,
                declared in prop_oneof![0usize..300, Just(u32::MAX as usize)],
                content in vec(any::<u8>(), 0..300),
                max in 0usize..320,
            ) {
                let mut body = frame(false, declared, &content);
                body[0] = flag;
                if let Some(got) = serve(encoding, body, max) {
                    prop_assert!(got.len() <= max, "{} bytes over the limit of {}", got.len(), max);
                }
            }
        }
    }
}
