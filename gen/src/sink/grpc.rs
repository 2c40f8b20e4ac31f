//! The sink's OTLP/gRPC server: the three `Export` methods over HTTP/2, messages kept as bytes
//! (`RawCodec`), gzip and zstd accepted; answers UNAVAILABLE with `RetryInfo` for refusals and
//! INVALID_ARGUMENT for invalid requests.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};
use weir_core::batch::Signal;
use weir_core::net::RpcStatus;
use weir_core::net::grpc_codec::{RawCodec, signal_of_path};
use weir_core::net::server;

use super::{Answer, MAX_REQUEST_BYTES, SinkCore, server_options};

pub(super) fn serve(
    listener: TcpListener,
    core: Arc<SinkCore>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let make = move |_peer| GrpcService { core: core.clone() };
    server::serve(listener, make, server_options("sink/grpc", true), shutdown)
}

#[derive(Clone)]
struct GrpcService {
    core: Arc<SinkCore>,
}

impl hyper::service::Service<http::Request<Incoming>> for GrpcService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let core = self.core.clone();
        Box::pin(async move {
            let Some(signal) = signal_of_path(request.uri().path()) else {
                let message = format!("unknown method {}", request.uri().path());
                return Ok(Status::unimplemented(message).into_http());
            };
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(MAX_REQUEST_BYTES);
            let export = tower::service_fn(move |request: tonic::Request<Bytes>| {
                export(core.clone(), signal, request)
            });
            Ok(grpc.unary(export, request).await)
        })
    }
}

async fn export(
    core: Arc<SinkCore>,
    signal: Signal,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<Bytes>, Status> {
    match core.export(signal, request.get_ref()).await {
        // An empty message is a valid Export*ServiceResponse without partial_success.
        Answer::Accepted => Ok(tonic::Response::new(Bytes::new())),
        Answer::Refused(delay) => Err(RpcStatus::new(
            Code::Unavailable,
            "sink refuses (fault drill)",
        )
        .with_retry_delay(delay)
        .to_tonic()),
        Answer::Invalid(message) => Err(Status::invalid_argument(message)),
    }
}
