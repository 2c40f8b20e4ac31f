//! Process-wide metrics: otelcol's `otelcol_process_*` (uptime, CPU time, resident memory), read
//! from Linux's `/proc/self`, and Weir's gauges of the batch bytes it holds.
//!
//! The clock tick and page size that turn `/proc` numbers into seconds and bytes come from the
//! process's auxiliary vector (`/proc/self/auxv`: `AT_CLKTCK`, `AT_PAGESZ`), which is what
//! `sysconf` reads too, so no `unsafe` call is needed; where that file cannot be read, the
//! Linux defaults (100 ticks a second, 4096-byte pages) are assumed. Where `/proc` itself is
//! missing (not Linux), the `otelcol_process_*` metrics are left out.

use std::fmt::Write;
use std::sync::OnceLock;

use crate::batch::accounting;

/// `AT_PAGESZ` in the auxiliary vector.
const AT_PAGESZ: u64 = 6;
/// `AT_CLKTCK` in the auxiliary vector.
const AT_CLKTCK: u64 = 17;
/// Linux's `USER_HZ` on every architecture it runs on today.
const DEFAULT_CLOCK_TICKS: u64 = 100;
const DEFAULT_PAGE_SIZE: u64 = 4096;

/// A `/proc` file that could not be read or did not have the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file's text is not what the kernel writes there.
    #[error("{path}: cannot find {what}")]
    Malformed {
        /// The file.
        path: &'static str,
        /// The field that is missing or not a number.
        what: &'static str,
    },
}

/// The fields of `/proc/self/stat` the metrics need, in clock ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatTimes {
    /// CPU time in user mode.
    pub utime: u64,
    /// CPU time in kernel mode.
    pub stime: u64,
    /// When the process started, after boot.
    pub starttime: u64,
}

/// Reads utime (field 14), stime (15) and starttime (22) of `/proc/<pid>/stat`. The command
/// name (field 2) is in parentheses and may itself contain spaces and parentheses, so the
/// fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<StatTimes, ProcError> {
    const PATH: &str = "/proc/self/stat";
    let after_comm = text
        .rfind(')')
        .map(|end| &text[end + 1..])
        .ok_or(ProcError::Malformed {
            path: PATH,
            what: "the end of the command name",
        })?;
    // The first field after the command name is field 3 (state).
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |number: usize, what: &'static str| {
        fields
            .get(number - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or(ProcError::Malformed { path: PATH, what })
    };
    Ok(StatTimes {
        utime: field(14, "utime")?,
        stime: field(15, "stime")?,
        starttime: field(22, "starttime")?,
    })
}

/// Reads the resident set size, in pages, from `/proc/<pid>/statm` (its second field).
pub fn parse_statm_resident_pages(text: &str) -> Result<u64, ProcError> {
    text.split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .ok_or(ProcError::Malformed {
            path: "/proc/self/statm",
            what: "the resident page count",
        })
}

/// Reads the seconds since boot from `/proc/uptime` (its first field).
pub fn parse_uptime(text: &str) -> Result<f64, ProcError> {
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or(ProcError::Malformed {
            path: "/proc/uptime",
            what: "the seconds since boot",
        })
}

/// The clock tick rate and page size the kernel gave the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Units {
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub clock_ticks: u64,
    /// Bytes per page (`sysconf(_SC_PAGESIZE)`).
    pub page_size: u64,
}

/// Reads `AT_CLKTCK` and `AT_PAGESZ` from an auxiliary vector (pairs of native-endian words,
/// ended by `AT_NULL`); the Linux defaults stand in for entries it lacks.
pub fn parse_auxv(bytes: &[u8]) -> Units {
    const WORD: usize = std::mem::size_of::<usize>();
    let word = |chunk: &[u8]| -> u64 {
        let mut buf = [0u8; 8];
        let n = chunk.len().min(8);
        if cfg!(target_endian = "little") {
            buf[..n].copy_from_slice(&chunk[..n]);
            u64::from_le_bytes(buf)
        } else {
            buf[8 - n..].copy_from_slice(&chunk[..n]);
            u64::from_be_bytes(buf)
        }
    };
    let mut units = Units {
        clock_ticks: DEFAULT_CLOCK_TICKS,
        page_size: DEFAULT_PAGE_SIZE,
    };
    for entry in bytes.chunks_exact(2 * WORD) {
        let (key, value) = (word(&entry[..WORD]), word(&entry[WORD..]));
        match key {
            0 => break,
            AT_CLKTCK if value > 0 => units.clock_ticks = value,
            AT_PAGESZ if value > 0 => units.page_size = value,
            _ => {}
        }
    }
    units
}

/// The process's units, read once: they cannot change while it runs.
fn units() -> Units {
    static UNITS: OnceLock<Units> = OnceLock::new();
    *UNITS.get_or_init(|| match std::fs::read("/proc/self/auxv") {
        Ok(bytes) => parse_auxv(&bytes),
        Err(_) => parse_auxv(&[]),
    })
}

/// One reading of the process metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessSample {
    /// Seconds since the process started.
    pub uptime_seconds: f64,
    /// CPU seconds used, user and kernel.
    pub cpu_seconds: f64,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
}

impl ProcessSample {
    /// Combines the three files' readings.
    pub fn from_parts(stat: StatTimes, rss_pages: u64, boot_uptime: f64, units: Units) -> Self {
        let ticks = units.clock_ticks.max(1) as f64;
        ProcessSample {
            uptime_seconds: (boot_uptime - stat.starttime as f64 / ticks).max(0.0),
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
            rss_bytes: rss_pages.saturating_mul(units.page_size),
        }
    }
}

fn read(path: &'static str) -> Result<String, ProcError> {
    std::fs::read_to_string(path).map_err(|source| ProcError::Read { path, source })
}

/// Reads this process's metrics from `/proc`.
pub fn sample() -> Result<ProcessSample, ProcError> {
    let stat = parse_stat(&read("/proc/self/stat")?)?;
    let rss_pages = parse_statm_resident_pages(&read("/proc/self/statm")?)?;
    let boot_uptime = parse_uptime(&read("/proc/uptime")?)?;
    Ok(ProcessSample::from_parts(
        stat,
        rss_pages,
        boot_uptime,
        units(),
    ))
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// Appends the process metrics to a Prometheus exposition.
pub(super) fn render(out: &mut String) {
    match sample() {
        Ok(p) => render_sample(out, &p),
        Err(error) => tracing::debug!(%error, "process metrics unavailable"),
    }
    family(
        out,
        "weir_held_bytes",
        "gauge",
        "Bytes of telemetry Weir holds in batches: pipelines, processors and in-memory queues.",
        accounting::held_bytes(),
    );
    family(
        out,
        "weir_held_batches",
        "gauge",
        "Batches Weir holds (a batch fanned out to several exporters counts once).",
        accounting::held_batches(),
    );
}

fn render_sample(out: &mut String, p: &ProcessSample) {
    family(
        out,
        "otelcol_process_uptime_seconds_total",
        "counter",
        "Uptime of the process.",
        p.uptime_seconds,
    );
    family(
        out,
        "otelcol_process_cpu_seconds_total",
        "counter",
        "Total CPU user and system time in seconds.",
        p.cpu_seconds,
    );
    family(
        out,
        "otelcol_process_memory_rss_bytes",
        "gauge",
        "Total physical memory (resident set size).",
        p.rss_bytes,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (weir (worker) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 75 0 0 20 0 9 0 123400 110000000 3000 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let times = parse_stat(STAT).unwrap();
        assert_eq!(
            times,
            StatTimes {
                utime: 250,
                stime: 75,
                starttime: 123400,
            }
        );
    }

    #[test]
    fn truncated_stat_is_an_error_naming_the_field() {
        let error = parse_stat("4242 (weir) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250")
            .unwrap_err()
            .to_string();
        assert!(error.contains("stime"), "{error}");
        assert!(parse_stat("no command name here").is_err());
    }

    #[test]
    fn statm_and_uptime_read_their_first_fields() {
        assert_eq!(
            parse_statm_resident_pages("27500 3000 1200 400 0 9000 0\n").unwrap(),
            3000
        );
        assert!(parse_statm_resident_pages("27500\n").is_err());
        assert_eq!(parse_uptime("1300.25 5000.00\n").unwrap(), 1300.25);
        assert!(parse_uptime("").is_err());
    }

    fn auxv(entries: &[(u64, u64)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (key, value) in entries {
            for word in [key, value] {
                let word = *word as usize;
                bytes.extend_from_slice(&word.to_ne_bytes());
            }
        }
        bytes
    }

    #[test]
    fn auxv_gives_clock_ticks_and_page_size() {
        let units = parse_auxv(&auxv(&[
            (33, 7),
            (AT_PAGESZ, 16384),
            (AT_CLKTCK, 250),
            (0, 0),
        ]));
        assert_eq!(
            units,
            Units {
                clock_ticks: 250,
                page_size: 16384,
            }
        );
        // Entries after AT_NULL are not part of the vector.
        let units = parse_auxv(&auxv(&[(0, 0), (AT_CLKTCK, 250)]));
        assert_eq!(units.clock_ticks, DEFAULT_CLOCK_TICKS);
        assert_eq!(parse_auxv(&[]).page_size, DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn sample_converts_ticks_and_pages() {
        let units = Units {
            clock_ticks: 100,
            page_size: 4096,
        };
        let p = ProcessSample::from_parts(parse_stat(STAT).unwrap(), 3000, 1300.25, units);
        assert!((p.cpu_seconds - 3.25).abs() < 1e-9, "{p:?}");
        assert!((p.uptime_seconds - 66.25).abs() < 1e-9, "{p:?}");
        assert_eq!(p.rss_bytes, 3000 * 4096);
    }

    #[test]
    fn renders_process_families() {
        let mut out = String::new();
        render_sample(
            &mut out,
            &ProcessSample {
                uptime_seconds: 12.5,
                cpu_seconds: 0.75,
                rss_bytes: 8_000_000,
            },
        );
        assert!(out.contains("# TYPE otelcol_process_uptime_seconds_total counter\n"));
        assert!(out.contains("otelcol_process_uptime_seconds_total 12.5\n"));
        assert!(out.contains("otelcol_process_cpu_seconds_total 0.75\n"));
        assert!(out.contains("# TYPE otelcol_process_memory_rss_bytes gauge\n"));
        assert!(out.contains("otelcol_process_memory_rss_bytes 8000000\n"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let p = sample().unwrap();
        assert!(p.rss_bytes > 1 << 20, "{p:?}");
        assert!(p.uptime_seconds >= 0.0 && p.cpu_seconds >= 0.0, "{p:?}");
        let mut out = String::new();
        render(&mut out);
        assert!(out.contains("otelcol_process_memory_rss_bytes "), "{out}");
        assert!(out.contains("# TYPE weir_held_bytes gauge\n"), "{out}");
        assert!(out.contains("weir_held_batches "), "{out}");
    }
}
