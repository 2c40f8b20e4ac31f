use crate::entry::Severity;
use crate::operators::testkit::*;
use crate::value::Value;
use serde_json::json;

#[test]
fn rfc5424_with_structured_data() {
    let mut p = pipeline(json!([{"type": "syslog_parser", "protocol": "rfc5424"}]));
    let line = r#"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] 'su root' failed"#;
    let out = run(&mut p, line);
    let e = &out[0];
    assert_eq!(attr(e, "hostname"), "mymachine.example.com");
    assert_eq!(attr(e, "appname"), "su");
    assert_eq!(attr(e, "proc_id"), "1234");
    assert_eq!(attr(e, "msg_id"), "ID47");
    assert_eq!(attr(e, "message"), "'su root' failed");
    assert_eq!(e.attributes["priority"], Value::Int(34));
    assert_eq!(e.attributes["facility"], Value::Int(4));
    assert_eq!(attr(e, "facility_text"), "auth");
    assert!(!e.attributes.contains_key("severity"));
    assert_eq!(e.attributes["version"], Value::Int(1));
    let sd = e.attributes["structured_data"].as_map().unwrap();
    assert_eq!(
        sd["exampleSDID@32473"].as_map().unwrap()["eventSource"],
        "Application".into()
    );
    assert_eq!(e.timestamp, Some(1_065_910_455_003_000_000));
    assert_eq!(
        (e.severity, e.severity_text.as_str()),
        (Severity::ERROR2, "crit")
    );
}

#[test]
fn rfc5424_nil_fields_are_left_out() {
    let mut p = pipeline(json!([{"type": "syslog_parser", "protocol": "rfc5424"}]));
    let out = run(&mut p, "<165>1 - - - - - -");
    assert!(!out[0].attributes.contains_key("hostname"));
    assert!(!out[0].attributes.contains_key("message"));
    assert_eq!(out[0].timestamp, None);
    assert_eq!(out[0].severity, Severity::INFO2);
}

#[test]
fn rfc5424_octet_counting() {
    let mut p = pipeline(
        json!([{"type": "syslog_parser", "protocol": "rfc5424", "enable_octet_counting": true}]),
    );
    let out = run(&mut p, "25 <13>1 - host app - - - hi");
    assert_eq!(attr(&out[0], "message"), "hi");
    let mut small = pipeline(
        json!([{"type": "syslog_parser", "protocol": "rfc5424", "enable_octet_counting": true, "max_octets": 10, "on_error": "drop_quiet"}]),
    );
    assert!(run(&mut small, "25 <13>1 - host app - - - hi").is_empty());
}

#[test]
fn rfc5424_refuses_malformed_headers() {
    let mut p = pipeline(
        json!([{"type": "syslog_parser", "protocol": "rfc5424", "on_error": "drop_quiet"}]),
    );
    for bad in [
        "<34>0 - - - - - -",
        "<192>1 - - - - - -",
        "<34>1 yesterday h a p m -",
        "<34>1 - h a p m [unclosed",
    ] {
        assert!(run(&mut p, bad).is_empty(), "{bad}");
    }
}

#[test]
fn rfc3164_in_its_location() {
    let mut p =
        pipeline(json!([{"type": "syslog_parser", "protocol": "rfc3164", "location": "UTC"}]));
    let out = run(
        &mut p,
        "<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed for lonvick on /dev/pts/8",
    );
    let e = &out[0];
    assert_eq!(attr(e, "hostname"), "mymachine");
    assert_eq!(attr(e, "appname"), "su");
    assert_eq!(attr(e, "proc_id"), "42");
    assert_eq!(
        attr(e, "message"),
        "'su root' failed for lonvick on /dev/pts/8"
    );
    assert!(e.timestamp.is_some());
    assert_eq!(e.severity, Severity::ERROR2);
}

#[test]
fn rfc3164_without_tag_keeps_the_whole_message() {
    let mut p = pipeline(json!([{"type": "syslog_parser", "protocol": "rfc3164"}]));
    let out = run(&mut p, "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!");
    assert_eq!(attr(&out[0], "hostname"), "10.0.0.99");
    assert_eq!(attr(&out[0], "message"), "Use the BFG!");
    assert!(!out[0].attributes.contains_key("appname"));
}

#[test]
fn allow_skip_pri_header() {
    let mut p = pipeline(
        json!([{"type": "syslog_parser", "protocol": "rfc3164", "allow_skip_pri_header": true}]),
    );
    let out = run(&mut p, "Feb  5 17:32:18 host app: hi");
    assert_eq!(attr(&out[0], "message"), "hi");
    assert!(!out[0].attributes.contains_key("priority"));
}

#[test]
fn protocol_is_required_and_checked() {
    let errors = config_errors(json!([{"type": "syslog_parser"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].protocol");
    let errors = config_errors(json!([{"type": "syslog_parser", "protocol": "rfc9999"}]));
    assert_eq!(errors[0].path.to_string(), "operators[0].protocol");
}
