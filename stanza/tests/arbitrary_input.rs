//! Nothing panics on arbitrary input: every parser takes any line (text or bytes), and any
//! expression, field, layout or regex either builds or is a config error.

use proptest::prelude::*;
use serde_json::json;
use weir_stanza::{Entry, Pipeline, Value};

fn parsers() -> Vec<Pipeline> {
    let configs = [
        json!([{"type": "regex_parser", "regex": "^(?P<a>\\S+) (?P<b>\\d+)?(?P<c>.*)$",
                "timestamp": {"parse_from": "attributes.a", "layout": "%Y-%m-%dT%H:%M:%S.%f%z"},
                "severity": {"parse_from": "attributes.b", "mapping": {"error": {"min": 1, "max": 9}}}}]),
        json!([{"type": "json_parser", "parse_ints": true},
               {"type": "flatten", "field": "attributes.x"}]),
        json!([{"type": "key_value_parser"}]),
        json!([{"type": "key_value_parser", "delimiter": ":", "pair_delimiter": ";"}]),
        json!([{"type": "csv_parser", "header": "a,b,c"}]),
        json!([{"type": "csv_parser", "header": "a,b,c", "lazy_quotes": true}]),
        json!([{"type": "syslog_parser", "protocol": "rfc3164"}]),
        json!([{"type": "syslog_parser", "protocol": "rfc5424"}]),
        json!([{"type": "syslog_parser", "protocol": "rfc5424", "enable_octet_counting": true}]),
        json!([{"type": "time_parser", "parse_from": "body", "layout_type": "gotime", "layout": "Jan _2 15:04:05.000 2006 MST"}]),
        json!([{"type": "time_parser", "parse_from": "body", "layout_type": "epoch", "layout": "s.ns"}]),
        json!([{"type": "time_parser", "parse_from": "body", "layout_type": "epoch", "layout": "ns"}]),
        json!([{"type": "severity_parser", "parse_from": "body"}]),
        json!([{"type": "recombine", "combine_field": "body", "is_first_entry": "body matches \"^\\\\S\"", "max_log_size": 64}]),
        json!([{"type": "router", "routes": [{"expr": "body contains \"a\" or body matches \"[0-9]\"", "output": "end"}], "default": "end"},
               {"type": "noop", "id": "end"}]),
    ];
    configs
        .iter()
        .map(|c| Pipeline::build(c).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_parser_takes_any_line(line in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        for mut p in parsers() {
            let entries = vec![Entry::new(line.as_str(), 0), Entry::new(Value::Bytes(bytes.clone()), 0)];
            let out = p.process(entries);
            prop_assert!(out.len() <= 2);
            let _ = p.flush_all();
        }
    }

    #[test]
    fn every_parser_takes_lines_shaped_like_its_input(
        line in "(<[0-9]{1,3}>)?[0-9 ]{0,3}[A-Za-z]{0,3} [0-9 :.TZ+-]{0,30} [a-z=\"',;\\[\\]{}: ]{0,40}"
    ) {
        for mut p in parsers() {
            let _ = p.process(vec![Entry::new(line.as_str(), 0)]);
        }
    }

    #[test]
    fn any_expression_compiles_or_is_an_error(text in any::<String>(), shaped in "[a-z\\.\\[\\]\"' =!<>&|()0-9,]{0,40}") {
        for t in [&text, &shaped] {
            let config = json!([{"type": "filter", "expr": t}]);
            if let Ok(mut p) = Pipeline::build(&config) {
                let _ = p.process(vec![Entry::new("x", 0)]);
            }
        }
    }

    #[test]
    fn any_layout_builds_or_is_an_error(layout in "[%a-zA-Z0-9_ :./,+-]{0,20}", value in "[a-zA-Z0-9_ :./,+-]{0,30}") {
        for layout_type in ["strptime", "gotime"] {
            let config = json!([{"type": "time_parser", "parse_from": "body", "layout_type": layout_type, "layout": layout}]);
            if let Ok(mut p) = Pipeline::build(&config) {
                let _ = p.process(vec![Entry::new(value.as_str(), 0)]);
            }
        }
    }

    #[test]
    fn any_field_or_regex_builds_or_is_an_error(field in any::<String>(), regex in any::<String>()) {
        let config = json!([{"type": "regex_parser", "regex": regex, "parse_from": field}]);
        if let Ok(mut p) = Pipeline::build(&config) {
            let _ = p.process(vec![Entry::new("x", 0)]);
        }
    }
}
