//! What a batch knows about its origin, and who waits for it to be delivered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use super::ack::AckGuard;

/// The client that sent a batch.
#[derive(Clone, Default)]
pub struct ClientInfo {
    /// Remote address of the connection, when known.
    pub peer: Option<SocketAddr>,
    /// Request headers or gRPC metadata kept for processors (lower-case names).
    pub headers: Vec<(String, String)>,
}

/// Headers whose values are credentials: kept for processors, never printed.
pub const SENSITIVE_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
];

/// Whether a header's value must not be printed.
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE_HEADERS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

/// Headers are printed with credentials redacted: batches end up in debug logs.
impl std::fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if is_sensitive_header(name) {
                    "[REDACTED]"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("ClientInfo")
            .field("peer", &self.peer)
            .field("headers", &headers)
            .finish()
    }
}

/// Metadata shared by every clone of a batch.
#[derive(Clone, Debug)]
pub struct BatchMeta {
    /// Who sent it.
    pub client: ClientInfo,
    /// When the receiver accepted it.
    pub received_at: SystemTime,
    /// Senders waiting to hear that the batch was delivered (end-to-end acknowledgements).
    /// A merged batch carries the guards of every batch it was made of.
    pub acks: Vec<Arc<AckGuard>>,
    /// The sender waits until the batch is delivered or stored durably before it is answered
    /// (the receiver's `acknowledgements: true`).
    pub acknowledge: bool,
    /// The sender hears of delivery through a guard of its own in `acks`, so the pipelines
    /// answer it as soon as the batch is admitted, whatever `acknowledge` and the queues'
    /// `wait_for_result` say. A receiver that reads ahead (filelog) keeps several batches in
    /// flight this way, in order, instead of waiting for each before offering the next.
    pub sender_holds_ack: bool,
    /// When the client stops waiting for an answer (gRPC `grpc-timeout`), if it said.
    pub deadline: Option<tokio::time::Instant>,
    /// How the batch arrived (`grpc`, `http`), for the receivers' `transport` metric label;
    /// `None` when the receiver does not say.
    pub transport: Option<&'static str>,
}

impl Default for BatchMeta {
    fn default() -> Self {
        BatchMeta {
            client: ClientInfo::default(),
            received_at: SystemTime::now(),
            acks: Vec::new(),
            acknowledge: false,
            sender_holds_ack: false,
            deadline: None,
            transport: None,
        }
    }
}

impl BatchMeta {
    /// Marks every waiting sender's batch as not delivered.
    pub fn fail_acks(&self, reason: &str) {
        for ack in &self.acks {
            ack.fail(reason);
        }
    }

    /// Tells the waiting sender that a destination rejected `rejected` of the batch's items.
    /// Only a batch that came from one sender can say whose items they were; for a batch
    /// merged from several the rejection is counted by the exporter but reaches no one.
    pub fn reject_acks(&self, rejected: u64, message: &str) {
        if let [ack] = self.acks.as_slice() {
            ack.reject(rejected, message);
        }
    }

    /// Metadata for a batch merged from several: every one's guards, and the first one's
    /// client if every one came with the same headers, else a client without headers (or
    /// peer): what a `routing` connector reads as the request must not be one sender's
    /// headers over another sender's data.
    pub fn merged<'a>(metas: impl IntoIterator<Item = &'a Arc<BatchMeta>>) -> Arc<BatchMeta> {
        let mut metas = metas.into_iter();
        let Some(first) = metas.next() else {
            return Arc::new(BatchMeta::default());
        };
        let mut acks = first.acks.clone();
        let mut same_client = true;
        for meta in metas {
            acks.extend(meta.acks.iter().cloned());
            same_client &= meta.client.headers == first.client.headers;
        }
        if acks.len() == first.acks.len() && same_client {
            return first.clone();
        }
        let client = if same_client {
            first.client.clone()
        } else {
            ClientInfo::default()
        };
        Arc::new(BatchMeta {
            acks,
            client,
            ..(**first).clone()
        })
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    fn from(tenant: &str) -> Arc<BatchMeta> {
        Arc::new(BatchMeta {
            client: ClientInfo {
                peer: None,
                headers: vec![("x-tenant".into(), tenant.into())],
            },
            ..BatchMeta::default()
        })
    }

    #[test]
    fn merged_batch_keeps_headers_only_when_every_sender_sent_the_same() {
        let same = BatchMeta::merged(&[from("acme"), from("acme")]);
        assert_eq!(same.client.headers, from("acme").client.headers);
        let mixed = BatchMeta::merged(&[from("acme"), from("ecorp")]);
        assert!(mixed.client.headers.is_empty(), "{:?}", mixed.client);
    }

    #[test]
    fn debug_output_redacts_credential_headers_only() {
        let info = ClientInfo {
            peer: None,
            headers: vec![
                ("authorization".into(), "Bearer s3cret".into()),
                ("x-tenant".into(), "acme".into()),
            ],
        };
        let printed = format!("{info:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("acme"), "{printed}");
    }
}
