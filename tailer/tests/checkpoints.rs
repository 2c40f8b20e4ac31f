//! Acknowledgements, committed offsets, restarts from saved state, backpressure, errors, and
//! many files at once.

mod common;

use std::fs;

use common::*;
use weir_tailer::{Flow, Tailer, TailerConfig, TailerState};

fn small_batches(dir: &std::path::Path) -> TailerConfig {
    TailerConfig {
        batch_records: 10,
        ..config(dir, &["*.log"])
    }
}

#[test]
fn out_of_order_acks_commit_only_the_acknowledged_prefix() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), lines("line", 0..40).as_bytes());
    let mut tailer = Tailer::new(small_batches(dir.path())).unwrap();
    let (got, _) = poll(&mut tailer);
    assert_eq!(got.len(), 4);
    let committed = |t: &Tailer| t.state().files[0].offset;
    assert_eq!(committed(&tailer), 0);
    tailer.ack(got[2].token);
    tailer.ack(got[1].token);
    assert_eq!(committed(&tailer), 0, "batch 0 is still out");
    let version = tailer.state_version();
    tailer.ack(got[0].token);
    assert_eq!(committed(&tailer), got[2].end);
    assert!(tailer.state_version() > version);
    tailer.ack(got[0].token);
    tailer.ack(got[3].token);
    assert_eq!(committed(&tailer), got[3].end);
    assert_eq!(tailer.unacked_bytes(), 0);
}

#[test]
fn a_restarted_tailer_repeats_only_the_unacknowledged_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, lines("line", 0..50).as_bytes());
    let mut first = Tailer::new(small_batches(dir.path())).unwrap();
    let (got, _) = poll(&mut first);
    assert_eq!(got.len(), 5);
    for g in &got[..3] {
        first.ack(g.token);
    }
    // Acknowledged after a gap: does not count, the prefix ends at batch 2.
    first.ack(got[4].token);
    let saved = first.state().encode();
    drop(first);

    append(&log, lines("line", 50..55).as_bytes());
    let mut second = Tailer::new(small_batches(dir.path())).unwrap();
    second.restore(TailerState::decode(&saved).unwrap());
    assert_eq!(poll_acked(&mut second), expected("line", 30..55));
}

#[test]
fn restored_state_is_not_subject_to_start_at_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, lines("line", 0..5).as_bytes());
    let mut first = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    poll_acked(&mut first);
    let saved = first.state();
    append(&log, lines("line", 5..8).as_bytes());
    let end = TailerConfig {
        start_at: weir_tailer::StartAt::End,
        ..config(dir.path(), &["*.log"])
    };
    let mut second = Tailer::new(end).unwrap();
    second.restore(saved);
    assert_eq!(poll_acked(&mut second), expected("line", 5..8));
}

#[test]
fn unacknowledged_batches_per_file_bound_reading_ahead() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), lines("line", 0..100).as_bytes());
    let cfg = TailerConfig {
        max_unacked_batches_per_file: 3,
        ..small_batches(dir.path())
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let (got, report) = poll(&mut tailer);
    assert_eq!(got.len(), 3);
    assert!(report.stopped, "there is more to read");
    let (none, _) = poll(&mut tailer);
    assert!(
        none.is_empty(),
        "nothing more until something is acknowledged"
    );
    tailer.ack(got[0].token);
    let (more, _) = poll(&mut tailer);
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].records[0], "line 30");
}

#[test]
fn unacknowledged_bytes_overall_stop_the_poll_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..5 {
        // Distinct content: files with the same first bytes are one file.
        append(
            &dir.path().join(format!("{f}.log")),
            lines(&format!("file {f}"), 0..100).as_bytes(),
        );
    }
    let cfg = TailerConfig {
        max_unacked_bytes: 1500,
        ..small_batches(dir.path())
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let (got, report) = poll(&mut tailer);
    assert!(report.stopped);
    assert!(tailer.unacked_bytes() >= 1500 && tailer.unacked_bytes() < 1500 + 200);
    let mut records: usize = got.iter().map(|g| g.records.len()).sum();
    for g in &got {
        tailer.ack(g.token);
    }
    loop {
        let (got, report) = poll(&mut tailer);
        records += got.iter().map(|g| g.records.len()).sum::<usize>();
        got.iter().for_each(|g| tailer.ack(g.token));
        if !report.stopped {
            break;
        }
    }
    assert_eq!(records, 500);
}

#[test]
fn the_callback_can_stop_a_poll_and_the_rest_comes_next_time() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), lines("line", 0..30).as_bytes());
    let mut tailer = Tailer::new(small_batches(dir.path())).unwrap();
    let mut tokens = Vec::new();
    let report = tailer.poll(|b| {
        tokens.push(b.token());
        Flow::Stop
    });
    assert!(report.stopped);
    assert_eq!(tokens.len(), 1);
    assert_eq!(poll_acked(&mut tailer), expected("line", 10..30));
}

#[test]
fn checkpoints_of_files_gone_for_some_polls_are_forgotten_but_not_while_unacknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    append(&a, b"a\n");
    append(&b, b"b\n");
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    let (got, _) = poll(&mut tailer);
    let token_b = got.iter().find(|g| g.name == "b.log").unwrap().token;
    got.iter()
        .filter(|g| g.name == "a.log")
        .for_each(|g| tailer.ack(g.token));
    fs::remove_file(&a).unwrap();
    fs::remove_file(&b).unwrap();
    for _ in 0..5 {
        poll(&mut tailer);
    }
    assert_eq!(tailer.state().files.len(), 1, "b still has a batch out");
    tailer.ack(token_b);
    poll(&mut tailer);
    assert!(tailer.state().files.is_empty());
}

#[test]
fn an_unreadable_file_is_reported_once_retried_and_the_others_go_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked.log");
    append(&locked, b"secret\n");
    append(&dir.path().join("open.log"), b"public\n");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything: then only the others-go-on part can be shown with permissions.
    let root_reads = fs::File::open(&locked).is_ok();
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    let (got, report) = poll(&mut tailer);
    let records: Vec<String> = got.iter().flat_map(|g| g.records.clone()).collect();
    assert!(records.contains(&"public".to_string()));
    if !root_reads {
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].path, locked);
        let (_, again) = poll(&mut tailer);
        assert!(again.errors.is_empty(), "reported once, not every poll");
        assert_eq!(tailer.counters().snapshot().read_errors, 1);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(poll_acked(&mut tailer), ["secret"]);
    }
}

#[test]
fn a_dangling_symlink_is_skipped_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("ok.log"), b"fine\n");
    let target = dir.path().join("gone.txt");
    append(&target, b"x\n");
    std::os::unix::fs::symlink(&target, dir.path().join("link.log")).unwrap();
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    assert_eq!(poll(&mut tailer).1.errors.len(), 0);
    fs::remove_file(&target).unwrap();
    append(&dir.path().join("ok.log"), b"more\n");
    let (got, _) = poll(&mut tailer);
    assert_eq!(
        got.iter()
            .flat_map(|g| g.records.clone())
            .collect::<Vec<_>>(),
        ["more"]
    );
}

#[test]
fn a_thousand_files_are_tailed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..1000 {
        append(
            &dir.path().join(format!("f{f:04}.log")),
            lines(&format!("file {f}"), 0..20).as_bytes(),
        );
    }
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    let got = poll_acked(&mut tailer);
    assert_eq!(got.len(), 20_000);
    assert!(tailer.counters().snapshot().files_open <= 512);
    for f in (0..1000).step_by(7) {
        append(
            &dir.path().join(format!("f{f:04}.log")),
            lines(&format!("file {f}"), 20..21).as_bytes(),
        );
    }
    let more = poll_acked(&mut tailer);
    assert_eq!(more.len(), 143);
    assert!(more.iter().all(|l| l.ends_with(" 20")));
    assert_eq!(tailer.state().files.len(), 1000);
    assert_eq!(tailer.counters().snapshot().lines_read, 20_143);
}

#[test]
fn a_file_whose_reads_fail_is_reported_once_and_the_others_go_on() {
    // Reading /proc/self/mem at offset 0 fails (EIO) even for root, unlike a chmod 000 file.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join("broken.log")).unwrap();
    append(&dir.path().join("fine.log"), b"fine\n");
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    let (got, report) = poll(&mut tailer);
    assert_eq!(
        got.iter()
            .flat_map(|g| g.records.clone())
            .collect::<Vec<_>>(),
        ["fine"]
    );
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].path, dir.path().join("broken.log"));
    append(&dir.path().join("fine.log"), b"still\n");
    let (got, again) = poll(&mut tailer);
    assert!(again.errors.is_empty(), "reported once, retried quietly");
    assert_eq!(got[0].records, ["still"]);
    assert_eq!(tailer.counters().snapshot().read_errors, 1);
}

#[test]
fn a_restart_across_a_rename_rotation_goes_on_in_the_rotated_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("app.log");
    append(&log, lines("line", 0..50).as_bytes());
    let mut first = Tailer::new(config(d, &["app.log*"])).unwrap();
    assert_eq!(poll_acked(&mut first), expected("line", 0..50));
    let saved = first.state().encode();
    drop(first);
    // While down: more lines, then rotation, then a new file.
    append(&log, lines("line", 50..60).as_bytes());
    fs::rename(&log, d.join("app.log.1")).unwrap();
    append(&log, lines("next", 0..5).as_bytes());
    let mut second = Tailer::new(config(d, &["app.log*"])).unwrap();
    second.restore(TailerState::decode(&saved).unwrap());
    let mut got = poll_acked(&mut second);
    got.sort();
    let mut want = [expected("line", 50..60), expected("next", 0..5)].concat();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn counters_count_bytes_lines_and_open_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    append(&a, b"one\n\ntwo\r\nthree\n");
    append(&dir.path().join("b.log"), b"bee\n");
    let mut tailer = Tailer::new(config(dir.path(), &["*.log"])).unwrap();
    poll_acked(&mut tailer);
    let c = tailer.counters().snapshot();
    assert_eq!(
        (c.lines_read, c.bytes_read, c.records_truncated),
        (4, 20, 0)
    );
    assert_eq!(c.files_open, 2, "kept open until the next poll");
    fs::remove_file(&a).unwrap();
    poll_acked(&mut tailer);
    assert_eq!(tailer.counters().snapshot().files_open, 1);
}
