//! Configuration of the `memory_limiter` processor: otelcol's option names, defaults and
//! validation rules, and the resolution of the two styles (MiB or percentages of the memory
//! available) into a hard and a soft limit in bytes.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde};

const MIB: u64 = 1024 * 1024;

/// Refuses new data while the process uses more memory than its limit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryLimiterConfig {
    /// How often the process's anonymous resident memory (`RssAnon`: heap and stacks, not the
    /// binary's file-backed pages, which the kernel can drop) is measured; also the delay
    /// offered to refused clients. Required and greater than zero, as in otelcol (`1s` is a good start). Bytes
    /// held in batches are counted at every admission regardless. While memory is over the
    /// soft limit, each measurement first has the allocator return its free memory to the
    /// operating system (glibc's `malloc_trim`), as otelcol forces a garbage collection.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub check_interval: Duration,
    /// Hard limit in MiB. Above the soft limit (`limit_mib - spike_limit_mib`) new data is
    /// refused with a retryable error. Use this or `limit_percentage`.
    pub limit_mib: u32,
    /// Headroom below `limit_mib` in MiB for what may arrive between two measurements; the soft
    /// limit is `limit_mib - spike_limit_mib`. `0` means 20 % of `limit_mib`.
    pub spike_limit_mib: u32,
    /// Hard limit as a percentage (1 to 100) of the memory available: the cgroup's limit when
    /// one is set, else the machine's total memory. Use this or `limit_mib`.
    pub limit_percentage: u32,
    /// Headroom below `limit_percentage`, as a percentage of the memory available. `0` means
    /// 20 % of the limit.
    pub spike_limit_percentage: u32,
}

impl ComponentConfig for MemoryLimiterConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.check_interval.is_zero() {
            problems.push(
                "`check_interval` must be greater than zero (`1s` is a good start)".to_string(),
            );
        }
        let mib = self.limit_mib > 0;
        let percent = self.limit_percentage > 0;
        match (mib, percent) {
            (false, false) => problems
                .push("`limit_mib` or `limit_percentage` must be greater than zero".to_string()),
            // otelcol silently prefers `limit_mib`; saying so is kinder than guessing.
            (true, true) => {
                problems.push("set `limit_mib` or `limit_percentage`, not both".to_string())
            }
            _ => {}
        }
        if mib && self.spike_limit_percentage > 0 {
            problems.push(
                "`spike_limit_percentage` goes with `limit_percentage`; with `limit_mib` use `spike_limit_mib`"
                    .to_string(),
            );
        }
        if percent && self.spike_limit_mib > 0 {
            problems.push(
                "`spike_limit_mib` goes with `limit_mib`; with `limit_percentage` use `spike_limit_percentage`"
                    .to_string(),
            );
        }
        if self.limit_percentage > 100 {
            problems.push(format!(
                "`limit_percentage` ({}) must be at most 100",
                self.limit_percentage
            ));
        }
        if self.spike_limit_percentage > 100 {
            problems.push(format!(
                "`spike_limit_percentage` ({}) must be at most 100",
                self.spike_limit_percentage
            ));
        }
        if mib && self.spike_limit_mib >= self.limit_mib {
            problems.push(format!(
                "`spike_limit_mib` ({}) must be smaller than `limit_mib` ({})",
                self.spike_limit_mib, self.limit_mib
            ));
        }
        if percent && self.spike_limit_percentage >= self.limit_percentage {
            problems.push(format!(
                "`spike_limit_percentage` ({}) must be smaller than `limit_percentage` ({})",
                self.spike_limit_percentage, self.limit_percentage
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The limits in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Above this the process is over its hard limit.
    pub hard: u64,
    /// Above this new data is refused (`hard` minus the spike headroom).
    pub soft: u64,
}

impl Limits {
    /// The spike headroom, `hard - soft`.
    pub fn spike(&self) -> u64 {
        self.hard - self.soft
    }
}

impl MemoryLimiterConfig {
    /// Whether the limits are percentages, so the memory available must be read to resolve them.
    pub fn uses_percentages(&self) -> bool {
        self.limit_mib == 0
    }

    /// The limits in bytes; `available` is the memory available to the process (read only for
    /// the percentage style). Expects a validated config.
    pub fn limits(&self, available: u64) -> Limits {
        let (hard, spike) = if self.uses_percentages() {
            let share = |percent: u32| {
                u64::try_from(u128::from(available) * u128::from(percent) / 100).unwrap_or(u64::MAX)
            };
            (
                share(self.limit_percentage),
                share(self.spike_limit_percentage),
            )
        } else {
            (
                u64::from(self.limit_mib) * MIB,
                u64::from(self.spike_limit_mib) * MIB,
            )
        };
        // otelcol's default headroom, for both styles.
        let spike = if spike == 0 { hard / 5 } else { spike };
        Limits {
            hard,
            soft: hard.saturating_sub(spike),
        }
    }
}
