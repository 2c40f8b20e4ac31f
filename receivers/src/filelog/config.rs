//! Configuration of the `filelog` receiver: otelcol-contrib's fields, names and defaults. The
//! file-finding and reading fields become a [`weir_tailer::TailerConfig`]; `operators` are the
//! stanza pipeline's; `storage` names the extension that keeps the offsets.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::{ComponentConfig, FieldError};
use weir_core::config::ByteSize;
use weir_core::exporter::{DurationString, humantime_serde};
use weir_tailer::{Compression, Encoding, Multiline, StartAt, TailerConfig};

/// Records per request at most (each within the tailer's 256 KiB a batch).
pub(crate) const BATCH_RECORDS: usize = 1024;

/// Where files found at the first poll start being read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StartAtConfig {
    /// From their first byte.
    Beginning,
    /// From their end at the first poll (files that appear later are read whole).
    #[default]
    End,
}

/// `multiline`: where one record ends and the next begins, when it is not every newline.
/// Exactly one of the patterns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MultilineConfig {
    /// A regex that matches the start of each record.
    pub line_start_pattern: Option<String>,
    /// A regex that matches the end of each record.
    pub line_end_pattern: Option<String>,
    /// otelcol's option to drop the matched pattern from the record; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omit_pattern: Option<bool>,
}

/// `retry_on_failure`: what happens when the pipeline could not deliver a batch (an exporter
/// gave up on it). Refusals for backpressure are always waited out, whatever this says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryOnFailureConfig {
    /// Send a failed batch again (reading of that file pauses meanwhile). Off, as in otelcol:
    /// a failed batch is then counted, logged and passed over.
    pub enabled: bool,
    /// Wait after the first failure.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub initial_interval: Duration,
    /// Longest wait between attempts (the wait doubles up to it).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub max_interval: Duration,
    /// Give a batch up after trying for this long; `0` never gives up.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryOnFailureConfig {
    fn default() -> Self {
        RetryOnFailureConfig {
            enabled: false,
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

/// Tails log files: finds them by glob, knows them by fingerprint through rotation, reads
/// records (lines or multiline), runs the stanza operators, and keeps its offsets in a storage
/// extension so a restart goes on where it left off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FilelogConfig {
    /// Globs of the files to read (`*` within a directory, `**` across directories). Required.
    pub include: Vec<String>,
    /// Globs of files not to read, matched against what `include` found.
    pub exclude: Vec<String>,
    /// Leave out files last modified longer ago than this.
    #[serde(with = "optional_duration", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DurationString>")]
    pub exclude_older_than: Option<Duration>,
    /// Where files present at the first poll start: `end` (the default) or `beginning`.
    pub start_at: StartAtConfig,
    /// Records that span lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiline: Option<MultilineConfig>,
    /// A last record without its newline is emitted once its file has not grown for this long.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub force_flush_period: Duration,
    /// `utf-8` (the default), `utf-16le`, `utf-16be`, `ascii`, `nop` (bytes as they are), or
    /// another WHATWG encoding label (`shift_jis`, `windows-1252`, `gbk`, ...).
    pub encoding: String,
    /// Keep whitespace at the start of each record.
    pub preserve_leading_whitespaces: bool,
    /// Keep whitespace at the end of each record.
    pub preserve_trailing_whitespaces: bool,
    /// Add the file's name as the attribute `log.file.name`.
    pub include_file_name: bool,
    /// Add the file's path as `log.file.path`.
    pub include_file_path: bool,
    /// Add the file's name after following symlinks as `log.file.name_resolved`.
    pub include_file_name_resolved: bool,
    /// Add the file's path after following symlinks as `log.file.path_resolved`.
    pub include_file_path_resolved: bool,
    /// otelcol's `log.file.owner.name`; refused (not built).
    pub include_file_owner_name: bool,
    /// otelcol's `log.file.owner.group.name`; refused (not built).
    pub include_file_owner_group_name: bool,
    /// otelcol's `log.file.record_number`; refused (not built).
    pub include_file_record_number: bool,
    /// Time between looks at the file system.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub poll_interval: Duration,
    /// Leading bytes that identify a file (`1kb`, which is 1000 bytes, by default).
    pub fingerprint_size: ByteSize,
    /// Bytes read from a file at a time (otelcol's first read buffer size; Weir reads every
    /// chunk this size, at least 4 KiB).
    pub initial_buffer_size: ByteSize,
    /// Longest record; a longer one is cut into pieces of this size (counted as truncated).
    pub max_log_size: ByteSize,
    /// Files open at once; beyond it, a poll reads the files in groups of half this.
    pub max_concurrent_files: usize,
    /// Groups read per poll at most when files are read in groups; `0` for all.
    pub max_batches: usize,
    /// Delete each file once it was read to its end and all of it was delivered. Needs
    /// `start_at: beginning`.
    pub delete_after_read: bool,
    /// otelcol's advisory lock before reading; refused (not built).
    pub acquire_fs_lock: bool,
    /// `gzip` (every file is gzip), `auto` (files ending in `.gz` are), or empty (none).
    pub compression: String,
    /// Attributes added to every record.
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes of every record.
    pub resource: BTreeMap<String, String>,
    /// The stanza operators each record goes through, in order (see the operators reference).
    pub operators: Vec<serde_json::Value>,
    /// The storage extension (`file_storage` or `file_storage/<name>`) that keeps each file's
    /// fingerprint and delivered offset. Without it, offsets live in memory only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// What to do when the pipeline fails a batch.
    pub retry_on_failure: RetryOnFailureConfig,
    /// otelcol's header metadata parsing; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<serde_json::Value>,
    /// otelcol's file ordering; refused (not built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering_criteria: Option<serde_json::Value>,
}

impl Default for FilelogConfig {
    fn default() -> Self {
        let tailer = TailerConfig::default();
        FilelogConfig {
            include: Vec::new(),
            exclude: Vec::new(),
            exclude_older_than: None,
            start_at: StartAtConfig::End,
            multiline: None,
            force_flush_period: tailer.force_flush_period,
            encoding: "utf-8".into(),
            preserve_leading_whitespaces: false,
            preserve_trailing_whitespaces: false,
            include_file_name: true,
            include_file_path: false,
            include_file_name_resolved: false,
            include_file_path_resolved: false,
            include_file_owner_name: false,
            include_file_owner_group_name: false,
            include_file_record_number: false,
            poll_interval: Duration::from_millis(200),
            fingerprint_size: ByteSize(tailer.fingerprint_size as u64),
            initial_buffer_size: ByteSize(16 * 1024),
            max_log_size: ByteSize(tailer.max_log_size as u64),
            max_concurrent_files: tailer.max_concurrent_files,
            max_batches: 0,
            delete_after_read: false,
            acquire_fs_lock: false,
            compression: String::new(),
            attributes: BTreeMap::new(),
            resource: BTreeMap::new(),
            operators: Vec::new(),
            storage: None,
            retry_on_failure: RetryOnFailureConfig::default(),
            header: None,
            ordering_criteria: None,
        }
    }
}

/// Durations that may be absent.
mod optional_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => weir_core::exporter::humantime_serde::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "weir_core::exporter::humantime_serde")] Duration);
        Option::<Wrapped>::deserialize(d).map(|w| w.map(|Wrapped(d)| d))
    }
}

impl FilelogConfig {
    /// What the fields say about finding and reading files, for the tailer.
    pub fn tailer(&self) -> Result<TailerConfig, (&'static str, String)> {
        let encoding = Encoding::from_name(&self.encoding).ok_or_else(|| {
            (
                "encoding",
                format!(
                    "encoding `{}` is not supported (use utf-8, utf-16le, utf-16be, ascii, nop, or a WHATWG encoding label such as shift_jis or windows-1252)",
                    self.encoding
                ),
            )
        })?;
        let compression = match self.compression.to_ascii_lowercase().as_str() {
            "" => Compression::None,
            "gzip" => Compression::Gzip,
            "auto" => Compression::Auto,
            other => {
                return Err((
                    "compression",
                    format!("compression `{other}` is not supported (use gzip or auto)"),
                ));
            }
        };
        let multiline = match &self.multiline {
            None => None,
            Some(m) => match (&m.line_start_pattern, &m.line_end_pattern) {
                (Some(start), None) => Some(Multiline::LineStart(start.clone())),
                (None, Some(end)) => Some(Multiline::LineEnd(end.clone())),
                (Some(_), Some(_)) => {
                    return Err((
                        "multiline",
                        "give line_start_pattern or line_end_pattern, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err((
                        "multiline",
                        "give line_start_pattern or line_end_pattern".into(),
                    ));
                }
            },
        };
        let size = |value: ByteSize, name: &'static str| {
            usize::try_from(value.bytes()).map_err(|_| (name, format!("`{name}` is too large")))
        };
        Ok(TailerConfig {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            exclude_older_than: self.exclude_older_than,
            start_at: match self.start_at {
                StartAtConfig::Beginning => StartAt::Beginning,
                StartAtConfig::End => StartAt::End,
            },
            fingerprint_size: size(self.fingerprint_size, "fingerprint_size")?,
            max_concurrent_files: self.max_concurrent_files,
            max_batches: self.max_batches,
            max_log_size: size(self.max_log_size, "max_log_size")?,
            encoding,
            multiline,
            preserve_leading_whitespaces: self.preserve_leading_whitespaces,
            preserve_trailing_whitespaces: self.preserve_trailing_whitespaces,
            force_flush_period: self.force_flush_period,
            delete_after_read: self.delete_after_read,
            compression,
            read_chunk: size(self.initial_buffer_size, "initial_buffer_size")?.max(4096),
            // Offsets move only once what was read is delivered, so what may be unacknowledged
            // at once bounds the throughput: with otelcol's 100 records a batch, a file's 64
            // batches in flight stay under a `batch` processor's 8192 and every round waited
            // for its timeout (about 32 k lines/s at 200 ms).
            batch_records: BATCH_RECORDS,
            // Two batch processors' worth in flight per file: enough to keep a pipeline busy,
            // and it bounds what the receiver holds (memory).
            max_unacked_batches_per_file: 16,
            ..TailerConfig::default()
        })
    }

    /// Fields otelcol has that Weir does not build: refused by name rather than ignored.
    fn refused(&self, problems: &mut Vec<FieldError>) {
        let mut refuse = |on: bool, path: &[&str], why: &str| {
            if on {
                problems.push(problem(
                    path,
                    format!(
                        "`{}` is not supported by Weir's filelog receiver{why}",
                        path.join(".")
                    ),
                ));
            }
        };
        refuse(
            self.include_file_owner_name,
            &["include_file_owner_name"],
            "",
        );
        refuse(
            self.include_file_owner_group_name,
            &["include_file_owner_group_name"],
            "",
        );
        refuse(
            self.include_file_record_number,
            &["include_file_record_number"],
            "",
        );
        refuse(self.acquire_fs_lock, &["acquire_fs_lock"], "");
        refuse(
            self.header.is_some(),
            &["header"],
            " (header metadata parsing)",
        );
        refuse(self.ordering_criteria.is_some(), &["ordering_criteria"], "");
        refuse(
            self.multiline
                .as_ref()
                .is_some_and(|m| m.omit_pattern == Some(true)),
            &["multiline", "omit_pattern"],
            "",
        );
    }

    /// Where in the config a tailer's complaint is about.
    fn tailer_problem(&self, error: &weir_tailer::ConfigError) -> FieldError {
        use weir_tailer::ConfigError as E;
        let path: Vec<String> = match error {
            E::NoInclude => vec!["include".into()],
            E::Glob { pattern, .. } => {
                let at = |list: &[String], name: &str| {
                    list.iter()
                        .position(|p| p == pattern)
                        .map(|i| vec![name.to_string(), i.to_string()])
                };
                at(&self.include, "include")
                    .or_else(|| at(&self.exclude, "exclude"))
                    .unwrap_or_default()
            }
            E::Regex { .. } => {
                let field = match self
                    .multiline
                    .as_ref()
                    .and_then(|m| m.line_start_pattern.as_ref())
                {
                    Some(_) => "line_start_pattern",
                    None => "line_end_pattern",
                };
                vec!["multiline".into(), field.into()]
            }
            E::Zero(name) => vec![(*name).to_string()],
            E::DeleteNeedsBeginning => vec!["delete_after_read".into()],
        };
        // The regex crate draws its syntax errors over several lines; a problem is one line.
        let text = error.to_string();
        let message = match text.lines().rev().find_map(|l| l.strip_prefix("error: ")) {
            Some(reason) if text.contains('\n') => {
                format!(
                    "{}: {reason}",
                    text.lines()
                        .next()
                        .unwrap_or_default()
                        .trim_end_matches(": regex parse error:")
                )
            }
            _ => text,
        };
        FieldError {
            path,
            message,
            expected: Vec::new(),
        }
    }
}

fn problem(path: &[&str], message: String) -> FieldError {
    FieldError {
        path: path.iter().map(|p| p.to_string()).collect(),
        message,
        expected: Vec::new(),
    }
}

impl ComponentConfig for FilelogConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        self.validate_fields().map_err(|problems| {
            problems
                .into_iter()
                .map(|p| match p.path.is_empty() {
                    true => p.message,
                    false => format!("{}: {}", p.path.join("."), p.message),
                })
                .collect()
        })
    }

    fn validate_fields(&self) -> Result<(), Vec<FieldError>> {
        let mut problems = Vec::new();
        self.refused(&mut problems);
        if self.include.is_empty() {
            problems.push(problem(
                &["include"],
                "`include` is required: the globs of the files to read".into(),
            ));
        }
        if self.max_concurrent_files < 2 {
            problems.push(problem(
                &["max_concurrent_files"],
                "`max_concurrent_files` must be greater than 1".into(),
            ));
        }
        if self.delete_after_read && self.start_at == StartAtConfig::End {
            problems.push(problem(
                &["delete_after_read"],
                "`delete_after_read` cannot be used with `start_at: end`".into(),
            ));
        }
        if self.poll_interval.is_zero() {
            problems.push(problem(
                &["poll_interval"],
                "`poll_interval` must be greater than 0".into(),
            ));
        }
        match self.tailer() {
            // Compiles the globs and the multiline regex; no I/O. Its own complaints about an
            // empty include or delete_after_read are reported above already.
            Ok(tailer) if !self.include.is_empty() && !self.delete_after_read => {
                if let Err(e) = weir_tailer::Tailer::new(tailer) {
                    problems.push(self.tailer_problem(&e));
                }
            }
            Ok(_) => {}
            Err((field, message)) => problems.push(problem(&[field], message)),
        }
        if !self.operators.is_empty()
            && let Err(errors) = weir_stanza::Pipeline::build_list(&self.operators)
        {
            problems.extend(errors.0.into_iter().map(|e| FieldError {
                path: e.path.keys(),
                message: e.message,
                expected: e.expected,
            }));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
