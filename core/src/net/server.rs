//! The one HTTP server loop: accept TCP connections, optionally complete a TLS handshake,
//! serve each with hyper (HTTP/1.1 and h2c, or HTTP/2 only for gRPC), and shut down
//! gracefully.
//!
//! Shutdown contract (what `Receiver::start` promises): once the token is cancelled the listener
//! is closed at once, connections are told to finish (HTTP/2 GOAWAY, HTTP/1 closes after the
//! current response), in-flight requests are answered, and then the task completes. A client
//! that keeps a request open past [`ServerOptions::drain_deadline`] is cut off, so shutdown
//! always ends.
//!
//! Limits against slow or greedy clients: at most `max_connections` open connections (further
//! ones wait in the kernel's backlog), a TLS handshake and an HTTP/1 request head must arrive
//! within `header_read_timeout` (for HTTP/1 the same timer closes a keep-alive connection that
//! sends nothing), request heads are bounded by `max_header_bytes`, and a connection with no
//! request in flight and no bytes moving for `idle_timeout` is closed gracefully.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::tls::ServerTls;
use super::tls::refusal::HandshakeRefusal;

/// Default bound on a request's headers: Go's `http.DefaultMaxHeaderBytes`, as otelcol has.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 1024 * 1024;

/// The largest HTTP/2 frame clients may send: an OTLP request of a few hundred KiB then arrives
/// in one DATA frame instead of dozens of 16 KiB ones (HTTP/2's default), each parsed, queued and
/// acknowledged on its own. Flow-control windows still bound what a client may send unread.
const MAX_FRAME_SIZE: u32 = 1024 * 1024;

/// How a server speaks.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Serve HTTP/2 (prior knowledge) only, as gRPC needs; otherwise HTTP/1.1 and h2c.
    pub http2_only: bool,
    /// Streams one HTTP/2 connection may have open at once; `None` is hyper's default.
    pub max_concurrent_streams: Option<u32>,
    /// How long in-flight requests may take to finish after shutdown starts.
    pub drain_deadline: Duration,
    /// How long a client may take to complete the TLS handshake, and (HTTP/1) to send its
    /// request headers, including the wait for the next request on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Open connections at once; 0 means no limit.
    pub max_connections: usize,
    /// Close a connection with no request in flight and no traffic for this long.
    pub idle_timeout: Option<Duration>,
    /// Largest request head (HTTP/1 headers, HTTP/2 header list) in bytes.
    pub max_header_bytes: usize,
    /// Serve TLS with this setup; plaintext otherwise.
    pub tls: Option<ServerTls>,
    /// Name used in logs (`otlp/grpc`).
    pub name: String,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            http2_only: false,
            max_concurrent_streams: None,
            drain_deadline: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(60),
            max_connections: 0,
            idle_timeout: None,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            tls: None,
            name: "server".to_string(),
        }
    }
}

/// Binds a TCP listener to `endpoint` (`host:port`; the host is resolved, port 0 picks a free
/// port).
pub async fn bind(endpoint: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(endpoint).await
}

/// Serves connections from `listener` until `shutdown` is cancelled, then drains. `make` builds
/// the service for one connection from the peer's address.
pub fn serve<M, S, B>(
    listener: TcpListener,
    make: M,
    options: ServerOptions,
    shutdown: CancellationToken,
) -> JoinHandle<()>
where
    M: Fn(SocketAddr) -> S + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        // hyper's floor for its read buffer is 8 KiB.
        .max_buf_size(options.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_concurrent_streams)
        .max_frame_size(MAX_FRAME_SIZE)
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX));
    if options.http2_only {
        builder = builder.http2_only();
    }
    if let Some(tls) = &options.tls {
        tls.watch(options.name.clone(), shutdown.clone());
    }
    let slots =
        (options.max_connections > 0).then(|| Arc::new(Semaphore::new(options.max_connections)));
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        // Cancelled only after the listener is closed, so connections drain once nothing new
        // can arrive.
        let draining = CancellationToken::new();
        loop {
            let permit = match &slots {
                Some(slots) => tokio::select! {
                    () = shutdown.cancelled() => break,
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => Some(permit),
                        Err(_) => break,
                    },
                },
                None => None,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Small OTLP responses must not wait for Nagle.
                        let _ = stream.set_nodelay(true);
                        let connection = Connection {
                            builder: builder.clone(),
                            service: make(peer),
                            peer,
                            options: options.clone(),
                            draining: draining.clone(),
                        };
                        connections.spawn(async move {
                            connection.run(stream).await;
                            drop(permit);
                        });
                    }
                    Err(error) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!(server = %options.name, %error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        drop(listener);
        draining.cancel();
        let drain = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(options.drain_deadline, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                server = %options.name,
                deadline = ?options.drain_deadline,
                "requests still open after the drain deadline; closing their connections"
            );
        }
        // Aborts whatever the deadline cut off; a no-op after a clean drain.
        connections.shutdown().await;
    })
}

/// One accepted connection and what serving it needs.
struct Connection<S> {
    builder: auto::Builder<TokioExecutor>,
    service: S,
    peer: SocketAddr,
    options: ServerOptions,
    draining: CancellationToken,
}

impl<S, B> Connection<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    async fn run(self, stream: tokio::net::TcpStream) {
        let activity = Arc::new(Activity::new());
        let stream = Tracked {
            inner: stream,
            activity: activity.clone(),
        };
        let Some(tls) = self.options.tls.clone() else {
            return self.serve(stream, activity).await;
        };
        // A client that opens a socket and never finishes the handshake must not hold a slot.
        let handshake = tls.acceptor.accept(stream);
        let refusal = match tokio::time::timeout(self.options.header_read_timeout, handshake).await
        {
            Ok(Ok(stream)) => return self.serve(stream, activity).await,
            Ok(Err(error)) => {
                tracing::debug!(server = %self.options.name, peer = %self.peer, %error, "TLS handshake failed");
                HandshakeRefusal::classify(&error)
            }
            Err(_) => HandshakeRefusal::timed_out(),
        };
        report_refused_handshake(&self.options.name, self.peer, &refusal);
    }

    async fn serve<I>(self, io: I, activity: Arc<Activity>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = Counted {
            inner: self.service,
            activity: activity.clone(),
        };
        let conn = self
            .builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        tokio::pin!(conn);
        let idle = async {
            match self.options.idle_timeout {
                Some(limit) => activity.idle_for(limit).await,
                None => futures::future::pending().await,
            }
        };
        tokio::pin!(idle);
        let mut closing = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(
                            server = %self.options.name, peer = %self.peer, %error,
                            "connection ended with an error"
                        );
                    }
                    return;
                }
                () = self.draining.cancelled(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                () = &mut idle, if !closing => {
                    tracing::debug!(server = %self.options.name, peer = %self.peer, "closing idle connection");
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Counts a refused handshake and logs it through the refusal log limit: at warn, except a
/// connection closed during the handshake (what TCP health checks do), at info.
fn report_refused_handshake(server: &str, peer: SocketAddr, refusal: &HandshakeRefusal) {
    crate::telemetry::count_tls_handshake_failure(server, refusal.reason);
    let Some(left_out) = crate::telemetry::admit_log(&format!("tls {server}"), refusal.reason)
    else {
        return;
    };
    let reason = refusal.reason;
    let message = &refusal.message;
    if reason == "closed" {
        tracing::info!(server, %peer, reason, similar_not_logged = left_out, "TLS handshake refused: {message}");
    } else {
        tracing::warn!(server, %peer, reason, similar_not_logged = left_out, "TLS handshake refused: {message}");
    }
}

/// When a connection last moved bytes, and how many of its requests are being answered.
struct Activity {
    start: Instant,
    last_nanos: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_nanos: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_nanos.store(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_nanos(self.last_nanos.load(Ordering::Relaxed))
    }

    /// Completes once nothing has happened for `limit` while no request was in flight.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let due = self.last() + limit;
            tokio::time::sleep_until(due).await;
            if self.in_flight.load(Ordering::Relaxed) == 0 && self.last() + limit <= Instant::now()
            {
                return;
            }
            if self.last() + limit <= Instant::now() {
                // A request is being answered without traffic (waiting on a pipeline); check
                // again after another period.
                self.touch();
            }
        }
    }
}

/// A stream that records when it last moved bytes.
struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A service that counts its requests in flight, so a connection waiting on a slow pipeline is
/// not taken for idle.
struct Counted<S> {
    inner: S,
    activity: Arc<Activity>,
}

/// Decrements the in-flight count however the request ends (answered or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl<S, B> Service<Request<Incoming>> for Counted<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(self.activity.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            drop(guard);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    use super::*;

    async fn get(addr: SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8_lossy(&response).into_owned()
    }

    /// A service that reports its first request on `started`, then answers once `release` fires
    /// (never, without one).
    #[derive(Clone)]
    struct Blocking {
        started: Arc<Mutex<Option<oneshot::Sender<()>>>>,
        release: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
    }

    impl Blocking {
        fn new(started: oneshot::Sender<()>, release: Option<oneshot::Receiver<()>>) -> Self {
            Blocking {
                started: Arc::new(Mutex::new(Some(started))),
                release: Arc::new(Mutex::new(release)),
            }
        }
    }

    impl Service<Request<Incoming>> for Blocking {
        type Response = Response<String>;
        type Error = Infallible;
        type Future =
            std::pin::Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

        fn call(&self, _req: Request<Incoming>) -> Self::Future {
            if let Some(tx) = self.started.lock().unwrap().take() {
                let _ = tx.send(());
            }
            let release = self.release.lock().unwrap().take();
            Box::pin(async move {
                match release {
                    Some(rx) => {
                        let _ = rx.await;
                    }
                    None => futures::future::pending::<()>().await,
                }
                Ok(Response::new("done".to_string()))
            })
        }
    }

    #[tokio::test]
    async fn serves_http1_and_closes_the_listener_on_shutdown() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let make = |peer: SocketAddr| {
            hyper::service::service_fn(move |_req: Request<Incoming>| async move {
                Ok::<_, Infallible>(Response::new(format!("hello {}", peer.ip())))
            })
        };
        let handle = serve(listener, make, ServerOptions::default(), shutdown.clone());

        let text = get(addr).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.ends_with("hello 127.0.0.1"), "{text}");

        shutdown.cancel();
        handle.await.unwrap();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "listener still open"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_in_flight_requests() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let (started_tx, started_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        let mut handle = serve(
            listener,
            {
                let svc = Blocking::new(started_tx, Some(release_rx));
                move |_| svc.clone()
            },
            ServerOptions::default(),
            shutdown.clone(),
        );
        let client = tokio::spawn(get(addr));
        started_rx.await.unwrap();
        shutdown.cancel();
        let early = tokio::time::timeout(Duration::from_secs(1), &mut handle).await;
        assert!(
            early.is_err(),
            "server finished while a request was in flight"
        );
        release_tx.send(()).unwrap();
        handle.await.unwrap();
        let text = client.await.unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with("done"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn drain_deadline_cuts_off_stuck_requests() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let (started_tx, started_rx) = oneshot::channel();
        let options = ServerOptions {
            drain_deadline: Duration::from_secs(5),
            ..ServerOptions::default()
        };
        let svc = Blocking::new(started_tx, None);
        let handle = serve(listener, move |_| svc.clone(), options, shutdown.clone());
        let _client = tokio::spawn(get(addr));
        started_rx.await.unwrap();
        shutdown.cancel();
        let finished = tokio::time::timeout(Duration::from_secs(60), handle).await;
        assert!(
            finished.is_ok(),
            "a stuck request held shutdown past the drain deadline"
        );
    }

    fn hello(
        peer: SocketAddr,
    ) -> impl Service<
        Request<Incoming>,
        Response = Response<String>,
        Error = Infallible,
        Future: Send + 'static,
    > + Send
    + 'static {
        hyper::service::service_fn(move |_req: Request<Incoming>| async move {
            Ok::<_, Infallible>(Response::new(format!("hello {}", peer.ip())))
        })
    }

    /// Reads one HTTP/1.1 response (headers and a short body) from a kept-alive connection.
    async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_after_idle_timeout_but_not_before() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ServerOptions {
            idle_timeout: Some(Duration::from_secs(10)),
            // Far away, so that only the idle timer can close the connection.
            header_read_timeout: Duration::from_secs(3600),
            ..ServerOptions::default()
        };
        let _handle = serve(listener, hello, options, CancellationToken::new());
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        let answered = tokio::time::Instant::now();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        let idle = answered.elapsed();
        assert!(
            idle >= Duration::from_secs(10) && idle < Duration::from_secs(12),
            "closed after {idle:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_keeps_its_connection_open_past_idle_timeout() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (started_tx, started_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        let options = ServerOptions {
            idle_timeout: Some(Duration::from_secs(5)),
            ..ServerOptions::default()
        };
        let svc = Blocking::new(started_tx, Some(release_rx));
        let _handle = serve(
            listener,
            move |_| svc.clone(),
            options,
            CancellationToken::new(),
        );
        let client = tokio::spawn(get(addr));
        started_rx.await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        release_tx.send(()).unwrap();
        let text = client.await.unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with("done"),
            "a slow answer was cut off as idle: {text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn connections_past_max_connections_wait_until_one_closes() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ServerOptions {
            max_connections: 1,
            ..ServerOptions::default()
        };
        let _handle = serve(listener, hello, options, CancellationToken::new());
        let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
        first
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
        // The kernel completes the second TCP handshake, but Weir does not serve it yet.
        let second = tokio::spawn(get(addr));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !second.is_finished(),
            "a second connection was served past the limit"
        );
        drop(first);
        let text = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the waiting connection is served once a slot frees")
            .unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }

    #[tokio::test]
    async fn request_heads_larger_than_max_header_bytes_are_refused() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ServerOptions {
            max_header_bytes: 8192,
            ..ServerOptions::default()
        };
        let _handle = serve(listener, hello, options, CancellationToken::new());
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let big = "a".repeat(20_000);
        let request = format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\n\r\n");
        // The server may stop reading once it has refused; a broken pipe is fine.
        let _ = stream.write_all(request.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    }
}
