//! Statements and conditions end to end on decoded span and log records: comparison and
//! arithmetic rules, every converter and every editor.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::decoded::{LogCtx, SpanCtx};
use crate::{Condition, Context, EvalError, Statement, Value};

fn any(v: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

fn attr(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: any(v),
        ..Default::default()
    }
}

fn span() -> Span {
    use any_value::Value as V;
    Span {
        name: "GET /api/v1/users/42".into(),
        kind: 2,
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 5_000,
        attributes: vec![
            attr("http.method", V::StringValue("GET".into())),
            attr("http.status_code", V::IntValue(503)),
            attr("ratio", V::DoubleValue(0.5)),
            attr("ok", V::BoolValue(false)),
            attr("password", V::StringValue("hunter2".into())),
            attr("db.password", V::StringValue("x".into())),
            attr("key", V::StringValue("http.method".into())),
            attr(
                "json",
                V::StringValue(r#"{"a": 1, "b": {"c": "d"}}"#.into()),
            ),
            attr("blob", V::BytesValue(vec![0xde, 0xad])),
        ],
        ..Default::default()
    }
}

struct Fixture {
    resource: Resource,
    scope: InstrumentationScope,
    span: Span,
}

impl Fixture {
    fn new() -> Self {
        Self {
            resource: Resource::default(),
            scope: InstrumentationScope::default(),
            span: span(),
        }
    }

    fn rec(&mut self) -> SpanCtx<'_> {
        SpanCtx {
            resource: &mut self.resource,
            scope: &mut self.scope,
            span: &mut self.span,
        }
    }

    fn cond(&mut self, text: &str) -> Result<bool, EvalError> {
        let c = Condition::compile(text, Context::Span).unwrap_or_else(|e| panic!("{text}: {e}"));
        c.evaluate(&self.rec())
    }

    fn run(&mut self, text: &str) -> Result<bool, EvalError> {
        let s = Statement::compile(text, Context::Span).unwrap_or_else(|e| panic!("{text}: {e}"));
        s.execute(&mut self.rec())
    }

    fn attr(&self, key: &str) -> Value<'static> {
        self.span
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .map_or(Value::Nil, |kv| {
                Value::from_opt_any(kv.value.as_ref()).into_owned()
            })
    }

    fn keys(&self) -> Vec<&str> {
        self.span
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect()
    }
}

fn holds(text: &str) -> bool {
    Fixture::new()
        .cond(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn comparisons_follow_ottl_rules() {
    assert!(holds(r#"attributes["http.method"] == "GET""#));
    assert!(holds(r#"attributes["missing"] == nil"#));
    assert!(holds(r#"attributes["missing"] != "x""#));
    assert!(!holds(r#"attributes["missing"] == """#));
    assert!(holds(r#"attributes["http.status_code"] >= 500"#));
    assert!(holds(r#"attributes["http.status_code"] == 503.0"#));
    assert!(holds(r#"attributes["ratio"] < 1"#));
    assert!(!holds(r#"attributes["http.status_code"] == "503""#));
    assert!(!holds(r#"attributes["http.status_code"] > "5""#));
    assert!(holds(r#"name > "A" and name < "Z""#));
    assert!(holds("trace_id == 0x07070707070707070707070707070707"));
    assert!(holds(
        "kind == SPAN_KIND_SERVER and kind != SPAN_KIND_CLIENT"
    ));
    assert!(holds(r#"attributes["ok"] == false"#));
    assert!(holds("nil == nil"));
    assert!(holds("[1, 2] == [1, 2] and {\"a\": 1} == {\"a\": 1}"));
}

#[test]
fn boolean_operators_short_circuit() {
    assert!(!holds(r#"false and Substring(name, 999, 1) == "x""#));
    assert!(holds(r#"true or Substring(name, 999, 1) == "x""#));
    assert!(holds("not (1 == 2) and not false"));
    let mut f = Fixture::new();
    assert!(f.cond(r#"Substring(name, 999, 1) == "x""#).is_err());
    assert!(
        f.cond(r#"attributes["http.method"]"#).is_err(),
        "a string is not a condition"
    );
    assert!(!f.cond(r#"attributes["ok"]"#).unwrap());
}

#[test]
fn arithmetic_follows_ottl_type_rules() {
    assert!(holds(r#"attributes["http.status_code"] + 1 == 504"#));
    assert!(holds(r#"attributes["http.status_code"] / 2 == 251"#));
    assert!(holds(r#"attributes["ratio"] * 4 == 2.0"#));
    assert!(holds("1 + 2 * 3 - 4 / 2 == 5"));
    assert!(holds("(1 + 2) * 3 == 9"));
    assert!(holds("-attributes[\"http.status_code\"] == -503"));
    assert!(holds(r#"end_time - start_time == Duration("4us")"#));
    assert!(holds(r#"start_time + Duration("1us") < end_time"#));
    assert!(holds(r#"Nanoseconds(end_time - start_time) == 4000"#));
    let mut f = Fixture::new();
    assert_eq!(f.cond("1 / (2 - 2) == 0"), Err(EvalError::DivisionByZero));
    assert!(f.cond(r#"attributes["http.method"] + 1 == 2"#).is_err());
}

#[test]
fn where_false_does_not_run_the_editor() {
    let mut f = Fixture::new();
    assert!(
        !f.run(r#"set(name, "x") where kind == SPAN_KIND_CLIENT"#)
            .unwrap()
    );
    assert_eq!(f.span.name, "GET /api/v1/users/42");
    assert!(
        f.run(r#"set(name, "x") where kind == SPAN_KIND_SERVER"#)
            .unwrap()
    );
    assert_eq!(f.span.name, "x");
}

#[test]
fn string_converters() {
    assert!(holds(r#"IsMatch(name, "^GET /api/v[0-9]+/")"#));
    assert!(!holds(r#"IsMatch(attributes["missing"], ".*")"#));
    assert!(
        holds(r#"IsMatch(attributes["http.status_code"], "^5")"#),
        "ints are string-like"
    );
    assert!(holds(
        r#"Concat([attributes["http.method"], "x", 1, attributes["nope"]], "-") == "GET-x-1-<nil>""#
    ));
    assert!(holds(r#"Split(name, "/")[2] == "v1""#));
    assert!(holds(r#"Len(Split("a,b,c", ",")) == 3"#));
    assert!(holds(r#"Split("ab", "") == ["a", "b"]"#));
    assert!(holds(r#"ToLowerCase(attributes["http.method"]) == "get""#));
    assert!(holds(r#"ToUpperCase("ß") == "SS""#));
    assert!(holds(r#"Substring(name, 4, 3) == "/ap""#));
    assert!(holds(r#"Len(name) == 20 and Len(attributes) == 9"#));
    assert!(holds(
        r#"SHA256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#
    ));
    assert!(holds(r#"Len(SHA512("")) == 128 and Len(SHA1("")) == 40"#));
    assert!(holds(
        r#"Hex(attributes["blob"]) == "dead" and Hex("A") == "41""#
    ));
    let mut f = Fixture::new();
    assert!(
        f.cond(r#"Split(attributes["http.status_code"], ",")[0] == "x""#)
            .is_err()
    );
    assert!(f.cond(r#"Split(name, "/")[99] == "x""#).is_err());
    assert!(f.cond(r#"Len(attributes["ok"]) == 1"#).is_err());
}

#[test]
fn type_converters_and_predicates() {
    assert!(holds(
        r#"Int("42") == 42 and Int(2.9) == 2 and Int(true) == 1 and Int("x") == nil"#
    ));
    assert!(holds(
        r#"Double("1.5") == 1.5 and Double(2) == 2.0 and Double(nil) == nil"#
    ));
    assert!(holds(
        r#"String(1.5) == "1.5" and String(attributes["blob"]) == "dead" and String(nil) == nil"#
    ));
    assert!(holds(r#"String([1, "a"]) == "[1,\"a\"]""#));
    assert!(holds(
        r#"IsString(name) and IsInt(attributes["http.status_code"]) and IsDouble(attributes["ratio"])"#
    ));
    assert!(holds(
        r#"IsBool(attributes["ok"]) and IsMap(attributes) and IsList([1]) and not IsString(nil)"#
    ));
    assert!(holds(r#"ParseJSON(attributes["json"])["b"]["c"] == "d""#));
    assert!(holds(
        r#"ParseJSON(attributes["json"])["a"] == 1.0 and IsDouble(ParseJSON(attributes["json"])["a"])"#
    ));
    assert!(holds(r#"ParseJSON("[1, 2]")[1] == 2"#));
    assert!(Fixture::new().cond(r#"ParseJSON("3") == 3"#).is_err());
    assert!(Fixture::new().cond(r#"ParseJSON("{") == nil"#).is_err());
    assert!(holds(
        "TraceID(0x00000000000000000000000000000001) == 0x00000000000000000000000000000001"
    ));
    assert!(Fixture::new().cond("SpanID(0x01) == 0x01").is_err());
}

#[test]
fn time_converters() {
    assert!(holds(
        "UnixNano(start_time) == 1000 and UnixMicro(start_time) == 1"
    ));
    assert!(holds(
        "UnixMilli(Unix(2, 5000000)) == 2005 and UnixSeconds(Unix(2)) == 2"
    ));
    assert!(holds("Now() > Unix(1700000000)"));
    assert!(holds(
        r#"Milliseconds(Duration("1.5s")) == 1500 and Microseconds(Duration("1ms")) == 1000"#
    ));
    assert!(holds(
        r#"Seconds(Duration("1500ms")) == 1.5 and Minutes(Duration("90s")) == 1.5 and Hours(Duration("30m")) == 0.5"#
    ));
    assert!(Fixture::new().cond(r#"Duration("1 day") == nil"#).is_err());
}

#[test]
fn set_and_append() {
    let mut f = Fixture::new();
    f.run(r#"set(attributes["copy"], attributes["http.method"])"#)
        .unwrap();
    assert_eq!(f.attr("copy"), Value::str("GET"));
    f.run(r#"set(attributes["copy"], attributes["nothing"])"#)
        .unwrap();
    assert_eq!(
        f.attr("copy"),
        Value::str("GET"),
        "setting nil changes nothing"
    );
    f.run(r#"set(attributes[attributes["key"]], "POST")"#)
        .unwrap();
    assert_eq!(f.attr("http.method"), Value::str("POST"));
    f.run(r#"set(attributes["n"], attributes["http.status_code"] * 2)"#)
        .unwrap();
    assert_eq!(f.attr("n"), Value::Int(1006));
    f.run(r#"append(attributes["tags"], "a")"#).unwrap();
    f.run(r#"append(attributes["tags"], values = ["b", "c"])"#)
        .unwrap();
    assert!(f.cond(r#"attributes["tags"] == ["a", "b", "c"]"#).unwrap());
    f.run(r#"append(attributes["http.method"], "x")"#).unwrap();
    assert!(
        f.cond(r#"attributes["http.method"] == ["POST", "x"]"#)
            .unwrap()
    );
    assert!(
        f.run(r#"set(attributes["t"], start_time)"#).is_err(),
        "a time has no attribute form"
    );
    f.run(r#"set(attributes, {"only": 1})"#).unwrap();
    assert_eq!(f.keys(), ["only"]);
}

#[test]
fn key_editors() {
    let mut f = Fixture::new();
    f.run(r#"delete_key(attributes, "password")"#).unwrap();
    assert!(!f.keys().contains(&"password"));
    f.run(r#"delete_matching_keys(attributes, "(?i).*PASSWORD.*")"#)
        .unwrap();
    assert!(!f.keys().contains(&"db.password"));
    f.run(r#"keep_matching_keys(attributes, "^(http|ratio|ok|key|json|blob)")"#)
        .unwrap();
    assert_eq!(
        f.keys(),
        [
            "http.method",
            "http.status_code",
            "ratio",
            "ok",
            "key",
            "json",
            "blob"
        ]
    );
    f.run(r#"keep_keys(attributes, ["ratio", "http.method", "absent"])"#)
        .unwrap();
    assert_eq!(f.keys(), ["http.method", "ratio"]);
    let mut f = Fixture::new();
    f.run(r#"limit(attributes, 3, ["blob"])"#).unwrap();
    assert_eq!(f.keys(), ["http.method", "http.status_code", "blob"]);
    assert!(
        f.run(r#"delete_key(attributes["http.method"], "x")"#)
            .is_err(),
        "not a map"
    );
}

#[test]
fn truncate_all_counts_bytes_and_keeps_characters_whole() {
    let mut f = Fixture::new();
    f.run(r#"set(attributes["u"], "aé€")"#).unwrap();
    f.run("truncate_all(attributes, 4)").unwrap();
    assert_eq!(f.attr("u"), Value::str("aé"));
    assert_eq!(f.attr("password"), Value::str("hunt"));
    assert_eq!(
        f.attr("http.status_code"),
        Value::Int(503),
        "non-strings are left alone"
    );
}

#[test]
fn pattern_editors() {
    let mut f = Fixture::new();
    f.run(r#"replace_pattern(name, "/users/([0-9]+)", "/users/{id:$1}")"#)
        .unwrap();
    assert_eq!(f.span.name, "GET /api/v1/users/{id:42}");
    f.run(r#"replace_pattern(name, "v([0-9])", "$1", SHA256, "v:%s")"#)
        .unwrap();
    assert!(
        f.span.name.starts_with("GET /api/v:6b86b273ff34fce1"),
        "{}",
        f.span.name
    );
    f.run(r#"replace_pattern(attributes["http.status_code"], "5", "x")"#)
        .unwrap();
    assert_eq!(
        f.attr("http.status_code"),
        Value::Int(503),
        "non-strings are left alone"
    );

    let mut f = Fixture::new();
    f.run(r#"replace_all_patterns(attributes, "value", "^hunter[0-9]$", "***")"#)
        .unwrap();
    assert_eq!(f.attr("password"), Value::str("***"));
    f.run(r#"replace_all_patterns(attributes, "key", "^http\\.", "h.")"#)
        .unwrap();
    assert!(f.keys().starts_with(&["h.method", "h.status_code"]));

    let mut f = Fixture::new();
    f.run(r#"replace_match(name, "GET /api/*", "GET /api/{rest}")"#)
        .unwrap();
    assert_eq!(f.span.name, "GET /api/{rest}");
    f.run(r#"replace_match(name, "POST *", "nope")"#).unwrap();
    assert_eq!(f.span.name, "GET /api/{rest}");
    f.run(r#"replace_all_matches(attributes, "hunter?", "redacted", SHA256, "sha:%s")"#)
        .unwrap();
    assert!(f.attr("password").as_str().unwrap().starts_with("sha:"));
    assert_eq!(f.attr("db.password"), Value::str("x"));
}

#[test]
fn merge_maps_strategies() {
    let mut f = Fixture::new();
    f.run(r#"merge_maps(attributes, ParseJSON(attributes["json"]), "insert")"#)
        .unwrap();
    assert_eq!(f.attr("a"), Value::Double(1.0));
    f.run(r#"merge_maps(attributes, {"a": 2, "new": 1}, "update")"#)
        .unwrap();
    assert_eq!(f.attr("a"), Value::Int(2));
    assert_eq!(f.attr("new"), Value::Nil);
    f.run(r#"merge_maps(attributes, {"a": 3, "new": 1}, "upsert")"#)
        .unwrap();
    assert_eq!((f.attr("a"), f.attr("new")), (Value::Int(3), Value::Int(1)));
    assert!(
        f.run(r#"merge_maps(attributes, attributes["http.method"], "upsert")"#)
            .is_err()
    );
}

#[test]
fn log_body_statements() {
    let (mut r, mut s) = (Resource::default(), InstrumentationScope::default());
    let mut log = LogRecord {
        body: any(any_value::Value::StringValue(
            r#"{"level":"warn","msg":"disk"}"#.into(),
        )),
        ..Default::default()
    };
    let mut rec = LogCtx {
        resource: &mut r,
        scope: &mut s,
        log: &mut log,
    };
    for text in [
        r#"merge_maps(attributes, ParseJSON(body), "upsert") where IsString(body)"#,
        r#"set(severity_number, SEVERITY_NUMBER_WARN) where attributes["level"] == "warn""#,
        r#"set(body, attributes["msg"])"#,
    ] {
        Statement::compile(text, Context::Log)
            .unwrap()
            .execute(&mut rec)
            .unwrap();
    }
    assert_eq!(rec.log.severity_number, 13);
    assert_eq!(
        Value::from_opt_any(rec.log.body.as_ref()),
        Value::str("disk")
    );
    let c = Condition::compile(
        r#"log.body == "disk" and severity_number >= SEVERITY_NUMBER_WARN"#,
        Context::Log,
    )
    .unwrap();
    assert!(c.evaluate(&rec).unwrap());
}
