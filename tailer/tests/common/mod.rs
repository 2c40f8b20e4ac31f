//! Helpers shared by the tailer's tests: config for a temp dir, and a sink that keeps what
//! it was handed.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use weir_tailer::{AckToken, Batch, Flow, PollReport, Record, StartAt, Tailer, TailerConfig};

pub fn config(dir: &Path, globs: &[&str]) -> TailerConfig {
    TailerConfig {
        include: globs
            .iter()
            .map(|g| dir.join(g).to_string_lossy().into_owned())
            .collect(),
        start_at: StartAt::Beginning,
        ..TailerConfig::default()
    }
}

pub fn append(path: &Path, text: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text).unwrap();
}

/// One handed-over batch as text.
#[derive(Debug, Clone)]
pub struct Got {
    pub name: String,
    pub records: Vec<String>,
    pub token: AckToken,
    pub end: u64,
}

pub fn text(batch: &Batch) -> Vec<String> {
    batch
        .records()
        .map(|r| match r {
            Record::Text(s) => s.to_owned(),
            Record::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        })
        .collect()
}

/// Polls once, returning every batch without acknowledging.
pub fn poll(tailer: &mut Tailer) -> (Vec<Got>, PollReport) {
    let mut got = Vec::new();
    let report = tailer.poll(|b| {
        got.push(Got {
            name: b.file().name.clone(),
            records: text(&b),
            token: b.token(),
            end: b.end_offset(),
        });
        Flow::Continue
    });
    (got, report)
}

/// Polls once and acknowledges everything; the records in order.
pub fn poll_acked(tailer: &mut Tailer) -> Vec<String> {
    let (got, _) = poll(tailer);
    for g in &got {
        tailer.ack(g.token);
    }
    got.into_iter().flat_map(|g| g.records).collect()
}

pub fn lines(prefix: &str, range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("{prefix} {i}\n")).collect()
}

pub fn expected(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} {i}")).collect()
}
