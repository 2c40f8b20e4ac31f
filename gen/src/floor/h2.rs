//! Just enough HTTP/2 (prior knowledge, RFC 9113) to take unary gRPC calls from a well-behaved
//! client: frames are cut from the read buffer, header blocks are skipped (never decoded: the
//! answer does not depend on them, and the client's HPACK table only matters to a decoder), and
//! every stream that ends is answered `200`, an empty message and `grpc-status: 0`, with no
//! dynamic-table state on this side either. The windows are opened wide once, so the client
//! never waits for flow control.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::invalid;

pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADER_LEN: usize = 9;
/// The largest frame a client may send (SETTINGS_MAX_FRAME_SIZE); a request of a few hundred
/// KiB arrives in one DATA frame.
const MAX_FRAME: u32 = 1 << 20;
/// Every window this side grants: the protocol's largest.
const WINDOW: u32 = (1 << 31) - 1;
/// The connection window HTTP/2 starts with.
const INITIAL_WINDOW: u32 = 65_535;
/// Give back connection window once this much was taken.
const REFILL: u64 = 1 << 30;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;

/// `:status: 200` (static table index 8), then `content-type: application/grpc` as a literal
/// without indexing whose name is static index 31.
const RESPONSE_HEADERS: &[u8] = b"\x88\x0f\x10\x10application/grpc";
/// An empty message: not compressed, length 0.
const RESPONSE_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];
/// `grpc-status: 0` as a literal without indexing with a new name.
const RESPONSE_TRAILERS: &[u8] = b"\x00\x0bgrpc-status\x010";

/// Serves one connection until the client closes it or sends something this cannot follow.
pub(super) async fn serve(
    mut stream: TcpStream,
    tx: mpsc::Sender<Bytes>,
    requests: &AtomicU64,
) -> io::Result<()> {
    let mut out = BytesMut::with_capacity(1024);
    frame(&mut out, SETTINGS, 0, 0, |b| {
        setting(b, 0x4, WINDOW); // SETTINGS_INITIAL_WINDOW_SIZE
        setting(b, 0x5, MAX_FRAME); // SETTINGS_MAX_FRAME_SIZE
    });
    frame(&mut out, WINDOW_UPDATE, 0, 0, |b| {
        b.put_u32(WINDOW - INITIAL_WINDOW)
    });
    stream.write_all(&out).await?;
    out.clear();

    let mut buf = BytesMut::with_capacity(super::READ_BUFFER);
    while buf.len() < PREFACE.len() {
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
    if &buf[..PREFACE.len()] != PREFACE {
        return Err(invalid("not an HTTP/2 connection preface"));
    }
    buf.advance(PREFACE.len());

    // Bodies of streams still open; a request rarely spans more than one DATA frame.
    let mut open: Vec<(u32, BytesMut)> = Vec::new();
    let mut taken = 0u64;
    loop {
        while buf.len() >= HEADER_LEN {
            let len = usize::try_from(u32::from_be_bytes([0, buf[0], buf[1], buf[2]]))
                .map_err(|_| invalid("frame length"))?;
            if len > MAX_FRAME as usize {
                return Err(invalid("frame larger than SETTINGS_MAX_FRAME_SIZE"));
            }
            if buf.len() < HEADER_LEN + len {
                buf.reserve(HEADER_LEN + len - buf.len());
                break;
            }
            let (kind, flags) = (buf[3], buf[4]);
            let id = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
            buf.advance(HEADER_LEN);
            let payload = buf.split_to(len);
            match kind {
                DATA => {
                    taken += len as u64;
                    let data = unpad(payload, flags)?;
                    let ended = flags & END_STREAM != 0;
                    let body = match open.iter().position(|(s, _)| *s == id) {
                        Some(at) if ended => {
                            let (_, mut body) = open.swap_remove(at);
                            body.extend_from_slice(&data);
                            body
                        }
                        Some(at) => {
                            open[at].1.extend_from_slice(&data);
                            continue;
                        }
                        None if ended => data,
                        None => {
                            open.push((id, data));
                            continue;
                        }
                    };
                    // The gRPC message after its 5-byte prefix (compression flag, length).
                    if body.len() >= 5 {
                        let message = body.freeze().slice(5..);
                        if tx.send(message).await.is_err() {
                            return Ok(());
                        }
                    }
                    answer(&mut out, id);
                    requests.fetch_add(1, Ordering::Relaxed);
                }
                // A call with no body.
                HEADERS if flags & END_STREAM != 0 => {
                    answer(&mut out, id);
                    requests.fetch_add(1, Ordering::Relaxed);
                }
                SETTINGS if flags & ACK == 0 => frame(&mut out, SETTINGS, ACK, 0, |_| {}),
                PING if flags & ACK == 0 => frame(&mut out, PING, ACK, 0, |b| b.put(&payload[..])),
                RST_STREAM => open.retain(|(s, _)| *s != id),
                GOAWAY => {
                    stream.write_all(&out).await?;
                    return Ok(());
                }
                // WINDOW_UPDATE, PRIORITY, CONTINUATION, acknowledgements, unknown types: the
                // answers are a few bytes and never wait for window; headers are not read.
                _ => {}
            }
        }
        if taken >= REFILL {
            let grant = u32::try_from(taken).unwrap_or(WINDOW);
            frame(&mut out, WINDOW_UPDATE, 0, 0, |b| b.put_u32(grant));
            taken -= u64::from(grant);
        }
        if !super::answer_and_read(&mut stream, &mut out, &mut buf).await? {
            return Ok(());
        }
    }
}

/// The three frames that end a unary call well.
fn answer(out: &mut BytesMut, id: u32) {
    frame(out, HEADERS, END_HEADERS, id, |b| b.put(RESPONSE_HEADERS));
    frame(out, DATA, 0, id, |b| b.put(RESPONSE_MESSAGE));
    frame(out, HEADERS, END_HEADERS | END_STREAM, id, |b| {
        b.put(RESPONSE_TRAILERS)
    });
}

/// A DATA frame's data without its padding.
fn unpad(mut payload: BytesMut, flags: u8) -> io::Result<BytesMut> {
    if flags & PADDED == 0 {
        return Ok(payload);
    }
    let Some(&pad) = payload.first() else {
        return Err(invalid("padded frame without a pad length"));
    };
    let end = payload
        .len()
        .checked_sub(usize::from(pad))
        .filter(|end| *end >= 1)
        .ok_or_else(|| invalid("padding longer than the frame"))?;
    payload.truncate(end);
    payload.advance(1);
    Ok(payload)
}

fn frame(out: &mut BytesMut, kind: u8, flags: u8, id: u32, body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_bytes(0, HEADER_LEN);
    body(out);
    let len = (out.len() - start - HEADER_LEN) as u32;
    out[start..start + 3].copy_from_slice(&len.to_be_bytes()[1..]);
    out[start + 3] = kind;
    out[start + 4] = flags;
    out[start + 5..start + 9].copy_from_slice(&id.to_be_bytes());
}

fn setting(out: &mut BytesMut, id: u16, value: u32) {
    out.put_u16(id);
    out.put_u32(value);
}
