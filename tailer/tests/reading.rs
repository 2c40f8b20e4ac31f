//! Bytes to records: encodings, multiline, trimming, cutting long records, flushing a
//! partial last line.

mod common;

use std::time::{Duration, Instant};

use common::*;
use weir_tailer::{Encoding, Flow, Multiline, Record, Tailer, TailerConfig};

fn read_all(cfg: TailerConfig) -> Vec<String> {
    let mut tailer = Tailer::new(cfg).unwrap();
    poll_acked(&mut tailer)
}

fn utf16(text: &str, le: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
        .collect()
}

#[test]
fn utf16_files_are_split_on_their_own_newlines_and_decoded() {
    for (encoding, le) in [(Encoding::Utf16Le, true), (Encoding::Utf16Be, false)] {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.log"), &utf16("héllo\r\nwörld ਊ\n", le));
        let cfg = TailerConfig {
            encoding,
            ..config(dir.path(), &["*.log"])
        };
        assert_eq!(read_all(cfg), ["héllo", "wörld ਊ"], "{encoding:?}");
    }
}

#[test]
fn invalid_utf8_is_replaced_per_byte_and_nop_passes_bytes_untouched() {
    let dir = tempfile::tempdir().unwrap();
    append(
        &dir.path().join("a.log"),
        b"ok \xff\xfe end\n\x00\x01bin\xc3\n",
    );
    let cfg = config(dir.path(), &["*.log"]);
    assert_eq!(
        read_all(cfg.clone()),
        ["ok \u{FFFD}\u{FFFD} end", "\u{0}\u{1}bin\u{FFFD}"]
    );
    assert_eq!(
        read_all(TailerConfig {
            encoding: Encoding::Ascii,
            ..cfg.clone()
        })[0],
        "ok \u{FFFD}\u{FFFD} end"
    );

    let mut tailer = Tailer::new(TailerConfig {
        encoding: Encoding::Nop,
        ..cfg
    })
    .unwrap();
    let mut raw = Vec::new();
    tailer.poll(|b| {
        raw.extend(b.records().map(|r| match r {
            Record::Bytes(bytes) => bytes.to_vec(),
            Record::Text(_) => panic!("nop gives bytes"),
        }));
        Flow::Continue
    });
    assert_eq!(
        raw,
        [b"ok \xff\xfe end".to_vec(), b"\x00\x01bin\xc3".to_vec()]
    );
}

#[test]
fn whitespace_is_trimmed_and_blank_lines_dropped_unless_preserved() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), b"  padded  \n\n   \nnext\n");
    let cfg = config(dir.path(), &["*.log"]);
    assert_eq!(read_all(cfg.clone()), ["padded", "next"]);
    let keep = TailerConfig {
        preserve_leading_whitespaces: true,
        preserve_trailing_whitespaces: true,
        ..cfg
    };
    assert_eq!(read_all(keep), ["  padded  ", "   ", "next"]);
}

#[test]
fn line_start_pattern_joins_continuation_lines_into_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(
        &log,
        b"2024-01-01 boom\n  at a()\n  at b()\n2024-01-02 fine\n2024-01-03 partial\n  at c()\n",
    );
    let cfg = TailerConfig {
        multiline: Some(Multiline::LineStart(r"^\d{4}-\d{2}-\d{2}".into())),
        ..config(dir.path(), &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    assert_eq!(
        poll_acked(&mut tailer),
        ["2024-01-01 boom\n  at a()\n  at b()", "2024-01-02 fine"]
    );
    // The last record ends only when the next one starts.
    append(&log, b"2024-01-04 next\n");
    assert_eq!(poll_acked(&mut tailer), ["2024-01-03 partial\n  at c()"]);
}

#[test]
fn line_end_pattern_ends_a_record_where_it_matches() {
    let dir = tempfile::tempdir().unwrap();
    append(
        &dir.path().join("a.log"),
        b"{\n \"a\": 1\n}\n{\n \"b\": 2\n}\n{ open",
    );
    let cfg = TailerConfig {
        multiline: Some(Multiline::LineEnd(r"^\}".into())),
        ..config(dir.path(), &["*.log"])
    };
    assert_eq!(read_all(cfg), ["{\n \"a\": 1\n}", "{\n \"b\": 2\n}"]);
}

#[test]
fn a_bad_multiline_regex_is_a_config_error() {
    let cfg = TailerConfig {
        multiline: Some(Multiline::LineStart("(".into())),
        ..config(std::path::Path::new("/x"), &["*"])
    };
    assert!(Tailer::new(cfg).is_err());
}

#[test]
fn a_record_longer_than_max_log_size_is_cut_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let long = "y".repeat(2500);
    append(
        &dir.path().join("a.log"),
        format!("{long}\nshort\n").as_bytes(),
    );
    let cfg = TailerConfig {
        max_log_size: 1000,
        ..config(dir.path(), &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let got = poll_acked(&mut tailer);
    assert_eq!(
        got,
        [
            "y".repeat(1000),
            "y".repeat(1000),
            "y".repeat(500),
            "short".into()
        ]
    );
    assert_eq!(tailer.counters().snapshot().records_truncated, 2);
}

#[test]
fn a_cut_does_not_split_a_utf8_character() {
    let dir = tempfile::tempdir().unwrap();
    // 9 bytes of ASCII then a 3-byte character across the 10-byte limit.
    append(&dir.path().join("a.log"), "123456789€abc\n".as_bytes());
    let cfg = TailerConfig {
        max_log_size: 10,
        ..config(dir.path(), &["*.log"])
    };
    assert_eq!(read_all(cfg), ["123456789", "€abc"]);
}

#[test]
fn a_partial_last_line_is_flushed_once_the_file_stops_growing_for_the_period() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, b"whole\npart");
    let cfg = TailerConfig {
        force_flush_period: Duration::from_millis(500),
        ..config(dir.path(), &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let t0 = Instant::now();
    let at = |tailer: &mut Tailer, ms: u64| {
        let mut got = Vec::new();
        tailer.poll_at(t0 + Duration::from_millis(ms), |b| {
            got.extend(text(&b));
            Flow::Continue
        });
        got
    };
    assert_eq!(at(&mut tailer, 0), ["whole"]);
    assert!(at(&mut tailer, 300).is_empty());
    // It grew: the period starts again.
    append(&log, b"ial");
    assert!(at(&mut tailer, 400).is_empty());
    assert!(at(&mut tailer, 800).is_empty());
    assert_eq!(at(&mut tailer, 950), ["partial"]);
    append(&log, b" rest\n");
    assert_eq!(at(&mut tailer, 1000), ["rest"]);
}

#[test]
fn a_zero_force_flush_period_never_flushes_a_partial_line() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), b"part");
    let cfg = TailerConfig {
        force_flush_period: Duration::ZERO,
        ..config(dir.path(), &["*.log"])
    };
    let mut tailer = Tailer::new(cfg).unwrap();
    let t0 = Instant::now();
    for s in [0, 10, 100] {
        let mut n = 0;
        tailer.poll_at(t0 + Duration::from_secs(s), |_| {
            n += 1;
            Flow::Continue
        });
        assert_eq!(n, 0);
    }
}

#[test]
fn binary_junk_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut junk = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk.push(x as u8);
    }
    append(&dir.path().join("a.log"), &junk);
    for encoding in [
        Encoding::Utf8,
        Encoding::Utf16Le,
        Encoding::Utf16Be,
        Encoding::Nop,
        Encoding::Other(encoding_rs::GBK),
    ] {
        for multiline in [
            None,
            Some(Multiline::LineStart("^\\x00".into())),
            Some(Multiline::LineEnd("\\xff?".into())),
        ] {
            let cfg = TailerConfig {
                encoding,
                multiline,
                max_log_size: 333,
                force_flush_period: Duration::ZERO,
                ..config(dir.path(), &["*.log"])
            };
            let mut tailer = Tailer::new(cfg).unwrap();
            poll_acked(&mut tailer);
            tailer.poll_at(Instant::now() + Duration::from_secs(5), |_| Flow::Continue);
        }
    }
}

#[test]
fn other_character_sets_are_decoded_by_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("こんにちは\n世界\n");
    append(&dir.path().join("jp.log"), &sjis);
    let jp = Encoding::from_name("shift_jis").unwrap();
    let cfg = TailerConfig {
        encoding: jp,
        ..config(dir.path(), &["jp.log"])
    };
    assert_eq!(read_all(cfg), ["こんにちは", "世界"]);

    append(&dir.path().join("latin.log"), b"caf\xe9 cr\xe8me\n");
    let latin = Encoding::from_name("windows-1252").unwrap();
    let cfg = TailerConfig {
        encoding: latin,
        ..config(dir.path(), &["latin.log"])
    };
    assert_eq!(read_all(cfg), ["café crème"]);

    assert_eq!(Encoding::from_name("UTF-16LE"), Some(Encoding::Utf16Le));
    assert_eq!(Encoding::from_name("no-such-charset"), None);
}
