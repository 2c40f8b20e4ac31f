//! Which files a poll reads: globs, `start_at`, age, symlinks, files coming and going.

mod common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::*;
use weir_tailer::{StartAt, Tailer, TailerConfig};

#[test]
fn include_exclude_and_globstar_choose_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("a/b/c")).unwrap();
    append(&d.join("top.log"), b"top\n");
    append(&d.join("a/one.log"), b"one\n");
    append(&d.join("a/b/c/deep.log"), b"deep\n");
    append(&d.join("a/b/skip.log"), b"skip\n");
    append(&d.join("a/b/c/deep.txt"), b"txt\n");
    let mut cfg = config(d, &["**/*.log"]);
    cfg.exclude = vec![d.join("**/skip.log").to_string_lossy().into_owned()];
    let mut tailer = Tailer::new(cfg).unwrap();
    let mut got = poll_acked(&mut tailer);
    got.sort();
    assert_eq!(got, ["deep", "one", "top"]);

    // `*` stays within one directory.
    let mut tailer = Tailer::new(config(d, &["*/*.log"])).unwrap();
    assert_eq!(poll_acked(&mut tailer), ["one"]);
}

#[test]
fn start_at_end_skips_what_was_there_at_the_first_poll_but_not_files_that_come_later() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    append(&d.join("old.log"), b"before start\n");
    let cfg = TailerConfig {
        start_at: StartAt::End,
        ..config(d, &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert!(poll_acked(&mut tailer).is_empty());
    append(&d.join("old.log"), b"after start\n");
    append(&d.join("new.log"), b"new file\n");
    let mut got = poll_acked(&mut tailer);
    got.sort();
    assert_eq!(got, ["after start", "new file"]);
}

#[test]
fn exclude_older_than_skips_files_not_modified_lately() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    append(&d.join("stale.log"), b"stale\n");
    append(&d.join("fresh.log"), b"fresh\n");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(d.join("stale.log"))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let cfg = TailerConfig {
        exclude_older_than: Some(Duration::from_secs(60)),
        ..config(d, &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert_eq!(poll_acked(&mut tailer), ["fresh"]);
}

#[test]
fn a_symlink_is_followed_and_read_once_with_its_target_as_resolved_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("real")).unwrap();
    fs::create_dir(d.join("logs")).unwrap();
    append(&d.join("real/target.log"), b"through the link\n");
    std::os::unix::fs::symlink(d.join("real/target.log"), d.join("logs/link.log")).unwrap();
    let mut tailer = Tailer::new(config(d, &["logs/*.log"])).unwrap();
    let (got, _) = poll(&mut tailer);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].records, ["through the link"]);
    assert_eq!(got[0].name, "link.log");

    let mut both = Tailer::new(config(d, &["logs/*.log", "real/*.log"])).unwrap();
    let mut names = Vec::new();
    both.poll(|b| {
        names.push((
            b.file().name.clone(),
            b.file().resolved_name.clone(),
            b.file().resolved_path.clone(),
        ));
        weir_tailer::Flow::Continue
    });
    assert_eq!(names.len(), 1, "the link and its target are one file");
    assert_eq!(names[0].1, "target.log");
    assert_eq!(
        names[0].2,
        fs::canonicalize(d.join("real/target.log")).unwrap()
    );
}

#[test]
fn files_appearing_and_disappearing_between_polls_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut tailer = Tailer::new(config(d, &["*.log"])).unwrap();
    assert!(poll_acked(&mut tailer).is_empty());
    append(&d.join("a.log"), b"a1\n");
    assert_eq!(poll_acked(&mut tailer), ["a1"]);
    fs::remove_file(d.join("a.log")).unwrap();
    assert!(poll_acked(&mut tailer).is_empty());
    append(&d.join("b.log"), b"b1\n");
    assert_eq!(poll_acked(&mut tailer), ["b1"]);
}

#[test]
fn an_empty_file_waits_until_it_has_content() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    append(&d.join("empty.log"), b"");
    let cfg = TailerConfig {
        start_at: StartAt::End,
        ..config(d, &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert!(poll_acked(&mut tailer).is_empty());
    append(&d.join("empty.log"), b"written after start\n");
    assert_eq!(poll_acked(&mut tailer), ["written after start"]);
}

#[test]
fn no_more_than_max_concurrent_files_are_open_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for f in 0..20 {
        append(
            &d.join(format!("{f:02}.log")),
            format!("file {f}\n").as_bytes(),
        );
    }
    let cfg = TailerConfig {
        max_concurrent_files: 4,
        ..config(d, &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let counters = tailer.counters();
    let mut most = 0;
    let mut n = 0;
    tailer.poll(|_| {
        most = most.max(counters.snapshot().files_open);
        n += 1;
        weir_tailer::Flow::Continue
    });
    assert_eq!(n, 20);
    assert!(most <= 4, "{most} files open");
}

#[test]
fn max_batches_reads_some_groups_per_poll_and_every_file_gets_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for f in 0..6 {
        append(
            &d.join(format!("{f}.log")),
            format!("file {f}\n").as_bytes(),
        );
    }
    let cfg = TailerConfig {
        max_concurrent_files: 4,
        max_batches: 1,
        ..config(d, &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert_eq!(poll_acked(&mut tailer), ["file 0", "file 1"]);
    assert_eq!(poll_acked(&mut tailer), ["file 2", "file 3"]);
    assert_eq!(poll_acked(&mut tailer), ["file 4", "file 5"]);
    append(&d.join("0.log"), b"again\n");
    assert_eq!(poll_acked(&mut tailer), ["again"]);
}

#[test]
fn the_tailer_can_move_to_a_blocking_thread() {
    fn send<T: Send>() {}
    send::<Tailer>();
    send::<weir_tailer::Batch>();
}
