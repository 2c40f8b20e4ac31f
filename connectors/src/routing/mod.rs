//! The `routing` connector: otelcol-contrib's. Each span, metric data point or log record of a
//! batch goes to the pipelines of the first route of `table` whose condition holds for it
//! (every such route with `match_once: false`), and what no route takes to
//! `default_pipelines`, or nowhere (counted) when there are none. Routes are decided per
//! resource (`resource`, the default), per item (`span`, `metric`, `datapoint`, `log`), or per
//! batch (`request`: the client's headers, which the OTLP receiver keeps with
//! `include_metadata: true`).
//!
//! It routes on the encoded batch: conditions read items on the wire, and each group of
//! pipelines that gets the same items gets one request cut from the batch
//! ([`weir_core::batch::select`]); when every item goes the same way, the batch is passed on as
//! it came. Every part carries the batch's acknowledgement, so the sender hears back once each
//! pipeline it went to has delivered its part.

mod config;
mod request;
mod split;
mod table;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    BuildError, Connector, ConnectorError, ConnectorFactory, CreateSettings, Outputs, Stability,
};
use weir_core::telemetry;
use weir_processors::error_mode::ErrorPolicy;

pub use config::{MatchOnce, RouteConfig, RoutingConfig};
use split::{Decide, cut, groups};
use table::{Table, request_answers};

/// Factory of the `routing` connector.
pub struct RoutingFactory;

impl ConnectorFactory for RoutingFactory {
    type Config = RoutingConfig;
    const TYPE: &'static str = "routing";
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Traces),
        (Signal::Metrics, Signal::Metrics),
        (Signal::Logs, Signal::Logs),
    ];
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &RoutingConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Connector>, BuildError> {
        let id = settings.id.to_string();
        Ok(Arc::new(Routing {
            table: Table::new(config).map_err(BuildError)?,
            policy: Mutex::new(ErrorPolicy::new(config.error_mode, &id)),
            unrouted: telemetry::counter(
                "weir_connector_routing_unrouted_items_total",
                "Spans, data points and log records no route took, with no default_pipelines \
                 to go to: dropped.",
                &[("connector", &id)],
            ),
        }))
    }

    fn named_pipelines(&self, config: &RoutingConfig) -> Vec<(String, String)> {
        let routes = config.table.iter().enumerate().flat_map(|(i, route)| {
            route
                .pipelines
                .iter()
                .enumerate()
                .map(move |(j, p)| (format!("table.{i}.pipelines.{j}"), p.clone()))
        });
        let defaults = config
            .default_pipelines
            .iter()
            .enumerate()
            .map(|(j, p)| (format!("default_pipelines.{j}"), p.clone()));
        routes.chain(defaults).collect()
    }
}

/// The `routing` connector.
pub struct Routing {
    table: Table,
    policy: Mutex<ErrorPolicy>,
    unrouted: Arc<AtomicU64>,
}

/// The bits of `names` among `outputs` (`None` names one it does not feed).
fn mask_of(names: &[String], outputs: &[weir_core::component::Output]) -> Result<u64, String> {
    let mut mask = 0;
    for name in names {
        let at = outputs
            .iter()
            .position(|o| o.pipeline == *name)
            .ok_or_else(|| format!("routes to `{name}`, which it does not feed"))?;
        mask |= 1 << at;
    }
    Ok(mask)
}

#[async_trait]
impl Connector for Routing {
    async fn consume(
        &self,
        signal: Signal,
        batch: Batch,
        outputs: &Outputs,
    ) -> Result<(), ConnectorError> {
        let fed = outputs.pipelines(signal);
        if fed.len() > 64 {
            return Err(ConnectorError(format!(
                "routing feeds {} {signal} pipelines; it can route to at most 64",
                fed.len()
            )));
        }
        let masks: Result<Vec<u64>, String> = self
            .table
            .routes
            .iter()
            .map(|r| mask_of(&r.pipelines, fed))
            .collect();
        let route_masks = masks.map_err(ConnectorError)?;
        let default_mask = mask_of(&self.table.default, fed).map_err(ConnectorError)?;
        let request = request_answers(&self.table, batch.meta());
        let mut decide = Decide::new(
            &self.table,
            request,
            &route_masks,
            default_mask,
            &self.policy,
        );
        let whole = self.table.per_batch;
        if whole {
            // Decided for the whole batch: one mask stands for every item.
            decide.decide_batch();
        } else {
            weir_core::batch::select::select(signal, &batch.to_bytes(), &mut decide)
                .map_err(|e| ConnectorError(format!("cannot route this batch: {e}")))?;
        }
        if let Some(failed) = decide.failed {
            return Err(ConnectorError(failed));
        }
        let items = decide.masks;
        let unrouted = match (whole, items.as_slice()) {
            (true, [0]) => batch.items(),
            (true, _) => 0,
            (false, _) => items.iter().filter(|m| **m == 0).count(),
        };
        if unrouted > 0 {
            self.unrouted.fetch_add(unrouted as u64, Ordering::Relaxed);
        }
        for group in groups(&items, fed.len()) {
            let part = cut(&batch, &items, &group).map_err(ConnectorError)?;
            outputs.send_to(signal, &group.pipelines, part).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
