//! Test support shared by the gRPC and HTTP tests: a consumer that records what it is given and
//! answers with a chosen outcome, and receivers started on free loopback ports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{ComponentId, Consumer, PushOutcome, ReceiverContext};

use super::{GrpcConfig, HttpConfig, OtlpReceiver, OtlpReceiverConfig, Protocols, Running};

/// Records batches and answers every one with `outcome`.
pub(crate) struct FakeConsumer {
    outcome: PushOutcome,
    batches: Mutex<Vec<Batch>>,
}

impl FakeConsumer {
    pub(crate) fn answering(outcome: PushOutcome) -> Arc<FakeConsumer> {
        Arc::new(FakeConsumer {
            outcome,
            batches: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn accepting() -> Arc<FakeConsumer> {
        Self::answering(PushOutcome::Accepted)
    }

    pub(crate) fn batches(&self) -> Vec<Batch> {
        self.batches.lock().unwrap().clone()
    }
}

#[async_trait]
impl Consumer for FakeConsumer {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        self.batches.lock().unwrap().push(batch);
        self.outcome.clone()
    }
}

/// A context feeding `consumers`, and the token that shuts it down.
pub(crate) fn context(
    consumers: &[(Signal, Arc<FakeConsumer>)],
) -> (ReceiverContext, CancellationToken) {
    let shutdown = CancellationToken::new();
    let consumers: BTreeMap<Signal, Arc<dyn Consumer>> = consumers
        .iter()
        .map(|(signal, consumer)| (*signal, consumer.clone() as Arc<dyn Consumer>))
        .collect();
    let ctx = ReceiverContext {
        id: ComponentId::new("otlp", None),
        consumers,
        shutdown: shutdown.clone(),
        host: Default::default(),
    };
    (ctx, shutdown)
}

/// A receiver with both protocols on free loopback ports, shut down when dropped.
pub(crate) struct TestReceiver {
    pub(crate) running: Running,
    shutdown: CancellationToken,
}

impl TestReceiver {
    pub(crate) async fn start(
        consumers: &[(Signal, Arc<FakeConsumer>)],
        grpc: GrpcConfig,
        http: HttpConfig,
    ) -> TestReceiver {
        let config = OtlpReceiverConfig {
            acknowledgements: false,
            protocols: Protocols {
                grpc: Some(GrpcConfig {
                    endpoint: "127.0.0.1:0".into(),
                    ..grpc
                }),
                http: Some(HttpConfig {
                    endpoint: "127.0.0.1:0".into(),
                    ..http
                }),
            },
        };
        let (ctx, shutdown) = context(consumers);
        let running = OtlpReceiver::new(config)
            .run(ctx)
            .await
            .expect("receiver starts");
        TestReceiver { running, shutdown }
    }

    /// A receiver with default settings feeding `consumer` with `signal`.
    pub(crate) async fn for_signal(signal: Signal, consumer: &Arc<FakeConsumer>) -> TestReceiver {
        TestReceiver::start(
            &[(signal, consumer.clone())],
            GrpcConfig::default(),
            HttpConfig::default(),
        )
        .await
    }

    pub(crate) fn grpc_addr(&self) -> std::net::SocketAddr {
        self.running.grpc.expect("grpc enabled")
    }

    pub(crate) fn http_addr(&self) -> std::net::SocketAddr {
        self.running.http.expect("http enabled")
    }

    /// Shuts down and waits for the servers to finish.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        let handle = std::mem::replace(&mut self.running.handle, tokio::spawn(async {}));
        tokio::time::timeout(std::time::Duration::from_secs(10), handle)
            .await
            .expect("receiver stops within 10s")
            .expect("receiver task");
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
