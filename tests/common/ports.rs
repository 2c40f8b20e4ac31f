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

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Whether `host:port` could be bound right now (used to skip tests that need fixed ports).
pub fn bindable(addr: &str) -> bool {
    TcpListener::bind(addr).is_ok()
}
