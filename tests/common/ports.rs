//! Free local ports, and waiting for a port to accept connections.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// A port on 127.0.0.1 that nothing listens on right now (the OS picks it; the listener is
/// closed again, so there is a small window in which another process could take it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}

/// `N` different free ports on 127.0.0.1, found with `N` sockets bound at the same time.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] = std::array::from_fn(|_| {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0")
    });
    listeners.map(|l| {
        l.local_addr()
            .expect("local address of a bound listener")
            .port()
    })
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Whether `host:port` could be bound right now (used to skip tests that need fixed ports).
pub fn bindable(addr: &str) -> bool {
    TcpListener::bind(addr).is_ok()
}

/// A port on 127.0.0.1 held by a socket that is bound but not listening: connections to it are
/// refused, as to a backend that is down, yet no other socket (not even the ephemeral source
/// port of some client's connection) can take it before the test brings the backend up with
/// [`Reserved::listen`]. A port from [`free_port`] is released at once and, under the parallel
/// load of a test run, may be taken in between.
pub struct Reserved(tokio::net::TcpSocket);

impl Reserved {
    pub fn new() -> Reserved {
        let socket = tokio::net::TcpSocket::new_v4().expect("creating a TCP socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("binding 127.0.0.1:0");
        Reserved(socket)
    }

    pub fn port(&self) -> u16 {
        self.0
            .local_addr()
            .expect("local address of a bound socket")
            .port()
    }

    /// Starts listening on the reserved port (inside a tokio runtime).
    pub fn listen(self) -> tokio::net::TcpListener {
        self.0.listen(1024).expect("listening on the reserved port")
    }
}
