//! The gRPC server path the OTLP receiver uses (tonic's framing and `grpc-encoding`
//! decompression in front of Weir's `RawCodec`) never panics, never hands the handler a
//! message over the size limit, and hands it a well-formed uncompressed frame byte for byte.
//!
//! Input: a byte choosing the `grpc-encoding` header, a byte choosing the message size limit,
//! then the HTTP/2 request body (length-prefixed frames with their compression flag).

#![no_main]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use tonic::codec::CompressionEncoding;
use weir_core::net::grpc_codec::{RawCodec, export_path};
use weir_fuzz::signal_of;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime needs no resources that can be missing")
    })
}

fuzz_target!(|data: &[u8]| {
    let [encoding, limit, body @ ..] = data else {
        return;
    };
    let header = match encoding % 5 {
        0 => None,
        1 => Some("identity"),
        2 => Some("gzip"),
        3 => Some("zstd"),
        // Not accepted by the server: must be refused, not read.
        _ => Some("deflate"),
    };
    let max = usize::from(*limit) * 4;
    let body = Bytes::copy_from_slice(body);

    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://localhost{}",
            export_path(signal_of(*limit))
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(name) = header {
        request = request.header("grpc-encoding", name);
    }
    let request = request
        .body(Full::new(body.clone()))
        .expect("static parts make a valid request");

    let received: Arc<Mutex<Option<Bytes>>> = Arc::default();
    let seen = received.clone();
    let handler = tower::service_fn(move |request: tonic::Request<Bytes>| {
        let seen = seen.clone();
        async move {
            *seen.lock().expect("no other holder panics") = Some(request.into_inner());
            Ok::<_, tonic::Status>(tonic::Response::new(Bytes::new()))
        }
    });

    runtime().block_on(async {
        let mut grpc = tonic::server::Grpc::new(RawCodec)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .max_decoding_message_size(max);
        let response = grpc.unary(handler, request).await;
        let _ = response.into_body().collect().await;
    });

    let received = received.lock().expect("no other holder panics").take();
    if let Some(message) = &received {
        assert!(
            message.len() <= max,
            "handler got {} bytes, over the limit of {max}",
            message.len()
        );
    }
    let well_formed_plain = header != Some("deflate")
        && body.len() >= 5
        && body[0] == 0
        && u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize == body.len() - 5
        && body.len() - 5 <= max;
    if well_formed_plain {
        assert_eq!(
            received.as_deref(),
            Some(&body[5..]),
            "a well-formed uncompressed frame did not reach the handler as sent"
        );
    }
});
