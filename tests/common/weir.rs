//! The `weir` binary under test: a guard that runs it on temporary config files, collects its
//! stderr (its logs) in a background thread, waits until its ports accept connections, and
//! stops it with SIGTERM — on `stop()`, or on drop so that no test leaves a process behind.
//! When a test panics, the logs of every Weir it ran are printed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{DEADLINE, ports, wait_until};

/// The binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_weir")
}

/// How long `stop()` waits after SIGTERM before it kills the process and fails the test.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// Text collected from a child's pipe by a background thread.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<u8>>>);

impl Collected {
    fn spawn_reader(&self, mut pipe: impl Read + Send + 'static) -> JoinHandle<()> {
        let sink = self.0.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => sink
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&buf[..n]),
                }
            }
        })
    }

    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        strip_ansi(&String::from_utf8_lossy(&bytes))
    }
}

/// Removes terminal colour sequences, in case the log formatter emits them.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Sends `signal` (e.g. `TERM`) to `pid` with the system's `kill`, which avoids `unsafe` here.
fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(e) = status {
        eprintln!("could not run `kill -{signal} {pid}`: {e}");
    }
}

/// How to start Weir: config texts (each written to its own file, passed as `--config` in
/// order), `--set` overrides, extra arguments, and the ports that must accept connections
/// before [`WeirBuilder::start`] returns.
#[derive(Default)]
pub struct WeirBuilder {
    configs: Vec<String>,
    sets: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    wait_ports: Vec<u16>,
    no_config: bool,
}

impl WeirBuilder {
    /// Adds a config file with this YAML text.
    pub fn config(mut self, yaml: impl Into<String>) -> Self {
        self.configs.push(yaml.into());
        self
    }

    /// Adds a `--set key=value` override.
    pub fn set(mut self, set: impl Into<String>) -> Self {
        self.sets.push(set.into());
        self
    }

    /// Adds a raw command-line argument (after the generated ones).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable for the process.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A port on 127.0.0.1 that must accept connections before `start` returns.
    pub fn wait_for(mut self, port: u16) -> Self {
        self.wait_ports.push(port);
        self
    }

    /// Runs `weir` with no `--config` at all (the built-in default config).
    pub fn without_config(mut self) -> Self {
        self.no_config = true;
        self
    }

    /// Starts the process and waits (at most [`DEADLINE`]) until every port given to
    /// `wait_for` accepts connections. Panics, printing the logs, if the process exits first
    /// or the ports never open.
    pub fn start(self) -> Weir {
        let dir = tempfile::tempdir().expect("creating a temporary directory for the config");
        let mut command = Command::new(bin());
        if !self.no_config {
            for (i, yaml) in self.configs.iter().enumerate() {
                let path = dir.path().join(format!("config-{i}.yaml"));
                std::fs::write(&path, yaml).expect("writing the config file");
                command.arg("--config").arg(&path);
            }
        }
        for set in &self.sets {
            command.arg("--set").arg(set);
        }
        command.args(&self.args);
        command
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", bin()));
        let logs = Collected::default();
        let stdout = Collected::default();
        let readers = vec![
            logs.spawn_reader(child.stderr.take().expect("piped stderr")),
            stdout.spawn_reader(child.stdout.take().expect("piped stdout")),
        ];
        let mut weir = Weir {
            child: Some(child),
            logs,
            stdout,
            readers,
            dir: Some(dir),
            started: Instant::now(),
        };
        weir.wait_ready(&self.wait_ports);
        weir
    }
}

/// A running `weir` process. Dropping it sends SIGTERM (then SIGKILL if it hangs).
pub struct Weir {
    child: Option<Child>,
    logs: Collected,
    stdout: Collected,
    readers: Vec<JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
    started: Instant,
}

/// A process that has exited: its status and everything it logged. Printed if the test
/// panics while it is alive, so failed assertions come with the logs.
pub struct Stopped {
    /// How the process ended.
    pub status: ExitStatus,
    /// Its stderr (the `tracing` logs), colour codes removed.
    pub logs: String,
    /// Its stdout.
    pub stdout: String,
    /// How long it took from SIGTERM to exit.
    pub shutdown_took: Duration,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- weir exited with {} ---\n{}--- end of weir logs ---",
                self.status, self.logs
            );
        }
    }
}

impl Weir {
    /// Starts building a Weir process.
    pub fn builder() -> WeirBuilder {
        WeirBuilder::default()
    }

    /// Starts Weir on one config and waits for `ports`.
    pub fn start(yaml: &str, ports: &[u16]) -> Weir {
        ports
            .iter()
            .fold(Weir::builder().config(yaml), |b, p| b.wait_for(*p))
            .start()
    }

    /// The directory the config files were written to (for tests that add more files).
    pub fn config_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("config dir lives as long as the guard")
            .path()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("process not yet stopped").id()
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Waits (at most `timeout`) until the logs contain `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.logs().contains(needle))
    }

    /// Whether the process has exited already.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn wait_ready(&mut self, ports: &[u16]) {
        let deadline = Instant::now() + DEADLINE;
        let mut pending: Vec<u16> = ports.to_vec();
        loop {
            pending.retain(|p| !ports::accepts(*p));
            if pending.is_empty() {
                return;
            }
            if let Some(status) = self.exited() {
                let logs = self.drain_logs();
                panic!("weir exited with {status} before ports {pending:?} opened; logs:\n{logs}");
            }
            if Instant::now() >= deadline {
                let logs = self.logs();
                panic!(
                    "weir did not open ports {pending:?} within {:?}; logs so far:\n{logs}",
                    self.started.elapsed()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Joins the pipe readers (after exit) and returns the complete logs.
    fn drain_logs(&mut self) -> String {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.logs.text()
    }

    /// Sends SIGTERM, waits (bounded) for the process to exit and returns how it ended.
    /// Panics, with the logs, if it has not exited within 20 s (it is then killed).
    pub fn stop(mut self) -> Stopped {
        self.signal_and_wait("TERM")
    }

    /// `kill -9`: no shutdown runs, as in a crash. Waits (bounded) until the process is gone.
    pub fn kill_9(&mut self) {
        send_signal(self.pid(), "KILL");
        let gone = wait_until(Duration::from_secs(10), || self.exited().is_some());
        assert!(gone, "weir survived kill -9");
    }

    /// Like [`Weir::stop`] but with SIGINT.
    pub fn interrupt(mut self) -> Stopped {
        self.signal_and_wait("INT")
    }

    fn signal_and_wait(&mut self, signal: &str) -> Stopped {
        let mut child = self.child.take().expect("process not yet stopped");
        let sent = Instant::now();
        if child.try_wait().ok().flatten().is_none() {
            send_signal(child.id(), signal);
        }
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for weir") {
                break status;
            }
            if sent.elapsed() >= STOP_DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                let logs = self.drain_logs();
                panic!(
                    "weir did not exit within {STOP_DEADLINE:?} of SIG{signal}; killed it. Logs:\n{logs}"
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let shutdown_took = sent.elapsed();
        let logs = self.drain_logs();
        Stopped {
            status,
            logs,
            stdout: self.stdout.text(),
            shutdown_took,
        }
    }
}

impl Drop for Weir {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_none() {
            send_signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
            }
        }
        let status = child
            .wait()
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string());
        if std::thread::panicking() {
            let logs = self.drain_logs();
            eprintln!("--- weir ({status}) ---\n{logs}--- end of weir logs ---");
        }
    }
}

/// What a short-lived `weir` command (validate, components, schema, graph) printed.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error, colour codes removed.
    pub stderr: String,
}

/// Runs `weir ARGS` to completion (at most 30 s, then it is killed and the test fails), in
/// `cwd` when given.
pub fn run_cli(args: &[&str], cwd: Option<&Path>) -> CliOutput {
    run_cli_env(args, cwd, &[])
}

/// [`run_cli`] with environment changes: `Some(value)` sets a variable, `None` removes it.
pub fn run_cli_env(args: &[&str], cwd: Option<&Path>, env: &[(&str, Option<&str>)]) -> CliOutput {
    let mut command = Command::new(bin());
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        match v {
            Some(v) => command.env(k, v),
            None => command.env_remove(k),
        };
    }
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", bin()));
    let out = Collected::default();
    let err = Collected::default();
    let readers = [
        out.spawn_reader(child.stdout.take().expect("piped stdout")),
        err.spawn_reader(child.stderr.take().expect("piped stderr")),
    ];
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for weir") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`weir {}` did not finish within 30 s; stderr:\n{}",
                args.join(" "),
                err.text()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    for reader in readers {
        let _ = reader.join();
    }
    CliOutput {
        code: status.code(),
        stdout: out.text(),
        stderr: err.text(),
    }
}

/// The repository root (where `Cargo.toml`, `configs/` and `tests/` are).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
