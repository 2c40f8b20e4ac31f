//! Random sequences of writes, rename and copytruncate rotations, polls, acknowledgements and
//! restarts from saved state: no line is ever lost, and a line repeats only if it was handed
//! over and not acknowledged when the tailer restarted.

mod common;

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::Write;
use std::path::Path;

use common::*;
use weir_tailer::{Tailer, TailerConfig, TailerState};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `narrow`: only app.log is included, so a rotated file is finished from its open handle.
fn cfg(dir: &Path, narrow: bool) -> TailerConfig {
    let glob = if narrow { "app.log" } else { "app.log*" };
    TailerConfig {
        batch_records: 7,
        max_unacked_batches_per_file: 5,
        ..config(dir, &[glob])
    }
}

fn drill(seed: u64, narrow: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let mut rng = Rng(seed);
    let mut writer = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut tailer = Tailer::new(cfg(d, narrow)).unwrap();
    let mut pending: VecDeque<(weir_tailer::AckToken, Vec<String>)> = VecDeque::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut written, mut rotations, mut may_repeat) = (0usize, 0usize, 0usize);
    // Narrow, a file renamed away is only known through the handle kept from the poll before,
    // which exists if the file had content then: rotating a file no poll saw with content, or
    // after a restart before a poll, loses it, everywhere.
    // And a restart forgets handles, so it waits until every file was read to its end.
    let mut polled = false;
    let mut in_current = 0usize;
    let mut drained = true;
    for _ in 0..300 {
        let op = match rng.below(10) {
            4 | 5 if narrow && !polled => 9,
            6 if narrow && !(polled && drained) => 9,
            5 if narrow => 4,
            op => op,
        };
        match op {
            0..=3 => {
                for _ in 0..rng.below(40) {
                    writeln!(writer, "line {written}").unwrap();
                    written += 1;
                    in_current += 1;
                }
            }
            4 => {
                polled = false;
                in_current = 0;
                rotations += 1;
                fs::rename(&log, d.join(format!("app.log.{rotations}"))).unwrap();
                // O_APPEND, as writers that expect copytruncate open their logs.
                writer = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap();
            }
            5 => {
                in_current = 0;
                rotations += 1;
                fs::copy(&log, d.join(format!("app.log.{rotations}"))).unwrap();
                writer.set_len(0).unwrap();
            }
            6 => {
                // Restart: what was handed over and not acknowledged may come again.
                let saved = tailer.state().encode();
                may_repeat += pending.iter().map(|(_, r)| r.len()).sum::<usize>();
                // A new tailer holds no handles until it has polled.
                polled = false;
                pending.clear();
                tailer = Tailer::new(cfg(d, narrow)).unwrap();
                tailer.restore(TailerState::decode(&saved).unwrap());
            }
            _ => {
                polled = in_current > 0;
                let (got, report) = poll(&mut tailer);
                drained = !report.stopped;
                for g in got {
                    for r in &g.records {
                        *seen.entry(r.clone()).or_default() += 1;
                    }
                    pending.push_back((g.token, g.records));
                }
                for _ in 0..rng.below(pending.len() as u64 + 1) {
                    let (token, _) = pending.pop_front().unwrap();
                    tailer.ack(token);
                }
            }
        }
    }
    for _ in 0..100 {
        let (got, report) = poll(&mut tailer);
        for g in got {
            g.records
                .iter()
                .for_each(|r| *seen.entry(r.clone()).or_default() += 1);
            tailer.ack(g.token);
        }
        while let Some((token, _)) = pending.pop_front() {
            tailer.ack(token);
        }
        if !report.stopped {
            break;
        }
    }
    let lost: Vec<usize> = (0..written)
        .filter(|i| !seen.contains_key(&format!("line {i}")))
        .collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: lost {} lines, first {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert_eq!(
        seen.len(),
        written,
        "seed {seed}: records that were never written"
    );
    let repeated: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        repeated <= may_repeat,
        "seed {seed}: {repeated} repeats, {may_repeat} were unacknowledged at restarts"
    );
}

#[test]
fn random_rotations_and_restarts_lose_nothing_and_repeat_only_the_unacknowledged() {
    for seed in 1..=40u64 {
        drill(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), false);
    }
}

#[test]
fn random_rename_rotations_out_of_include_lose_nothing() {
    for seed in 1..=40u64 {
        drill(seed.wrapping_mul(0xD1B5_4A32_D192_ED03), true);
    }
}
