//! The text the `debug` exporter logs, as pure functions of a request, so that the format is
//! tested without a logger: [`summary`] for `basic`, [`normal`] and [`detailed`] for the others.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, SeverityNumber};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, SummaryDataPoint, exemplar, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, Status};
use weir_core::batch::{Request, Signal};

/// The `basic` line: counts only, so it never needs the batch decoded.
pub fn summary(signal: Signal, resources: usize, items: usize) -> String {
    let (name, resource_noun, item_noun) = match signal {
        Signal::Traces => ("Traces", "resource spans", "spans"),
        Signal::Metrics => ("Metrics", "resource metrics", "data points"),
        Signal::Logs => ("Logs", "resource logs", "log records"),
    };
    format!("{name} {{\"{resource_noun}\": {resources}, \"{item_noun}\": {items}}}")
}

/// Resources and scopes by name and attributes, then one line per span, data point or log
/// record with what identifies it.
pub fn normal(request: &Request) -> Vec<String> {
    let mut out = Vec::new();
    match request {
        Request::Traces(r) => {
            for (i, rs) in r.resource_spans.iter().enumerate() {
                out.push(resource_line(
                    "ResourceSpans",
                    i,
                    rs.resource.as_ref(),
                    &rs.schema_url,
                ));
                for (j, ss) in rs.scope_spans.iter().enumerate() {
                    out.push(scope_line(
                        "ScopeSpans",
                        j,
                        ss.scope.as_ref(),
                        &ss.schema_url,
                    ));
                    out.extend(ss.spans.iter().map(span_line));
                }
            }
        }
        Request::Metrics(r) => {
            for (i, rm) in r.resource_metrics.iter().enumerate() {
                out.push(resource_line(
                    "ResourceMetrics",
                    i,
                    rm.resource.as_ref(),
                    &rm.schema_url,
                ));
                for (j, sm) in rm.scope_metrics.iter().enumerate() {
                    out.push(scope_line(
                        "ScopeMetrics",
                        j,
                        sm.scope.as_ref(),
                        &sm.schema_url,
                    ));
                    for metric in &sm.metrics {
                        metric_point_lines(metric, &mut out);
                    }
                }
            }
        }
        Request::Logs(r) => {
            for (i, rl) in r.resource_logs.iter().enumerate() {
                out.push(resource_line(
                    "ResourceLogs",
                    i,
                    rl.resource.as_ref(),
                    &rl.schema_url,
                ));
                for (j, sl) in rl.scope_logs.iter().enumerate() {
                    out.push(scope_line(
                        "ScopeLogs",
                        j,
                        sl.scope.as_ref(),
                        &sl.schema_url,
                    ));
                    out.extend(sl.log_records.iter().map(log_line));
                }
            }
        }
    }
    out
}

/// Every field of every resource, scope and item, one `name: value` per line, nested by
/// indentation.
pub fn detailed(request: &Request) -> Vec<String> {
    let mut out = Tree::default();
    match request {
        Request::Traces(r) => r
            .resource_spans
            .iter()
            .enumerate()
            .for_each(|(i, rs)| detailed_traces(&mut out, i, rs)),
        Request::Metrics(r) => r
            .resource_metrics
            .iter()
            .enumerate()
            .for_each(|(i, rm)| detailed_metrics(&mut out, i, rm)),
        Request::Logs(r) => r
            .resource_logs
            .iter()
            .enumerate()
            .for_each(|(i, rl)| detailed_logs(&mut out, i, rl)),
    }
    out.lines
}

fn resource_line(
    kind: &str,
    index: usize,
    resource: Option<&Resource>,
    schema_url: &str,
) -> String {
    let mut line = format!("{kind} #{index}");
    if !schema_url.is_empty() {
        let _ = write!(line, " [{schema_url}]");
    }
    if let Some(resource) = resource.filter(|r| !r.attributes.is_empty()) {
        let _ = write!(line, " {}", inline_attributes(&resource.attributes));
    }
    line
}

fn scope_line(
    kind: &str,
    index: usize,
    scope: Option<&InstrumentationScope>,
    schema_url: &str,
) -> String {
    let mut line = format!("{kind} #{index}");
    if let Some(scope) = scope {
        let _ = write!(line, " {}", scope_name(scope));
        if !scope.attributes.is_empty() {
            let _ = write!(line, " {}", inline_attributes(&scope.attributes));
        }
    }
    if !schema_url.is_empty() {
        let _ = write!(line, " [{schema_url}]");
    }
    line
}

fn scope_name(scope: &InstrumentationScope) -> String {
    match (scope.name.is_empty(), scope.version.is_empty()) {
        (true, _) => "(unnamed scope)".to_string(),
        (false, true) => scope.name.clone(),
        (false, false) => format!("{}@{}", scope.name, scope.version),
    }
}

fn span_line(span: &Span) -> String {
    let mut line = format!(
        "{} trace_id={} span_id={}",
        span.name,
        hex(&span.trace_id),
        hex(&span.span_id)
    );
    if !span.parent_span_id.is_empty() {
        let _ = write!(line, " parent_id={}", hex(&span.parent_span_id));
    }
    let _ = write!(line, " kind={}", span_kind(span.kind));
    if let Some(status) = span
        .status
        .as_ref()
        .filter(|s| s.code != StatusCode::Unset as i32)
    {
        let _ = write!(line, " status={}", status_code(status.code));
    }
    if !span.attributes.is_empty() {
        let _ = write!(line, " {}", inline_attributes(&span.attributes));
    }
    line
}

fn log_line(record: &LogRecord) -> String {
    let mut line = match &record.body {
        Some(body) => any_value(body),
        None => "(no body)".to_string(),
    };
    if record.severity_number != 0 || !record.severity_text.is_empty() {
        let _ = write!(line, " severity={}", severity(record));
    }
    if !record.trace_id.is_empty() {
        let _ = write!(
            line,
            " trace_id={} span_id={}",
            hex(&record.trace_id),
            hex(&record.span_id)
        );
    }
    if !record.attributes.is_empty() {
        let _ = write!(line, " {}", inline_attributes(&record.attributes));
    }
    line
}

/// One line per data point: metric name, point attributes, then the value(s).
fn metric_point_lines(metric: &Metric, out: &mut Vec<String>) {
    let head = |attributes: &[KeyValue]| {
        if attributes.is_empty() {
            metric.name.clone()
        } else {
            format!("{} {}", metric.name, inline_attributes(attributes))
        }
    };
    match &metric.data {
        None => out.push(format!("{} (no data)", metric.name)),
        Some(Data::Gauge(g)) => out.extend(
            g.data_points
                .iter()
                .map(|p| format!("{} {}", head(&p.attributes), number_value(p))),
        ),
        Some(Data::Sum(s)) => out.extend(
            s.data_points
                .iter()
                .map(|p| format!("{} {}", head(&p.attributes), number_value(p))),
        ),
        Some(Data::Histogram(h)) => out.extend(h.data_points.iter().map(|p| {
            let mut line = format!("{} count={}", head(&p.attributes), p.count);
            push_optional(&mut line, "sum", p.sum);
            push_optional(&mut line, "min", p.min);
            push_optional(&mut line, "max", p.max);
            line
        })),
        Some(Data::ExponentialHistogram(h)) => out.extend(h.data_points.iter().map(|p| {
            let mut line = format!("{} count={}", head(&p.attributes), p.count);
            push_optional(&mut line, "sum", p.sum);
            push_optional(&mut line, "min", p.min);
            push_optional(&mut line, "max", p.max);
            let _ = write!(line, " scale={}", p.scale);
            line
        })),
        Some(Data::Summary(s)) => out.extend(s.data_points.iter().map(|p| {
            let mut line = format!("{} count={} sum={}", head(&p.attributes), p.count, p.sum);
            for q in &p.quantile_values {
                let _ = write!(line, " q{}={}", q.quantile, q.value);
            }
            line
        })),
    }
}

fn push_optional(line: &mut String, name: &str, value: Option<f64>) {
    if let Some(v) = value {
        let _ = write!(line, " {name}={v}");
    }
}

/// Lines with two spaces of indentation per level.
#[derive(Default)]
struct Tree {
    lines: Vec<String>,
}

impl Tree {
    fn line(&mut self, depth: usize, text: impl AsRef<str>) {
        self.lines
            .push(format!("{:width$}{}", "", text.as_ref(), width = depth * 2));
    }

    fn field(&mut self, depth: usize, name: &str, value: impl std::fmt::Display) {
        self.line(depth, format!("{name}: {value}"));
    }

    /// `name: {}` when empty, otherwise one `key: value` line per attribute below `name:`.
    fn attributes(&mut self, depth: usize, name: &str, attributes: &[KeyValue]) {
        if attributes.is_empty() {
            self.line(depth, format!("{name}: {{}}"));
            return;
        }
        self.line(depth, format!("{name}:"));
        for kv in attributes {
            self.line(
                depth + 1,
                format!("{}: {}", kv.key, optional_value(kv.value.as_ref())),
            );
        }
    }

    fn resource(&mut self, depth: usize, resource: Option<&Resource>, schema_url: &str) {
        self.field(depth, "schema_url", quoted(schema_url));
        match resource {
            Some(r) => {
                self.attributes(depth, "resource.attributes", &r.attributes);
                self.field(
                    depth,
                    "resource.dropped_attributes_count",
                    r.dropped_attributes_count,
                );
            }
            None => self.line(depth, "resource: (none)"),
        }
    }

    fn scope(&mut self, depth: usize, scope: Option<&InstrumentationScope>, schema_url: &str) {
        self.field(depth, "schema_url", quoted(schema_url));
        match scope {
            Some(s) => {
                self.field(depth, "scope.name", quoted(&s.name));
                self.field(depth, "scope.version", quoted(&s.version));
                self.attributes(depth, "scope.attributes", &s.attributes);
                self.field(
                    depth,
                    "scope.dropped_attributes_count",
                    s.dropped_attributes_count,
                );
            }
            None => self.line(depth, "scope: (none)"),
        }
    }
}

fn detailed_traces(out: &mut Tree, index: usize, rs: &ResourceSpans) {
    out.line(0, format!("ResourceSpans #{index}"));
    out.resource(1, rs.resource.as_ref(), &rs.schema_url);
    for (j, ss) in rs.scope_spans.iter().enumerate() {
        out.line(1, format!("ScopeSpans #{j}"));
        out.scope(2, ss.scope.as_ref(), &ss.schema_url);
        for (k, span) in ss.spans.iter().enumerate() {
            out.line(2, format!("Span #{k}"));
            detailed_span(out, 3, span);
        }
    }
}

fn detailed_span(out: &mut Tree, d: usize, span: &Span) {
    out.field(d, "name", quoted(&span.name));
    out.field(d, "trace_id", hex(&span.trace_id));
    out.field(d, "span_id", hex(&span.span_id));
    out.field(d, "parent_span_id", hex(&span.parent_span_id));
    out.field(d, "trace_state", quoted(&span.trace_state));
    out.field(d, "flags", format!("{:#010x}", span.flags));
    out.field(d, "kind", span_kind(span.kind));
    out.field(d, "start_time", timestamp(span.start_time_unix_nano));
    out.field(d, "end_time", timestamp(span.end_time_unix_nano));
    out.field(d, "status", status(span.status.as_ref()));
    out.attributes(d, "attributes", &span.attributes);
    out.field(d, "dropped_attributes_count", span.dropped_attributes_count);
    if span.events.is_empty() {
        out.line(d, "events: []");
    } else {
        out.line(d, "events:");
        for (i, event) in span.events.iter().enumerate() {
            detailed_event(out, d + 1, i, event);
        }
    }
    out.field(d, "dropped_events_count", span.dropped_events_count);
    if span.links.is_empty() {
        out.line(d, "links: []");
    } else {
        out.line(d, "links:");
        for (i, link) in span.links.iter().enumerate() {
            detailed_link(out, d + 1, i, link);
        }
    }
    out.field(d, "dropped_links_count", span.dropped_links_count);
}

fn detailed_event(out: &mut Tree, d: usize, index: usize, event: &Event) {
    out.line(d, format!("Event #{index}"));
    out.field(d + 1, "name", quoted(&event.name));
    out.field(d + 1, "time", timestamp(event.time_unix_nano));
    out.attributes(d + 1, "attributes", &event.attributes);
    out.field(
        d + 1,
        "dropped_attributes_count",
        event.dropped_attributes_count,
    );
}

fn detailed_link(out: &mut Tree, d: usize, index: usize, link: &Link) {
    out.line(d, format!("Link #{index}"));
    out.field(d + 1, "trace_id", hex(&link.trace_id));
    out.field(d + 1, "span_id", hex(&link.span_id));
    out.field(d + 1, "trace_state", quoted(&link.trace_state));
    out.field(d + 1, "flags", format!("{:#010x}", link.flags));
    out.attributes(d + 1, "attributes", &link.attributes);
    out.field(
        d + 1,
        "dropped_attributes_count",
        link.dropped_attributes_count,
    );
}

fn detailed_metrics(out: &mut Tree, index: usize, rm: &ResourceMetrics) {
    out.line(0, format!("ResourceMetrics #{index}"));
    out.resource(1, rm.resource.as_ref(), &rm.schema_url);
    for (j, sm) in rm.scope_metrics.iter().enumerate() {
        out.line(1, format!("ScopeMetrics #{j}"));
        out.scope(2, sm.scope.as_ref(), &sm.schema_url);
        for (k, metric) in sm.metrics.iter().enumerate() {
            out.line(2, format!("Metric #{k}"));
            detailed_metric(out, 3, metric);
        }
    }
}

fn detailed_metric(out: &mut Tree, d: usize, metric: &Metric) {
    out.field(d, "name", quoted(&metric.name));
    out.field(d, "description", quoted(&metric.description));
    out.field(d, "unit", quoted(&metric.unit));
    out.attributes(d, "metadata", &metric.metadata);
    match &metric.data {
        None => out.line(d, "type: (no data)"),
        Some(Data::Gauge(g)) => {
            out.line(d, "type: Gauge");
            for (i, p) in g.data_points.iter().enumerate() {
                detailed_number_point(out, d, i, p);
            }
        }
        Some(Data::Sum(s)) => {
            out.line(d, "type: Sum");
            out.field(
                d,
                "aggregation_temporality",
                temporality(s.aggregation_temporality),
            );
            out.field(d, "is_monotonic", s.is_monotonic);
            for (i, p) in s.data_points.iter().enumerate() {
                detailed_number_point(out, d, i, p);
            }
        }
        Some(Data::Histogram(h)) => {
            out.line(d, "type: Histogram");
            out.field(
                d,
                "aggregation_temporality",
                temporality(h.aggregation_temporality),
            );
            for (i, p) in h.data_points.iter().enumerate() {
                detailed_histogram_point(out, d, i, p);
            }
        }
        Some(Data::ExponentialHistogram(h)) => {
            out.line(d, "type: ExponentialHistogram");
            out.field(
                d,
                "aggregation_temporality",
                temporality(h.aggregation_temporality),
            );
            for (i, p) in h.data_points.iter().enumerate() {
                detailed_exponential_point(out, d, i, p);
            }
        }
        Some(Data::Summary(s)) => {
            out.line(d, "type: Summary");
            for (i, p) in s.data_points.iter().enumerate() {
                detailed_summary_point(out, d, i, p);
            }
        }
    }
}

fn point_header(
    out: &mut Tree,
    d: usize,
    kind: &str,
    index: usize,
    attributes: &[KeyValue],
    start: u64,
    time: u64,
) {
    out.line(d, format!("{kind} #{index}"));
    out.attributes(d + 1, "attributes", attributes);
    out.field(d + 1, "start_time", timestamp(start));
    out.field(d + 1, "time", timestamp(time));
}

fn detailed_number_point(out: &mut Tree, d: usize, index: usize, p: &NumberDataPoint) {
    point_header(
        out,
        d,
        "NumberDataPoint",
        index,
        &p.attributes,
        p.start_time_unix_nano,
        p.time_unix_nano,
    );
    out.field(d + 1, "value", number_value(p));
    out.field(d + 1, "flags", p.flags);
    detailed_exemplars(out, d + 1, &p.exemplars);
}

fn detailed_histogram_point(out: &mut Tree, d: usize, index: usize, p: &HistogramDataPoint) {
    point_header(
        out,
        d,
        "HistogramDataPoint",
        index,
        &p.attributes,
        p.start_time_unix_nano,
        p.time_unix_nano,
    );
    out.field(d + 1, "count", p.count);
    out.field(d + 1, "sum", optional_float(p.sum));
    out.field(d + 1, "min", optional_float(p.min));
    out.field(d + 1, "max", optional_float(p.max));
    out.field(d + 1, "explicit_bounds", list(&p.explicit_bounds));
    out.field(d + 1, "bucket_counts", list(&p.bucket_counts));
    out.field(d + 1, "flags", p.flags);
    detailed_exemplars(out, d + 1, &p.exemplars);
}

fn detailed_exponential_point(
    out: &mut Tree,
    d: usize,
    index: usize,
    p: &ExponentialHistogramDataPoint,
) {
    point_header(
        out,
        d,
        "ExponentialHistogramDataPoint",
        index,
        &p.attributes,
        p.start_time_unix_nano,
        p.time_unix_nano,
    );
    out.field(d + 1, "count", p.count);
    out.field(d + 1, "sum", optional_float(p.sum));
    out.field(d + 1, "min", optional_float(p.min));
    out.field(d + 1, "max", optional_float(p.max));
    out.field(d + 1, "scale", p.scale);
    out.field(d + 1, "zero_count", p.zero_count);
    out.field(d + 1, "zero_threshold", p.zero_threshold);
    out.field(d + 1, "positive", buckets(p.positive.as_ref()));
    out.field(d + 1, "negative", buckets(p.negative.as_ref()));
    out.field(d + 1, "flags", p.flags);
    detailed_exemplars(out, d + 1, &p.exemplars);
}

fn detailed_summary_point(out: &mut Tree, d: usize, index: usize, p: &SummaryDataPoint) {
    point_header(
        out,
        d,
        "SummaryDataPoint",
        index,
        &p.attributes,
        p.start_time_unix_nano,
        p.time_unix_nano,
    );
    out.field(d + 1, "count", p.count);
    out.field(d + 1, "sum", p.sum);
    let quantiles: Vec<String> = p
        .quantile_values
        .iter()
        .map(|q| format!("{}: {}", q.quantile, q.value))
        .collect();
    out.field(
        d + 1,
        "quantile_values",
        format!("[{}]", quantiles.join(", ")),
    );
    out.field(d + 1, "flags", p.flags);
}

fn detailed_exemplars(out: &mut Tree, d: usize, exemplars: &[Exemplar]) {
    if exemplars.is_empty() {
        out.line(d, "exemplars: []");
        return;
    }
    out.line(d, "exemplars:");
    for (i, e) in exemplars.iter().enumerate() {
        out.line(d + 1, format!("Exemplar #{i}"));
        out.field(d + 2, "time", timestamp(e.time_unix_nano));
        let value = match e.value {
            Some(exemplar::Value::AsDouble(v)) => format!("{v}"),
            Some(exemplar::Value::AsInt(v)) => format!("{v}"),
            None => "(none)".to_string(),
        };
        out.field(d + 2, "value", value);
        out.field(d + 2, "trace_id", hex(&e.trace_id));
        out.field(d + 2, "span_id", hex(&e.span_id));
        out.attributes(d + 2, "filtered_attributes", &e.filtered_attributes);
    }
}

fn detailed_logs(out: &mut Tree, index: usize, rl: &ResourceLogs) {
    out.line(0, format!("ResourceLogs #{index}"));
    out.resource(1, rl.resource.as_ref(), &rl.schema_url);
    for (j, sl) in rl.scope_logs.iter().enumerate() {
        out.line(1, format!("ScopeLogs #{j}"));
        out.scope(2, sl.scope.as_ref(), &sl.schema_url);
        for (k, record) in sl.log_records.iter().enumerate() {
            out.line(2, format!("LogRecord #{k}"));
            let d = 3;
            out.field(d, "time", timestamp(record.time_unix_nano));
            out.field(
                d,
                "observed_time",
                timestamp(record.observed_time_unix_nano),
            );
            out.field(
                d,
                "severity_number",
                severity_number(record.severity_number),
            );
            out.field(d, "severity_text", quoted(&record.severity_text));
            out.field(d, "event_name", quoted(&record.event_name));
            out.field(d, "body", optional_value(record.body.as_ref()));
            out.attributes(d, "attributes", &record.attributes);
            out.field(
                d,
                "dropped_attributes_count",
                record.dropped_attributes_count,
            );
            out.field(d, "flags", format!("{:#010x}", record.flags));
            out.field(d, "trace_id", hex(&record.trace_id));
            out.field(d, "span_id", hex(&record.span_id));
        }
    }
}

fn number_value(p: &NumberDataPoint) -> String {
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => format!("{v}"),
        Some(number_data_point::Value::AsInt(v)) => format!("{v}"),
        None => "(none)".to_string(),
    }
}

fn optional_float(v: Option<f64>) -> String {
    v.map_or_else(|| "(unset)".to_string(), |v| v.to_string())
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    let items: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn buckets(b: Option<&Buckets>) -> String {
    match b {
        Some(b) => format!(
            "offset={} bucket_counts={}",
            b.offset,
            list(&b.bucket_counts)
        ),
        None => "(none)".to_string(),
    }
}

fn inline_attributes(attributes: &[KeyValue]) -> String {
    let parts: Vec<String> = attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, optional_value(kv.value.as_ref())))
        .collect();
    parts.join(" ")
}

fn optional_value(value: Option<&AnyValue>) -> String {
    value.map_or_else(|| "(empty)".to_string(), any_value)
}

/// Strings quoted and escaped so that spaces and empty strings stay visible; bytes in hex.
fn any_value(value: &AnyValue) -> String {
    match &value.value {
        None => "(empty)".to_string(),
        Some(Value::StringValue(s)) => quoted(s),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => format!("{d:?}"),
        Some(Value::BytesValue(b)) => format!("0x{}", hex(b)),
        Some(Value::ArrayValue(a)) => {
            let items: Vec<String> = a.values.iter().map(any_value).collect();
            format!("[{}]", items.join(", "))
        }
        Some(Value::KvlistValue(kv)) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|kv| format!("{}: {}", kv.key, optional_value(kv.value.as_ref())))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Some(Value::StringValueStrindex(i)) => format!("strindex({i})"),
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn span_kind(kind: i32) -> String {
    match SpanKind::try_from(kind) {
        Ok(k) => short_enum_name(k.as_str_name(), "SPAN_KIND_"),
        Err(_) => format!("unknown({kind})"),
    }
}

fn status_code(code: i32) -> String {
    match StatusCode::try_from(code) {
        Ok(c) => short_enum_name(c.as_str_name(), "STATUS_CODE_"),
        Err(_) => format!("unknown({code})"),
    }
}

fn status(status: Option<&Status>) -> String {
    match status {
        None => "Unset".to_string(),
        Some(s) if s.message.is_empty() => status_code(s.code),
        Some(s) => format!("{} {}", status_code(s.code), quoted(&s.message)),
    }
}

fn temporality(value: i32) -> String {
    match AggregationTemporality::try_from(value) {
        Ok(t) => short_enum_name(t.as_str_name(), "AGGREGATION_TEMPORALITY_"),
        Err(_) => format!("unknown({value})"),
    }
}

fn severity_number(value: i32) -> String {
    match SeverityNumber::try_from(value) {
        Ok(s) => format!(
            "{} ({value})",
            short_enum_name(s.as_str_name(), "SEVERITY_NUMBER_")
        ),
        Err(_) => format!("unknown ({value})"),
    }
}

/// The severity text when the producer gave one, otherwise the severity number's name.
fn severity(record: &LogRecord) -> String {
    if record.severity_text.is_empty() {
        severity_number(record.severity_number)
    } else {
        record.severity_text.clone()
    }
}

/// `SPAN_KIND_SERVER` → `Server`.
fn short_enum_name(name: &str, prefix: &str) -> String {
    let rest = name.strip_prefix(prefix).unwrap_or(name);
    let mut out = String::with_capacity(rest.len());
    let mut upper = true;
    for c in rest.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// RFC 3339 in UTC with nanoseconds; `0` means "not set" in OTLP and is shown as such.
fn timestamp(unix_nanos: u64) -> String {
    if unix_nanos == 0 {
        return "(unset)".to_string();
    }
    let secs = unix_nanos / 1_000_000_000;
    let nanos = unix_nanos % 1_000_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01, by 400-year eras (146 097 days
/// each) with years starting in March so that the leap day falls at the end.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
