//! The `file_storage` extension (otelcol's name): persistent sending queues on local disk.
//! An exporter with `sending_queue.storage: file_storage` gets a `FileQueue` instead of an
//! in-memory one, in a folder of its own under `directory`, and its queued batches survive
//! restarts, crashes and `kill -9`.
//!
//! - `config`: the documented options and the fsync policies;
//! - `record`: the record format of segment files and the scan that finds damage;
//! - `ack`: which records are done, and the atomically replaced file that keeps it;
//! - `recovery`: reopening a folder, cutting or skipping what a crash or a bad disk left;
//! - `queue`: the [`QueueStore`](weir_core::exporter::QueueStore) consumers use;
//! - `writer`: the thread that appends, fsyncs, saves progress and frees segments;
//! - `lock`: one process per queue folder;
//! - `client`: components' keyed records (the `filelog` receiver's offsets).

mod ack;
mod client;
mod config;
mod lock;
mod queue;
mod record;
mod recovery;
mod writer;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use weir_core::batch::Signal;
use weir_core::component::{
    BuildError, CreateSettings, Extension, ExtensionContext, ExtensionError, ExtensionFactory,
    KvStore, Stability, Storage,
};
use weir_core::exporter::{QueueStore, Sizer};

pub use config::{FileStorageConfig, FsyncPolicy};

use config::QueueOptions;
use queue::{DiskBudget, FileQueue, WriterHandle};

/// Why a persistent queue could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The folder is in use by another process.
    #[error("{0}")]
    Lock(#[from] lock::LockError),
}

/// Factory of the `file_storage` extension.
#[derive(Debug, Default)]
pub struct FileStorageFactory;

impl ExtensionFactory for FileStorageFactory {
    type Config = FileStorageConfig;
    const TYPE: &'static str = "file_storage";
    const STABILITY: Stability = Stability::Alpha;

    fn create(
        &self,
        config: &FileStorageConfig,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Extension>, BuildError> {
        Ok(Arc::new(FileStorage::new(
            settings.id.to_string(),
            config.clone(),
        )))
    }
}

/// A running `file_storage` extension: the directory, and the queues opened in it.
pub struct FileStorage {
    id: String,
    config: FileStorageConfig,
    /// Set by `start` once the directory is known to exist.
    directory: Mutex<Option<PathBuf>>,
    budget: Arc<DiskBudget>,
    /// Writers of the queues opened, by folder, stopped at shutdown if their queue still lives.
    writers: Mutex<Vec<(PathBuf, Weak<WriterHandle>)>>,
}

impl FileStorage {
    fn new(id: String, config: FileStorageConfig) -> FileStorage {
        let max = QueueOptions::from_config(&config).max_bytes;
        FileStorage {
            id,
            config,
            directory: Mutex::new(None),
            budget: Arc::new(DiskBudget {
                max,
                ..DiskBudget::default()
            }),
            writers: Mutex::new(Vec::new()),
        }
    }

    fn prepare_directory(&self) -> Result<PathBuf, ExtensionError> {
        let dir = &self.config.directory;
        let shown = dir.display();
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(ExtensionError(format!(
                    "directory `{shown}` is not a directory"
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.config.create_directory => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ExtensionError(format!("cannot create directory `{shown}`: {e}"))
                })?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ExtensionError(format!(
                    "directory `{shown}` does not exist; create it or set `create_directory: true`"
                )));
            }
            Err(e) => {
                return Err(ExtensionError(format!(
                    "cannot use directory `{shown}`: {e}"
                )));
            }
        }
        Ok(dir.clone())
    }
}

#[async_trait]
impl Extension for FileStorage {
    async fn start(&self, _ctx: ExtensionContext) -> Result<(), ExtensionError> {
        let dir = self.prepare_directory()?;
        let shown = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
        tracing::info!(extension = %self.id, directory = %shown.display(), fsync = ?self.config.fsync,
            "file storage ready");
        *self.directory.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);
        Ok(())
    }

    async fn shutdown(&self) {
        let writers: Vec<Arc<WriterHandle>> = self
            .writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        // Joining a writer waits for its last fsync: off the async threads.
        let stopped = tokio::task::spawn_blocking(move || {
            for writer in writers {
                writer.shutdown();
            }
        })
        .await;
        if stopped.is_err() {
            tracing::error!(extension = %self.id, "persistent queue writers did not stop cleanly");
        }
    }

    fn storage(&self) -> Option<&dyn Storage> {
        Some(self)
    }
}

impl Storage for FileStorage {
    fn open_client(&self, owner: &str) -> Result<Arc<dyn KvStore>, ExtensionError> {
        let dir = self.started_directory()?;
        Ok(Arc::new(client::FileClient::open(&dir, owner)?))
    }

    fn open_queue(
        &self,
        name: &str,
        signal: Signal,
        sizer: Sizer,
        capacity: usize,
    ) -> Result<Arc<dyn QueueStore>, ExtensionError> {
        let dir = self.started_directory()?;
        let folder = folder_name(name)
            .map(|f| dir.join(f))
            .ok_or_else(|| ExtensionError(format!("`{name}` is not a usable queue name")))?;
        self.release_closed(&folder);
        let queue = FileQueue::open(
            &folder,
            name,
            signal,
            sizer,
            capacity,
            QueueOptions::from_config(&self.config),
            self.budget.clone(),
        )
        .map_err(|e| ExtensionError(e.to_string()))?;
        let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        writers.retain(|(_, w)| w.strong_count() > 0);
        writers.push((folder, Arc::downgrade(queue.writer())));
        Ok(Arc::new(queue))
    }
}

impl FileStorage {
    fn started_directory(&self) -> Result<PathBuf, ExtensionError> {
        self.directory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| ExtensionError(format!("extension `{}` is not started", self.id)))
    }

    /// A config reload drains a changed exporter's queue and opens it again under the same
    /// name while the old one may still be referenced (its counters live on): a closed queue of
    /// the same folder is finished first — progress saved, folder unlocked — so the new one
    /// can take over its backlog. A queue still open keeps its folder: two exporters whose ids
    /// map to the same folder get an error instead of sharing it.
    fn release_closed(&self, folder: &Path) {
        let previous: Vec<Arc<WriterHandle>> = self
            .writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(f, _)| f == folder)
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        for writer in previous.into_iter().filter(|w| w.is_closed()) {
            writer.shutdown();
        }
    }
}

/// The folder of queue `name`: the name with anything but letters, digits, `-`, `_` and `.`
/// replaced, so an exporter id can never reach outside the directory.
fn folder_name(name: &str) -> Option<PathBuf> {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        return None;
    }
    Some(Path::new(&clean).to_path_buf())
}
