use crate::model::{MetricType, Suffix};
use crate::{Exposition, parse};

const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn om(body: &str) -> Exposition<'_> {
    parse(body.as_bytes(), Some(OM)).unwrap()
}

fn om_err(body: &str) -> (usize, String) {
    let e = parse(body.as_bytes(), Some(OM)).unwrap_err();
    (e.line, e.message)
}

const EXAMPLE: &str = r#"# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.
process_cpu_seconds_total 4.20072246e+06 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67 1520879602.5
process_cpu_seconds_created 1605281325.0
# TYPE lat histogram
lat_bucket{le="0.5"} 3 # {trace_id="a"} 0.4
lat_bucket{le="+Inf"} 4
lat_sum 2.5
lat_count 4
# TYPE build info
build_info{version="1.2"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue gaugehistogram
queue_bucket{le="1"} 2
queue_bucket{le="+Inf"} 3
queue_gsum 2
queue_gcount 3
# TYPE x unknown
x 1
# EOF
"#;

#[test]
fn openmetrics_reads_every_type_units_created_and_exemplars() {
    let e = om(EXAMPLE);
    let kinds: Vec<_> = e.families().iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("acme_http_router_request_seconds", MetricType::Summary),
            ("go_goroutines", MetricType::Gauge),
            ("process_cpu_seconds", MetricType::Counter),
            ("lat", MetricType::Histogram),
            ("build", MetricType::Info),
            ("feature", MetricType::StateSet),
            ("queue", MetricType::GaugeHistogram),
            ("x", MetricType::Unknown),
        ]
    );
    let summary = &e.families()[0];
    assert_eq!(summary.unit, Some("seconds"));
    assert_eq!(e.samples(summary)[2].suffix, Suffix::Created);
    let counter = &e.families()[2];
    let total = &e.samples(counter)[0];
    assert_eq!(total.suffix, Suffix::Total);
    // Seconds with fractions become milliseconds.
    assert_eq!(total.timestamp_ms, Some(1520879607789));
    let ex = total.exemplar.as_ref().unwrap();
    assert_eq!(ex.value, 0.67);
    assert_eq!(ex.timestamp_ms, Some(1520879602500));
    let ex_labels = e.exemplar_labels(ex);
    assert_eq!(ex_labels[0].name, "trace_id");
    assert_eq!(ex_labels[0].value, "KOO5S4vxi0o");
    // The exemplar's labels are not the sample's.
    assert!(e.labels(total).is_empty());
    assert_eq!(e.samples(&e.families()[6])[2].suffix, Suffix::GSum);
}

#[test]
fn openmetrics_points_carry_created_and_the_counter_exemplar() {
    let e = om(EXAMPLE);
    let points = e.points(&e.families()[2]);
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].value, Some(4.20072246e+06));
    assert_eq!(points[0].created, Some(1605281325.0));
    assert!(points[0].exemplar.is_some());
    let hist = e.points(&e.families()[3]);
    assert_eq!(hist[0].buckets[0].upper_bound, 0.5);
    assert!(hist[0].buckets[0].exemplar.is_some());
    assert_eq!(hist[0].buckets[1].upper_bound, f64::INFINITY);
    assert_eq!(hist[0].sum, Some(2.5));
    let gh = e.points(&e.families()[6]);
    assert_eq!((gh[0].sum, gh[0].count), (Some(2.0), Some(3.0)));
    let states = e.points(&e.families()[5]);
    assert_eq!(states.len(), 2);
}

#[test]
fn openmetrics_help_undoes_quote_escapes_too() {
    let e = om("# HELP m say \\\"hi\\\"\\n\\\\\n# EOF\n");
    assert_eq!(e.families()[0].help.as_deref(), Some("say \"hi\"\n\\"));
}

#[test]
fn eof_may_end_the_body_without_a_line_feed() {
    let e = om("m 1\n# EOF");
    assert_eq!(e.sample_count(), 1);
}

#[test]
fn malformed_openmetrics_bodies_name_the_line_and_the_fault() {
    let cases = [
        ("m 1\n", 2, "`# EOF`"),
        ("m 1", 1, "`# EOF`"),
        ("m 1\n# EOF\nn 2\n", 3, "after `# EOF`"),
        ("m 1\n\n# EOF\n", 2, "blank lines"),
        ("m  1\n# EOF\n", 1, "not a number"),
        ("m 1 \n# EOF\n", 1, "timestamp"),
        ("# comment\n# EOF\n", 1, "not HELP, TYPE, UNIT"),
        ("m{a=\"1\",} 1\n# EOF\n", 1, "trailing `,`"),
        ("m{a=\"1\", b=\"2\"} 1\n# EOF\n", 1, "label name"),
        ("m 1 NaN\n# EOF\n", 1, "timestamp in seconds"),
        (
            "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n",
            5,
            "appears twice",
        ),
        (
            "# TYPE a gauge\na 1\n# HELP a late\n# EOF\n",
            3,
            "after its samples",
        ),
        (
            "# TYPE a gauge\n# TYPE a counter\n# EOF\n",
            2,
            "second TYPE",
        ),
        (
            "# TYPE a unknown\n# TYPE a gauge\n# EOF\n",
            2,
            "second TYPE",
        ),
        ("# TYPE i info\ni 1\n# EOF\n", 2, "does not belong"),
        ("# TYPE h histogram\nh 1\n# EOF\n", 2, "does not belong"),
        (
            "# TYPE m_bytes gauge\n# UNIT m_bytes seconds\n# EOF\n",
            2,
            "not a suffix",
        ),
        (
            "# TYPE m untyped\n# EOF\n",
            1,
            "not an OpenMetrics metric type",
        ),
        (
            "m 1 # {a=\"1\"}\n# EOF\n",
            1,
            "space before the exemplar value",
        ),
        ("m 1 #{a=\"1\"} 1\n# EOF\n", 1, "exemplar"),
    ];
    for (body, line, words) in cases {
        let (l, message) = om_err(body);
        assert_eq!(l, line, "{body:?}: {message}");
        assert!(message.contains(words), "{body:?}: {message}");
    }
}

#[test]
fn exemplar_label_sets_over_128_characters_are_refused() {
    // `id` and the value together: 2 + 126 is the most allowed.
    let fits = "x".repeat(126);
    let ok = format!("# TYPE c counter\nc_total 1 # {{id=\"{fits}\"}} 1\n# EOF\n");
    assert!(parse(ok.as_bytes(), Some(OM)).is_ok());
    let bad = format!("# TYPE c counter\nc_total 1 # {{id=\"{fits}x\"}} 1\n# EOF\n");
    let (_, message) = om_err(&bad);
    assert!(message.contains("128"), "{message}");
}

#[test]
fn histogram_points_split_by_labels_without_le() {
    let e = om(concat!(
        "# TYPE h histogram\n",
        "h_bucket{path=\"/a\",le=\"1\"} 1\n",
        "h_bucket{path=\"/a\",le=\"+Inf\"} 2\n",
        "h_count{path=\"/a\"} 2\n",
        "h_bucket{path=\"/b\",le=\"1\"} 5\n",
        "h_bucket{path=\"/b\",le=\"+Inf\"} 5\n",
        "h_count{path=\"/b\"} 5\n",
        "h_sum{path=\"/a\"} 0.5\n",
        "# EOF\n"
    ));
    let points = e.points(&e.families()[0]);
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].labels.len(), 1);
    assert_eq!(points[0].labels[0].value, "/a");
    assert_eq!(points[0].buckets.len(), 2);
    assert_eq!(points[0].sum, Some(0.5));
    assert_eq!(points[1].count, Some(5.0));
    assert_eq!(points[1].sum, None);
}

#[test]
fn summary_points_gather_quantiles() {
    let e = parse(
        b"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.9\"} 2\ns_sum 3\ns_count 4\n",
        None,
    )
    .unwrap();
    let points = e.points(&e.families()[0]);
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].quantiles, [(0.5, 1.0), (0.9, 2.0)]);
    assert_eq!((points[0].sum, points[0].count), (Some(3.0), Some(4.0)));
}

#[test]
fn a_suffixed_name_the_family_type_does_not_allow_starts_a_new_family() {
    let e = om("# TYPE g gauge\ng 1\ng_total 2\n# EOF\n");
    let names: Vec<_> = e.families().iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        names,
        [("g", MetricType::Gauge), ("g_total", MetricType::Unknown)]
    );
}

#[test]
fn metadata_without_samples_leaves_an_empty_family() {
    let e = om("# HELP a first\n# TYPE b gauge\nb 1\n# EOF\n");
    assert_eq!(e.families().len(), 2);
    assert!(e.samples(&e.families()[0]).is_empty());
}

#[test]
fn counter_samples_without_total_are_taken_as_prometheus_takes_them() {
    let e = om("# TYPE c counter\nc 1\n# EOF\n");
    assert_eq!(e.families()[0].kind, MetricType::Counter);
    assert_eq!(e.points(&e.families()[0])[0].value, Some(1.0));
}
