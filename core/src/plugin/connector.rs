//! A plugin instance as a [`Connector`]: `consume` hands the batch to the instance's thread and
//! sends what it emitted during the call into the pipelines the connector feeds, once it
//! answered OK; what it emits from its own threads (a flush timer) reaches them through a
//! bounded channel that [`Connector::run`] serves; at stop it is shut down, and what it emits
//! then is sent on before the pipelines behind it drain.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use weir_plugin_abi::{self as abi, status_name};

use super::adapters::{EMIT_CAPACITY, consume_until_taken};
use super::driver::Driver;
use super::instance::Emission;
use crate::batch::{Batch, Signal};
use crate::component::{Connector, ConnectorError, Outputs, PushOutcome};

/// A plugin connector instance, shared by every pipeline that exports into it.
pub(crate) struct PluginConnector {
    driver: Driver,
    /// Emits from outside a call, until `run` takes them.
    bridge: Mutex<Option<mpsc::Receiver<Emission>>>,
}

impl PluginConnector {
    /// Wraps a started instance. Its emits from outside a call are taken from now on, and wait
    /// (or answer `FULL` beyond [`EMIT_CAPACITY`]) until the runtime runs the connector.
    pub(crate) fn new(driver: Driver) -> PluginConnector {
        let (tx, rx) = mpsc::channel(EMIT_CAPACITY);
        driver.context().attach(tx);
        PluginConnector {
            driver,
            bridge: Mutex::new(Some(rx)),
        }
    }
}

/// Sends each emitted batch into every pipeline of its signal (none: the connector feeds no
/// pipeline of that signal in this config, and the batch is dropped as otelcol drops what a
/// connector has no consumer for).
async fn send_all(outputs: &Outputs, emitted: Vec<Batch>) -> Result<(), ConnectorError> {
    for batch in emitted {
        outputs.send(batch.signal(), batch).await?;
    }
    Ok(())
}

/// Passes one emit from outside a call on and tells the plugin's thread how it went.
async fn forward(outputs: &Outputs, (signal, batch, reply): Emission) {
    let outcome = match outputs.send(signal, batch).await {
        Ok(()) => PushOutcome::Accepted,
        Err(e) => PushOutcome::Failed {
            reason: e.to_string(),
        },
    };
    let _ = reply.send(outcome);
}

#[async_trait]
impl Connector for PluginConnector {
    async fn consume(
        &self,
        _signal: Signal,
        batch: Batch,
        outputs: &Outputs,
    ) -> Result<(), ConnectorError> {
        let mut emitted = Vec::new();
        consume_until_taken(&self.driver, batch, &mut emitted)
            .await
            .map_err(ConnectorError)?;
        send_all(outputs, emitted).await
    }

    async fn run(&self, outputs: Arc<Outputs>, stop: CancellationToken) {
        let taken = self.bridge.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(mut bridge) = taken else {
            return;
        };
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                emission = bridge.recv() => match emission {
                    Some(emission) => forward(&outputs, emission).await,
                    None => break,
                },
            }
        }
        // The plugin's own threads may still emit while it shuts down (and its shutdown may
        // wait for them), so the bridge is served until the shutdown has answered.
        let mut emitted = Vec::new();
        let status = {
            let shutdown = self.driver.shutdown(&mut emitted);
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    status = &mut shutdown => break status,
                    Some(emission) = bridge.recv() => forward(&outputs, emission).await,
                }
            }
        };
        bridge.close();
        while let Ok(emission) = bridge.try_recv() {
            forward(&outputs, emission).await;
        }
        match status {
            Ok(abi::WEIR_OK) | Err(_) => {}
            Ok(status) => {
                tracing::warn!(connector = %self.driver.context().id, status = status_name(status), "plugin connector's shutdown failed; what it emitted is still sent on");
            }
        }
        if let Err(e) = send_all(&outputs, emitted).await {
            tracing::warn!(connector = %self.driver.context().id, error = %e, "what the plugin connector emitted at shutdown could not be sent on");
        }
    }
}
