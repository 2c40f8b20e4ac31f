//! The `file_storage` extension's configuration, and the byte sizes and policy the queues it
//! opens run with.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde};

const MIB: u64 = 1024 * 1024;

/// When stored batches are forced to disk with `fsync`, and so what a crash of the machine (not
/// just of Weir) can lose. A batch written without `fsync` is in the kernel's page cache: it
/// survives Weir crashing or being killed, but not a power cut or a kernel panic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Every batch is on disk (fsynced) before it counts as stored; batches arriving together
    /// share one fsync. Nothing acknowledged is lost, even on power loss; slowest.
    Always,
    /// Written at once, fsynced every `fsync_interval` (group commit). A power loss or kernel
    /// crash can lose the batches stored in the last interval.
    #[default]
    Interval,
    /// Never fsynced; the operating system writes back when it decides (about 30 s on Linux).
    /// A power loss or kernel crash can lose anything not yet written back, or leave a damaged
    /// queue that is cut on the next start.
    Never,
}

/// `file_storage` extension: keeps the sending queues of exporters that name it in
/// `sending_queue.storage` on disk, so queued batches survive restarts, crashes and `kill -9`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FileStorageConfig {
    /// Directory holding one folder per persistent queue. A relative path is resolved against
    /// Weir's working directory (otelcol's default, `/var/lib/otelcol/file_storage`, needs root;
    /// set an absolute path when Weir runs as a service).
    #[schemars(with = "String")]
    pub directory: PathBuf,
    /// Create `directory` and its parents when missing. When `false`, a missing directory is an
    /// error at startup (otelcol's default).
    pub create_directory: bool,
    /// When stored batches are fsynced: `always` (before each batch counts as stored),
    /// `interval` (every `fsync_interval`; a machine crash can lose the last interval) or
    /// `never` (the OS decides). A crash of Weir alone loses nothing in any of them.
    pub fsync: FsyncPolicy,
    /// With `fsync: interval`, how often written batches are fsynced. In every policy, also how
    /// often the record of exported batches is saved: batches exported in the last interval
    /// before a crash are delivered again after the restart.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub fsync_interval: Duration,
    /// Upper bound, in MiB, of the disk space all queues of this extension take together; when
    /// reached, new data is refused (backpressure) until exported batches free space. `0`
    /// means no bound besides each queue's `queue_size` and the free disk space.
    pub max_size_mib: u64,
    /// Size, in MiB, at which a queue starts a new segment file. Space is freed a whole
    /// segment at a time, once every batch in it is exported.
    pub segment_size_mib: u64,
    /// How long to wait for a queue folder locked by another process (another Weir using the
    /// same directory) before failing to start.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub timeout: Duration,
}

impl Default for FileStorageConfig {
    fn default() -> Self {
        FileStorageConfig {
            directory: PathBuf::from("./data/file_storage"),
            create_directory: true,
            fsync: FsyncPolicy::Interval,
            fsync_interval: Duration::from_secs(1),
            max_size_mib: 0,
            segment_size_mib: 16,
            timeout: Duration::from_secs(1),
        }
    }
}

impl ComponentConfig for FileStorageConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.directory.as_os_str().is_empty() {
            problems.push("directory must not be empty".to_string());
        }
        if self.fsync_interval.is_zero() {
            problems.push("fsync_interval must be greater than 0".to_string());
        }
        if !(1..=1024).contains(&self.segment_size_mib) {
            problems.push("segment_size_mib must be between 1 and 1024".to_string());
        }
        // Space is freed a segment at a time: with less than two segments of room, the segment
        // being written could hold the whole budget and never be freed.
        if self.max_size_mib != 0 && self.max_size_mib < 2 * self.segment_size_mib {
            problems.push(format!(
                "max_size_mib must be 0 (no bound) or at least twice segment_size_mib ({})",
                2 * self.segment_size_mib
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// What one queue is opened with, in bytes: tests use sizes far below a MiB.
#[derive(Clone, Debug)]
pub(crate) struct QueueOptions {
    pub fsync: FsyncPolicy,
    pub fsync_interval: Duration,
    /// 0: no bound.
    pub max_bytes: u64,
    pub segment_bytes: u64,
    pub lock_timeout: Duration,
}

impl QueueOptions {
    pub(crate) fn from_config(config: &FileStorageConfig) -> Self {
        QueueOptions {
            fsync: config.fsync,
            fsync_interval: config.fsync_interval,
            max_bytes: config.max_size_mib.saturating_mul(MIB),
            segment_bytes: config.segment_size_mib.saturating_mul(MIB).max(1),
            lock_timeout: config.timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<FileStorageConfig, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let config = FileStorageConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.fsync, FsyncPolicy::Interval);
        assert_eq!(config.directory, PathBuf::from("./data/file_storage"));
        let options = QueueOptions::from_config(&config);
        assert_eq!(options.segment_bytes, 16 * MIB);
        assert_eq!(options.max_bytes, 0);
    }

    #[test]
    fn reads_otelcol_style_fields_and_refuses_unknown_ones() {
        let config = parse(serde_json::json!({
            "directory": "/tmp/q", "fsync": "always", "timeout": "2s",
            "fsync_interval": "250ms", "max_size_mib": 64, "segment_size_mib": 8,
            "create_directory": false,
        }))
        .unwrap();
        assert_eq!(config.fsync, FsyncPolicy::Always);
        assert_eq!(config.fsync_interval, Duration::from_millis(250));
        assert_eq!(config.timeout, Duration::from_secs(2));
        assert!(!config.create_directory);
        assert!(config.validate().is_ok());
        let err = parse(serde_json::json!({ "compaction": {} })).unwrap_err();
        assert!(err.contains("unknown field `compaction`"), "{err}");
    }

    #[test]
    fn validation_reports_every_problem() {
        let config = FileStorageConfig {
            directory: PathBuf::new(),
            fsync_interval: Duration::ZERO,
            segment_size_mib: 2000,
            max_size_mib: 1,
            ..FileStorageConfig::default()
        };
        let problems = config.validate().unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        let tight = FileStorageConfig {
            max_size_mib: 31,
            ..FileStorageConfig::default()
        };
        assert!(tight.validate().unwrap_err()[0].contains("at least twice"));
    }
}
