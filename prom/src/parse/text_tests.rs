use crate::model::{Format, MetricType, Suffix, is_stale_nan};
use crate::{Exposition, parse};

fn text(body: &str) -> Exposition<'_> {
    parse(
        body.as_bytes(),
        Some("text/plain; version=0.0.4; charset=utf-8"),
    )
    .unwrap()
}

fn text_err(body: &str) -> (usize, String) {
    let e = parse(body.as_bytes(), None).unwrap_err();
    (e.line, e.message)
}

fn labels<'e>(e: &'e Exposition<'_>, i: usize) -> Vec<(&'e str, &'e str)> {
    e.labels(&e.all_samples()[i])
        .iter()
        .map(|l| (l.name, l.value.as_ref()))
        .collect()
}

const DOC_EXAMPLE: &str = r#"# HELP api_requests_total Requests the API served.
# TYPE api_requests_total counter
api_requests_total{method="post",code="200"} 1027 1395066363000
api_requests_total{method="post",code="400"}    3 1395066363000

# Escapes in label values:
file_age_seconds{path="C:\\TEMP\\A.TXT",error="No such file:\n\"A.TXT\""} 1.458255915e9

plain_metric 12.47
before_epoch{problem="division by zero"} +Inf -3982045

# HELP rpc_seconds A histogram of RPC latency.
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="0.05"} 24054
rpc_seconds_bucket{le="0.5"} 129389
rpc_seconds_bucket{le="+Inf"} 144320
rpc_seconds_sum 53423
rpc_seconds_count 144320
# TYPE job_seconds summary
job_seconds{quantile="0.5"} 4773
job_seconds{quantile="0.99"} 76656
job_seconds_sum 1.7560473e+07
job_seconds_count 2693
"#;

#[test]
fn text_format_reads_families_metadata_labels_values_and_timestamps() {
    let e = text(DOC_EXAMPLE);
    let names: Vec<_> = e.families().iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        names,
        [
            ("api_requests_total", MetricType::Counter),
            ("file_age_seconds", MetricType::Unknown),
            ("plain_metric", MetricType::Unknown),
            ("before_epoch", MetricType::Unknown),
            ("rpc_seconds", MetricType::Histogram),
            ("job_seconds", MetricType::Summary),
        ]
    );
    let counter = &e.families()[0];
    assert_eq!(counter.help.as_deref(), Some("Requests the API served."));
    let samples = e.samples(counter);
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[1].value, 3.0);
    assert_eq!(samples[1].timestamp_ms, Some(1395066363000));
    assert_eq!(labels(&e, 0), [("method", "post"), ("code", "200")]);
    assert_eq!(
        labels(&e, 2),
        [
            ("path", r"C:\TEMP\A.TXT"),
            ("error", "No such file:\n\"A.TXT\"")
        ]
    );
    let weird = &e.all_samples()[4];
    assert_eq!(weird.value, f64::INFINITY);
    assert_eq!(weird.timestamp_ms, Some(-3982045));
    let suffixes: Vec<_> = e
        .samples(&e.families()[4])
        .iter()
        .map(|s| s.suffix)
        .collect();
    assert_eq!(
        suffixes,
        [
            Suffix::Bucket,
            Suffix::Bucket,
            Suffix::Bucket,
            Suffix::Sum,
            Suffix::Count
        ]
    );
    assert_eq!(e.sample_count(), 14);
}

#[test]
fn text_help_undoes_only_backslash_and_newline_escapes() {
    let e = text("# HELP m a \\\\ b\\nc \\\"q\\\" \\t\nm 1\n");
    assert_eq!(
        e.families()[0].help.as_deref(),
        Some("a \\ b\nc \\\"q\\\" \\t")
    );
}

#[test]
fn label_values_keep_unknown_escapes_as_written() {
    let e = text("m{a=\"x\\ty\"} 1\n");
    assert_eq!(labels(&e, 0), [("a", "x\\ty")]);
}

#[test]
fn nan_and_infinities_parse_and_no_value_is_the_staleness_marker() {
    let e = text("a NaN\nb -Inf\nc +Inf\nd nan\n");
    let v: Vec<f64> = e.all_samples().iter().map(|s| s.value).collect();
    assert!(v[0].is_nan() && v[3].is_nan());
    assert_eq!(v[1], f64::NEG_INFINITY);
    assert_eq!(v[2], f64::INFINITY);
    assert!(v.iter().all(|&x| !is_stale_nan(x)));
    assert!(is_stale_nan(crate::stale_nan()));
}

#[test]
fn text_format_allows_blanks_tabs_and_a_trailing_comma() {
    let e = text("  m\t{ a = \"1\" , b=\"2\", }\t 5 \t 7 \n");
    assert_eq!(labels(&e, 0), [("a", "1"), ("b", "2")]);
    assert_eq!(e.all_samples()[0].timestamp_ms, Some(7));
}

#[test]
fn comments_other_than_help_and_type_are_ignored() {
    let e = text("# just a note\n#HELPless\n# TYPE\nm 1\n");
    assert_eq!(e.families().len(), 1);
    assert_eq!(e.families()[0].help, None);
}

#[test]
fn help_and_type_for_one_name_make_one_family_in_either_order() {
    let e = text("# TYPE g gauge\n# HELP g Level.\ng 1\n");
    assert_eq!(e.families().len(), 1);
    assert_eq!(e.families()[0].kind, MetricType::Gauge);
    assert_eq!(e.families()[0].help.as_deref(), Some("Level."));
}

#[test]
fn a_sample_outside_the_current_family_starts_an_untyped_one() {
    let e = text("# TYPE c counter\nc 1\nother 2\n");
    assert_eq!(e.families().len(), 2);
    assert_eq!(e.families()[1].name, "other");
    assert_eq!(e.families()[1].kind, MetricType::Unknown);
}

#[test]
fn malformed_text_bodies_name_the_line_and_the_fault() {
    let cases = [
        ("m 1", 1, "line feed"),
        ("ok 1\nm{a=\"1} 2\n", 2, "not closed"),
        ("m abc\n", 1, "`abc` is not a number"),
        ("m 1e400\n", 1, "`1e400` is not a number"),
        ("m 0x1p3\n", 1, "not a number"),
        ("m 1_000\n", 1, "not a number"),
        ("m 1 1.5\n", 1, "timestamp"),
        ("m 1 2 3\n", 1, "after the timestamp"),
        ("# TYPE m gaugehistogram\n", 1, "not a metric type"),
        ("m{a=\"1\",a=\"2\"} 1\n", 1, "twice"),
        ("# TYPE h histogram\nh_bucket 1\n", 2, "no `le`"),
        (
            "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
            2,
            "not a number",
        ),
        ("# TYPE s summary\ns 1\n", 2, "no `quantile`"),
        ("m 1 # {a=\"b\"} 1\n", 1, "timestamp"),
        ("{a=\"b\"} 1\n", 1, "metric name"),
        ("m{1a=\"b\"} 1\n", 1, "label name"),
        ("m\n", 1, "blank before the value"),
    ];
    for (body, line, words) in cases {
        let (l, message) = text_err(body);
        assert_eq!(l, line, "{body:?}: {message}");
        assert!(message.contains(words), "{body:?}: {message}");
    }
}

#[test]
fn invalid_utf8_is_an_error_on_its_line() {
    let e = parse(b"a 1\nb{x=\"\xff\"} 1\n", None).unwrap_err();
    assert_eq!(e.line, 2);
}

#[test]
fn the_content_type_chooses_the_format() {
    assert_eq!(Format::from_content_type(None), Format::Text);
    assert_eq!(
        Format::from_content_type(Some("text/plain; version=0.0.4")),
        Format::Text
    );
    assert_eq!(
        Format::from_content_type(Some(
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        )),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type(Some("application/json")),
        Format::Text
    );
}

#[test]
fn label_values_without_escapes_borrow_the_body() {
    let e = text("m{a=\"plain\",b=\"esc\\n\"} 1\n");
    let l = e.labels(&e.all_samples()[0]);
    assert!(matches!(l[0].value, std::borrow::Cow::Borrowed(_)));
    assert!(matches!(l[1].value, std::borrow::Cow::Owned(_)));
}
