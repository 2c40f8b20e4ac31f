//! What the fuzz targets share: reading a signal out of the input, and comparing requests item by
//! item however their items are grouped into `Resource*`/`Scope*` entries (splitting regroups
//! them, so plain equality cannot be the test).

use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
use weir_core::batch::{Request, Signal};

/// The signal a selector byte picks (every byte value picks one, so no input is wasted).
pub fn signal_of(selector: u8) -> Signal {
    match selector % 3 {
        0 => Signal::Traces,
        1 => Signal::Metrics,
        _ => Signal::Logs,
    }
}

/// One entry of a flattened request, every part as its protobuf encoding: an item with its
/// resource and scope (each without children), or a scope or resource that holds no items.
#[derive(Debug, PartialEq, Eq)]
pub enum Flat {
    /// (resource, scope, item); for metrics the item is the metric holding one data point, or
    /// the metric itself when it has none.
    Item(Vec<u8>, Vec<u8>, Vec<u8>),
    /// (resource, scope) of a scope without items.
    EmptyScope(Vec<u8>, Vec<u8>),
    /// A resource without scopes.
    EmptyResource(Vec<u8>),
}

/// Flattens a request into the list two requests holding the same resources, scopes and items
/// in the same order share, whatever their grouping.
pub fn flatten(request: &Request) -> Vec<Flat> {
    let mut out = Vec::new();
    match request {
        Request::Traces(r) => {
            for rs in &r.resource_spans {
                let mut bare = rs.clone();
                bare.scope_spans.clear();
                let res = bare.encode_to_vec();
                if rs.scope_spans.is_empty() {
                    out.push(Flat::EmptyResource(res.clone()));
                }
                for ss in &rs.scope_spans {
                    let mut bare = ss.clone();
                    bare.spans.clear();
                    let scope = bare.encode_to_vec();
                    if ss.spans.is_empty() {
                        out.push(Flat::EmptyScope(res.clone(), scope.clone()));
                    }
                    for span in &ss.spans {
                        out.push(Flat::Item(res.clone(), scope.clone(), span.encode_to_vec()));
                    }
                }
            }
        }
        Request::Metrics(r) => {
            for rm in &r.resource_metrics {
                let mut bare = rm.clone();
                bare.scope_metrics.clear();
                let res = bare.encode_to_vec();
                if rm.scope_metrics.is_empty() {
                    out.push(Flat::EmptyResource(res.clone()));
                }
                for sm in &rm.scope_metrics {
                    let mut bare = sm.clone();
                    bare.metrics.clear();
                    let scope = bare.encode_to_vec();
                    if sm.metrics.is_empty() {
                        out.push(Flat::EmptyScope(res.clone(), scope.clone()));
                    }
                    for metric in &sm.metrics {
                        for single in one_point_each(metric) {
                            out.push(Flat::Item(res.clone(), scope.clone(), single));
                        }
                    }
                }
            }
        }
        Request::Logs(r) => {
            for rl in &r.resource_logs {
                let mut bare = rl.clone();
                bare.scope_logs.clear();
                let res = bare.encode_to_vec();
                if rl.scope_logs.is_empty() {
                    out.push(Flat::EmptyResource(res.clone()));
                }
                for sl in &rl.scope_logs {
                    let mut bare = sl.clone();
                    bare.log_records.clear();
                    let scope = bare.encode_to_vec();
                    if sl.log_records.is_empty() {
                        out.push(Flat::EmptyScope(res.clone(), scope.clone()));
                    }
                    for log in &sl.log_records {
                        out.push(Flat::Item(res.clone(), scope.clone(), log.encode_to_vec()));
                    }
                }
            }
        }
    }
    out
}

/// The metric once per data point, each copy holding only that point (the metric as it is when
/// it has no points: splitting keeps such a metric whole).
fn one_point_each(metric: &opentelemetry_proto::tonic::metrics::v1::Metric) -> Vec<Vec<u8>> {
    macro_rules! per_point {
        ($variant:ident, $data:expr) => {{
            let points = &$data.data_points;
            if points.is_empty() {
                return vec![metric.encode_to_vec()];
            }
            points
                .iter()
                .map(|p| {
                    let mut data = $data.clone();
                    data.data_points = vec![p.clone()];
                    let mut single = metric.clone();
                    single.data = Some(Data::$variant(data));
                    single.encode_to_vec()
                })
                .collect()
        }};
    }
    match &metric.data {
        None => vec![metric.encode_to_vec()],
        Some(Data::Gauge(d)) => per_point!(Gauge, d),
        Some(Data::Sum(d)) => per_point!(Sum, d),
        Some(Data::Histogram(d)) => per_point!(Histogram, d),
        Some(Data::ExponentialHistogram(d)) => per_point!(ExponentialHistogram, d),
        Some(Data::Summary(d)) => per_point!(Summary, d),
    }
}
