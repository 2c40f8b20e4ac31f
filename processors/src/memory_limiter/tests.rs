use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::json;
use weir_core::batch::BatchMeta;
use weir_core::component::{ComponentConfig, Refusal};

use super::*;

const MIB: u64 = 1024 * 1024;
const SECOND: u64 = 1_000_000_000;

fn id(name: &str) -> ComponentId {
    ComponentId::new("memory_limiter", Some(name.to_string()))
}

// ---- config ---------------------------------------------------------------------------------

fn validate(value: serde_json::Value) -> Result<(), Vec<String>> {
    let config: MemoryLimiterConfig =
        serde_json::from_value(value).map_err(|e| vec![format!("serde: {e}")])?;
    config.validate()
}

#[test]
fn config_validation_matrix_gives_otelcols_rules_with_exact_messages() {
    let ok: Result<(), Vec<String>> = Ok(());
    let err = |messages: &[&str]| Err(messages.iter().map(|m| m.to_string()).collect());
    let cases = [
        (
            json!({}),
            err(&[
                "`check_interval` must be greater than zero (`1s` is a good start)",
                "`limit_mib` or `limit_percentage` must be greater than zero",
            ]),
        ),
        (
            json!({"check_interval": "1s", "limit_mib": 100}),
            ok.clone(),
        ),
        (
            json!({"check_interval": "250ms", "limit_mib": 100, "spike_limit_mib": 99}),
            ok.clone(),
        ),
        (
            json!({"check_interval": "0s", "limit_mib": 100}),
            err(&["`check_interval` must be greater than zero (`1s` is a good start)"]),
        ),
        (
            json!({"check_interval": "1s", "limit_mib": 100, "spike_limit_mib": 100}),
            err(&["`spike_limit_mib` (100) must be smaller than `limit_mib` (100)"]),
        ),
        (
            json!({"check_interval": "1s", "limit_mib": 100, "spike_limit_mib": 150}),
            err(&["`spike_limit_mib` (150) must be smaller than `limit_mib` (100)"]),
        ),
        (
            json!({"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25}),
            ok.clone(),
        ),
        (json!({"check_interval": "1s", "limit_percentage": 100}), ok),
        (
            json!({"check_interval": "1s", "limit_percentage": 50, "spike_limit_percentage": 50}),
            err(&["`spike_limit_percentage` (50) must be smaller than `limit_percentage` (50)"]),
        ),
        (
            json!({"check_interval": "1s", "limit_percentage": 101}),
            err(&["`limit_percentage` (101) must be at most 100"]),
        ),
        (
            json!({"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 120}),
            err(&[
                "`spike_limit_percentage` (120) must be at most 100",
                "`spike_limit_percentage` (120) must be smaller than `limit_percentage` (80)",
            ]),
        ),
        (
            json!({"check_interval": "1s", "limit_mib": 100, "limit_percentage": 50}),
            err(&["set `limit_mib` or `limit_percentage`, not both"]),
        ),
        (
            json!({"check_interval": "1s", "limit_mib": 100, "spike_limit_percentage": 10}),
            err(&[
                "`spike_limit_percentage` goes with `limit_percentage`; with `limit_mib` use `spike_limit_mib`",
            ]),
        ),
        (
            json!({"check_interval": "1s", "limit_percentage": 50, "spike_limit_mib": 10}),
            err(&[
                "`spike_limit_mib` goes with `limit_mib`; with `limit_percentage` use `spike_limit_percentage`",
            ]),
        ),
        (
            json!({"check_interval": "1s", "spike_limit_mib": 10}),
            err(&["`limit_mib` or `limit_percentage` must be greater than zero"]),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(validate(value.clone()), expected, "config {value}");
    }
}

#[test]
fn config_refuses_unknown_fields_and_negative_limits() {
    let gc = validate(json!({"check_interval": "1s", "limit_mib": 100,
        "min_gc_interval_when_soft_limited": "10s"}))
    .unwrap_err();
    assert!(
        gc[0].contains("unknown field `min_gc_interval_when_soft_limited`"),
        "{gc:?}"
    );
    let negative = validate(json!({"check_interval": "1s", "limit_mib": -5})).unwrap_err();
    assert!(
        negative[0].starts_with("serde: invalid value"),
        "{negative:?}"
    );
}

#[test]
fn default_config_has_otelcols_zero_values() {
    assert_eq!(
        MemoryLimiterConfig::default(),
        MemoryLimiterConfig {
            check_interval: Duration::ZERO,
            limit_mib: 0,
            spike_limit_mib: 0,
            limit_percentage: 0,
            spike_limit_percentage: 0,
        }
    );
}

fn mib_config(limit: u32, spike: u32) -> MemoryLimiterConfig {
    MemoryLimiterConfig {
        check_interval: Duration::from_secs(1),
        limit_mib: limit,
        spike_limit_mib: spike,
        ..Default::default()
    }
}

fn percent_config(limit: u32, spike: u32) -> MemoryLimiterConfig {
    MemoryLimiterConfig {
        check_interval: Duration::from_secs(1),
        limit_percentage: limit,
        spike_limit_percentage: spike,
        ..Default::default()
    }
}

#[test]
fn limits_in_mib_default_the_spike_to_a_fifth_of_the_limit() {
    let limits = mib_config(100, 0).limits(0);
    assert_eq!(
        limits,
        Limits {
            hard: 100 * MIB,
            soft: 80 * MIB
        }
    );
    assert_eq!(limits.spike(), 20 * MIB);
    assert_eq!(
        mib_config(100, 30).limits(u64::MAX),
        Limits {
            hard: 100 * MIB,
            soft: 70 * MIB
        },
        "the memory available plays no part in the MiB style"
    );
}

#[test]
fn limits_in_percentages_are_shares_of_the_memory_available() {
    let available = 1000 * MIB;
    assert_eq!(
        percent_config(50, 0).limits(available),
        Limits {
            hard: 500 * MIB,
            soft: 400 * MIB
        }
    );
    assert_eq!(
        percent_config(80, 25).limits(available),
        Limits {
            hard: 800 * MIB,
            soft: 550 * MIB
        }
    );
}

// ---- host files -----------------------------------------------------------------------------

fn testdata(tree: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/memory_limiter/testdata")
        .join(tree)
}

const SAMPLE_MEMTOTAL: u64 = 16_384_000 * 1024;

#[test]
fn statm_gives_resident_minus_shared_pages_times_the_page_size() {
    assert_eq!(
        host::parse_statm_anonymous("765 437 409 5 0 123 0\n", 4096),
        Ok((437 - 409) * 4096)
    );
    assert_eq!(
        host::parse_statm_anonymous("765 437 9 5 0 123 0", 65536),
        Ok(428 * 65536)
    );
    assert_eq!(
        host::parse_statm_anonymous("765 437", 4096),
        Err("expected at least three fields, found \"765 437\"".to_string())
    );
    assert_eq!(
        host::parse_statm_anonymous("765 x 1", 4096),
        Err("resident pages `x` is not a number".to_string())
    );
    assert_eq!(
        host::parse_statm_anonymous("765 1 y", 4096),
        Err("shared pages `y` is not a number".to_string())
    );
    let sample = ResidentSet::from_statm(testdata("v1_unlimited/proc/self/statm"), 4096);
    assert_eq!(sample.bytes().unwrap(), (437 - 409) * 4096);
}

#[test]
fn this_process_has_a_plausible_resident_set() {
    let rss = ResidentSet::of_this_process().bytes().unwrap();
    let total = HostFiles::system().available().unwrap().bytes;
    assert!(rss > MIB && rss < total, "rss {rss} of {total}");
}

#[test]
fn meminfo_and_cgroup_files_parse() {
    let meminfo = std::fs::read_to_string(testdata("no_cgroup/proc/meminfo")).unwrap();
    assert_eq!(host::parse_meminfo_total(&meminfo), Ok(SAMPLE_MEMTOTAL));
    assert_eq!(
        host::parse_meminfo_total("MemFree: 1 kB\n"),
        Err("no `MemTotal:` line".to_string())
    );
    assert_eq!(
        host::parse_meminfo_total("MemTotal: 12 MB\n"),
        Err("MemTotal has unexpected unit `MB`".to_string())
    );
    assert_eq!(host::parse_cgroup_v2_max("max\n"), Ok(None));
    assert_eq!(
        host::parse_cgroup_v2_max("536870912\n"),
        Ok(Some(536_870_912))
    );
    assert_eq!(
        host::parse_cgroup_v2_max("lots"),
        Err("`lots` is neither `max` nor a number of bytes".to_string())
    );
    assert_eq!(
        host::parse_cgroup_v1_limit("9223372036854771712\n"),
        Ok(None)
    );
    assert_eq!(
        host::parse_cgroup_v1_limit("268435456"),
        Ok(Some(268_435_456))
    );
    let proc_cgroup = std::fs::read_to_string(testdata("v1_limited/proc/self/cgroup")).unwrap();
    assert_eq!(
        host::parse_proc_cgroup(&proc_cgroup),
        (
            Some("/docker/4f1c".to_string()),
            Some("/docker/4f1c".to_string())
        )
    );
    assert_eq!(
        host::parse_proc_cgroup("0::/system.slice/weir.service\n"),
        (Some("/system.slice/weir.service".to_string()), None)
    );
}

#[test]
fn memory_available_is_the_cgroup_limit_when_set_below_memtotal() {
    let cases = [
        ("v2_limited", 536_870_912, AvailableSource::CgroupV2),
        ("v2_namespaced", 1_073_741_824, AvailableSource::CgroupV2),
        ("v2_unlimited", SAMPLE_MEMTOTAL, AvailableSource::MemTotal),
        ("v2_above_total", SAMPLE_MEMTOTAL, AvailableSource::MemTotal),
        ("v1_limited", 268_435_456, AvailableSource::CgroupV1),
        ("v1_unlimited", SAMPLE_MEMTOTAL, AvailableSource::MemTotal),
        ("no_cgroup", SAMPLE_MEMTOTAL, AvailableSource::MemTotal),
    ];
    for (tree, bytes, source) in cases {
        assert_eq!(
            HostFiles::under(testdata(tree)).available().unwrap(),
            Available { bytes, source },
            "{tree}"
        );
    }
}

#[test]
fn unreadable_memory_figures_are_errors_naming_the_file() {
    let garbled = HostFiles::under(testdata("v2_garbled"))
        .available()
        .unwrap_err()
        .to_string();
    assert!(
        garbled.starts_with("cannot understand ")
            && garbled.ends_with(
                "v2_garbled/sys/fs/cgroup/memory.max: `lots` is neither `max` nor a number of bytes"
            ),
        "{garbled}"
    );
    let missing = HostFiles::under(testdata("no_such_tree"))
        .available()
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("cannot read ") && missing.contains("no_such_tree/proc/meminfo: "),
        "{missing}"
    );
}

// ---- decision logic with injected readings --------------------------------------------------

#[derive(Default)]
struct Gauges {
    rss: AtomicU64,
    held: AtomicU64,
    rss_reads: AtomicU64,
    failing: AtomicBool,
    releases: AtomicU64,
    /// The resident set after a release, bytes (0: a release frees nothing).
    rss_after_release: AtomicU64,
}

#[derive(Clone, Default)]
struct FakeMeter(Arc<Gauges>);

impl FakeMeter {
    fn set(&self, rss_mib: u64, held_mib: u64) {
        self.0.rss.store(rss_mib * MIB, Ordering::Relaxed);
        self.0.held.store(held_mib * MIB, Ordering::Relaxed);
    }

    fn hold(&self, held_mib: u64) {
        self.0.held.store(held_mib * MIB, Ordering::Relaxed);
    }

    fn reads(&self) -> u64 {
        self.0.rss_reads.load(Ordering::Relaxed)
    }

    fn releases(&self) -> u64 {
        self.0.releases.load(Ordering::Relaxed)
    }

    /// A release will bring the resident set down to `rss_mib`.
    fn free_on_release(&self, rss_mib: u64) {
        self.0
            .rss_after_release
            .store(rss_mib * MIB, Ordering::Relaxed);
    }
}

impl Meter for FakeMeter {
    fn rss(&self) -> Result<u64, HostError> {
        self.0.rss_reads.fetch_add(1, Ordering::Relaxed);
        if self.0.failing.load(Ordering::Relaxed) {
            return Err(HostError::Parse {
                path: "/proc/self/statm".into(),
                message: "injected".to_string(),
            });
        }
        Ok(self.0.rss.load(Ordering::Relaxed))
    }

    fn held(&self) -> u64 {
        self.0.held.load(Ordering::Relaxed)
    }

    fn release(&self) {
        self.0.releases.fetch_add(1, Ordering::Relaxed);
        let after = self.0.rss_after_release.load(Ordering::Relaxed);
        if after > 0 {
            self.0.rss.store(after, Ordering::Relaxed);
        }
    }
}

/// Hard limit 100 MiB, soft 80 MiB, checked every second; the first measurement (at
/// construction) reads `rss_mib` resident and `held_mib` held.
fn limiter(rss_mib: u64, held_mib: u64) -> (Arc<MemoryLimiter>, FakeMeter) {
    let meter = FakeMeter::default();
    meter.set(rss_mib, held_mib);
    let limiter = MemoryLimiter::new(
        id("fake"),
        mib_config(100, 20).limits(0),
        Duration::from_secs(1),
        Box::new(meter.clone()),
    )
    .unwrap();
    (limiter, meter)
}

fn refusal(result: Result<(), Refusal>) -> Refusal {
    result.expect_err("expected a refusal")
}

#[test]
fn usage_adds_the_growth_of_held_bytes_since_the_measurement_but_not_their_fall() {
    let reading = Reading {
        rss: 50 * MIB,
        held: 10 * MIB,
    };
    assert_eq!(reading.usage(10 * MIB), 50 * MIB);
    assert_eq!(reading.usage(40 * MIB), 80 * MIB);
    assert_eq!(reading.usage(0), 50 * MIB);
}

#[test]
fn under_the_soft_limit_data_is_admitted() {
    let (limiter, meter) = limiter(50, 0);
    meter.hold(30);
    assert_eq!(limiter.admit_at(SECOND / 2), Ok(()));
    assert_eq!(limiter.pressure(), Pressure::Normal);
}

#[test]
fn a_burst_of_held_bytes_is_refused_at_once_without_reading_proc() {
    let (limiter, meter) = limiter(50, 0);
    assert_eq!(meter.reads(), 1, "one measurement at construction");
    meter.hold(35);
    let refused = refusal(limiter.admit_at(SECOND / 10));
    assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(
        refused.reason,
        "memory_limiter `memory_limiter/fake`: memory usage is above the soft limit (80 MiB); retry later"
    );
    assert_eq!(limiter.pressure(), Pressure::Soft);
    assert_eq!(meter.reads(), 1, "no measurement before check_interval");
}

#[test]
fn a_resident_set_at_the_hard_limit_is_refused_from_the_next_measurement() {
    let (limiter, meter) = limiter(50, 0);
    meter.set(110, 0);
    assert_eq!(
        limiter.admit_at(SECOND / 2),
        Ok(()),
        "not measured yet: the last measurement said 50 MiB"
    );
    let refused = refusal(limiter.admit_at(SECOND));
    assert_eq!(meter.reads(), 2);
    assert_eq!(refused.retry_after, Some(Duration::from_secs(2)));
    assert_eq!(limiter.pressure(), Pressure::Hard);
}

#[test]
fn memory_outside_batches_counts_below_the_hard_limit_too() {
    // As in the burst drill: buffers around the batches make the resident set much larger
    // than the bytes held. 40 MiB outside batches at rest, then 85 MiB resident with 30 held.
    let (limiter, meter) = limiter(40, 0);
    meter.set(85, 30);
    let refused = refusal(limiter.admit_at(SECOND));
    assert_eq!(
        limiter.pressure(),
        Pressure::Soft,
        "{refused:?}: 85 MiB resident is over the 80 MiB soft limit"
    );
}

#[test]
fn memory_the_allocator_kept_after_a_burst_refuses_only_until_it_is_given_back() {
    // A burst drained; the resident set stays at 90 MiB (over the 80 MiB soft limit) with
    // nothing held because the allocator keeps the freed memory.
    let (limiter, meter) = limiter(40, 0);
    meter.set(90, 0);
    refusal(limiter.admit_at(SECOND));
    assert_eq!(limiter.pressure(), Pressure::Soft);
    meter.free_on_release(42);
    assert_eq!(limiter.admit_at(2 * SECOND), Ok(()));
    assert_eq!(meter.releases(), 1);
    assert_eq!(limiter.pressure(), Pressure::Normal);
}

#[test]
fn over_the_limit_the_allocator_gives_memory_back_before_the_next_measurement() {
    // A burst drained, leaving 110 MiB resident (over the 100 MiB hard limit) with nothing
    // held: 65 MiB of it is free memory the allocator kept.
    let (limiter, meter) = limiter(50, 0);
    meter.set(110, 0);
    refusal(limiter.admit_at(SECOND));
    assert_eq!(limiter.pressure(), Pressure::Hard);
    assert_eq!(
        meter.releases(),
        0,
        "the reading before this measurement (50 MiB) was under the soft limit"
    );
    meter.free_on_release(45);
    assert_eq!(limiter.admit_at(2 * SECOND), Ok(()));
    assert_eq!(meter.releases(), 1);
    assert_eq!(limiter.reading().rss, 45 * MIB);
    assert_eq!(limiter.pressure(), Pressure::Normal);
    limiter.admit_at(3 * SECOND).unwrap();
    assert_eq!(
        meter.releases(),
        1,
        "under the soft limit nothing is released"
    );
}

/// glibc keeps freed heap blocks that lie between live ones (free() only trims the top of a
/// heap); releasing hands their pages back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn releasing_returns_the_free_memory_glibc_kept_to_the_os() {
    const BLOCK: usize = 64 * 1024; // under glibc's mmap threshold: from the heap
    let rss = || ResidentSet::of_this_process().bytes().unwrap();
    let mut blocks: Vec<Option<Vec<u8>>> = (0..1024).map(|i| Some(vec![i as u8; BLOCK])).collect();
    // Every other block freed: each sits between two live ones, so nothing can be trimmed.
    for block in blocks.iter_mut().step_by(2) {
        *block = None;
    }
    let kept = rss();
    super::release::release_free_memory();
    let released = rss();
    drop(blocks);
    assert!(
        released + 16 * MIB < kept,
        "32 MiB freed between live blocks: resident {} MiB before the release, {} MiB after",
        kept / MIB,
        released / MIB
    );
}

#[test]
fn above_the_hard_limit_the_delay_grows_with_the_excess_up_to_ten_intervals() {
    let (limiter, meter) = limiter(50, 0);
    meter.hold(50); // 100 MiB: at the hard limit, not above it
    let at_hard = refusal(limiter.admit_at(1));
    assert_eq!(limiter.pressure(), Pressure::Soft);
    assert_eq!(at_hard.retry_after, Some(Duration::from_secs(2)));
    meter.hold(80); // 130 MiB: 50 over the soft limit, two and a half spikes
    let over = refusal(limiter.admit_at(2));
    assert_eq!(limiter.pressure(), Pressure::Hard);
    assert_eq!(over.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(
        over.reason,
        "memory_limiter `memory_limiter/fake`: memory usage is above the hard limit (100 MiB); retry later"
    );
    meter.hold(5000);
    let far = refusal(limiter.admit_at(3));
    assert_eq!(far.retry_after, Some(Duration::from_secs(10)));
}

#[test]
fn the_resident_set_is_read_at_most_once_per_check_interval() {
    let (limiter, meter) = limiter(10, 0);
    for step in 0..10 {
        limiter.admit_at(step * SECOND / 10).unwrap();
    }
    assert_eq!(meter.reads(), 1);
    limiter.admit_at(SECOND).unwrap();
    limiter.admit_at(SECOND + SECOND / 2).unwrap();
    assert_eq!(meter.reads(), 2);
    limiter.admit_at(2 * SECOND + SECOND / 2).unwrap();
    assert_eq!(meter.reads(), 3);
    limiter.admit_at(3 * SECOND).unwrap();
    assert_eq!(
        meter.reads(),
        3,
        "the next check is one interval after the last one"
    );
    limiter.admit_at(3 * SECOND + SECOND / 2).unwrap();
    assert_eq!(meter.reads(), 4);
}

#[test]
fn the_level_falls_only_at_a_measurement() {
    let (limiter, meter) = limiter(50, 0);
    meter.hold(40);
    refusal(limiter.admit_at(SECOND / 10));
    meter.hold(0);
    refusal(limiter.admit_at(SECOND / 2));
    assert_eq!(limiter.pressure(), Pressure::Soft);
    assert_eq!(limiter.admit_at(SECOND), Ok(()));
    assert_eq!(limiter.pressure(), Pressure::Normal);
}

#[test]
fn a_failed_measurement_keeps_the_last_reading() {
    let (limiter, meter) = limiter(50, 0);
    meter.0.failing.store(true, Ordering::Relaxed);
    meter.set(500, 0);
    assert_eq!(limiter.admit_at(SECOND), Ok(()));
    assert_eq!(limiter.reading().rss, 50 * MIB);
    meter.hold(40);
    refusal(limiter.admit_at(SECOND + 1));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }
}

fn with_logs(run: impl FnOnce()) -> Logs {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, run);
    logs
}

#[test]
fn each_transition_is_logged_once_not_per_batch() {
    let (limiter, meter) = limiter(50, 0);
    let logs = with_logs(|| {
        for i in 0..5 {
            limiter.admit_at(i).unwrap();
        }
        meter.hold(35);
        for i in 5..10 {
            refusal(limiter.admit_at(i));
        }
        meter.hold(60);
        for i in 10..15 {
            refusal(limiter.admit_at(i));
        }
        meter.set(85, 35);
        for i in 0..5 {
            refusal(limiter.admit_at(SECOND + i));
        }
        meter.set(40, 0);
        for i in 0..5 {
            limiter.admit_at(2 * SECOND + i).unwrap();
        }
    });
    let text = logs.text();
    assert_eq!(
        logs.count("memory usage is above the soft limit; refusing data"),
        1,
        "{text}"
    );
    assert_eq!(
        logs.count("memory usage is above the hard limit; refusing data"),
        1,
        "{text}"
    );
    assert_eq!(
        logs.count("memory usage is below the hard limit but still above the soft limit"),
        1,
        "{text}"
    );
    assert_eq!(
        logs.count("memory usage is below the soft limit again; accepting data"),
        1,
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.contains("processor=memory_limiter/fake usage_mib=85 soft_limit_mib=80"),
        "{text}"
    );
}

#[test]
fn a_failed_measurement_is_logged_once() {
    let (limiter, meter) = limiter(50, 0);
    meter.0.failing.store(true, Ordering::Relaxed);
    let logs = with_logs(|| {
        for i in 1..=5 {
            limiter.admit_at(i * SECOND).unwrap();
        }
    });
    assert_eq!(meter.reads(), 6);
    assert_eq!(
        logs.count("cannot measure the resident set; using the last measurement"),
        1,
        "{}",
        logs.text()
    );
}

// ---- the processor --------------------------------------------------------------------------

fn trace_batch() -> Batch {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    name: "through".to_string(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Batch::from_encoded(
        Signal::Traces,
        request.encode_to_vec().into(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap()
}

fn settings(name: &str, pipeline: &str) -> CreateSettings {
    CreateSettings {
        id: id(name),
        signal: Some(Signal::Traces),
        pipeline: Some(pipeline.to_string()),
        host: Default::default(),
    }
}

fn admission(processor: &dyn Processor) -> Arc<dyn Admission> {
    processor
        .admission()
        .expect("the limiter checks admissions")
}

#[test]
fn admission_refuses_with_a_delay_when_this_process_is_over_the_limit() {
    // Touched heap memory, so this process is over 1 MiB of anonymous memory however lean the
    // test harness is.
    let ballast = std::hint::black_box(vec![1u8; 4 * MIB as usize]);
    let mut config = mib_config(1, 0);
    config.check_interval = Duration::from_millis(100);
    let processor = MemoryLimiterFactory
        .create(&config, &settings("tiny", "traces"))
        .unwrap();
    let refused = refusal(admission(processor.as_ref()).admit(&trace_batch()));
    // A test process is far above 1 MiB: ten intervals, the most offered.
    assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
    assert!(
        refused.reason.contains("above the hard limit (1 MiB)"),
        "{}",
        refused.reason
    );

    let roomy = MemoryLimiterFactory
        .create(&mib_config(1 << 20, 0), &settings("roomy", "traces"))
        .unwrap();
    assert_eq!(admission(roomy.as_ref()).admit(&trace_batch()), Ok(()));
    drop(ballast);
}

#[test]
fn pipelines_listing_the_same_id_share_one_limiter() {
    let config = mib_config(1 << 20, 0);
    let a = MemoryLimiterFactory
        .create(&config, &settings("shared", "traces"))
        .unwrap();
    let b = MemoryLimiterFactory
        .create(&config, &settings("shared", "logs"))
        .unwrap();
    let other = MemoryLimiterFactory
        .create(&config, &settings("other", "traces"))
        .unwrap();
    let (a, b, other) = (
        admission(a.as_ref()),
        admission(b.as_ref()),
        admission(other.as_ref()),
    );
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &other));

    let changed = MemoryLimiterFactory
        .create(&mib_config(1 << 19, 0), &settings("shared", "metrics"))
        .unwrap();
    assert!(
        !Arc::ptr_eq(&a, &admission(changed.as_ref())),
        "a changed config gets a limiter of its own"
    );
}

#[test]
fn a_limiter_goes_with_its_last_pipeline() {
    let config = mib_config(1 << 20, 0);
    let first = MemoryLimiterFactory
        .create(&config, &settings("gone", "traces"))
        .unwrap();
    let weak = Arc::downgrade(&admission(first.as_ref()));
    drop(first);
    assert!(weak.upgrade().is_none());
}

#[tokio::test]
async fn batches_pass_through_unchanged() {
    let mut processor = MemoryLimiterFactory
        .create(&mib_config(1 << 20, 0), &settings("pass", "traces"))
        .unwrap();
    let batch = trace_batch();
    let mut out = Vec::new();
    processor.process(batch.clone(), &mut out).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to_bytes(), batch.to_bytes());
    assert_eq!(out[0].items(), 1);
}

#[test]
fn percentages_are_resolved_against_the_memory_available() {
    let meter = FakeMeter::default();
    meter.set(10, 0);
    let limiter = build(
        &id("percent"),
        &percent_config(50, 0),
        &HostFiles::under(testdata("v2_limited")),
        || Box::new(meter.clone()),
    )
    .unwrap();
    assert_eq!(
        limiter.limits(),
        Limits {
            hard: 256 * MIB,
            soft: 256 * MIB - 256 * MIB / 5
        }
    );
    let missing = build(
        &id("percent"),
        &percent_config(50, 0),
        &HostFiles::under(testdata("no_such_tree")),
        || Box::new(meter.clone()),
    )
    .err()
    .expect("no meminfo, no percentages");
    assert!(
        missing
            .0
            .starts_with("cannot size the percentage limits: cannot read "),
        "{}",
        missing.0
    );
}

#[test]
fn a_process_that_cannot_be_measured_fails_at_startup() {
    let meter = FakeMeter::default();
    meter.0.failing.store(true, Ordering::Relaxed);
    let error = build(
        &id("blind"),
        &mib_config(100, 0),
        &HostFiles::system(),
        || Box::new(meter.clone()),
    )
    .err()
    .expect("unmeasurable");
    assert_eq!(
        error.0,
        "cannot measure the process's memory: cannot understand /proc/self/statm: injected"
    );
}
