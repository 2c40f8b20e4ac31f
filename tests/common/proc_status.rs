//! The kernel's view of a process's memory: `kB` fields of `/proc/<pid>/status`, read once or
//! sampled for a peak the kernel does not keep.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`), in bytes.
pub fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kib: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Samples a `kB` field of `/proc/<pid>/status` every few milliseconds on a thread of its own
/// and keeps the largest value seen, for figures the kernel keeps no peak of (`RssAnon`).
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl PeakSampler {
    /// Starts sampling `field` of `pid` every 5 ms.
    pub fn start(pid: u32, field: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut peak = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(bytes) = proc_status_bytes(pid, field) {
                        peak = peak.max(bytes);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                peak
            }
        });
        PeakSampler { stop, thread }
    }

    /// Stops sampling; the largest value seen, in bytes (0 if the field was never read).
    pub fn peak(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampling thread panicked")
    }
}
