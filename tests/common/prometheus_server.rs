//! Debian's Prometheus server for end-to-end tests: started on a free loopback port with a
//! temporary config and storage, scraping the given targets every second, queried through its
//! HTTP API, and killed when dropped (or, with [`Options`], as a remote write receiver with no
//! targets on a chosen port); and a plain HTTP GET for reading Weir's `/metrics`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::ports::free_port;
use super::wait_until;

/// `GET path` on 127.0.0.1:`port` with extra header lines; (status line, headers, body).
pub fn get(port: u16, path: &str, headers: &str) -> Result<(String, String, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {text:?}"))?;
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        super::prom::dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status.to_string(), headers.to_string(), body))
}

/// How to start Prometheus beyond its scrape targets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Accept remote write on `/api/v1/write` (`--web.enable-remote-write-receiver`).
    pub remote_write_receiver: bool,
    /// Listen on this port instead of a free one.
    pub port: Option<u16>,
}

/// Debian's `prometheus` binary, stopped when dropped.
pub struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts it scraping each `(job, port)` every second; panics, saying what to install,
    /// when the binary is missing.
    pub fn start(targets: &[(&str, u16)]) -> Prometheus {
        Prometheus::start_with(targets, Options::default())
    }

    /// Starts it with no scrape targets as a remote write receiver
    /// (`--web.enable-remote-write-receiver`, `/api/v1/write`), on `port` when given.
    pub fn start_receiver(port: Option<u16>) -> Prometheus {
        Prometheus::start_with(
            &[],
            Options {
                remote_write_receiver: true,
                port,
            },
        )
    }

    /// The port it listens on (HTTP API, and `/api/v1/write` when a receiver).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// [`Prometheus::start`] with `options`.
    pub fn start_with(targets: &[(&str, u16)], options: Options) -> Prometheus {
        let found = Command::new("prometheus")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(
            found.is_ok_and(|s| s.success()),
            "this test needs Debian's `prometheus` binary on PATH (apt-get install prometheus; \
             .ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("a temporary directory for Prometheus");
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
        if targets.is_empty() {
            config.push_str("  []\n");
        }
        for (job, port) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    honor_labels: true\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n"
            ));
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("writing prometheus.yml");
        let port = options.port.unwrap_or_else(free_port);
        let mut command = Command::new("prometheus");
        if options.remote_write_receiver {
            command.arg("--web.enable-remote-write-receiver");
        }
        let child = command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("log file"))
            .spawn()
            .expect("starting prometheus");
        let prometheus = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let ready = wait_until(Duration::from_secs(30), || {
            get(port, "/-/ready", "").is_ok_and(|(status, _, _)| status.contains(" 200"))
        });
        assert!(
            ready,
            "prometheus never became ready:\n{}",
            prometheus.log()
        );
        prometheus
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The instant vector of `query`: each result's labels and value.
    pub fn query(&self, query: &str) -> Vec<(serde_json::Map<String, serde_json::Value>, f64)> {
        let path = format!("/api/v1/query?query={}", percent_encode(query));
        let Ok((_, _, body)) = get(self.port, &path, "") else {
            return Vec::new();
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
            return Vec::new();
        };
        json["data"]["result"]
            .as_array()
            .map(|results| {
                results
                    .iter()
                    .filter_map(|r| {
                        let labels = r["metric"].as_object()?.clone();
                        let value = r["value"][1].as_str()?.parse().ok()?;
                        Some((labels, value))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until `query` gives exactly one series and returns its labels and value.
    pub fn one(&self, query: &str) -> (serde_json::Map<String, serde_json::Value>, f64) {
        let mut last = Vec::new();
        let found = wait_until(Duration::from_secs(30), || {
            last = self.query(query);
            last.len() == 1
        });
        assert!(
            found,
            "`{query}` never gave one series (last: {last:?}); targets: {}\nlog:\n{}",
            get(self.port, "/api/v1/targets", "")
                .map(|(_, _, b)| b)
                .unwrap_or_default(),
            self.log()
        );
        last.remove(0)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn label<'a>(labels: &'a serde_json::Map<String, serde_json::Value>, name: &str) -> &'a str {
    labels.get(name).and_then(|v| v.as_str()).unwrap_or("")
}
