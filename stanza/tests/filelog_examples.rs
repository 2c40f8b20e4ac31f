//! otelcol-contrib's filelog examples, end to end through the public API: config as the
//! loader hands it over (JSON), a batch of lines, OTLP out.

use serde_json::json;
use weir_stanza::{Entry, Pipeline, Severity, Value, otlp};

fn is_send<T: Send>() {}

#[test]
fn a_pipeline_can_move_between_threads() {
    is_send::<Pipeline>();
}

#[test]
fn regex_timestamp_and_severity_then_otlp() {
    let operators = json!([{
        "type": "regex_parser",
        "regex": "^(?P<time>\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}) (?P<sev>[A-Z]*) (?P<msg>.*)$",
        "timestamp": {"parse_from": "attributes.time", "layout": "%Y-%m-%d %H:%M:%S", "location": "UTC"},
        "severity": {"parse_from": "attributes.sev"}
    }]);
    let mut p = Pipeline::build(&operators).unwrap();
    let mut line = Entry::new("2023-06-19 05:20:50 ERROR This is a test error message", 7);
    line.attributes
        .insert("log.file.name".into(), "test.log".into());
    let out = p.process(vec![line, Entry::new("not a log line", 8)]);
    assert_eq!(
        out.len(),
        2,
        "a line that does not match is sent on (on_error: send)"
    );
    assert_eq!(out[0].severity, Severity::ERROR);
    assert_eq!(out[0].timestamp, Some(1_687_152_050_000_000_000));
    assert_eq!(
        out[0].attributes["msg"],
        Value::from("This is a test error message")
    );
    assert_eq!(p.parse_errors().collect::<Vec<_>>(), [("regex_parser", 1)]);

    let logs = otlp::to_resource_logs(out);
    let records = &logs[0].scope_logs[0].log_records;
    assert_eq!(records[0].severity_number, 17);
    assert_eq!(records[0].severity_text, "ERROR");
    assert_eq!(records[0].time_unix_nano, 1_687_152_050_000_000_000);
    assert_eq!(records[1].time_unix_nano, 0);
    assert_eq!(records[1].observed_time_unix_nano, 8);
}

#[test]
fn json_lines_routed_from_plain_ones_with_a_multiline_stack_trace() {
    let operators = json!([
        {"type": "router", "id": "get-format", "routes": [
            {"output": "parser-json", "expr": "body matches \"^\\\\{\""}
        ], "default": "stack"},
        {"type": "json_parser", "id": "parser-json", "output": "sev",
         "timestamp": {"parse_from": "attributes.ts", "layout_type": "gotime", "layout": "2006-01-02T15:04:05Z07:00"}},
        {"type": "recombine", "id": "stack", "combine_field": "body", "is_first_entry": "body matches \"^[^\\\\s]\"",
         "source_identifier": "attributes[\"log.file.path\"]", "output": "sev"},
        {"type": "severity_parser", "id": "sev", "parse_from": "attributes.level", "if": "attributes.level != nil"},
        {"type": "remove", "field": "attributes.ts", "if": "attributes.ts != nil"}
    ]);
    let mut p = Pipeline::build(&operators).unwrap();
    let lines = [
        r#"{"level": "warn", "msg": "slow", "ts": "2024-02-03T04:05:06+01:00"}"#,
        "Exception in thread main",
        "\tat a.b(C.java:1)",
        r#"{"level": "info", "msg": "ok", "ts": "2024-02-03T04:05:07Z"}"#,
        "Next plain line",
    ];
    let out = p.process(lines.iter().map(|l| Entry::new(*l, 0)).collect());
    assert_eq!(
        out.len(),
        3,
        "the stack trace is held until the next first line"
    );
    assert_eq!(out[0].severity, Severity::WARN);
    assert!(!out[0].attributes.contains_key("ts"));
    assert_eq!(out[0].timestamp, Some(1_706_929_506_000_000_000));
    assert_eq!(out[1].severity, Severity::INFO);
    assert_eq!(
        out[2].body,
        Value::from("Exception in thread main\n\tat a.b(C.java:1)")
    );
    let rest = p.flush_all();
    assert_eq!(rest[0].body, Value::from("Next plain line"));
}

#[test]
fn config_errors_carry_their_path_for_the_loader() {
    let operators = json!([
        {"type": "regex_parser", "regex": "(?P<x>", "timestamp": {"parse_from": "attributes.t", "layout": "%Y", "locaton": "UTC"}},
        {"type": "filter", "expr": "body matches"}
    ]);
    let errors = Pipeline::build(&operators).unwrap_err().0;
    let found: Vec<(Vec<String>, Option<usize>)> =
        errors.iter().map(|e| (e.path.keys(), e.column)).collect();
    assert!(
        found.contains(&(vec!["operators".into(), "0".into(), "regex".into()], None)),
        "{errors:?}"
    );
    assert!(
        found.contains(&(
            vec![
                "operators".into(),
                "0".into(),
                "timestamp".into(),
                "locaton".into()
            ],
            None
        )),
        "{errors:?}"
    );
    assert!(
        found.contains(&(
            vec!["operators".into(), "1".into(), "expr".into()],
            Some(13)
        )),
        "{errors:?}"
    );
}
