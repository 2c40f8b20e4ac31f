//! Just enough HTTP/1.1 to take OTLP/HTTP `POST`s from a well-behaved client: a request head up
//! to its blank line, a `Content-Length` body (no chunked bodies), kept-alive connections, and
//! an empty `200` for every request.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Buf, Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::invalid;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;
/// The largest body taken.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Serves one connection until the client closes it or sends something this cannot follow.
pub(super) async fn serve(
    mut stream: TcpStream,
    tx: mpsc::Sender<Bytes>,
    requests: &AtomicU64,
) -> io::Result<()> {
    let mut buf = BytesMut::with_capacity(super::READ_BUFFER);
    let mut out = BytesMut::with_capacity(RESPONSE.len() * 8);
    loop {
        while let Some(head) = head_length(&buf)? {
            let body = content_length(&buf[..head])?;
            if buf.len() < head + body {
                buf.reserve(head + body - buf.len());
                break;
            }
            buf.advance(head);
            let message = buf.split_to(body).freeze();
            if tx.send(message).await.is_err() {
                return Ok(());
            }
            out.extend_from_slice(RESPONSE);
            requests.fetch_add(1, Ordering::Relaxed);
        }
        if !super::answer_and_read(&mut stream, &mut out, &mut buf).await? {
            return Ok(());
        }
    }
}

/// The length of the request head (through its blank line), once it is all in `buf`.
fn head_length(buf: &[u8]) -> io::Result<Option<usize>> {
    match buf.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => Ok(Some(at + 4)),
        None if buf.len() > MAX_HEAD => Err(invalid("request head too large")),
        None => Ok(None),
    }
}

/// The body length the head announces.
fn content_length(head: &[u8]) -> io::Result<usize> {
    let mut length = None;
    for line in head.split(|b| *b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(invalid("chunked bodies are not taken"));
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let value = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|v| *v <= MAX_BODY)
                .ok_or_else(|| invalid("bad content-length"))?;
            length = Some(value);
        }
    }
    length.ok_or_else(|| invalid("no content-length"))
}
