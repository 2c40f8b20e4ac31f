//! A tokio runtime owned by one plugin instance, for plugins that do I/O (the host's runtime is
//! not reachable from a library: it links its own tokio). Worker threads log through the
//! instance's [`Host`]. Shut it down in the instance's `shutdown`, before the host goes away.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::{Error, Host, logging};

/// A multi-threaded tokio runtime with a bounded number of workers.
pub struct PluginRuntime {
    runtime: Option<Runtime>,
}

impl PluginRuntime {
    /// Starts `workers` worker threads named `name`.
    pub fn new(name: &str, workers: usize, host: Host) -> Result<PluginRuntime, Error> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name(name)
            .enable_all()
            .on_thread_start(move || logging::set_thread_host(host))
            .build()
            .map_err(|e| Error::Internal(format!("starting the plugin's tokio runtime: {e}")))?;
        Ok(PluginRuntime {
            runtime: Some(runtime),
        })
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until shutdown consumes it")
            .handle()
    }

    /// Spawns a task on the runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(future)
    }

    /// Runs a future to completion on the calling thread (which must not be a worker).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle().block_on(future)
    }

    /// Stops the runtime, waiting at most `timeout` for its tasks.
    pub fn shutdown(mut self, timeout: Duration) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(timeout);
        }
    }
}

impl Drop for PluginRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
