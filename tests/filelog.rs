//! The `filelog` receiver in the `weir` binary, with real files and a real OTLP backend:
//! lines arrive once each through `kill -9` under load, through rename and copytruncate
//! rotation while the file is written, and from 1,000 files at once.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::capture::{Capture, Transport};
use common::weir::Weir;
use common::{Ports, wait_until};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// How long a drill may take to see every line.
const DRILL_DEADLINE: Duration = Duration::from_secs(60);

/// The drills run one at a time: each is a writer racing a reader, and on a shared 2-core
/// machine four of them at once starve the readers they measure.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Weir tailing `include` into the capture's gRPC endpoint, with its offsets and the exporter's
/// queue in `storage`.
fn config(ports: &Ports, include: &str, backend: &str, storage: &Path) -> String {
    format!(
        r#"
receivers:
  filelog:
    include: ["{include}"]
    start_at: beginning
    poll_interval: 50ms
    storage: file_storage
processors:
  batch:
    timeout: 50ms
exporters:
  otlp:
    endpoint: "{backend}"
    compression: none
    sending_queue: {{ storage: file_storage }}
    retry_on_failure: {{ initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0 }}
extensions:
  file_storage:
    directory: "{storage}"
    fsync_interval: 20ms
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    logs:
      receivers: [filelog]
      processors: [batch]
      exporters: [otlp]
"#,
        metrics = ports.metrics,
        storage = storage.display(),
    )
}

fn start(ports: &Ports, include: &Path, capture: &Capture, storage: &Path) -> Weir {
    Weir::builder()
        .config(config(
            ports,
            &include.display().to_string(),
            &capture.grpc_endpoint(),
            storage,
        ))
        .wait_for(ports.metrics)
        .start()
}

/// How many times each body arrived.
fn arrivals(capture: &Capture) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for request in capture.logs(Transport::Grpc) {
        for record in request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
        {
            if let Some(Value::StringValue(body)) =
                record.body.as_ref().and_then(|b| b.value.clone())
            {
                *seen.entry(body).or_insert(0) += 1;
            }
        }
    }
    seen
}

fn line(n: usize) -> String {
    format!("line {n:06} of the drill")
}

/// Appends lines `from..to` to `path`, flushing every `chunk` lines with a pause of `pause`,
/// so the file grows while it is read.
fn write_lines_paced(path: &Path, from: usize, to: usize, chunk: usize, pause: Duration) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut buffered = String::new();
    for n in from..to {
        buffered.push_str(&line(n));
        buffered.push('\n');
        if (n + 1 - from).is_multiple_of(chunk) {
            file.write_all(buffered.as_bytes()).unwrap();
            buffered.clear();
            std::thread::sleep(pause);
        }
    }
    file.write_all(buffered.as_bytes()).unwrap();
}

fn write_lines(path: &Path, from: usize, to: usize, chunk: usize) {
    write_lines_paced(path, from, to, chunk, Duration::from_millis(2));
}

/// Every line `0..total` arrived; returns how many arrived more than once.
fn check_all_arrived(capture: &Capture, total: usize, weir: &Weir) -> usize {
    let complete = wait_until(DRILL_DEADLINE, || {
        let seen = arrivals(capture);
        (0..total).all(|n| seen.contains_key(&line(n)))
    });
    let seen = arrivals(capture);
    let missing: Vec<usize> = (0..total)
        .filter(|n| !seen.contains_key(&line(*n)))
        .collect();
    assert!(
        complete && missing.is_empty(),
        "{} of {total} lines never arrived (first {:?}); logs:\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        weir.logs()
    );
    seen.values().filter(|n| **n > 1).count()
}

#[test]
fn every_line_arrives_through_kill_9_under_load() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let capture = Capture::start();
    let ports = Ports::free();
    let path = dir.path().join("app.log");
    let total = 40_000;

    let mut first = start(&ports, &path, &capture, storage.path());
    let writer = std::thread::spawn({
        let path = path.clone();
        move || write_lines(&path, 0, total / 2, 500)
    });
    // Killed while the file is still being written and read.
    assert!(
        wait_until(DRILL_DEADLINE, || arrivals(&capture).len() > 2_000),
        "no lines before the kill: {}",
        first.logs()
    );
    first.kill_9();
    writer.join().unwrap();
    drop(first);

    let second = start(&ports, &path, &capture, storage.path());
    write_lines(&path, total / 2, total, 500);
    let duplicates = check_all_arrived(&capture, total, &second);
    // Not asserted: a kill between a delivery and the save of its offset, or between an export
    // and the queue's record of it (saved every `fsync_interval`), repeats those lines.
    eprintln!("kill -9 drill: {total} lines, {duplicates} delivered more than once");
    let stopped = second.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}

/// Writes 50,000 lines to `app.log` in `dir` while Weir tails `include` (a glob in `dir`),
/// calling `rotate(app.log, round)` after every 10,000; every line must arrive once.
fn rotation_drill(include: &str, pause: Duration, rotate: impl Fn(&Path, usize)) {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let capture = Capture::start();
    let ports = Ports::free();
    let path = dir.path().join("app.log");
    let weir = start(&ports, &dir.path().join(include), &capture, storage.path());
    let total = 50_000;
    for (round, from) in (0..total).step_by(10_000).enumerate() {
        write_lines_paced(&path, from, from + 10_000, 500, pause);
        rotate(&path, round);
    }
    let duplicates = check_all_arrived(&capture, total, &weir);
    assert_eq!(duplicates, 0, "a clean run delivers each line once");
    let stopped = weir.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}

/// Rotation by rename every 10,000 lines while writing (20,000 lines a second), the rotated
/// file leaving `include`: the tailer keeps the renamed file's handle and finishes it, and
/// reads the new file from its start. Each file lives a few poll intervals, as a file must for
/// any poller to see it.
#[test]
fn rename_rotation_every_10k_lines_loses_no_line() {
    rotation_drill("app.log", Duration::from_millis(25), |path, round| {
        std::fs::rename(path, path.with_extension(format!("log.{round}"))).unwrap();
    });
}

/// Rotation by copy and truncate every 10,000 lines while writing: the copy carries the old
/// fingerprint and is finished from the old offset; the truncated file is read from its start.
#[test]
fn copytruncate_rotation_every_10k_lines_loses_no_line() {
    rotation_drill("app.log*", Duration::from_millis(2), |path, round| {
        std::fs::copy(path, path.with_extension(format!("log.{round}"))).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .unwrap();
    });
}

#[test]
fn a_thousand_files_are_tailed_at_once() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let capture = Capture::start();
    let ports = Ports::free();
    let files: Vec<PathBuf> = (0..1_000)
        .map(|i| dir.path().join(format!("svc-{i:04}.log")))
        .collect();
    for (i, file) in files.iter().enumerate() {
        write_lines(file, i * 5, i * 5 + 5, 5);
    }
    let weir = start(&ports, &dir.path().join("*.log"), &capture, storage.path());
    let duplicates = check_all_arrived(&capture, 5_000, &weir);
    assert_eq!(duplicates, 0);
    // And they are still followed: one more line in each.
    for (i, file) in files.iter().enumerate() {
        let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
        writeln!(f, "{}", line(5_000 + i)).unwrap();
    }
    check_all_arrived(&capture, 6_000, &weir);
    let stopped = weir.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}

/// The stanza operators in the binary: a regex parser with its timestamp and severity blocks
/// turns each line into attributes, a time and a level, as otelcol's examples configure it.
#[test]
fn operators_parse_the_lines_into_attributes_time_and_severity() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::start();
    let ports = Ports::free();
    let path = dir.path().join("app.log");
    std::fs::write(
        &path,
        "2026-12-08 01:02:03.250 ERROR payment declined code=51\n\
         2026-12-08 01:02:04.000 INFO order placed\n",
    )
    .unwrap();
    let yaml = format!(
        r#"
receivers:
  filelog:
    include: ["{include}"]
    start_at: beginning
    poll_interval: 50ms
    operators:
      - type: regex_parser
        regex: '^(?P<time>\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}:\d{{2}}\.\d{{3}}) (?P<sev>[A-Z]+) (?P<msg>.*)$'
        timestamp:
          parse_from: attributes.time
          layout: '%Y-%m-%d %H:%M:%S.%L'
        severity:
          parse_from: attributes.sev
      - type: remove
        field: attributes.time
exporters:
  otlp:
    endpoint: "{backend}"
    compression: none
service:
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    logs:
      receivers: [filelog]
      exporters: [otlp]
"#,
        include = path.display(),
        backend = capture.grpc_endpoint(),
        metrics = ports.metrics,
    );
    let weir = Weir::builder().config(yaml).wait_for(ports.metrics).start();
    assert!(
        wait_until(DRILL_DEADLINE, || arrivals(&capture).len() == 2),
        "{}",
        weir.logs()
    );
    let records: Vec<_> = capture
        .logs(Transport::Grpc)
        .into_iter()
        .flat_map(|r| r.resource_logs)
        .flat_map(|r| r.scope_logs)
        .flat_map(|s| s.log_records)
        .collect();
    let first = &records[0];
    assert_eq!(first.severity_number, 17, "ERROR");
    assert_eq!(first.severity_text, "ERROR");
    // 2026-12-08T01:02:03.250Z
    assert_eq!(first.time_unix_nano, 1_796_691_723_250_000_000);
    let keys: Vec<&str> = first.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, vec!["log.file.name", "msg", "sev"]);
    assert_eq!(records[1].severity_number, 9, "INFO");
    let stopped = weir.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
}
