//! Every class of compile error, with the column it points at and its suggestion.

use crate::{Condition, Context, Error, ErrorKind, Statement};

fn stmt_err(text: &str, ctx: Context) -> Error {
    match Statement::compile(text, ctx) {
        Ok(_) => panic!("`{text}` compiled"),
        Err(e) => e,
    }
}

fn cond_err(text: &str, ctx: Context) -> Error {
    match Condition::compile(text, ctx) {
        Ok(_) => panic!("`{text}` compiled"),
        Err(e) => e,
    }
}

/// The column of the first occurrence of `needle` in `text`, 1-based, in characters.
fn col(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("needle in text");
    text[..at].chars().count() + 1
}

#[test]
fn unknown_function_points_at_its_name_and_suggests() {
    let t = r#"set(attributes["é"], ToLowerCas(name))"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::UnknownFunction);
    assert_eq!(e.column, col(t, "ToLowerCas"));
    assert_eq!(e.offset, t.find("ToLowerCas").unwrap());
    assert_eq!(e.suggestion.as_deref(), Some("ToLowerCase"));
    assert!(e.to_string().contains("did you mean `ToLowerCase`"), "{e}");
}

#[test]
fn unknown_path_suggests_the_closest_path() {
    let t = r#"set(attributs["a"], "x")"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::UnknownPath);
    assert_eq!(e.column, 5);
    assert_eq!(e.suggestion.as_deref(), Some("attributes"));

    let t = r#"span.nme == "x""#;
    let e = cond_err(t, Context::Span);
    assert_eq!(e.suggestion.as_deref(), Some("span.name"));
}

#[test]
fn unknown_enum_suggests_and_names_the_context_it_belongs_to() {
    let t = "kind == SPAN_KIND_SERVR";
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::UnknownEnum);
    assert_eq!(e.column, col(t, "SPAN_KIND_SERVR"));
    assert_eq!(e.suggestion.as_deref(), Some("SPAN_KIND_SERVER"));

    let e = cond_err("1 == SEVERITY_NUMBER_WARN", Context::Span);
    assert!(e.message.contains("log context"), "{}", e.message);
}

#[test]
fn unknown_named_argument_suggests_the_parameter() {
    let t = r#"replace_pattern(name, "a", "b", functon = SHA256)"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::UnknownArgument);
    assert_eq!(e.column, col(t, "functon"));
    assert_eq!(e.suggestion.as_deref(), Some("function"));
}

#[test]
fn named_arguments_bind_by_name_in_any_order_and_either_case() {
    Statement::compile(
        r#"replace_pattern(name, "a", "b", replacement_format = "x:%s", function = SHA256)"#,
        Context::Span,
    )
    .unwrap();
    Statement::compile(r#"set(value = "v", target = name)"#, Context::Span).unwrap();
}

#[test]
fn wrong_argument_counts_are_errors() {
    let t = "Substring(name, 1) == \"\"";
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Arity);
    assert_eq!(e.column, 1);
    assert!(e.message.contains("`length`"), "{}", e.message);

    let t = "IsString(name, 1)";
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Arity);
    assert_eq!(e.column, col(t, "1)"));

    let e = stmt_err(r#"set(name, "a", target = name)"#, Context::Span);
    assert!(e.message.contains("twice"), "{}", e.message);
}

#[test]
fn argument_types_are_checked_where_known() {
    let t = "ToLowerCase(1) == \"\"";
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(e.column, col(t, "1)"));

    let t = r#"Substring(name, "a", 1) == "x""#;
    assert_eq!(cond_err(t, Context::Span).column, col(t, "\"a\""));

    let t = r#"keep_keys(attributes, ["a", 1])"#;
    assert_eq!(stmt_err(t, Context::Span).column, col(t, "1]"));
}

#[test]
fn arithmetic_on_incompatible_types_is_a_type_error() {
    let t = "name + 1 == 2";
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(e.column, col(t, "1 =="));
    Condition::compile("end_time - start_time > Duration(\"1s\")", Context::Span).unwrap();
    Condition::compile("attributes[\"n\"] * 2 > 3", Context::Span).unwrap();
    cond_err("start_time + start_time > 0", Context::Span);
}

#[test]
fn conditions_must_be_boolean() {
    let t = r#"set(name, "x") where name"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(e.column, t.rfind("name").unwrap() + 1);
    cond_err("1 and true", Context::Span);
    cond_err("not \"x\"", Context::Span);
    Condition::compile(r#"attributes["flag"]"#, Context::Span).unwrap();
    Condition::compile(r#"IsMatch(name, "a") or false"#, Context::Span).unwrap();
}

#[test]
fn converter_as_editor_and_editor_as_converter_are_refused() {
    let e = stmt_err(r#"IsMatch(name, "a")"#, Context::Span);
    assert_eq!(e.kind, ErrorKind::FunctionKind);
    assert_eq!(e.column, 1);

    let t = r#"set(name, delete_key(attributes, "a"))"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::FunctionKind);
    assert_eq!(e.column, col(t, "delete_key"));

    let e = cond_err("SHA256 == \"x\"", Context::Span);
    assert_eq!(e.kind, ErrorKind::FunctionKind);
}

#[test]
fn read_only_paths_cannot_be_targets() {
    let t = "set(metric.type, 1)";
    let e = stmt_err(t, Context::Metric);
    assert_eq!(e.kind, ErrorKind::ReadOnly);
    assert_eq!(e.column, 5);
    let e = stmt_err("set(event_index, 1)", Context::SpanEvent);
    assert_eq!(e.kind, ErrorKind::ReadOnly);
    let e = stmt_err(r#"set(Concat(["a"], ""), "x")"#, Context::Span);
    assert_eq!(e.kind, ErrorKind::Type);
}

#[test]
fn bad_patterns_point_at_the_argument() {
    let t = r#"IsMatch(name, "a(b")"#;
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Pattern);
    assert_eq!(e.column, col(t, "\"a(b\""));
    assert!(e.message.contains("regex"), "{}", e.message);

    let t = r#"replace_match(name, "[ab", "x")"#;
    assert_eq!(stmt_err(t, Context::Span).kind, ErrorKind::Pattern);

    let t = r#"replace_pattern(name, "a", "b", SHA256, "no placeholder")"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Pattern);
    assert_eq!(e.column, col(t, "\"no placeholder\""));

    let e = cond_err("IsMatch(name, attributes[\"re\"])", Context::Span);
    assert!(e.message.contains("string literal"), "{}", e.message);
}

#[test]
fn literal_argument_rules() {
    let e = stmt_err(
        r#"replace_all_patterns(attributes, "keys", "a", "b")"#,
        Context::Span,
    );
    assert_eq!(e.suggestion.as_deref(), Some("key"));
    stmt_err("truncate_all(attributes, -1)", Context::Span);
    let t = r#"limit(attributes, 1, ["a", "b"])"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.column, col(t, "["));
    Statement::compile(r#"limit(attributes, 2, ["a", "b"])"#, Context::Span).unwrap();
    let e = stmt_err(
        r#"replace_pattern(name, "a", "b", SHA256("x"))"#,
        Context::Span,
    );
    assert!(e.message.contains("without parentheses"), "{}", e.message);
    let e = stmt_err(r#"replace_pattern(name, "a", "b", IsMatch)"#, Context::Span);
    assert_eq!(e.kind, ErrorKind::Type);
    let e = stmt_err(r#"replace_pattern(name, "a", "b", SHA265)"#, Context::Span);
    assert_eq!(e.suggestion.as_deref(), Some("SHA256"));
}

#[test]
fn paths_of_unreachable_contexts_are_refused() {
    let t = r#"set(attributes["a"], log.body)"#;
    let e = stmt_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Context);
    assert_eq!(e.column, col(t, "log.body"));
    cond_err("span.name == \"x\"", Context::Log);
    cond_err("datapoint.value_int == 1", Context::Metric);
    Condition::compile(
        "metric.name == \"x\" and datapoint.value_int == 1",
        Context::DataPoint,
    )
    .unwrap();
    Condition::compile(
        "span.name == \"x\" and spanevent.name == \"y\"",
        Context::SpanEvent,
    )
    .unwrap();
    Condition::compile(
        r#"resource.attributes["a"] == instrumentation_scope.name"#,
        Context::Log,
    )
    .unwrap();
}

#[test]
fn indexing_rules() {
    let t = r#"name["x"] == "y""#;
    let e = cond_err(t, Context::Span);
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(e.column, col(t, "\"x\""));
    cond_err("attributes[0] == 1", Context::Span);
    cond_err("attributes[true] == 1", Context::Span);
    Condition::compile(r#"attributes[attributes["key"]] == 1"#, Context::Span).unwrap();
    Condition::compile(r#"body["a"][0] == 1"#, Context::Log).unwrap();
    Condition::compile(r#"trace_state["k"] == "v""#, Context::Span).unwrap();
}

#[test]
fn every_documented_example_compiles() {
    let cases: &[(&str, Context)] = &[
        (r#"set(attributes["http.path"], "/foo")"#, Context::Span),
        (
            r#"delete_key(attributes, "http.request.header.authorization")"#,
            Context::Log,
        ),
        (
            r#"delete_matching_keys(resource.attributes, "(?i).*password.*")"#,
            Context::Log,
        ),
        (
            r#"keep_matching_keys(attributes, "(?i).*version.*")"#,
            Context::Log,
        ),
        (
            r#"keep_keys(resource.attributes, ["http.method", "http.route"])"#,
            Context::Resource,
        ),
        (
            r#"limit(attributes, 50, ["http.host", "http.method"])"#,
            Context::DataPoint,
        ),
        (
            r#"merge_maps(attributes, ParseJSON(body), "upsert")"#,
            Context::Log,
        ),
        (
            r#"replace_all_matches(attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")"#,
            Context::Span,
        ),
        (
            r#"replace_all_patterns(attributes, "key", "^kube_([0-9A-Za-z]+_)", "k8s.$1.")"#,
            Context::Span,
        ),
        (
            r#"replace_match(attributes["http.target"], "/user/*/list/*", "/user/{userId}/list/{listId}", SHA256, "/user/%s")"#,
            Context::Span,
        ),
        (
            r#"replace_pattern(name, "^kube_([0-9A-Za-z]+_)", "$1.", SHA256, "k8s.%s")"#,
            Context::Metric,
        ),
        (r#"truncate_all(attributes, 100)"#, Context::Log),
        (
            r#"set(span.attributes["x"], "y") where span.status.code == STATUS_CODE_ERROR"#,
            Context::Span,
        ),
        (
            r#"set(severity_text, "WARN") where severity_number >= SEVERITY_NUMBER_WARN"#,
            Context::Log,
        ),
        (
            r#"set(metric.description, "x") where metric.type == METRIC_DATA_TYPE_SUM and metric.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE"#,
            Context::DataPoint,
        ),
        (
            r#"append(attributes["tags"], values = ["a", "b"])"#,
            Context::Log,
        ),
        (
            r#"set(attributes["part"], Split(name, "/")[1])"#,
            Context::Span,
        ),
        (
            r#"set(attributes["dur_ms"], Milliseconds(end_time - start_time))"#,
            Context::Span,
        ),
        (
            r#"set(attributes["m"], {"k": [1, 2.5, "s", true, nil, 0xff]})"#,
            Context::Span,
        ),
        (
            r#"set(attributes["n"], -(attributes["n"] + 1) * 2 / 3)"#,
            Context::Span,
        ),
        (
            r#"set(trace_id.string, "0102030405060708090a0b0c0d0e0f10") where UnixSeconds(Now()) > 0"#,
            Context::Log,
        ),
    ];
    for (text, ctx) in cases {
        if let Err(e) = Statement::compile(text, *ctx) {
            panic!("`{text}` in {ctx}: {e}");
        }
    }
}
