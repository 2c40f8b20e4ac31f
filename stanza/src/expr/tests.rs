use super::*;
use crate::value::Map;

fn entry() -> Entry {
    let mut e = Entry::new("GET /health 200", 0);
    e.attributes.insert("level".into(), "error".into());
    e.attributes.insert("code".into(), Value::Int(503));
    e.attributes
        .insert("log.file.name".into(), "app.log".into());
    let mut body = Map::new();
    body.insert("x".into(), Value::Double(1.5));
    e.resource.insert("host".into(), "web-1".into());
    e.body = Value::Map(body);
    e
}

fn holds(text: &str) -> bool {
    Expr::compile(text).unwrap().matches(&entry())
}

#[test]
fn field_references_compare_with_literals() {
    assert!(holds(r#"attributes.level == "error""#));
    assert!(holds(r#"attributes["log.file.name"] == 'app.log'"#));
    assert!(holds(r#"resource.host != "web-2""#));
    assert!(holds("body.x > 1 and body.x <= 1.5"));
    assert!(holds("attributes.code >= 500 && attributes.code < 600"));
    assert!(holds("attributes.missing == nil"));
    assert!(holds("attributes.code > -1 and -2.5 < body.x"));
    assert!(!holds("attributes.missing > 3"));
}

#[test]
fn word_operators_test_strings_and_lists() {
    assert!(holds(r#"attributes.level matches "^err""#));
    assert!(holds(r#"attributes["log.file.name"] endsWith ".log""#));
    assert!(holds(r#"attributes.level startsWith "er" or false"#));
    assert!(holds(r#"attributes.level contains "rro""#));
    assert!(holds(r#"attributes.level in ["warn", "error"]"#));
    assert!(holds(r#"attributes.level not in ["info"]"#));
    assert!(holds(r#""level" in attributes and !("nope" in resource)"#));
    assert!(holds(r#""x" in body"#));
    assert!(holds(r#"not (attributes.level == "info")"#));
    assert!(holds(r#"!(attributes.code == 200) || nil"#));
}

#[test]
fn env_reads_the_process_environment() {
    // SAFETY-free: set_var is only unsafe across threads; this name is unique to this test.
    let e = Expr::compile(r#"env("WEIR_STANZA_NO_SUCH_VAR") == """#).unwrap();
    assert!(e.matches(&entry()));
}

#[test]
fn compile_errors_name_the_column() {
    let err = Expr::compile(r#"attributes.level == "a" and"#).unwrap_err();
    assert_eq!(err.column, 28);
    let err = Expr::compile("body.x === 1").unwrap_err();
    assert_eq!(err.column, 10);
    let err = Expr::compile(r#"attributes.x matches "(""#).unwrap_err();
    assert_eq!(err.column, 14);
    let err = Expr::compile("timestamp > 1").unwrap_err();
    assert_eq!(err.column, 1);
    assert!(Expr::compile(r#"body == "x"#).is_err());
}
