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

fn cfg(dir: &Path) -> TailerConfig {
    TailerConfig {
        batch_records: 7,
        max_unacked_batches_per_file: 5,
        ..config(dir, &["app.log*"])
    }
}

fn drill(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let mut rng = Rng(seed);
    let mut writer = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut tailer = Tailer::new(cfg(d)).unwrap();
    let mut pending: VecDeque<(weir_tailer::AckToken, Vec<String>)> = VecDeque::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut written, mut rotations, mut may_repeat) = (0usize, 0usize, 0usize);
    for _ in 0..300 {
        match rng.below(10) {
            0..=3 => {
                for _ in 0..rng.below(40) {
                    writeln!(writer, "line {written}").unwrap();
                    written += 1;
                }
            }
            4 => {
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
                rotations += 1;
                fs::copy(&log, d.join(format!("app.log.{rotations}"))).unwrap();
                writer.set_len(0).unwrap();
            }
            6 => {
                // Restart: what was handed over and not acknowledged may come again.
                let saved = tailer.state().encode();
                may_repeat += pending.iter().map(|(_, r)| r.len()).sum::<usize>();
                pending.clear();
                tailer = Tailer::new(cfg(d)).unwrap();
                tailer.restore(TailerState::decode(&saved).unwrap());
            }
            _ => {
                let (got, _) = poll(&mut tailer);
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
        drill(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
}
