//! What a batch knows about its origin.

use std::net::SocketAddr;
use std::time::SystemTime;

/// The client that sent a batch.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// Remote address of the connection, when known.
    pub peer: Option<SocketAddr>,
    /// Request headers or gRPC metadata kept for processors (lower-case names).
    pub headers: Vec<(String, String)>,
}

/// Metadata shared by every clone of a batch.
#[derive(Clone, Debug)]
pub struct BatchMeta {
    /// Who sent it.
    pub client: ClientInfo,
    /// When the receiver accepted it.
    pub received_at: SystemTime,
}

impl Default for BatchMeta {
    fn default() -> Self {
        BatchMeta {
            client: ClientInfo::default(),
            received_at: SystemTime::now(),
        }
    }
}
