//! Takes a unary gRPC request's message straight from the HTTP/2 DATA frame it arrived in.
//!
//! tonic's server decoder appends every DATA frame to a buffer of its own before it splits the
//! message off, one copy of every request (5–6 % of Weir's CPU in gRPC pass-through). Most
//! clients send a unary request as one DATA frame holding the 5-byte gRPC prefix and the whole
//! message (Weir's server accepts frames of up to 1 MiB), so the message is a slice of that
//! frame's bytes and needs no copy. [`preread`] reads the first frame; when it is exactly one
//! uncompressed message within the size limit and the body ends there, the message is taken
//! out and tonic is handed an empty message to decode instead (it still answers, with every
//! header and trailer it would give). Anything else (several frames, a compressed or oversize
//! message, a second message, an error) is replayed to tonic untouched, so its checks and
//! answers stay the ones clients get.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::grpc_codec::{MESSAGE_PREFIX_LEN, read_message_prefix};

/// A message taken out of its DATA frame; rides in the request's extensions to the service.
#[derive(Clone, Debug)]
pub struct Preread(pub Bytes);

/// What tonic decodes in place of a message taken out: an uncompressed message of no bytes.
static EMPTY_MESSAGE: [u8; MESSAGE_PREFIX_LEN] = [0; MESSAGE_PREFIX_LEN];

/// The body tonic reads: frames already read, then the rest of `inner`.
pub struct Replay<B: Body> {
    pending: VecDeque<Frame<Bytes>>,
    error: Option<B::Error>,
    inner: B,
}

impl<B: Body> Replay<B> {
    fn new(pending: VecDeque<Frame<Bytes>>, error: Option<B::Error>, inner: B) -> Self {
        Replay {
            pending,
            error,
            inner,
        }
    }
}

impl<B> Body for Replay<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.pending.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.error.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.pending.is_empty() && self.error.is_none() {
            return self.inner.size_hint();
        }
        SizeHint::default()
    }
}

/// The message in `frame` when the frame is exactly one uncompressed gRPC message of at most
/// `max_message_size` bytes.
fn single_message(frame: &Bytes, max_message_size: usize) -> Option<Bytes> {
    let (flag, length) = read_message_prefix(frame)?;
    let message_len = frame.len() - MESSAGE_PREFIX_LEN;
    let fits = usize::try_from(length).is_ok_and(|n| n == message_len && n <= max_message_size);
    (flag == 0 && fits).then(|| frame.slice(MESSAGE_PREFIX_LEN..))
}

async fn next_frame<B>(body: &mut B) -> Option<Result<Frame<Bytes>, B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
}

/// Reads the start of `body`: the message without a copy when the body is one DATA frame
/// holding one uncompressed message within `max_message_size` (then the body tonic gets holds
/// an empty message), and in every case the body to give tonic. `body` is kept inside the
/// returned body, so what it accounts for lasts as long as tonic reads.
pub async fn preread<B>(mut body: B, max_message_size: usize) -> (Option<Preread>, Replay<B>)
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Unpin,
{
    let mut pending = VecDeque::new();
    let first = match next_frame(&mut body).await {
        Some(Ok(frame)) => frame,
        Some(Err(error)) => return (None, Replay::new(pending, Some(error), body)),
        None => return (None, Replay::new(pending, None, body)),
    };
    let message = first
        .data_ref()
        .and_then(|data| single_message(data, max_message_size));
    pending.push_back(first);
    let Some(message) = message else {
        return (None, Replay::new(pending, None, body));
    };
    // The body must end here; clients often close the stream with an empty DATA frame, which
    // carries nothing. Any other frame (more data, trailers) goes to tonic as sent.
    while !body.is_end_stream() {
        match next_frame(&mut body).await {
            None => break,
            Some(Ok(frame)) if frame.data_ref().is_some_and(Bytes::is_empty) => {}
            Some(Ok(frame)) => {
                pending.push_back(frame);
                return (None, Replay::new(pending, None, body));
            }
            Some(Err(error)) => return (None, Replay::new(pending, Some(error), body)),
        }
    }
    let empty = VecDeque::from([Frame::data(Bytes::from_static(&EMPTY_MESSAGE))]);
    (Some(Preread(message)), Replay::new(empty, None, body))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::{BodyExt as _, StreamBody};

    use super::*;
    use crate::net::grpc_codec::framed_message;

    type Frames =
        StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

    fn body(frames: Vec<Frame<Bytes>>) -> Frames {
        StreamBody::new(futures::stream::iter(
            frames.into_iter().map(Ok).collect::<Vec<_>>(),
        ))
    }

    fn framed(flag: u8, message: &[u8]) -> Bytes {
        let mut out = framed_message(false, message);
        out[0] = flag;
        out.into()
    }

    async fn replayed<B>(body: Replay<B>) -> Vec<Bytes>
    where
        B: Body<Data = Bytes, Error = Infallible> + Unpin,
    {
        let mut body = body;
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                out.push(data);
            }
        }
        out
    }

    #[tokio::test]
    async fn one_frame_with_one_message_gives_the_message_without_a_copy() {
        let frame = framed(0, b"an otlp request");
        let (message, rest) = preread(body(vec![Frame::data(frame.clone())]), 1024).await;
        let message = message.expect("taken out").0;
        assert_eq!(&message[..], b"an otlp request");
        assert_eq!(
            message.as_ptr(),
            frame[MESSAGE_PREFIX_LEN..].as_ptr(),
            "a slice of the frame, not a copy"
        );
        assert_eq!(replayed(rest).await, vec![Bytes::from_static(&[0; 5])]);
    }

    #[tokio::test]
    async fn an_empty_data_frame_closing_the_stream_is_no_second_frame() {
        let frames = vec![
            Frame::data(framed(0, b"abc")),
            Frame::data(Bytes::new()),
            Frame::data(Bytes::new()),
        ];
        let (message, rest) = preread(body(frames), 1024).await;
        assert_eq!(&message.expect("taken out").0[..], b"abc");
        assert_eq!(replayed(rest).await, vec![Bytes::from_static(&[0; 5])]);
    }

    #[tokio::test]
    async fn an_empty_message_is_taken_out_too() {
        let (message, _) = preread(body(vec![Frame::data(framed(0, b""))]), 1024).await;
        assert_eq!(message.expect("taken out").0.len(), 0);
    }

    #[tokio::test]
    async fn anything_else_is_replayed_to_tonic_unchanged() {
        let whole = framed(0, b"0123456789");
        let cases: Vec<(&str, Vec<Bytes>, usize)> = vec![
            (
                "message split over two frames",
                vec![whole.slice(..7), whole.slice(7..)],
                1024,
            ),
            ("compressed", vec![framed(1, b"0123456789")], 1024),
            ("over the size limit", vec![whole.clone()], 9),
            (
                "two messages in one frame",
                vec![[whole.clone(), whole.clone()].concat().into()],
                1024,
            ),
            (
                "a second frame after the message",
                vec![whole.clone(), framed(0, b"x")],
                1024,
            ),
            (
                "a frame shorter than the prefix",
                vec![Bytes::from_static(&[0, 0])],
                1024,
            ),
            ("length past the frame", vec![whole.slice(..12)], 1024),
            ("no frame at all", vec![], 1024),
        ];
        for (case, frames, limit) in cases {
            let sent = frames.clone();
            let (message, rest) =
                preread(body(frames.into_iter().map(Frame::data).collect()), limit).await;
            assert!(message.is_none(), "{case}: nothing taken out");
            assert_eq!(replayed(rest).await, sent, "{case}: replayed as sent");
        }
    }

    #[tokio::test]
    async fn trailers_after_the_message_are_replayed() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-test", http::HeaderValue::from_static("1"));
        let frames = vec![Frame::data(framed(0, b"abc")), Frame::trailers(trailers)];
        let (message, mut rest) = preread(body(frames), 1024).await;
        assert!(message.is_none());
        assert!(rest.frame().await.unwrap().unwrap().is_data());
        assert!(rest.frame().await.unwrap().unwrap().is_trailers());
        assert!(rest.frame().await.is_none());
    }
}
