//! `weir-gen floor`: the least an OTLP trace collector must do, as a yardstick for the
//! benchmark. It reads each request, answers it at once, concatenates the messages and sends
//! them on in batches, and does nothing else: no protobuf walk, no HPACK decoding, no routing, no
//! queue. What it costs per span on a machine is the part of any collector's cost that comes from
//! the kernel, the sockets and the runtime; what a collector costs above it is its own work.
//!
//! It speaks just enough HTTP/2 ([`h2`]) and HTTP/1.1 ([`h1`]) for a well-behaved client such as
//! `weir-gen traces`, and trusts it: it is a measuring instrument, not a server to expose. Bad
//! input closes the connection (never panics), and everything it takes is traces.

mod forward;
mod h1;
mod h2;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::batch::Signal;
use weir_core::net::Compression;

use crate::generator::{Protocol, Sender};

/// Messages a connection may hand the forwarder before it waits (backpressure).
const CHANNEL_DEPTH: usize = 64;
/// Reads go into a buffer of this size, topped up when less than `READ_ROOM` is free.
const READ_BUFFER: usize = 256 * 1024;
const READ_ROOM: usize = 64 * 1024;

/// What `weir-gen floor` listens on and where it sends.
#[derive(Clone, Debug)]
pub struct FloorConfig {
    /// OTLP/gRPC (HTTP/2 prior knowledge) listen address.
    pub grpc: Option<String>,
    /// OTLP/HTTP (HTTP/1.1, protobuf) listen address.
    pub http: Option<String>,
    /// Where batches go (`host:port` or URL).
    pub to: String,
    /// How batches go.
    pub protocol: Protocol,
    /// Send once this many bytes are held.
    pub batch_bytes: usize,
    /// Send what is held this long after its first message.
    pub timeout: Duration,
}

/// Counters of one floor.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    batches: AtomicU64,
    bytes_sent: AtomicU64,
    failed_sends: AtomicU64,
    dropped_batches: AtomicU64,
}

/// What a floor did, printed when it stops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FloorStats {
    /// Requests answered.
    pub requests: u64,
    /// Batches the far end accepted.
    pub batches: u64,
    /// Bytes of those batches.
    pub bytes_sent: u64,
    /// Sends that failed or were refused (each is retried).
    pub failed_sends: u64,
    /// Batches given up after 10 s of failed sends (their spans are lost).
    pub dropped_batches: u64,
}

/// A running floor.
pub struct FloorHandle {
    /// Bound OTLP/gRPC address.
    pub grpc_addr: Option<SocketAddr>,
    /// Bound OTLP/HTTP address.
    pub http_addr: Option<SocketAddr>,
    stop: CancellationToken,
    listeners: Vec<JoinHandle<()>>,
    forwarder: JoinHandle<()>,
    counters: Arc<Counters>,
}

impl FloorHandle {
    /// Binds the listeners and starts forwarding.
    pub async fn start(config: FloorConfig) -> anyhow::Result<FloorHandle> {
        let sender = Sender::new(
            config.protocol,
            Signal::Traces,
            &config.to,
            Compression::None,
            Duration::from_secs(10),
        )?;
        let counters = Arc::new(Counters::default());
        let stop = CancellationToken::new();
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let forwarder = tokio::spawn(forward::run(
            rx,
            sender,
            config.batch_bytes,
            config.timeout,
            counters.clone(),
        ));
        let mut listeners = Vec::new();
        let mut addrs = [None, None];
        for (slot, address, serve) in [(0, &config.grpc, Serve::H2), (1, &config.http, Serve::H1)] {
            let Some(address) = address else { continue };
            let listener = TcpListener::bind(address).await?;
            addrs[slot] = Some(listener.local_addr()?);
            listeners.push(tokio::spawn(accept(
                listener,
                serve,
                tx.clone(),
                counters.clone(),
                stop.clone(),
            )));
        }
        let [grpc_addr, http_addr] = addrs;
        Ok(FloorHandle {
            grpc_addr,
            http_addr,
            stop,
            listeners,
            forwarder,
            counters,
        })
    }

    /// Stops listening, closes the connections, sends what is held and reports.
    pub async fn shutdown(self) -> FloorStats {
        self.stop.cancel();
        for listener in self.listeners {
            let _ = listener.await;
        }
        // Every sender is gone with the connections: the forwarder flushes and ends.
        let _ = self.forwarder.await;
        let c = &self.counters;
        FloorStats {
            requests: c.requests.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            bytes_sent: c.bytes_sent.load(Ordering::Relaxed),
            failed_sends: c.failed_sends.load(Ordering::Relaxed),
            dropped_batches: c.dropped_batches.load(Ordering::Relaxed),
        }
    }
}

#[derive(Clone, Copy)]
enum Serve {
    H1,
    H2,
}

async fn accept(
    listener: TcpListener,
    serve: Serve,
    tx: mpsc::Sender<Bytes>,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (tx, counters, stop) = (tx.clone(), counters.clone(), stop.clone());
        connections.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                _ = connection(stream, serve, tx, counters) => {}
            }
        });
    }
    while connections.join_next().await.is_some() {}
}

async fn connection(
    stream: TcpStream,
    serve: Serve,
    tx: mpsc::Sender<Bytes>,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    match serve {
        Serve::H1 => h1::serve(stream, tx, &counters.requests).await,
        Serve::H2 => h2::serve(stream, tx, &counters.requests).await,
    }
}

/// Writes the answers gathered in `out`, then reads what comes next into `buf`; `false` once
/// the client has closed the connection.
async fn answer_and_read(
    stream: &mut TcpStream,
    out: &mut BytesMut,
    buf: &mut BytesMut,
) -> std::io::Result<bool> {
    if !out.is_empty() {
        stream.write_all(out).await?;
        out.clear();
    }
    if buf.capacity() - buf.len() < READ_ROOM {
        buf.reserve(READ_BUFFER);
    }
    Ok(stream.read_buf(buf).await? != 0)
}

/// What a connection the floor cannot follow ends with.
fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests;
