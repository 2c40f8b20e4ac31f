//! A unary gRPC call whose request message is sent as the caller's own bytes.
//!
//! tonic's client encoder copies every message into its `EncodeBuf`; for a batch that is already
//! an encoded `Export*ServiceRequest` (DESIGN.md §2) that copy is pure cost, in CPU and in a
//! second copy of the batch held while it is in flight. Here the request body is
//! [`MessageBody`]: two DATA frames, the 5-byte gRPC message prefix and the message itself, both
//! `Bytes` handed over as they are. The request's headers are the ones tonic's `Grpc` client
//! would send, and the answer is read with tonic's own pieces (`Status::from_header_map`,
//! `Streaming::new_response` with [`RawDecoder`]), so a call gives the same
//! `Result<Bytes, Status>` as `Grpc::unary(.., RawCodec)` for the same server answer.
//!
//! Uncompressed messages only: a compressed message is a new buffer anyway.
//!
//! Public for `weir-gen`, whose load generator sends its pre-encoded requests the same way.

use std::borrow::Cow;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tonic::body::Body;
use tonic::codec::Streaming;
use tonic::codegen::Service;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use weir_core::net::grpc_codec::{RawDecoder, message_prefix};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Headers a caller's metadata may not set, because gRPC itself owns them (tonic drops them
/// from a request's metadata too).
const RESERVED: [&str; 5] = [
    "te",
    "content-type",
    "grpc-message",
    "grpc-message-type",
    "grpc-status",
];

/// The body of a unary gRPC request with one uncompressed message: the prefix, then the
/// message's own bytes (not copied), then the end of the stream.
#[derive(Debug)]
pub(crate) struct MessageBody {
    prefix: Option<Bytes>,
    message: Option<Bytes>,
}

impl MessageBody {
    /// The body that carries `message`; a message of 4 GiB or more cannot be framed (tonic
    /// refuses it with the same status).
    pub(crate) fn new(message: Bytes) -> Result<Self, Status> {
        let len = u32::try_from(message.len()).map_err(|_| {
            Status::resource_exhausted(format!(
                "Cannot return body with more than 4GB of data but got {} bytes",
                message.len()
            ))
        })?;
        Ok(MessageBody {
            prefix: Some(Bytes::copy_from_slice(&message_prefix(false, len))),
            // An empty message is the prefix alone.
            message: Some(message).filter(|m| !m.is_empty()),
        })
    }

    fn remaining(&self) -> u64 {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len() as u64);
        len(&self.prefix) + len(&self.message)
    }
}

impl HttpBody for MessageBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.prefix.take().or_else(|| self.message.take());
        Poll::Ready(next.map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.message.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Deliberately not exact: hyper would add a `content-length` header, which tonic's
        // requests do not carry.
        let mut hint = SizeHint::new();
        hint.set_lower(self.remaining());
        hint
    }
}

/// The HTTP/2 request tonic's `Grpc` client makes for a unary call to `path` with `metadata`
/// (including `grpc-timeout` when the request had a timeout): POST, `te: trailers`,
/// `content-type: application/grpc`, no compression. The channel adds scheme, authority and
/// `user-agent`, as it does for tonic's requests.
pub fn request(
    path: &'static str,
    metadata: MetadataMap,
    message: Bytes,
) -> Result<http::Request<Body>, Status> {
    let body = MessageBody::new(message)?;
    let mut headers = metadata.into_headers();
    for name in RESERVED {
        headers.remove(name);
    }
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let mut request = http::Request::new(Body::new(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_static(path);
    *request.version_mut() = Version::HTTP_2;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Sends `request` on `service` (a ready `tonic::transport::Channel`) and reads the one response
/// message as tonic's `Grpc::unary` does.
pub async fn call<S, B>(service: &mut S, request: http::Request<Body>) -> Result<Bytes, Status>
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let response = service
        .call(request)
        .await
        .map_err(|e| Status::from_error(e.into()))?;
    read_response(response).await
}

/// The response message, or the status the server (or a proxy, or the connection) gave instead.
pub(crate) async fn read_response<B>(response: http::Response<B>) -> Result<Bytes, Status>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // The same steps, in the same order, as tonic's client: the encoding first, then a
    // trailers-only answer, then the message and the trailers from the body.
    refuse_compressed(response.headers())?;
    let status_code = response.status();
    let (parts, body) = response.into_parts();
    let mut body = match Status::from_header_map(&parts.headers) {
        Some(status) if status.code() != Code::Ok => return Err(status),
        // grpc-status OK in the headers: nothing more is expected (and no message arrives).
        Some(_) => Streaming::new_empty(RawDecoder, body),
        None => Streaming::new_response(RawDecoder, body, status_code, None, None),
    };
    let message = match body.message().await {
        Ok(Some(message)) => message,
        Ok(None) => return Err(Status::internal("Missing response message.")),
        Err(mut status) => {
            // tonic hands the response headers to the caller inside the status.
            let mut merged = std::mem::take(status.metadata_mut()).into_headers();
            merged.extend(parts.headers);
            *status.metadata_mut() = MetadataMap::from_headers(merged);
            return Err(status);
        }
    };
    // Reads to the end: a grpc-status other than OK in the trailers is the call's outcome.
    body.trailers().await?;
    Ok(message)
}

/// Weir's client accepts no compressed responses (it sends no `grpc-accept-encoding`), so a
/// `grpc-encoding` other than `identity` is refused as tonic refuses it.
fn refuse_compressed(headers: &HeaderMap) -> Result<(), Status> {
    const ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
    const ACCEPT_ENCODING: &str = "grpc-accept-encoding";
    let Some(value) = headers.get(ENCODING) else {
        return Ok(());
    };
    let value = value.as_bytes();
    if value == b"identity" {
        return Ok(());
    }
    let name = match std::str::from_utf8(value) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(format!("{value:?}")),
    };
    let mut status = Status::unimplemented(format!(
        "Content is compressed with `{name}` which isn't supported"
    ));
    status.metadata_mut().insert(
        ACCEPT_ENCODING,
        tonic::metadata::MetadataValue::from_static("identity"),
    );
    Err(status)
}
