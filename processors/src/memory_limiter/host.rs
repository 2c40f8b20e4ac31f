//! What the host says about memory: the process's anonymous resident memory
//! (`/proc/self/statm`) and the
//! memory available to it (the cgroup's limit, v2 `memory.max` or v1 `memory.limit_in_bytes`,
//! when one is set and below the machine's `MemTotal` from `/proc/meminfo`). Parsing is kept
//! apart from reading so it can be tested on sample files; the file system root is a parameter
//! for the same reason.

use std::path::{Path, PathBuf};

/// A memory figure that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file did not say what was expected.
    #[error("cannot understand {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

/// Where the memory available to the process comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AvailableSource {
    /// The cgroup v2 `memory.max`.
    CgroupV2,
    /// The cgroup v1 `memory.limit_in_bytes`.
    CgroupV1,
    /// `MemTotal` in `/proc/meminfo` (no cgroup limit, or one above the machine's memory).
    MemTotal,
}

impl AvailableSource {
    /// For logs.
    pub fn describe(self) -> &'static str {
        match self {
            AvailableSource::CgroupV2 => "the cgroup v2 memory.max",
            AvailableSource::CgroupV1 => "the cgroup v1 memory.limit_in_bytes",
            AvailableSource::MemTotal => "MemTotal in /proc/meminfo",
        }
    }
}

/// The memory available to the process and where the figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// Its origin.
    pub source: AvailableSource,
}

/// Anonymous resident memory in bytes from the text of `/proc/<pid>/statm` (pages: size,
/// resident, shared, ...): resident minus shared, the kernel's `RssAnon`. The shared pages are
/// file-backed (the binary's and libraries' code, clean and dropped by the kernel under
/// pressure) or shared memory, which Weir does not use; they are not memory Weir's data can
/// grow, and in a debug build the binary alone is 20 MiB of them.
pub fn parse_statm_anonymous(text: &str, page_size: u64) -> Result<u64, String> {
    let mut fields = text.split_ascii_whitespace().skip(1);
    let (Some(resident), Some(shared)) = (fields.next(), fields.next()) else {
        return Err(format!("expected at least three fields, found {text:?}"));
    };
    let pages = |name: &str, value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| format!("{name} pages `{value}` is not a number"))
    };
    let anonymous = pages("resident", resident)?.saturating_sub(pages("shared", shared)?);
    Ok(anonymous.saturating_mul(page_size))
}

/// `MemTotal` in bytes from the text of `/proc/meminfo`.
pub fn parse_meminfo_total(text: &str) -> Result<u64, String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .ok_or_else(|| "no `MemTotal:` line".to_string())?;
    let mut fields = line.split_ascii_whitespace();
    let value = fields.next().unwrap_or_default();
    let kib: u64 = value
        .parse()
        .map_err(|_| format!("MemTotal `{value}` is not a number"))?;
    match fields.next() {
        Some("kB") | None => Ok(kib.saturating_mul(1024)),
        Some(unit) => Err(format!("MemTotal has unexpected unit `{unit}`")),
    }
}

/// The limit from a cgroup v2 `memory.max`: `None` when it says `max` (no limit).
pub fn parse_cgroup_v2_max(text: &str) -> Result<Option<u64>, String> {
    match text.trim() {
        "max" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| format!("`{value}` is neither `max` nor a number of bytes")),
    }
}

/// v1 writes "no limit" as the largest page-aligned `i64`; anything this large means no limit.
const V1_UNLIMITED: u64 = 1 << 62;

/// The limit from a cgroup v1 `memory.limit_in_bytes`: `None` when it is the kernel's "no
/// limit" value.
pub fn parse_cgroup_v1_limit(text: &str) -> Result<Option<u64>, String> {
    let value = text.trim();
    let bytes: u64 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number of bytes"))?;
    Ok((bytes < V1_UNLIMITED).then_some(bytes))
}

/// The process's cgroup paths from the text of `/proc/self/cgroup`: the v2 path (`0::/path`)
/// and the v1 path of the `memory` controller (`N:...memory...:/path`).
pub fn parse_proc_cgroup(text: &str) -> (Option<String>, Option<String>) {
    let mut v2 = None;
    let mut v1 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(hierarchy), Some(controllers), Some(path)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if hierarchy == "0" && controllers.is_empty() {
            v2 = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_string());
        }
    }
    (v2, v1)
}

/// Reads the files under a root directory: `/` on a real system, a prepared tree in tests.
#[derive(Clone, Debug)]
pub struct HostFiles {
    root: PathBuf,
}

impl HostFiles {
    /// The real system's files.
    pub fn system() -> Self {
        HostFiles::under("/")
    }

    /// The files under `root` (`root/proc/meminfo`, `root/sys/fs/cgroup/...`).
    pub fn under(root: impl Into<PathBuf>) -> Self {
        HostFiles { root: root.into() }
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// Path of this process's `statm`.
    pub fn statm(&self) -> PathBuf {
        self.path("/proc/self/statm")
    }

    fn read(&self, path: &Path) -> Result<String, HostError> {
        std::fs::read_to_string(path).map_err(|source| HostError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads an optional file: a missing one is `None`, any other failure an error.
    fn read_optional(&self, path: &Path) -> Result<Option<String>, HostError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(HostError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The smallest limit set in the cgroup files that exist among `candidates`.
    fn cgroup_limit(
        &self,
        candidates: &[PathBuf],
        parse: fn(&str) -> Result<Option<u64>, String>,
    ) -> Result<Option<u64>, HostError> {
        let mut limit: Option<u64> = None;
        for path in candidates {
            let Some(text) = self.read_optional(path)? else {
                continue;
            };
            let found = parse(&text).map_err(|message| HostError::Parse {
                path: path.clone(),
                message,
            })?;
            limit = match (limit, found) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(limit)
    }

    /// The memory available to the process: its cgroup's limit when one is set below
    /// `MemTotal` (otelcol's rule), else `MemTotal`.
    pub fn available(&self) -> Result<Available, HostError> {
        let meminfo = self.path("/proc/meminfo");
        let total =
            parse_meminfo_total(&self.read(&meminfo)?).map_err(|message| HostError::Parse {
                path: meminfo,
                message,
            })?;
        let (v2_path, v1_path) = match self.read_optional(&self.path("/proc/self/cgroup"))? {
            Some(text) => parse_proc_cgroup(&text),
            None => (None, None),
        };
        // The process's own cgroup first; the mount's root as well, which is the process's own
        // cgroup inside a container with a cgroup namespace.
        let candidates = |mount: &str, own: Option<String>, file: &str| {
            let mut paths = Vec::new();
            if let Some(own) = own.filter(|p| p != "/") {
                paths.push(
                    self.path(mount)
                        .join(own.trim_start_matches('/'))
                        .join(file),
                );
            }
            paths.push(self.path(mount).join(file));
            paths
        };
        let v2 = self.cgroup_limit(
            &candidates("/sys/fs/cgroup", v2_path, "memory.max"),
            parse_cgroup_v2_max,
        )?;
        let v1 = self.cgroup_limit(
            &candidates("/sys/fs/cgroup/memory", v1_path, "memory.limit_in_bytes"),
            parse_cgroup_v1_limit,
        )?;
        let cgroup = match (v2, v1) {
            (Some(v2), Some(v1)) if v1 < v2 => Some((v1, AvailableSource::CgroupV1)),
            (Some(v2), _) => Some((v2, AvailableSource::CgroupV2)),
            (None, Some(v1)) => Some((v1, AvailableSource::CgroupV1)),
            (None, None) => None,
        };
        Ok(match cgroup {
            Some((bytes, source)) if bytes > 0 && bytes < total => Available { bytes, source },
            _ => Available {
                bytes: total,
                source: AvailableSource::MemTotal,
            },
        })
    }
}

/// The process's anonymous resident memory (heap, stacks: what its data occupies), read from
/// `statm`.
#[derive(Clone, Debug)]
pub struct ResidentSet {
    statm: PathBuf,
    page_size: u64,
}

impl ResidentSet {
    /// Reads this process's `statm` on the real system.
    pub fn of_this_process() -> Self {
        ResidentSet::from_statm(
            HostFiles::system().statm(),
            rustix::param::page_size() as u64,
        )
    }

    /// Reads `statm` at `path`, counting pages of `page_size` bytes.
    pub fn from_statm(path: PathBuf, page_size: u64) -> Self {
        ResidentSet {
            statm: path,
            page_size,
        }
    }

    /// Anonymous bytes resident now.
    pub fn bytes(&self) -> Result<u64, HostError> {
        let text = std::fs::read_to_string(&self.statm).map_err(|source| HostError::Io {
            path: self.statm.clone(),
            source,
        })?;
        parse_statm_anonymous(&text, self.page_size).map_err(|message| HostError::Parse {
            path: self.statm.clone(),
            message,
        })
    }
}
