use super::*;
use crate::error::Path;

fn parser(config: serde_json::Value) -> Result<TimeParser, Vec<crate::error::ConfigError>> {
    let map = config.as_object().unwrap().clone();
    let mut f = Fields::new(&map, Path::default().key("timestamp"));
    let parsed = TimeParser::from_config(&mut f);
    let mut errors = Vec::new();
    f.finish(&mut errors);
    match parsed {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(errors),
    }
}

fn parse(config: serde_json::Value, value: &str) -> Result<i64, String> {
    parser(config).unwrap().parse_value(&Value::from(value))
}

fn at(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_nanosecond() as i64
}

#[test]
fn strptime_with_fraction_and_offset() {
    let layout = serde_json::json!({"parse_from": "body", "layout": "%Y-%m-%d %H:%M:%S.%f %z"});
    assert_eq!(
        parse(layout, "2023-10-05 14:03:07.123456 +0200"),
        Ok(at("2023-10-05T12:03:07.123456Z"))
    );
}

#[test]
fn strptime_month_names_and_twelve_hour_clock() {
    let layout = serde_json::json!({"parse_from": "body", "layout": "%d/%b/%Y:%I:%M:%S %p", "location": "UTC"});
    assert_eq!(
        parse(layout, "10/Oct/2000:01:55:36 PM"),
        Ok(at("2000-10-10T13:55:36Z"))
    );
}

#[test]
fn strptime_compound_directives_follow_ctimefmt() {
    let cfg = |layout: &str| serde_json::json!({"parse_from": "body", "layout": layout, "location": "UTC"});
    assert_eq!(
        parse(cfg("%D %r"), "03/04/2021 01:02:03 pm"),
        Ok(at("2021-03-04T13:02:03Z"))
    );
    assert_eq!(
        parse(cfg("%c"), "Thu Mar 04 13:02:03 2021"),
        Ok(at("2021-03-04T13:02:03Z"))
    );
    assert_eq!(
        parse(cfg("%F %T.%L"), "2021-03-04 13:02:03.250"),
        Ok(at("2021-03-04T13:02:03.25Z"))
    );
}

#[test]
fn gotime_rfc3339_with_z_or_offset() {
    let layout = serde_json::json!({"parse_from": "body", "layout_type": "gotime", "layout": "2006-01-02T15:04:05Z07:00"});
    assert_eq!(
        parse(layout.clone(), "2006-01-02T15:04:05Z"),
        Ok(at("2006-01-02T15:04:05Z"))
    );
    assert_eq!(
        parse(layout.clone(), "2006-01-02T15:04:05-07:00"),
        Ok(at("2006-01-02T22:04:05Z"))
    );
    // Go accepts a fraction after the seconds that the layout does not mention.
    assert_eq!(
        parse(layout, "2006-01-02T15:04:05.25+01:00"),
        Ok(at("2006-01-02T14:04:05.25Z"))
    );
}

#[test]
fn gotime_with_millis_and_zone_abbreviation() {
    let layout = serde_json::json!({"parse_from": "body", "layout_type": "gotime", "layout": "Jan _2 15:04:05.000 2006 MST"});
    assert_eq!(
        parse(layout, "Feb  3 04:05:06.789 2020 UTC"),
        Ok(at("2020-02-03T04:05:06.789Z"))
    );
}

#[test]
fn a_space_in_the_layout_matches_a_run_of_spaces() {
    let layout =
        serde_json::json!({"parse_from": "body", "layout": "%Y-%m-%d %H:%M", "location": "UTC"});
    assert_eq!(
        parse(layout, "2024-01-02    03:04"),
        Ok(at("2024-01-02T03:04:00Z"))
    );
}

#[test]
fn location_applies_when_the_value_has_no_offset() {
    let layout = serde_json::json!({"parse_from": "body", "layout": "%Y-%m-%d %H:%M:%S", "location": "America/New_York"});
    assert_eq!(
        parse(layout.clone(), "2024-01-15 12:00:00"),
        Ok(at("2024-01-15T17:00:00Z"))
    );
    assert_eq!(
        parse(layout, "2024-07-15 12:00:00"),
        Ok(at("2024-07-15T16:00:00Z"))
    );
}

#[test]
fn epoch_units() {
    let cfg = |unit: &str| serde_json::json!({"parse_from": "body", "layout_type": "epoch", "layout": unit});
    let second = at("2006-01-02T22:04:05Z");
    assert_eq!(parse(cfg("s"), "1136239445"), Ok(second));
    assert_eq!(parse(cfg("ms"), "1136239445123"), Ok(second + 123_000_000));
    assert_eq!(
        parse(cfg("us"), "1136239445123456"),
        Ok(second + 123_456_000)
    );
    assert_eq!(
        parse(cfg("ns"), "1136239445123456789"),
        Ok(second + 123_456_789)
    );
    assert_eq!(
        parse(cfg("s.ms"), "1136239445.123"),
        Ok(second + 123_000_000)
    );
    assert_eq!(parse(cfg("s.ns"), "1136239445.000000001"), Ok(second + 1));
    let p = parser(cfg("s")).unwrap();
    assert_eq!(p.parse_value(&Value::Int(1136239445)), Ok(second));
    assert!(parse(cfg("s"), "soon").is_err());
}

#[test]
fn a_layout_without_a_year_takes_the_current_one() {
    let layout =
        serde_json::json!({"parse_from": "body", "layout": "%b %e %H:%M:%S", "location": "UTC"});
    let ns = parse(layout, "Mar  1 10:00:00").unwrap();
    let year = jiff::Timestamp::now()
        .to_zoned_datetime(TimeZone::UTC)
        .year();
    let expected = jiff::civil::date(year, 3, 1)
        .at(10, 0, 0, 0)
        .to_zoned_datetime(TimeZone::UTC)
        .unwrap();
    assert_eq!(ns, expected.timestamp().as_nanosecond() as i64);
}

#[test]
fn values_that_do_not_match_the_layout_are_errors() {
    let layout = serde_json::json!({"parse_from": "body", "layout": "%Y-%m-%d"});
    assert!(parse(layout.clone(), "2023-13-01").is_err());
    assert!(parse(layout.clone(), "2023-01-01 trailing").is_err());
    assert!(parse(layout, "").is_err());
    let clock = serde_json::json!({"parse_from": "body", "layout": "%H:%M:%S"});
    assert!(parse(clock.clone(), "25:00:00").is_err());
    assert!(parse(clock, "23:61:00").is_err());
}

#[test]
fn bad_layouts_and_locations_are_config_errors() {
    let errors = parser(serde_json::json!({"parse_from": "body", "layout": "%Y %Q"})).unwrap_err();
    assert_eq!(errors[0].path.to_string(), "timestamp.layout");
    assert!(errors[0].message.contains("%Q"), "{}", errors[0].message);
    let errors = parser(
        serde_json::json!({"parse_from": "body", "layout_type": "gotime", "layout": "yyyy-mm-dd"}),
    )
    .unwrap_err();
    assert_eq!(errors[0].path.to_string(), "timestamp.layout");
    let errors = parser(
        serde_json::json!({"parse_from": "body", "layout": "%Y", "location": "Mars/Olympus"}),
    )
    .unwrap_err();
    assert_eq!(errors[0].path.to_string(), "timestamp.location");
    let errors = parser(
        serde_json::json!({"parse_from": "body", "layout_type": "epoch", "layout": "minutes"}),
    )
    .unwrap_err();
    assert!(errors[0].message.contains("epoch"));
    let errors = parser(serde_json::json!({"parse_from": "body", "layuot": "%Y"})).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("did you mean `layout`")),
        "{errors:?}"
    );
}
