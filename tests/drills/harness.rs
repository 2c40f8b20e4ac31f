//! Processes the drills run besides Weir: `weir-gen` as the client (`weir-gen traces`) and as
//! the backend (`weir-gen sink`), each behind a guard that bounds every wait and kills the
//! process on drop; plus signals through `/bin/kill`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `weir-gen` binary next to the `weir` binary cargo built for these tests; built once with
/// `cargo build -p weir-gen` (into the same target directory) when it is not there.
pub fn gen_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let weir = Path::new(env!("CARGO_BIN_EXE_weir"));
        let bin = weir.with_file_name("weir-gen");
        if bin.exists() {
            return bin;
        }
        // target/<profile>/weir → target
        let target_dir = weir
            .parent()
            .and_then(Path::parent)
            .expect("the weir binary lives in target/<profile>/");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let status = Command::new(cargo)
            .args(["build", "-p", "weir-gen", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(target_dir)
            .stdin(Stdio::null())
            .status()
            .expect("running cargo build -p weir-gen");
        assert!(status.success(), "cargo build -p weir-gen failed: {status}");
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
}

/// Sends `signal` (`KILL`, `TERM`, `HUP`) to `pid` with `/bin/kill`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("/bin/kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running /bin/kill -{signal} {pid}: {e}"));
    assert!(
        status.success(),
        "/bin/kill -{signal} {pid} failed: {status}"
    );
}

/// A run id no other run of this test process uses (the sink keeps stats per run id).
pub fn fresh_run_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = (u64::from(std::process::id()) % 100_000) * 1_000_000;
    1 + base + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Bytes collected from a child's pipe by a background thread.
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
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Stops a child: SIGTERM, up to `grace` to exit, then SIGKILL; always reaped.
fn stop_child(child: &mut Child, grace: Duration) {
    if child.try_wait().ok().flatten().is_none() {
        signal(child.id(), "TERM");
        let deadline = Instant::now() + grace;
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
        }
    }
    let _ = child.wait();
}

// ---- the counting sink -----------------------------------------------------------------------

/// Counts of one run at the sink (`GET /stats` → `traces.runs[<id>]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Distinct seqs seen.
    pub unique: u64,
    /// Items seen again.
    pub duplicates: u64,
    /// Highest seq seen.
    pub max_seq: Option<u64>,
    /// Seqs below `max_seq` never seen.
    pub missing: u64,
}

/// The traces part of the sink's stats.
#[derive(Clone, Debug, Default)]
pub struct TraceStats {
    /// Items in accepted requests.
    pub items: u64,
    /// Requests answered INVALID_ARGUMENT.
    pub invalid_requests: u64,
    /// The whole JSON, for messages.
    pub raw: Value,
}

impl TraceStats {
    /// The counts of run `run_id` (zeros if the sink never saw it).
    pub fn run(&self, run_id: u64) -> RunStats {
        let run = &self.raw["runs"][run_id.to_string()];
        RunStats {
            unique: run["unique"].as_u64().unwrap_or(0),
            duplicates: run["duplicates"].as_u64().unwrap_or(0),
            max_seq: run["max_seq"].as_u64(),
            missing: run["missing"].as_u64().unwrap_or(0),
        }
    }
}

/// A `weir-gen sink` process on free ports of 127.0.0.1; killed on drop.
pub struct Sink {
    child: Mutex<Child>,
    /// Where it takes OTLP/gRPC.
    pub grpc: SocketAddr,
    control: SocketAddr,
    stderr: Collected,
}

impl Sink {
    /// Starts a sink with extra flags (`--delay 200ms`, `--status invalid`, ...).
    pub fn start(flags: &[&str]) -> Sink {
        let mut child = Command::new(gen_bin())
            .args(["--threads", "1", "sink"])
            .args(["--grpc", "127.0.0.1:0", "--control", "127.0.0.1:0"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning weir-gen sink");
        let stderr = Collected::default();
        stderr.spawn_reader(child.stderr.take().expect("piped stderr"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep reading so the sink never blocks on a full pipe.
            for _ in lines {}
        });
        let Ok(first) = rx.recv_timeout(Duration::from_secs(15)) else {
            stop_child(&mut child, Duration::from_secs(1));
            panic!(
                "weir-gen sink did not say where it listens; stderr:\n{}",
                stderr.text()
            );
        };
        let listening: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("sink's first line {first:?}: {e}"));
        let addr = |key: &str| -> SocketAddr {
            listening["listening"][key]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no {key} address in {first}"))
        };
        Sink {
            grpc: addr("grpc"),
            control: addr("control"),
            child: Mutex::new(child),
            stderr,
        }
    }

    /// `http://127.0.0.1:PORT` of the gRPC side, for Weir's exporter.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// The traces stats now.
    pub fn traces(&self) -> TraceStats {
        let body = http_call(self.control, "GET", "/stats", "")
            .unwrap_or_else(|e| panic!("sink stats: {e}; {}", self.state()));
        let all: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("sink stats {body:?}: {e}"));
        let traces = all["traces"].clone();
        let n = |k: &str| traces[k].as_u64().unwrap_or(0);
        TraceStats {
            items: n("items"),
            invalid_requests: n("invalid_requests"),
            raw: traces,
        }
    }

    /// Counts of one run now.
    pub fn run(&self, run_id: u64) -> RunStats {
        self.traces().run(run_id)
    }

    /// Changes the fault settings (`{"delay": "0s"}`, ...).
    pub fn set_mode(&self, patch: &str) {
        http_call(self.control, "POST", "/mode", patch)
            .unwrap_or_else(|e| panic!("sink mode {patch}: {e}; {}", self.state()));
    }

    /// Whether the process still runs, and what it wrote to stderr, for failure messages.
    fn state(&self) -> String {
        let exited = self
            .child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_wait()
            .ok()
            .flatten();
        format!(
            "sink process: {}; stderr:\n{}",
            exited.map_or("running".to_string(), |s| format!("exited with {s}")),
            self.stderr.text()
        )
    }

    /// Waits (at most `timeout`) until run `run_id` has at least `unique` distinct items.
    pub fn wait_for_unique(&self, run_id: u64, unique: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.run(run_id).unique < unique && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        stop_child(child, Duration::from_secs(3));
    }
}

/// One HTTP/1.1 exchange with the sink's control endpoint; the body of a 200 answer.
fn http_call(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {text:?}"))?;
    if !head.lines().next().unwrap_or_default().contains(" 200") {
        return Err(format!("{method} {path}: {head} {rest}"));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
            if n == 0 || after.len() < n {
                break;
            }
            out.push_str(&after[..n]);
            rest = after[n..].trim_start_matches("\r\n");
        }
        return Ok(out);
    }
    Ok(rest.to_string())
}

// ---- the generator ---------------------------------------------------------------------------

/// What `weir-gen traces` reported when it ended.
#[derive(Clone, Debug, Default)]
pub struct GenReport {
    /// Run id stamped on the items.
    pub run_id: u64,
    /// Requests sent, resends included.
    pub requests: u64,
    /// Items in the requests sent, resends included.
    pub items_sent: u64,
    /// Items acknowledged.
    pub items_accepted: u64,
    /// Items whose last answer was a refusal.
    pub items_refused: u64,
    /// Requests that failed otherwise (no connection, other status, timeout).
    pub errors: u64,
    /// Resends of refused requests.
    pub retries: u64,
    /// Refusals that carried RetryInfo.
    pub retry_after_seen: u64,
    /// The whole report, for messages.
    pub raw: String,
}

impl GenReport {
    /// Distinct items the generator offered (each resend of a refused request counted once):
    /// every request of the run carries `batch` items.
    pub fn offered(&self, batch: u64) -> u64 {
        self.items_sent - self.retries * batch
    }
}

/// Load of one `weir-gen traces` run.
#[derive(Clone, Debug)]
pub struct Load {
    /// Items per second over all workers.
    pub rate: u64,
    /// Items per request.
    pub batch: u64,
    /// Concurrent connections.
    pub workers: u64,
    /// Stop after this many items (a multiple of `batch`).
    pub total: Option<u64>,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
    /// Resend refused requests.
    pub retry: bool,
}

/// A running `weir-gen traces`; killed on drop.
pub struct Generator {
    child: Option<Child>,
    /// The run id it stamps.
    pub run_id: u64,
    stdout: Collected,
    stderr: Collected,
    readers: Vec<JoinHandle<()>>,
}

impl Generator {
    /// Starts sending traces over gRPC to 127.0.0.1:`port`.
    pub fn start(port: u16, load: &Load) -> Generator {
        if let Some(total) = load.total {
            assert_eq!(total % load.batch, 0, "total must be a multiple of batch");
        }
        let run_id = fresh_run_id();
        let mut command = Command::new(gen_bin());
        command
            .args(["--threads", "1", "traces"])
            .arg("--endpoint")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--rate")
            .arg(load.rate.to_string())
            .arg("--batch")
            .arg(load.batch.to_string())
            .arg("--workers")
            .arg(load.workers.to_string())
            .arg("--run-id")
            .arg(run_id.to_string());
        if let Some(total) = load.total {
            command.arg("--total").arg(total.to_string());
        }
        if let Some(duration) = load.duration {
            command
                .arg("--duration")
                .arg(format!("{}ms", duration.as_millis()));
        }
        if load.retry {
            command.arg("--retry");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning weir-gen traces");
        let (stdout, stderr) = (Collected::default(), Collected::default());
        let readers = vec![
            stdout.spawn_reader(child.stdout.take().expect("piped stdout")),
            stderr.spawn_reader(child.stderr.take().expect("piped stderr")),
        ];
        Generator {
            child: Some(child),
            run_id,
            stdout,
            stderr,
            readers,
        }
    }

    /// Waits for the run to end (at most `timeout`; then it is stopped, and the test fails with
    /// what it reported) and returns its report.
    pub fn wait(self, timeout: Duration) -> GenReport {
        self.wait_explained(timeout, String::new)
    }

    /// [`Generator::wait`], adding what `explain` says (asked at the timeout, before the
    /// generator is stopped) to the failure message.
    pub fn wait_explained(
        mut self,
        timeout: Duration,
        explain: impl FnOnce() -> String,
    ) -> GenReport {
        let mut child = self.child.take().expect("generator running");
        let deadline = Instant::now() + timeout;
        let mut timed_out = None;
        while child.try_wait().expect("waiting for weir-gen").is_none() {
            if Instant::now() >= deadline {
                timed_out = Some(explain());
                // SIGTERM makes it report what it has so far.
                stop_child(&mut child, Duration::from_secs(5));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = child.wait().expect("reaping weir-gen");
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let (out, err) = (self.stdout.text(), self.stderr.text());
        if let Some(explanation) = timed_out {
            panic!(
                "weir-gen traces did not finish within {timeout:?}; it reported {out} (stderr: {err}) {explanation}"
            );
        }
        assert!(
            status.success(),
            "weir-gen traces failed ({status}): {out} {err}"
        );
        let line = out
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no report from weir-gen: {out} {err}"));
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("report {line:?}: {e}"));
        let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {line}"));
        GenReport {
            run_id: n("run_id"),
            requests: n("requests"),
            items_sent: n("items_sent"),
            items_accepted: n("items_accepted"),
            items_refused: n("items_refused"),
            errors: n("errors"),
            retries: n("retries"),
            retry_after_seen: n("retry_after_seen"),
            raw: line.to_string(),
        }
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
