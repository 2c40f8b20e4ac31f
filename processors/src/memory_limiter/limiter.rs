//! The shared state of one `memory_limiter` and its verdict on each batch at the door of the
//! pipelines.
//!
//! Decision rule. Memory in use is estimated as `rss + max(0, held - held_at_rss)`, where
//! `rss` is the process's anonymous resident memory at the last measurement (resident minus
//! file-backed pages, see [`super::host::parse_statm_anonymous`]), `held_at_rss` the bytes held
//! in batches at that moment, and `held` [`weir_core::batch::accounting::held_bytes`] now.
//! Anonymous resident memory is what the kernel cannot drop without killing the process, and it
//! sees everything Weir allocates: batches, connection and codec buffers (which can be larger
//! than the batches they carry: the burst drill measured 70 MiB resident with 42 MiB held),
//! the allocator's overhead; but it is only as fresh as the last measurement, and a burst
//! arrives within one interval. Bytes held in batches are exact and instant, so their growth
//! since the measurement is added on top. A fall of `held` is not subtracted: freed memory
//! leaves the resident set only when the allocator gives it back, which the next measurement
//! sees. glibc often keeps freed memory, which would leave the resident set above the soft
//! limit with nothing held and the limiter refusing for good; so a measurement that finds the
//! last resident set above the soft limit first asks the allocator to give its free memory
//! back ([`super::release`]), as otelcol's limiter forces a garbage collection there.
//!
//! The measurement is taken by the first admission after it is due, once per
//! `check_interval` (a read of `/proc/self/statm`); every other admission costs a clock read
//! and a few atomic loads.
//!
//! Above the soft limit new batches are refused with a retryable error; above the hard limit
//! too. The level
//! rises at once when an admission sees more memory in use and falls only at a measurement, so
//! it changes at most twice per interval however many batches arrive, each change is logged
//! once, and a refused client, told to wait `check_interval`, comes back when the verdict can
//! have changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use weir_core::batch::Batch;
use weir_core::component::{Admission, ComponentId, Refusal};

use super::config::Limits;
use super::host::{HostError, ResidentSet};

const MIB: u64 = 1024 * 1024;
const KIB: u64 = 1024;

/// At most this many `check_interval`s are offered to a refused client, far over the limit.
const MAX_INTERVALS: u64 = 10;
/// Never offer more than this, unless `check_interval` itself is longer.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Where readings come from; production reads `/proc` and Weir's accounting, tests inject.
pub trait Meter: Send + Sync + 'static {
    /// The process's resident set size, in bytes.
    fn rss(&self) -> Result<u64, HostError>;
    /// Bytes held in batches now.
    fn held(&self) -> u64;
    /// Gives the allocator's free memory back to the operating system, before a measurement
    /// over the soft limit.
    fn release(&self) {}
}

/// The real meter: `/proc/self/statm` and [`weir_core::batch::accounting::held_bytes`].
pub struct ProcessMeter(pub ResidentSet);

impl Meter for ProcessMeter {
    fn rss(&self) -> Result<u64, HostError> {
        self.0.bytes()
    }

    fn held(&self) -> u64 {
        weir_core::batch::accounting::held_bytes() as u64
    }

    fn release(&self) {
        super::release::release_free_memory();
    }
}

/// How close to its limits the process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Pressure {
    /// Below the soft limit: data is accepted.
    Normal = 0,
    /// Above the soft limit: data is refused.
    Soft = 1,
    /// Above the hard limit: data is refused.
    Hard = 2,
}

impl Pressure {
    fn from_u8(value: u8) -> Pressure {
        match value {
            0 => Pressure::Normal,
            1 => Pressure::Soft,
            _ => Pressure::Hard,
        }
    }

    /// The level of `usage` bytes under `limits`.
    pub fn of(usage: u64, limits: Limits) -> Pressure {
        if usage > limits.hard {
            Pressure::Hard
        } else if usage > limits.soft {
            Pressure::Soft
        } else {
            Pressure::Normal
        }
    }
}

/// One measurement: the resident set and the bytes held in batches at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Resident set size, bytes.
    pub rss: u64,
    /// Bytes held in batches when `rss` was read.
    pub held: u64,
}

impl Reading {
    /// Packed as KiB in the two halves of one word, so admissions on other threads never see
    /// the resident set of one measurement with the held bytes of another.
    fn pack(self) -> u64 {
        let kib = |bytes: u64| (bytes / KIB).min(u64::from(u32::MAX));
        (kib(self.rss) << 32) | kib(self.held)
    }

    fn unpack(word: u64) -> Reading {
        Reading {
            rss: (word >> 32) * KIB,
            held: (word & u64::from(u32::MAX)) * KIB,
        }
    }

    /// Memory in use when `held` bytes are held now (the rule in the module's header).
    pub fn usage(self, held: u64) -> u64 {
        self.rss.saturating_add(held.saturating_sub(self.held))
    }
}

/// One `memory_limiter`'s state, shared by every pipeline that lists its id.
pub struct MemoryLimiter {
    id: ComponentId,
    limits: Limits,
    check_interval: Duration,
    meter: Box<dyn Meter>,
    started: Instant,
    /// Nanoseconds after `started` when the resident set is due to be measured again.
    next_check: AtomicU64,
    /// The last [`Reading`], packed.
    reading: AtomicU64,
    /// The current [`Pressure`].
    pressure: AtomicU8,
    /// Whether a failed measurement was logged already (logged once, not every interval).
    meter_failed: AtomicBool,
}

fn mib(bytes: u64) -> u64 {
    bytes / MIB
}

impl MemoryLimiter {
    /// A limiter measuring with `meter`; takes a first measurement now, so a meter that cannot
    /// read fails here, at startup, rather than silently later.
    pub fn new(
        id: ComponentId,
        limits: Limits,
        check_interval: Duration,
        meter: Box<dyn Meter>,
    ) -> Result<Arc<MemoryLimiter>, HostError> {
        let rss = meter.rss()?;
        let reading = Reading {
            rss,
            held: meter.held(),
        };
        let limiter = MemoryLimiter {
            id,
            limits,
            check_interval,
            meter,
            started: Instant::now(),
            next_check: AtomicU64::new(nanos(check_interval)),
            reading: AtomicU64::new(reading.pack()),
            pressure: AtomicU8::new(Pressure::Normal as u8),
            meter_failed: AtomicBool::new(false),
        };
        Ok(Arc::new(limiter))
    }

    /// The limits in bytes.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The current pressure level.
    pub fn pressure(&self) -> Pressure {
        Pressure::from_u8(self.pressure.load(Ordering::Relaxed))
    }

    /// The last measurement.
    pub fn reading(&self) -> Reading {
        Reading::unpack(self.reading.load(Ordering::Relaxed))
    }

    /// Measures the resident set if `now` (nanoseconds since the limiter started) is at or
    /// past the due time; one caller wins the measurement, the others go on with the previous
    /// one. Returns whether this call measured.
    fn measure_if_due(&self, now: u64) -> bool {
        let due = self.next_check.load(Ordering::Relaxed);
        if now < due
            || self
                .next_check
                .compare_exchange(
                    due,
                    now.saturating_add(nanos(self.check_interval)),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return false;
        }
        if self.reading().rss > self.limits.soft {
            self.meter.release();
        }
        match self.meter.rss() {
            Ok(rss) => {
                let reading = Reading {
                    rss,
                    held: self.meter.held(),
                };
                self.reading.store(reading.pack(), Ordering::Relaxed);
            }
            Err(e) => {
                // The previous reading stays; the held bytes still react to bursts.
                if !self.meter_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(processor = %self.id, error = %e, "cannot measure the resident set; using the last measurement");
                }
            }
        }
        true
    }

    /// The verdict on a batch arriving `now` nanoseconds after the limiter started.
    pub(super) fn admit_at(&self, now: u64) -> Result<(), Refusal> {
        let measured = self.measure_if_due(now);
        let usage = self.reading().usage(self.meter.held());
        let seen = Pressure::of(usage, self.limits);
        let current = self.pressure();
        // Between measurements the level only rises: it falls when a measurement shows the
        // memory is back, the moment refused clients were told to return.
        let level = if measured { seen } else { seen.max(current) };
        if level != current {
            self.change(current, level, usage);
        }
        let (which, limit) = match level {
            Pressure::Normal => return Ok(()),
            Pressure::Soft => ("soft", self.limits.soft),
            Pressure::Hard => ("hard", self.limits.hard),
        };
        Err(Refusal {
            retry_after: Some(self.retry_after(usage)),
            reason: format!(
                "memory_limiter `{}`: memory usage is above the {which} limit ({} MiB); retry later",
                self.id,
                mib(limit),
            ),
        })
    }

    /// Moves the level from `from` to `to` and logs it, unless another thread moved it first.
    fn change(&self, from: Pressure, to: Pressure, usage: u64) {
        if self
            .pressure
            .compare_exchange(from as u8, to as u8, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let (usage_mib, soft_mib, hard_mib) =
            (mib(usage), mib(self.limits.soft), mib(self.limits.hard));
        let id = &self.id;
        match to {
            Pressure::Hard => tracing::warn!(
                processor = %id, usage_mib, hard_limit_mib = hard_mib,
                "memory usage is above the hard limit; refusing data"
            ),
            Pressure::Soft if from == Pressure::Normal => tracing::warn!(
                processor = %id, usage_mib, soft_limit_mib = soft_mib,
                "memory usage is above the soft limit; refusing data"
            ),
            Pressure::Soft => tracing::info!(
                processor = %id, usage_mib, hard_limit_mib = hard_mib, soft_limit_mib = soft_mib,
                "memory usage is below the hard limit but still above the soft limit; refusing data"
            ),
            Pressure::Normal => tracing::info!(
                processor = %id, usage_mib, soft_limit_mib = soft_mib,
                "memory usage is below the soft limit again; accepting data"
            ),
        }
    }

    /// The delay offered to a refused client: one `check_interval` (the earliest the verdict
    /// can change) just over the soft limit, one more per spike headroom beyond it, so a client
    /// far over the limit backs off further.
    pub fn retry_after(&self, usage: u64) -> Duration {
        let over = usage.saturating_sub(self.limits.soft);
        let intervals = 1 + (over / self.limits.spike().max(1)).min(MAX_INTERVALS - 1);
        let cap = MAX_RETRY_AFTER.max(self.check_interval);
        self.check_interval
            .saturating_mul(u32::try_from(intervals).unwrap_or(u32::MAX))
            .min(cap)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Admission for MemoryLimiter {
    fn admit(&self, _batch: &Batch) -> Result<(), Refusal> {
        self.admit_at(nanos(self.started.elapsed()))
    }
}
