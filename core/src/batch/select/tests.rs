//! Selection on hand-made requests (what goes, what stays, emptied scopes and resources, span
//! events, metrics and their points, length prefixes that shrink) and, by property, against the
//! same selection made on decoded structs.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use proptest::prelude::*;
use prost::Message as _;

use super::*;
use crate::batch::Request;
use crate::batch::testgen::{self, Size};

/// Drops items, metrics and events by a predicate on their bytes.
struct By<F, M, E> {
    item: F,
    metric: Option<M>,
    event: Option<E>,
}

impl<F, M, E> Selector for By<F, M, E>
where
    F: FnMut(&ItemView<'_>) -> bool,
    M: FnMut(&ItemView<'_>) -> bool,
    E: FnMut(&[u8]) -> bool,
{
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        (self.item)(item)
    }
    fn keep_metric(&mut self, metric: &ItemView<'_>) -> bool {
        self.metric.as_mut().is_none_or(|m| m(metric))
    }
    fn selects_metrics(&self) -> bool {
        self.metric.is_some()
    }
    fn keep_event(&mut self, _: &ItemView<'_>, event: &[u8]) -> bool {
        self.event.as_mut().is_none_or(|e| e(event))
    }
    fn selects_events(&self) -> bool {
        self.event.is_some()
    }
}

type NoFn = fn(&ItemView<'_>) -> bool;
type NoEvent = fn(&[u8]) -> bool;

fn items(
    keep: impl FnMut(&ItemView<'_>) -> bool,
) -> By<impl FnMut(&ItemView<'_>) -> bool, NoFn, NoEvent> {
    By {
        item: keep,
        metric: None,
        event: None,
    }
}

fn span(name: &str) -> Span {
    Span {
        name: name.to_string(),
        ..Default::default()
    }
}

fn named(view: &ItemView<'_>, name: &str) -> bool {
    Span::decode(view.item).is_ok_and(|s| s.name == name)
}

fn traces(groups: Vec<Vec<Vec<Span>>>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: groups
            .into_iter()
            .map(|scopes| ResourceSpans {
                scope_spans: scopes
                    .into_iter()
                    .map(|spans| ScopeSpans {
                        spans,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
}

#[test]
fn dropped_spans_go_and_scopes_and_resources_left_empty_go_with_them() {
    let request = traces(vec![
        vec![vec![span("health"), span("GET /a")], vec![span("health")]],
        vec![vec![span("health")]],
    ]);
    let selected = select(
        Signal::Traces,
        &request.encode_to_vec(),
        &mut items(|v| !named(v, "health")),
    )
    .unwrap();
    assert_eq!(selected.dropped_items, 3);
    let out = selected.request.expect("changed");
    assert_eq!(
        out,
        traces(vec![vec![vec![span("GET /a")]]]).encode_to_vec()
    );
}

#[test]
fn a_request_nothing_is_dropped_from_is_not_copied() {
    let bytes = traces(vec![vec![vec![span("a")]]]).encode_to_vec();
    let selected = select(Signal::Traces, &bytes, &mut items(|_| true)).unwrap();
    assert_eq!(
        selected,
        Selected {
            request: None,
            dropped_items: 0,
            dropped_events: 0,
            replaced_items: 0,
        }
    );
}

/// The view shows the item's resource and scope, wherever they are on the wire.
#[test]
fn the_view_shows_the_resource_and_scope_around_the_item() {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let mut request = traces(vec![vec![vec![span("a")]]]);
    let resource = Resource {
        dropped_attributes_count: 7,
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "lib".into(),
        ..Default::default()
    };
    request.resource_spans[0].resource = Some(resource.clone());
    request.resource_spans[0].scope_spans[0].scope = Some(scope.clone());
    let mut seen = Vec::new();
    select(
        Signal::Traces,
        &request.encode_to_vec(),
        &mut items(|v| {
            seen.push((v.resource.to_vec(), v.scope.to_vec(), v.kind));
            true
        }),
    )
    .unwrap();
    assert_eq!(
        seen,
        [(
            resource.encode_to_vec(),
            scope.encode_to_vec(),
            ItemKind::Span
        )]
    );
}

#[test]
fn span_events_are_dropped_and_their_span_stays_even_when_none_is_left() {
    let event = |name: &str| Event {
        name: name.to_string(),
        ..Default::default()
    };
    let mut with_events = span("a");
    with_events.events = vec![event("debug"), event("exception"), event("debug")];
    let mut only_debug = span("b");
    only_debug.events = vec![event("debug")];
    let request = traces(vec![vec![vec![with_events, only_debug, span("gone")]]]);
    let mut selector = By {
        item: |v: &ItemView<'_>| !named(v, "gone"),
        metric: None::<NoFn>,
        event: Some(|e: &[u8]| Event::decode(e).is_ok_and(|e| e.name != "debug")),
    };
    let selected = select(Signal::Traces, &request.encode_to_vec(), &mut selector).unwrap();
    assert_eq!((selected.dropped_items, selected.dropped_events), (1, 3));
    let mut a = span("a");
    a.events = vec![event("exception")];
    assert_eq!(
        selected.request.unwrap(),
        traces(vec![vec![vec![a, span("b")]]]).encode_to_vec()
    );
}

fn gauge(name: &str, values: &[i64]) -> Metric {
    Metric {
        name: name.to_string(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: values
                .iter()
                .map(|&v| NumberDataPoint {
                    value: Some(
                        opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(v),
                    ),
                    ..Default::default()
                })
                .collect(),
        })),
        ..Default::default()
    }
}

fn metrics(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn point_value(view: &ItemView<'_>) -> i64 {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    match NumberDataPoint::decode(view.item)
        .ok()
        .and_then(|p| p.value)
    {
        Some(Value::AsInt(v)) => v,
        _ => -1,
    }
}

#[test]
fn data_points_go_and_a_metric_left_without_any_goes_too() {
    let request = metrics(vec![gauge("a", &[1, 2, 3]), gauge("b", &[2, 2])]);
    let mut selector = items(|v| {
        assert_eq!(v.kind, ItemKind::NumberPoint);
        assert!(Metric::decode(v.metric).is_ok_and(|m| m.name == "a" || m.name == "b"));
        point_value(v) != 2
    });
    let selected = select(Signal::Metrics, &request.encode_to_vec(), &mut selector).unwrap();
    assert_eq!(selected.dropped_items, 3);
    assert_eq!(
        selected.request.unwrap(),
        metrics(vec![gauge("a", &[1, 3])]).encode_to_vec()
    );
}

#[test]
fn a_dropped_metric_takes_its_points_and_hides_them_from_the_point_selector() {
    let request = metrics(vec![gauge("drop.me", &[1, 2]), gauge("keep", &[5])]);
    let mut shown = Vec::new();
    let mut selector = By {
        item: |v: &ItemView<'_>| {
            shown.push(point_value(v));
            true
        },
        metric: Some(|v: &ItemView<'_>| Metric::decode(v.item).is_ok_and(|m| m.name != "drop.me")),
        event: None::<NoEvent>,
    };
    let selected = select(Signal::Metrics, &request.encode_to_vec(), &mut selector).unwrap();
    assert_eq!(selected.dropped_items, 2, "the metric's data points");
    assert_eq!(shown, [5]);
    assert_eq!(
        selected.request.unwrap(),
        metrics(vec![gauge("keep", &[5])]).encode_to_vec()
    );
}

#[test]
fn log_records_are_selected() {
    let log = |body: &str| LogRecord {
        severity_text: body.to_string(),
        ..Default::default()
    };
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![log("DEBUG"), log("ERROR")],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let selected = select(
        Signal::Logs,
        &request.encode_to_vec(),
        &mut items(|v| {
            assert_eq!(v.kind, ItemKind::Log);
            LogRecord::decode(v.item).is_ok_and(|l| l.severity_text != "DEBUG")
        }),
    )
    .unwrap();
    let mut expected = request.clone();
    expected.resource_logs[0].scope_logs[0]
        .log_records
        .remove(0);
    assert_eq!(selected.request.unwrap(), expected.encode_to_vec());
}

/// A scope of more than 127 bytes that loses enough to need a one-byte length is written with
/// the shorter prefix.
#[test]
fn length_prefixes_that_shrink_are_rewritten() {
    let long = "x".repeat(200);
    let request = traces(vec![vec![vec![span(&long), span("short")]]]);
    let bytes = request.encode_to_vec();
    let selected = select(Signal::Traces, &bytes, &mut items(|v| !named(v, &long))).unwrap();
    assert_eq!(
        selected.request.unwrap(),
        traces(vec![vec![vec![span("short")]]]).encode_to_vec()
    );
}

/// Items given a new encoding are written with it, the rest copied; lengths around them fixed.
#[test]
fn replaced_items_are_written_anew_and_the_rest_copied() {
    struct Rename;
    impl Selector for Rename {
        fn keep(&mut self, v: &ItemView<'_>) -> bool {
            !named(v, "gone")
        }
        fn replace(&mut self, v: &ItemView<'_>) -> Option<Vec<u8>> {
            let mut span = Span::decode(v.item).ok()?;
            (span.name == "old").then(|| {
                span.name = "a much longer new name than before".repeat(5);
                span.encode_to_vec()
            })
        }
        fn replaces_items(&self) -> bool {
            true
        }
    }
    let request = traces(vec![vec![vec![span("old"), span("gone"), span("kept")]]]);
    let selected = select(Signal::Traces, &request.encode_to_vec(), &mut Rename).unwrap();
    assert_eq!((selected.dropped_items, selected.replaced_items), (1, 1));
    let long = "a much longer new name than before".repeat(5);
    assert_eq!(
        selected.request.unwrap(),
        traces(vec![vec![vec![span(&long), span("kept")]]]).encode_to_vec()
    );
}

#[test]
fn malformed_requests_are_refused_with_the_walks_diagnosis() {
    let bytes = traces(vec![vec![vec![span("a")]]]).encode_to_vec();
    let error = select(
        Signal::Traces,
        &bytes[..bytes.len() - 1],
        &mut items(|_| false),
    )
    .unwrap_err();
    assert!(matches!(error, SelectError::Malformed(_)), "{error}");
}

// ---- against the decoded model -------------------------------------------------------------

/// The property's rule, on bytes: an item whose encoding has an odd length goes.
fn odd(bytes: &[u8]) -> bool {
    bytes.len() % 2 == 1
}

/// `items` without what `odd` drops; whether any went.
fn retain_odd<T: prost::Message>(items: &mut Vec<T>) -> bool {
    let before = items.len();
    items.retain(|i| !odd(&i.encode_to_vec()));
    items.len() != before
}

/// The selection made on structs: items go, and a container that lost items and has none
/// left goes too.
fn model(request: &Request) -> (Request, usize) {
    let mut request = request.clone();
    let before = request.item_count();
    match &mut request {
        Request::Traces(r) => {
            let mut lost_rs = Vec::new();
            for rs in &mut r.resource_spans {
                let mut lost = false;
                rs.scope_spans.retain_mut(|ss| {
                    let l = retain_odd(&mut ss.spans);
                    lost |= l;
                    !(l && ss.spans.is_empty())
                });
                lost_rs.push(lost && rs.scope_spans.is_empty());
            }
            let mut i = 0;
            r.resource_spans.retain(|_| {
                i += 1;
                !lost_rs[i - 1]
            });
        }
        Request::Logs(r) => {
            let mut lost_rl = Vec::new();
            for rl in &mut r.resource_logs {
                let mut lost = false;
                rl.scope_logs.retain_mut(|sl| {
                    let l = retain_odd(&mut sl.log_records);
                    lost |= l;
                    !(l && sl.log_records.is_empty())
                });
                lost_rl.push(lost && rl.scope_logs.is_empty());
            }
            let mut i = 0;
            r.resource_logs.retain(|_| {
                i += 1;
                !lost_rl[i - 1]
            });
        }
        Request::Metrics(_) => unreachable!("metrics have their own property"),
    }
    let after = request.item_count();
    (request, before - after)
}

fn traces_or_logs() -> impl Strategy<Value = Request> {
    prop_oneof![
        testgen::traces_request(Size::SMALL).prop_map(Request::Traces),
        testgen::logs_request(Size::SMALL).prop_map(Request::Logs),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn selecting_on_the_wire_decodes_to_the_same_selection_on_structs(request in traces_or_logs()) {
        let signal = request.signal();
        let bytes = request.encode_to_bytes();
        let selected = select(signal, &bytes, &mut items(|v| !odd(v.item))).unwrap();
        let (expected, dropped) = model(&request);
        prop_assert_eq!(selected.dropped_items, dropped);
        match selected.request {
            None => prop_assert_eq!(&request, &expected),
            Some(out) => {
                prop_assert_eq!(
                    wire::walk(signal, &out).map(|s| s.items),
                    Ok(request.item_count() - dropped)
                );
                prop_assert_eq!(Request::decode(signal, &out).unwrap(), expected);
            }
        }
    }

    /// Metrics: points go by the rule, metrics left without points go, and so on up.
    #[test]
    fn selecting_data_points_keeps_the_count_the_walk_makes(request in testgen::metrics_request(Size::SMALL)) {
        let bytes = request.encode_to_vec();
        let selected = select(Signal::Metrics, &bytes, &mut items(|v| !odd(v.item))).unwrap();
        let total = wire::walk(Signal::Metrics, &bytes).unwrap().items;
        let left = match &selected.request {
            None => total,
            Some(out) => wire::walk(Signal::Metrics, out).expect("well-formed").items,
        };
        prop_assert_eq!(left, total - selected.dropped_items);
    }

    #[test]
    fn selecting_from_field_soup_never_panics(bytes in testgen::wire_soup()) {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let _ = select(signal, &bytes, &mut items(|v| !odd(v.item)));
        }
    }
}
