//! The one HTTP server loop: accept TCP connections, serve each with hyper (HTTP/1.1 and h2c, or
//! HTTP/2 only for gRPC), and shut down gracefully.
//!
//! Shutdown contract (what `Receiver::start` promises): once the token is cancelled the listener
//! is closed at once, connections are told to finish (HTTP/2 GOAWAY, HTTP/1 closes after the
//! current response), in-flight requests are answered, and then the task completes. A client
//! that keeps a request open past [`ServerOptions::drain_deadline`] is cut off, so shutdown
//! always ends.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// How a server speaks.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Serve HTTP/2 (prior knowledge) only, as gRPC needs; otherwise HTTP/1.1 and h2c.
    pub http2_only: bool,
    /// Streams one HTTP/2 connection may have open at once; `None` is hyper's default.
    pub max_concurrent_streams: Option<u32>,
    /// How long in-flight requests may take to finish after shutdown starts.
    pub drain_deadline: Duration,
    /// How long an HTTP/1 client may take to send its request headers.
    pub header_read_timeout: Duration,
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
        .header_read_timeout(options.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_concurrent_streams);
    if options.http2_only {
        builder = builder.http2_only();
    }
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Small OTLP responses must not wait for Nagle.
                        let _ = stream.set_nodelay(true);
                        let conn = builder.serve_connection(TokioIo::new(stream), make(peer)).into_owned();
                        let watched = graceful.watch(conn);
                        let name = options.name.clone();
                        connections.spawn(async move {
                            if let Err(error) = watched.await {
                                tracing::debug!(server = %name, %peer, %error, "connection ended with an error");
                            }
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
        let drain = async {
            graceful.shutdown().await;
            while connections.join_next().await.is_some() {}
        };
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
}
