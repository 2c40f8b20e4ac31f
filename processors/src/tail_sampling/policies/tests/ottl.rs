//! `ottl_condition`: span and span event conditions on the held bytes, and each error mode.

use opentelemetry_proto::tonic::trace::v1::span::Event;
use serde_json::json;

use super::*;

fn ottl(mode: &str, span: &[&str], spanevent: &[&str]) -> Box<dyn Evaluate> {
    of(
        "ottl_condition",
        json!({"error_mode": mode, "span": span, "spanevent": spanevent}),
    )
}

fn with_event(mut span: Span, name: &str) -> Span {
    span.events.push(Event {
        name: name.to_string(),
        ..Default::default()
    });
    span
}

#[test]
fn a_span_condition_samples_a_trace_with_a_matching_span() {
    let mut p = ottl(
        "propagate",
        &[
            r#"name == "checkout""#,
            r#"resource.attributes["env"] == "prod""#,
        ],
        &[],
    );
    let by_name = spans(vec![span("a"), span("checkout")]);
    let by_resource = trace(vec![Res(vec![kv("env", s("prod"))], vec![span("a")])]);
    let neither = trace(vec![Res(vec![kv("env", s("dev"))], vec![span("a")])]);
    assert_eq!(decide(&mut *p, &by_name), Decision::Sampled);
    assert_eq!(decide(&mut *p, &by_resource), Decision::Sampled);
    assert_eq!(decide(&mut *p, &neither), Decision::NotSampled);
}

#[test]
fn a_span_event_condition_samples_a_trace_with_a_matching_event() {
    let mut p = ottl("propagate", &[], &[r#"name == "exception""#]);
    let matching = spans(vec![
        span("a"),
        with_event(with_event(span("b"), "log"), "exception"),
    ]);
    let other = spans(vec![with_event(span("a"), "log")]);
    assert_eq!(decide(&mut *p, &matching), Decision::Sampled);
    assert_eq!(decide(&mut *p, &other), Decision::NotSampled);
}

/// `1 / attributes["zero"]` fails on a span whose `zero` is 0.
fn failing(mode: &str) -> Box<dyn Evaluate> {
    ottl(
        mode,
        &[r#"1 / attributes["zero"] == 1"#, r#"name == "keep""#],
        &[],
    )
}

fn with_zero(name: &str) -> Span {
    with_attributes(span(name), vec![kv("zero", i(0))])
}

#[test]
fn propagate_makes_no_decision_naming_the_condition() {
    let t = spans(vec![with_zero("keep")]);
    let error = failing("propagate")
        .evaluate(&view(&t), Instant::now())
        .unwrap_err();
    assert!(
        error.contains(r#"`1 / attributes["zero"] == 1` failed: division by zero"#),
        "{error}"
    );
}

#[test]
fn ignore_and_silent_count_a_failure_as_false_and_go_on() {
    for mode in ["ignore", "silent"] {
        let mut p = failing(mode);
        // The failing condition is skipped for the next one on the same span, and for the
        // next span.
        assert_eq!(
            decide(&mut *p, &spans(vec![with_zero("keep")])),
            Decision::Sampled,
            "{mode}"
        );
        let later = spans(vec![with_zero("a"), span("keep")]);
        assert_eq!(decide(&mut *p, &later), Decision::Sampled, "{mode}");
        assert_eq!(
            decide(&mut *p, &spans(vec![with_zero("a")])),
            Decision::NotSampled
        );
    }
}

#[test]
fn failures_under_ignore_and_silent_are_counted_for_the_processor() {
    let errors = || {
        weir_core::telemetry::counters()
            .into_iter()
            .find(|c| {
                c.name == "weir_processor_ottl_errors_total"
                    && c.labels == vec![("processor", "tail_sampling".to_string())]
            })
            .map_or(0, |c| c.value)
    };
    for mode in ["ignore", "silent"] {
        let before = errors();
        let mut p = failing(mode);
        decide(&mut *p, &spans(vec![with_zero("a")]));
        assert!(errors() > before, "{mode}: the failure is counted");
    }
}
