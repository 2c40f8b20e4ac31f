//! The `/metrics` endpoint: picks the format from the scraper's `Accept` as client_golang's
//! handler does (the first acceptable media range by `q`: `text/plain` version 0.0.4, or, with
//! `enable_open_metrics`, `application/openmetrics-text` version 0.0.1 or 1.0.0; otherwise
//! text), renders under the accumulator's lock, and gzips when the scraper accepts it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::Instant;

use super::accumulator::Accumulator;
use super::render::{Format, render};

/// What every scrape reads.
pub struct Scrape {
    /// The series.
    pub accumulator: Mutex<Accumulator>,
    /// Whether OpenMetrics may be negotiated.
    pub open_metrics: bool,
    /// Whether samples carry their timestamps.
    pub timestamps: bool,
}

impl Scrape {
    /// The body of one scrape in `format`, in pieces.
    pub fn body(&self, format: Format) -> Vec<Bytes> {
        // A poisoned lock means an export panicked mid-update; what it holds is still the
        // last complete value of every other series, so serving it beats failing scrapes.
        let mut accumulator = self
            .accumulator
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        accumulator.sweep(Instant::now());
        render(&accumulator, format, self.timestamps)
    }

    fn answer(&self, request: &Request<Incoming>) -> Response<Pieces> {
        if request.uri().path() != "/metrics" {
            return plain(
                StatusCode::NOT_FOUND,
                "not found: metrics are served on /metrics\n",
            );
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
        }
        let header_text = |name| {
            request
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        let format = negotiate(&header_text(header::ACCEPT), self.open_metrics);
        let mut body = self.body(format);
        let mut response = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, format.content_type());
        if accepts_gzip(&header_text(header::ACCEPT_ENCODING))
            && let Some(compressed) = gzip(&body)
        {
            response = response.header(header::CONTENT_ENCODING, "gzip");
            body = vec![Bytes::from(compressed)];
        }
        if request.method() == Method::HEAD {
            body.clear();
        }
        response
            .body(Pieces::new(body))
            .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response\n"))
    }
}

/// The pieces gzipped into one body (`None` if compressing failed).
fn gzip(pieces: &[Bytes]) -> Option<Vec<u8>> {
    let size: usize = pieces.iter().map(Bytes::len).sum();
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(size / 16), flate2::Compression::fast());
    for piece in pieces {
        encoder.write_all(piece).ok()?;
    }
    encoder.finish().ok()
}

/// A response body sent piece by piece, each piece freed once written; its exact length is
/// known, so it goes with a `Content-Length`.
pub struct Pieces {
    pieces: VecDeque<Bytes>,
    left: u64,
}

impl Pieces {
    fn new(pieces: Vec<Bytes>) -> Pieces {
        let left = pieces.iter().map(|p| p.len() as u64).sum();
        Pieces {
            pieces: pieces.into(),
            left,
        }
    }
}

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let piece = self.pieces.pop_front();
        if let Some(piece) = &piece {
            self.left -= piece.len() as u64;
        }
        Poll::Ready(piece.map(|p| Ok(Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Pieces> {
    let mut response = Response::new(Pieces::new(vec![Bytes::from_static(text.as_bytes())]));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The format for an `Accept` header value.
pub fn negotiate(accept: &str, open_metrics: bool) -> Format {
    let mut ranges: Vec<(f64, usize, &str, Option<&str>)> = Vec::new();
    for (index, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let mut q = 1.0;
        let mut version = None;
        for param in parts {
            if let Some((key, value)) = param.split_once('=') {
                match key.trim() {
                    "q" => q = value.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(value.trim()),
                    _ => {}
                }
            }
        }
        ranges.push((q, index, media, version));
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (q, _, media, version) in ranges {
        if q <= 0.0 {
            continue;
        }
        if media.eq_ignore_ascii_case("text/plain") && matches!(version, None | Some("0.0.4")) {
            return Format::Text;
        }
        if open_metrics
            && media.eq_ignore_ascii_case("application/openmetrics-text")
            && matches!(version, None | Some("0.0.1") | Some("1.0.0"))
        {
            return Format::OpenMetrics;
        }
    }
    Format::Text
}

fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| p.replace(' ', "") == "q=0");
        name.eq_ignore_ascii_case("gzip") && !refused
    })
}

/// The service of one scraper connection.
#[derive(Clone)]
pub struct ScrapeService(pub Arc<Scrape>);

impl hyper::service::Service<Request<Incoming>> for ScrapeService {
    type Response = Response<Pieces>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let scrape = self.0.clone();
        // Rendering 100k series takes milliseconds of CPU: off the connection's task.
        Box::pin(async move {
            let answer = tokio::task::spawn_blocking(move || scrape.answer(&request)).await;
            Ok(answer
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "scrape failed\n")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn open_metrics_only_when_enabled_and_asked() {
        assert_eq!(negotiate(PROMETHEUS_2, true), Format::OpenMetrics);
        assert_eq!(negotiate(PROMETHEUS_2, false), Format::Text);
        assert_eq!(negotiate("", true), Format::Text);
        assert_eq!(negotiate("*/*", true), Format::Text);
        assert_eq!(
            negotiate(
                "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5",
                true
            ),
            Format::Text
        );
        assert_eq!(
            negotiate("application/openmetrics-text;version=2.0.0", true),
            Format::Text
        );
    }

    #[test]
    fn gzip_when_accepted() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, GZIP;q=0.5"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip(""));
    }
}
