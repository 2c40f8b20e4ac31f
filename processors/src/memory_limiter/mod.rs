//! The `memory_limiter` processor: refuses new data, with a retryable error and a delay, while
//! the process uses more memory than its limit, so clients hold their data instead of Weir
//! growing until it is killed. otelcol's options and limits; the measure and the decision rule
//! are in [`limiter`]. Where otelcol forces a garbage collection over the soft limit, Weir asks
//! the allocator to give its free memory back ([`release`]).
//!
//! The refusal happens at the door of the pipelines, through [`Processor::admission`], while
//! the client still waits for its answer; batches that got in pass through `process`
//! unchanged and undecoded. Every pipeline that lists the same id shares one limiter, as in
//! otelcol, through a process-wide registry keyed by the id.

mod config;
mod host;
mod limiter;
mod release;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use async_trait::async_trait;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    Admission, BuildError, ComponentId, CreateSettings, ProcessError, Processor, ProcessorFactory,
    Stability,
};

pub use config::{Limits, MemoryLimiterConfig};
pub use host::{Available, AvailableSource, HostError, HostFiles, ResidentSet};
pub use limiter::{MemoryLimiter, Meter, Pressure, ProcessMeter, Reading};

/// Factory of the `memory_limiter` processor.
pub struct MemoryLimiterFactory;

impl ProcessorFactory for MemoryLimiterFactory {
    type Config = MemoryLimiterConfig;
    const TYPE: &'static str = "memory_limiter";
    const SIGNALS: &'static [Signal] = &[Signal::Traces, Signal::Metrics, Signal::Logs];
    const STABILITY: Stability = Stability::Beta;

    fn create(
        &self,
        config: &MemoryLimiterConfig,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError> {
        let limiter = shared(&settings.id, config, || {
            build(&settings.id, config, &HostFiles::system(), || {
                Box::new(ProcessMeter(ResidentSet::of_this_process()))
            })
        })?;
        Ok(Box::new(MemoryLimiterProcessor { limiter }))
    }
}

/// Limiters alive, by component id, with the config each was built from. Weak, so a limiter
/// goes when the last pipeline using it does (a config reload then starts afresh).
type Shared = BTreeMap<ComponentId, (MemoryLimiterConfig, Weak<MemoryLimiter>)>;

static SHARED: LazyLock<Mutex<Shared>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// The limiter of `id`: the one already alive with the same config, or a new one from `make`.
fn shared(
    id: &ComponentId,
    config: &MemoryLimiterConfig,
    make: impl FnOnce() -> Result<Arc<MemoryLimiter>, BuildError>,
) -> Result<Arc<MemoryLimiter>, BuildError> {
    let mut limiters = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    limiters.retain(|_, (_, weak)| weak.strong_count() > 0);
    if let Some((built_from, weak)) = limiters.get(id)
        && built_from == config
        && let Some(limiter) = weak.upgrade()
    {
        return Ok(limiter);
    }
    let limiter = make()?;
    limiters.insert(id.clone(), (config.clone(), Arc::downgrade(&limiter)));
    Ok(limiter)
}

/// Resolves the limits (reading the memory available for percentages), takes the first
/// measurement and says at startup what the limits are.
fn build(
    id: &ComponentId,
    config: &MemoryLimiterConfig,
    host: &HostFiles,
    meter: impl FnOnce() -> Box<dyn Meter>,
) -> Result<Arc<MemoryLimiter>, BuildError> {
    let limits = if config.uses_percentages() {
        let available = host
            .available()
            .map_err(|e| BuildError(format!("cannot size the percentage limits: {e}")))?;
        tracing::info!(
            processor = %id,
            available_mib = available.bytes / (1024 * 1024),
            from = available.source.describe(),
            "memory available to the process"
        );
        config.limits(available.bytes)
    } else {
        config.limits(0)
    };
    let limiter = MemoryLimiter::new(id.clone(), limits, config.check_interval, meter())
        .map_err(|e| BuildError(format!("cannot measure the process's memory: {e}")))?;
    let rss = limiter.reading().rss;
    tracing::info!(
        processor = %id,
        hard_limit_mib = limits.hard / (1024 * 1024),
        soft_limit_mib = limits.soft / (1024 * 1024),
        rss_mib = rss / (1024 * 1024),
        "memory limiter ready"
    );
    if rss > limits.soft {
        tracing::warn!(
            processor = %id,
            soft_limit_mib = limits.soft / (1024 * 1024),
            rss_mib = rss / (1024 * 1024),
            "the soft limit is below what the process uses already; all data will be refused"
        );
    }
    Ok(limiter)
}

/// One pipeline's `memory_limiter`: passes batches on, and lends the pipeline its shared
/// limiter as the admission check.
pub struct MemoryLimiterProcessor {
    limiter: Arc<MemoryLimiter>,
}

#[async_trait]
impl Processor for MemoryLimiterProcessor {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        out.push(batch);
        Ok(())
    }

    fn admission(&self) -> Option<Arc<dyn Admission>> {
        Some(self.limiter.clone())
    }
}

#[cfg(test)]
mod tests;
