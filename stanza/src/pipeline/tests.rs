use serde_json::json;

use crate::operators::testkit::*;

#[test]
fn an_empty_list_passes_entries_through() {
    let mut p = pipeline(json!(null));
    assert!(p.is_empty());
    assert_eq!(run(&mut p, "x").len(), 1);
}

#[test]
fn id_defaults_to_type_and_output_to_the_next_operator() {
    let mut p = pipeline(json!([
        {"type": "add", "field": "attributes.a", "value": 1, "output": "second"},
        {"type": "add", "id": "skipped", "field": "attributes.b", "value": 2},
        {"type": "add", "id": "second", "field": "attributes.c", "value": 3}
    ]));
    let out = run(&mut p, "x");
    assert!(out[0].attributes.contains_key("a"));
    assert!(!out[0].attributes.contains_key("b"));
    assert!(out[0].attributes.contains_key("c"));
}

#[test]
fn a_list_of_outputs_fans_out_copies() {
    let mut p = pipeline(json!([
        {"type": "noop", "output": ["x", "y"]},
        {"type": "add", "id": "x", "field": "attributes.to", "value": "x", "output": "end"},
        {"type": "add", "id": "y", "field": "attributes.to", "value": "y", "output": "end"},
        {"type": "noop", "id": "end"}
    ]));
    let out = run(&mut p, "line");
    let to: Vec<String> = out.iter().map(|e| attr(e, "to")).collect();
    assert_eq!(to, ["x", "y"]);
}

#[test]
fn if_skips_the_operator_for_entries_it_does_not_hold_for() {
    let mut p = pipeline(
        json!([{"type": "regex_parser", "regex": "(?P<n>\\d+)", "if": "body startsWith \"n=\""}]),
    );
    assert_eq!(attr(&run(&mut p, "n=42")[0], "n"), "42");
    let out = run(&mut p, "other 7");
    assert!(out[0].attributes.is_empty());
    assert_eq!(p.total_parse_errors(), 0);
}

#[test]
fn on_error_modes_send_or_drop_and_always_count() {
    for (mode, kept) in [
        ("send", 1),
        ("send_quiet", 1),
        ("drop", 0),
        ("drop_quiet", 0),
    ] {
        let mut p = pipeline(
            json!([{"type": "regex_parser", "id": "re", "regex": "^(?P<a>a)$", "on_error": mode}]),
        );
        assert_eq!(run(&mut p, "b").len(), kept, "{mode}");
        assert_eq!(p.parse_errors().collect::<Vec<_>>(), [("re", 1)], "{mode}");
    }
}

#[test]
fn unknown_types_are_refused_with_a_suggestion() {
    let errors = config_errors(json!([{"type": "regex_parsr", "regex": "x"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].type");
    assert!(
        errors[0].message.contains("did you mean `regex_parser`"),
        "{}",
        errors[0].message
    );
    let errors = config_errors(json!([{"type": "uri_parser"}]));
    assert!(
        errors[0].message.contains("not supported by Weir"),
        "{}",
        errors[0].message
    );
    let errors = config_errors(json!([{"type": "timestamp", "parse_from": "body"}]));
    assert!(
        errors[0].message.contains("time_parser"),
        "{}",
        errors[0].message
    );
}

#[test]
fn unknown_fields_are_refused_with_a_suggestion() {
    let errors = config_errors(json!([{"type": "json_parser", "parse_form": "body"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].parse_form");
    assert!(
        errors[0].message.contains("did you mean `parse_from`"),
        "{}",
        errors[0].message
    );
    assert!(errors[0].expected.contains(&"parse_from".to_string()));
    assert_eq!(errors[0].path.keys(), ["operators", "0", "parse_form"]);
}

#[test]
fn unknown_fields_inside_blocks_are_refused_at_their_path() {
    let errors = config_errors(
        json!([{"type": "json_parser", "timestamp": {"parse_from": "attributes.t", "layout": "%s", "formt": 1}}]),
    );
    assert!(
        errors
            .iter()
            .any(|e| e.path.to_string() == "operators[0].timestamp.formt"),
        "{errors:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let errors = config_errors(json!([
        {"type": "regex_parser", "regex": "("},
        {"type": "filter", "expr": "body =="},
        {"type": "nope"}
    ]));
    let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "operators[0].regex",
            "operators[1].expr",
            "operators[2].type"
        ]
    );
}

#[test]
fn a_bad_if_names_its_column() {
    let errors = config_errors(json!([{"type": "noop", "if": "body == \"x\" andd true"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].if");
    assert_eq!(errors[0].column, Some(13));
}

#[test]
fn duplicate_ids_unknown_outputs_and_cycles_are_refused() {
    let errors = config_errors(json!([{"type": "noop"}, {"type": "noop"}]));
    assert_eq!(errors[0].path.to_string(), "operators[1].id");
    let errors = config_errors(json!([{"type": "noop", "output": "nowhere"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].output");
    let errors = config_errors(
        json!([{"type": "noop", "id": "a", "output": "b"}, {"type": "noop", "id": "b", "output": "a"}]),
    );
    assert!(errors[0].message.contains("cycle"));
}

#[test]
fn a_bad_on_error_is_refused() {
    let errors = config_errors(json!([{"type": "noop", "on_error": "ignore"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].on_error");
}
