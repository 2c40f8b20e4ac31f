//! A 50 MiB line without a newline is read in bounded pieces: the process never holds it whole.
//! Alone in its test binary, so the peak memory measured is this test's.

mod common;

use std::fs::File;
use std::io::Write;

use common::*;
use weir_tailer::{Flow, Tailer, TailerConfig};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_50_mib_line_is_cut_into_max_log_size_pieces_with_memory_bounded() {
    const MIB: usize = 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.log");
    let mut file = File::create(&path).unwrap();
    let chunk = vec![b'z'; MIB];
    for _ in 0..50 {
        file.write_all(&chunk).unwrap();
    }
    drop(chunk);
    let before = peak_rss_kib();

    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    let (mut pieces, mut bytes) = (0usize, 0usize);
    loop {
        let mut tokens = Vec::new();
        let report = tailer.poll(|batch| {
            for record in batch.records() {
                assert!(record.as_bytes().len() <= TailerConfig::default().max_log_size);
                pieces += 1;
                bytes += record.as_bytes().len();
            }
            tokens.push(batch.token());
            Flow::Continue
        });
        tokens.into_iter().for_each(|t| tailer.ack(t));
        if !report.stopped {
            break;
        }
    }
    assert_eq!((pieces, bytes), (50, 50 * MIB));
    assert_eq!(tailer.counters().snapshot().records_truncated, 50);
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        let grown_mib = (after.saturating_sub(before)) / 1024;
        assert!(
            grown_mib < 16,
            "peak memory grew by {grown_mib} MiB reading a 50 MiB line"
        );
    }
}
