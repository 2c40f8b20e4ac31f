//! A request body that counts its bytes as held ([`crate::batch::accounting::Receiving`]) while
//! it is being received: between a request's first frame and the batch made from it, its bytes
//! sit in buffers the memory limiter would otherwise not see, and a burst of large requests is
//! mostly that.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use crate::batch::accounting::Receiving;

/// `inner`, counting every data frame until this body is dropped.
#[derive(Debug)]
pub struct Counted<B> {
    inner: B,
    received: Receiving,
}

impl<B> Counted<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        Counted {
            inner,
            received: Receiving::default(),
        }
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            this.received.add(data.len());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    #[tokio::test]
    async fn every_data_frame_is_counted_as_it_arrives() {
        let chunks = ["abc", "defgh", ""]
            .map(|c| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(c))));
        let mut body = Counted::new(http_body_util::StreamBody::new(futures::stream::iter(
            chunks,
        )));
        assert_eq!(body.received.bytes(), 0);
        body.frame().await.expect("a frame").expect("no error");
        assert_eq!(
            body.received.bytes(),
            3,
            "counted on arrival, not at the end"
        );
        let rest = body.collect().await.expect("no error").to_bytes();
        assert_eq!(rest, Bytes::from_static(b"defgh"));
    }

    #[tokio::test]
    async fn the_whole_body_is_counted_once() {
        let mut body = Counted::new(Full::new(Bytes::from(vec![7u8; 4096])));
        while body.frame().await.is_some() {}
        assert_eq!(body.received.bytes(), 4096);
    }
}
