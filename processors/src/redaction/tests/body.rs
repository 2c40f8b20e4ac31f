//! Log record bodies: strings masked in place, maps and lists walked into with dotted paths,
//! keys deleted, masked or ignored by the attribute rules, values allowed, and the
//! `redaction.body.*` summary written on the record as each summary level says.

use super::*;

fn map(entries: Vec<KeyValue>) -> Value {
    Value::KvlistValue(KeyValueList { values: entries })
}

fn list(values: Vec<Value>) -> Value {
    Value::ArrayValue(ArrayValue {
        values: values
            .into_iter()
            .map(|v| AnyValue { value: Some(v) })
            .collect(),
    })
}

/// The one record of a logs request: its body and its attributes.
fn record(request: &Request) -> (Option<Value>, Vec<KeyValue>) {
    let Request::Logs(r) = request else {
        unreachable!("a logs request")
    };
    let record = &r.resource_logs[0].scope_logs[0].log_records[0];
    (
        record.body.as_ref().and_then(|b| b.value.clone()),
        record.attributes.clone(),
    )
}

#[test]
fn a_string_body_is_masked_in_place_and_named_body_in_the_summary() {
    let config = config(json!({
        "allow_all_keys": true,
        "blocked_values": ["4[0-9]{15}"],
        "summary": "debug",
    }));
    let out = run(&config, &logs(vec![], s("card 4111111111111111 paid")));
    let (body, attributes) = record(&out);
    assert_eq!(body, Some(s("card **** paid")));
    assert_eq!(
        attributes,
        vec![
            kv("redaction.body.masked.keys", s("body")),
            kv("redaction.body.masked.count", Value::IntValue(1)),
        ]
    );
}

#[test]
fn a_map_body_is_walked_into_nested_maps_and_lists_with_dotted_paths() {
    let config = config(json!({
        "allowed_keys": ["user", "card", "password", "pin", "items", "note", "id"],
        "ignored_keys": ["trace"],
        "blocked_key_patterns": ["^(password|pin)$"],
        "blocked_values": ["4[0-9]{15}"],
        "summary": "debug",
    }));
    let body = map(vec![
        kv(
            "user",
            map(vec![
                kv("name", s("ann")),
                kv("card", s("4111111111111111")),
                kv("password", s("hunter2")),
                kv("pin", Value::IntValue(1234)),
            ]),
        ),
        kv("trace", s("4111111111111111")),
        kv(
            "items",
            list(vec![
                s("4111111111111111"),
                map(vec![
                    kv("card", s("4222222222222222")),
                    kv("id", Value::IntValue(7)),
                ]),
            ]),
        ),
        kv("note", s("fine")),
        kv("secret", s("s")),
    ]);
    let out = run(&config, &logs(vec![], body));
    let (body, attributes) = record(&out);
    let expected = map(vec![
        kv(
            "user",
            map(vec![
                kv("card", s("****")),
                kv("password", s("****")),
                // A blocked key's value that is not a string masks as the empty string does.
                kv("pin", s("****")),
            ]),
        ),
        kv("trace", s("4111111111111111")),
        kv(
            "items",
            list(vec![
                s("****"),
                map(vec![kv("card", s("****")), kv("id", Value::IntValue(7))]),
            ]),
        ),
        kv("note", s("fine")),
    ]);
    assert_eq!(body, Some(expected));
    assert_eq!(
        attributes,
        vec![
            kv("redaction.body.redacted.keys", s("secret,user.name")),
            kv("redaction.body.redacted.count", Value::IntValue(2)),
            kv(
                "redaction.body.masked.keys",
                s("items.[0],items.[1].card,user.card,user.password,user.pin"),
            ),
            kv("redaction.body.masked.count", Value::IntValue(5)),
            kv("redaction.body.ignored.count", Value::IntValue(1)),
        ]
    );
}

#[test]
fn body_values_are_read_as_text_allowed_values_win_and_info_writes_only_counts() {
    let config = config(json!({
        "allow_all_keys": true,
        "blocked_values": ["[0-9]{4}"],
        "allowed_values": ["^2024$"],
        "summary": "info",
    }));
    let body = list(vec![Value::IntValue(2024), Value::IntValue(12345678)]);
    let out = run(&config, &logs(vec![], body));
    let (body, attributes) = record(&out);
    assert_eq!(body, Some(list(vec![Value::IntValue(2024), s("********")])));
    assert_eq!(
        attributes,
        vec![
            kv("redaction.body.masked.count", Value::IntValue(1)),
            kv("redaction.body.allowed.count", Value::IntValue(1)),
        ]
    );
}

#[test]
fn with_a_silent_summary_the_body_changes_and_the_attributes_do_not() {
    let config = config(json!({
        "allowed_keys": ["a"],
        "blocked_values": ["secret"],
    }));
    let out = run(&config, &logs(vec![kv("a", s("x"))], s("a secret")));
    let (body, attributes) = record(&out);
    assert_eq!(body, Some(s("a ****")));
    assert_eq!(attributes, vec![kv("a", s("x"))]);
}

#[test]
fn a_second_redaction_adds_to_the_first_ones_body_summary() {
    let first = config(json!({
        "allow_all_keys": true,
        "blocked_values": ["secret"],
        "summary": "debug",
    }));
    let second = config(json!({
        "allowed_keys": [],
        "allow_all_keys": true,
        "blocked_values": ["token"],
        "summary": "debug",
    }));
    let once = run(&first, &logs(vec![], s("secret and token")));
    let twice = run(&second, &once);
    let (body, attributes) = record(&twice);
    assert_eq!(body, Some(s("**** and ****")));
    assert_eq!(
        attributes,
        vec![
            kv("redaction.body.masked.keys", s("body,body")),
            kv("redaction.body.masked.count", Value::IntValue(2)),
        ]
    );
}

#[test]
fn only_the_records_whose_body_changes_are_rewritten() {
    let config = config(json!({
        "allow_all_keys": true,
        "blocked_values": ["secret"],
    }));
    let mut request = logs(vec![], s("clean"));
    let Request::Logs(r) = &mut request else {
        unreachable!()
    };
    let records = &mut r.resource_logs[0].scope_logs[0].log_records;
    let mut dirty = records[0].clone();
    dirty.body = Some(AnyValue {
        value: Some(s("secret")),
    });
    records.push(dirty);
    // An absent body stays absent.
    records.push(LogRecord::default());
    let out = run(&config, &request);
    let Request::Logs(r) = &out else {
        unreachable!()
    };
    let bodies: Vec<Option<Value>> = r.resource_logs[0].scope_logs[0]
        .log_records
        .iter()
        .map(|l| l.body.as_ref().and_then(|b| b.value.clone()))
        .collect();
    assert_eq!(bodies, vec![Some(s("clean")), Some(s("****")), None]);
}
