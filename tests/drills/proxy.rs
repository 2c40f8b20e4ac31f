//! A TCP proxy in front of the backend that the drills take down and bring back: down closes
//! its listening socket (new connections are refused, as by a backend that is not running) and
//! cuts every open connection (requests in flight lose their answers); up listens again on the
//! same port. The backend behind it keeps running, so its counts cover the whole drill.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

struct Shared {
    target: SocketAddr,
    port: u16,
    /// What the drill wants.
    want_up: AtomicBool,
    /// What the accept thread has done about it.
    listening: AtomicBool,
    stop: AtomicBool,
    /// Both ends of every open connection, to cut them.
    open: Mutex<Vec<TcpStream>>,
}

/// The proxy; dropping it closes everything.
pub struct Proxy {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`.
    pub fn start(target: SocketAddr, up: bool) -> Proxy {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding the proxy's port");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            target,
            port,
            want_up: AtomicBool::new(up),
            listening: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let first = up.then_some(listener);
        let accept = std::thread::Builder::new()
            .name("drill-proxy".into())
            .spawn({
                let shared = shared.clone();
                move || accept_loop(&shared, first)
            })
            .expect("spawning the proxy thread");
        let proxy = Proxy {
            shared,
            accept: Some(accept),
        };
        proxy.wait_state(up);
        proxy
    }

    /// `http://127.0.0.1:PORT`, for Weir's exporter.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.shared.port)
    }

    /// Takes the backend down: refuses new connections, cuts the open ones.
    pub fn down(&self) {
        self.shared.want_up.store(false, Ordering::SeqCst);
        self.wait_state(false);
        cut_all(&self.shared);
    }

    /// Brings the backend back on the same port.
    pub fn up(&self) {
        self.shared.want_up.store(true, Ordering::SeqCst);
        self.wait_state(true);
    }

    fn wait_state(&self, up: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.shared.listening.load(Ordering::SeqCst) != up {
            assert!(
                Instant::now() < deadline,
                "the proxy did not go {} within 10 s",
                if up { "up" } else { "down" }
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        cut_all(&self.shared);
    }
}

fn cut_all(shared: &Shared) {
    let open = std::mem::take(&mut *shared.open.lock().unwrap_or_else(|e| e.into_inner()));
    for stream in open {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn accept_loop(shared: &Shared, mut listener: Option<TcpListener>) {
    if let Some(l) = &listener {
        l.set_nonblocking(true).expect("non-blocking listener");
        shared.listening.store(true, Ordering::SeqCst);
    }
    while !shared.stop.load(Ordering::SeqCst) {
        let want_up = shared.want_up.load(Ordering::SeqCst);
        if listener.is_some() && !want_up {
            listener = None;
            shared.listening.store(false, Ordering::SeqCst);
        } else if listener.is_none() && want_up {
            // std sets SO_REUSEADDR, so the port can be bound again at once.
            match TcpListener::bind((Ipv4Addr::LOCALHOST, shared.port)) {
                Ok(l) => {
                    l.set_nonblocking(true).expect("non-blocking listener");
                    listener = Some(l);
                    shared.listening.store(true, Ordering::SeqCst);
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let Some(l) = &listener else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        match l.accept() {
            Ok((client, _)) => forward(shared, client),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Connects `client` to the target and copies both ways on two threads.
fn forward(shared: &Shared, client: TcpStream) {
    let _ = client.set_nonblocking(false);
    let Ok(upstream) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(2)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (Ok(c2), Ok(u2), Ok(c3), Ok(u3)) = (
        client.try_clone(),
        upstream.try_clone(),
        client.try_clone(),
        upstream.try_clone(),
    ) else {
        return;
    };
    shared
        .open
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend([c3, u3]);
    std::thread::spawn(move || pipe(client, upstream));
    std::thread::spawn(move || pipe(u2, c2));
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
