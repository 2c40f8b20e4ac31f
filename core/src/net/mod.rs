//! Network pieces shared by receivers and exporters: what travels on the wire around an OTLP
//! message, but not the message itself.
//!
//! - [`compression`]: gzip/zstd content codings, decompression capped against bombs;
//! - [`counted_body`]: request bodies counted as held bytes while they are received;
//! - [`grpc_codec`]: a tonic codec that keeps messages as bytes, and the OTLP gRPC method paths;
//! - [`grpc_preread`]: a unary request's message taken from its DATA frame without tonic's copy;
//! - [`rpc_status`]: `google.rpc.Status` with `RetryInfo`, and the HTTP `Retry-After` header;
//! - [`server`]: the one accept loop (hyper HTTP/1.1 + h2c, or TLS) with graceful, bounded
//!   shutdown and the connection limits;
//! - [`tls`]: rustls for both sides, certificate reloading.

pub mod compression;
pub mod counted_body;
pub mod grpc_codec;
pub mod grpc_preread;
pub mod rpc_status;
pub mod server;
pub mod tls;

pub use compression::{
    Compression, DecompressError, compress, decompress_bytes, decompress_limited,
};
pub use grpc_codec::RawCodec;
pub use rpc_status::RpcStatus;

/// An error with its causes, `: `-joined. hyper's own message ("client error (Connect)")
/// hides the refused connection or TLS failure that explains it.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
