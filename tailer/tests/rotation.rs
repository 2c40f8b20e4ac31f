//! Files known by fingerprint through rename and copytruncate rotation, deletion, growth,
//! `delete_after_read` and gzip.

mod common;

use std::fs;
use std::io::Write;

use common::*;
use weir_tailer::{Compression, Tailer, TailerConfig};

/// Writes `total` lines to app.log, rotating by rename every `every` lines, polling after
/// every `poll_every` lines; returns what was read.
fn rename_rotation(globs: &[&str], total: usize, every: usize, poll_every: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let mut tailer = Tailer::new(config(d, globs)).unwrap();
    let mut got = Vec::new();
    let mut file = fs::File::create(&log).unwrap();
    let mut rotations = 0;
    for i in 0..total {
        if i > 0 && i % every == 0 {
            rotations += 1;
            // Keep one rotated file, like logrotate with `rotate 1`.
            fs::rename(&log, d.join("app.log.1")).unwrap();
            file = fs::File::create(&log).unwrap();
        }
        writeln!(file, "line {i}").unwrap();
        if i % poll_every == poll_every - 1 {
            got.extend(poll_acked(&mut tailer));
        }
    }
    assert!(rotations > 3);
    got.extend(poll_acked(&mut tailer));
    got.extend(poll_acked(&mut tailer));
    got
}

#[test]
fn rename_rotation_outside_include_loses_and_repeats_no_line() {
    // The rotated file leaves `include`: its last lines come from the handle kept open.
    let got = rename_rotation(&["app.log"], 5000, 700, 300);
    assert_eq!(got, expected("line", 0..5000));
}

#[test]
fn rename_rotation_inside_include_goes_on_where_it_was() {
    // The rotated file is still matched: it is recognised by fingerprint, not name.
    let mut got = rename_rotation(&["app.log*"], 5000, 700, 300);
    got.sort_by_key(|l| l[5..].parse::<usize>().unwrap());
    assert_eq!(got, expected("line", 0..5000));
}

#[test]
fn copytruncate_finishes_the_copy_from_the_old_offset_and_reads_the_original_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    append(&log, lines("line", 0..100).as_bytes());
    let mut tailer = Tailer::new(config(d, &["app.log*"])).unwrap();
    assert_eq!(poll_acked(&mut tailer), expected("line", 0..100));
    append(&log, lines("line", 100..150).as_bytes());
    fs::copy(&log, d.join("app.log.1")).unwrap();
    fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, lines("after", 0..10).as_bytes());
    let mut got = poll_acked(&mut tailer);
    got.sort();
    let mut want = [expected("line", 100..150), expected("after", 0..10)].concat();
    want.sort();
    assert_eq!(got, want);
    assert!(poll_acked(&mut tailer).is_empty());
}

#[test]
fn a_file_deleted_while_read_is_finished_from_its_handle() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let mut writer = fs::File::create(&log).unwrap();
    writer.write_all(lines("line", 0..10).as_bytes()).unwrap();
    let mut tailer = Tailer::new(config(d, &["*.log"])).unwrap();
    assert_eq!(poll_acked(&mut tailer), expected("line", 0..10));
    writer.write_all(lines("line", 10..20).as_bytes()).unwrap();
    fs::remove_file(&log).unwrap();
    // The writer's last line has no newline: the file is gone, so it is a record now.
    writer.write_all(b"last words").unwrap();
    let mut want = expected("line", 10..20);
    want.push("last words".into());
    assert_eq!(poll_acked(&mut tailer), want);
    assert!(poll_acked(&mut tailer).is_empty());
    assert_eq!(tailer.counters().snapshot().files_open, 0);
}

#[test]
fn a_short_fingerprint_grows_with_the_file_and_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    append(&log, b"a\n");
    let mut tailer = Tailer::new(config(d, &["*.log"])).unwrap();
    assert_eq!(poll_acked(&mut tailer), ["a"]);
    let long = "x".repeat(3000);
    append(&log, format!("b\n{long}\n").as_bytes());
    assert_eq!(poll_acked(&mut tailer), ["b".to_string(), long.clone()]);
    let state = tailer.state();
    assert_eq!(state.files.len(), 1);
    assert_eq!(state.files[0].fingerprint.len(), 1000);
    append(&log, b"c\n");
    assert_eq!(poll_acked(&mut tailer), ["c"]);
}

#[test]
fn delete_after_read_deletes_a_file_once_all_of_it_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("done.log");
    append(&log, b"one\ntwo\n");
    let cfg = TailerConfig {
        delete_after_read: true,
        ..config(d, &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let (got, _) = poll(&mut tailer);
    assert_eq!(got.len(), 1);
    assert!(
        log.exists(),
        "not deleted before the records are acknowledged"
    );
    tailer.ack(got[0].token);
    assert!(!log.exists());

    let bad = TailerConfig {
        delete_after_read: true,
        ..TailerConfig::default()
    };
    assert!(
        Tailer::new(TailerConfig {
            include: vec!["x".into()],
            ..bad
        })
        .is_err()
    );
}

fn gzip(lines: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(lines.as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_files_are_read_once_to_their_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("old.log.gz"), gzip(&lines("zipped", 0..500))).unwrap();
    // The last line has no newline: a gzip file is complete, so it is a record.
    fs::write(d.join("tail.log.gz"), gzip("no newline")).unwrap();
    append(&d.join("plain.log"), b"plain\n");
    let cfg = TailerConfig {
        compression: Compression::Auto,
        ..config(d, &["*"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let mut got = poll_acked(&mut tailer);
    got.sort();
    let mut want = expected("zipped", 0..500);
    want.extend(["plain".to_string(), "no newline".to_string()]);
    want.sort();
    assert_eq!(got, want);
    assert!(poll_acked(&mut tailer).is_empty());
    assert!(tailer.state().files.iter().filter(|f| f.finished).count() == 2);
}

#[test]
fn a_corrupt_gzip_file_is_an_error_and_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("bad.gz"), b"\x1f\x8b\x08\x00junk junk junk junk").unwrap();
    append(&d.join("good.log"), b"fine\n");
    let cfg = TailerConfig {
        compression: Compression::Auto,
        ..config(d, &["*"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let (got, report) = poll(&mut tailer);
    assert_eq!(
        got.iter()
            .flat_map(|g| g.records.clone())
            .collect::<Vec<_>>(),
        ["fine"]
    );
    assert_eq!(report.errors.len(), 1);
    let (_, again) = poll(&mut tailer);
    assert!(again.errors.is_empty(), "reported once");
}

#[test]
fn compression_gzip_reads_every_file_as_gzip_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("rotated.1"), gzip(&lines("zipped", 0..3))).unwrap();
    let cfg = TailerConfig {
        compression: Compression::Gzip,
        ..config(dir.path(), &["*"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert_eq!(poll_acked(&mut tailer), expected("zipped", 0..3));
}

#[test]
fn a_restart_resumes_inside_a_gzip_file_at_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.gz"), gzip(&lines("zipped", 0..30))).unwrap();
    let cfg = TailerConfig {
        compression: Compression::Auto,
        batch_records: 10,
        ..config(dir.path(), &["*"])
    };
    let mut first = Tailer::new(cfg.clone()).unwrap();
    let (got, _) = poll(&mut first);
    first.ack(got[0].token);
    let state = first.state();
    assert!(
        !state.files[0].finished,
        "not finished while batches are out"
    );
    let mut second = Tailer::new(cfg).unwrap();
    second.restore(state);
    assert_eq!(poll_acked(&mut second), expected("zipped", 10..30));
}

#[test]
fn a_file_rewritten_shorter_with_the_same_first_bytes_is_read_from_zero_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, b"header\nline 1\nline 2\nline 3\n");
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    assert_eq!(poll_acked(&mut tailer).len(), 4);
    fs::write(&log, b"header\nnew\n").unwrap();
    assert_eq!(poll_acked(&mut tailer), ["header", "new"]);
    assert!(poll_acked(&mut tailer).is_empty());
    assert!(poll_acked(&mut tailer).is_empty());
}

#[test]
fn a_new_file_starting_like_the_rotated_one_does_not_take_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    append(&log, b"started\n");
    let mut tailer = Tailer::new(config(d, &["app.log*"])).unwrap();
    assert_eq!(poll_acked(&mut tailer), ["started"]);
    append(&log, b"old 1\n");
    fs::rename(&log, d.join("app.log.1")).unwrap();
    // Its first line is the old file's whole fingerprint so far.
    append(&log, b"started\nnew 1\n");
    let mut got = poll_acked(&mut tailer);
    got.sort();
    assert_eq!(got, ["new 1", "old 1", "started"]);
}

#[test]
fn rename_rotation_under_a_concurrent_writer_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let total = 20_000;
    let writer = {
        let d = d.clone();
        std::thread::spawn(move || {
            let mut file = fs::File::create(d.join("app.log")).unwrap();
            for i in 0..total {
                if i > 0 && i % 2_000 == 0 {
                    fs::rename(d.join("app.log"), d.join(format!("app.log.{i}"))).unwrap();
                    file = fs::File::create(d.join("app.log")).unwrap();
                }
                writeln!(file, "line {i}").unwrap();
            }
        })
    };
    let mut tailer = Tailer::new(config(&d, &["app.log*"])).unwrap();
    let mut got = Vec::new();
    while !writer.is_finished() {
        let (batches, report) = poll(&mut tailer);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        for b in batches {
            tailer.ack(b.token);
            got.extend(b.records);
        }
    }
    writer.join().unwrap();
    got.extend(poll_acked(&mut tailer));
    got.extend(poll_acked(&mut tailer));
    let mut numbers: Vec<usize> = got.iter().map(|l| l[5..].parse().unwrap()).collect();
    numbers.sort();
    let want: Vec<usize> = (0..total).collect();
    assert_eq!(numbers.len(), total, "no line repeated or lost");
    assert_eq!(numbers, want);
}

#[test]
fn copytruncate_rotation_under_a_concurrent_writer_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let total = 20_000;
    let writer = {
        let d = d.clone();
        std::thread::spawn(move || {
            let log = d.join("app.log");
            let mut file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            for i in 0..total {
                if i > 0 && i % 2_000 == 0 {
                    // The writer itself rotates, so no line falls between copy and truncate.
                    fs::copy(&log, d.join(format!("app.log.{i}"))).unwrap();
                    file.set_len(0).unwrap();
                }
                writeln!(file, "line {i}").unwrap();
            }
        })
    };
    let mut tailer = Tailer::new(config(&d, &["app.log*"])).unwrap();
    let mut got = Vec::new();
    while !writer.is_finished() {
        let (batches, _) = poll(&mut tailer);
        for b in batches {
            tailer.ack(b.token);
            got.extend(b.records);
        }
    }
    writer.join().unwrap();
    got.extend(poll_acked(&mut tailer));
    got.extend(poll_acked(&mut tailer));
    let mut numbers: Vec<usize> = got.iter().map(|l| l[5..].parse().unwrap()).collect();
    numbers.sort();
    let mut seen = std::collections::HashSet::new();
    let repeated: Vec<usize> = numbers
        .iter()
        .copied()
        .filter(|n| !seen.insert(*n))
        .collect();
    let lost: Vec<usize> = (0..total).filter(|n| !seen.contains(n)).collect();
    assert!(
        lost.is_empty() && repeated.is_empty(),
        "lost {lost:?}, repeated {repeated:?}"
    );
    assert_eq!(got.len(), total, "no line repeated");
}

#[test]
fn a_copy_still_being_written_is_not_taken_for_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    let copy = d.join("app.log.1");
    append(&log, lines("line", 0..600).as_bytes());
    let mut tailer = Tailer::new(config(d, &["app.log*"])).unwrap();
    assert_eq!(poll_acked(&mut tailer).len(), 600);
    append(&log, lines("line", 600..610).as_bytes());
    let content = fs::read(&log).unwrap();
    // Shorter than the fingerprint, then longer but short of where reading was: each poll
    // meanwhile reads app.log's own new lines, never the copy from its start.
    let mut got = Vec::new();
    for (from, to) in [(0, 500), (500, 3000)] {
        append(&copy, &content[from..to]);
        got.extend(poll_acked(&mut tailer));
    }
    append(&copy, &content[3000..]);
    fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, b"after 0\n");
    got.extend(poll_acked(&mut tailer));
    got.sort();
    let mut want = expected("line", 600..610);
    want.push("after 0".into());
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_gzip_file_read_over_many_polls_goes_on_where_each_stopped() {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..6 {
        fs::write(
            dir.path().join(format!("{f}.gz")),
            gzip(&lines(&format!("z{f}"), 0..300)),
        )
        .unwrap();
    }
    let cfg = TailerConfig {
        compression: Compression::Auto,
        batch_records: 10,
        max_unacked_batches_per_file: 2,
        ..config(dir.path(), &["*.gz"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let mut got = Vec::new();
    for _ in 0..100 {
        let (batches, report) = poll(&mut tailer);
        batches.iter().for_each(|b| tailer.ack(b.token));
        got.extend(batches.into_iter().flat_map(|b| b.records));
        if !report.stopped {
            break;
        }
    }
    got.sort();
    let mut want: Vec<String> = (0..6)
        .flat_map(|f| expected(&format!("z{f}"), 0..300))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(tailer.counters().snapshot().files_open, 0);
}

#[test]
fn gzip_files_present_at_start_at_end_are_taken_as_read_and_later_ones_are_read() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("old.gz"), gzip("before\n")).unwrap();
    let cfg = TailerConfig {
        compression: Compression::Auto,
        start_at: weir_tailer::StartAt::End,
        ..config(dir.path(), &["*.gz"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert!(poll_acked(&mut tailer).is_empty());
    fs::write(dir.path().join("new.gz"), gzip("after\n")).unwrap();
    assert_eq!(poll_acked(&mut tailer), ["after"]);
}

#[test]
fn delete_after_read_deletes_a_gzip_file_once_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("done.gz");
    fs::write(&path, gzip(&lines("z", 0..3))).unwrap();
    let cfg = TailerConfig {
        compression: Compression::Auto,
        delete_after_read: true,
        ..config(dir.path(), &["*.gz"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let (got, _) = poll(&mut tailer);
    assert!(path.exists());
    got.iter().for_each(|g| tailer.ack(g.token));
    assert!(!path.exists());
}
