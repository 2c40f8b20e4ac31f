//! An OpenMetrics exemplar as an OTLP exemplar, as otelcol's `convertExemplar` does it: a
//! `trace_id` (`span_id`) label, its name in any case, becomes the trace (span) id when its
//! value is exactly 32 (16) hex digits and not all zero; otherwise it stays as a filtered
//! attribute under its own name. An empty id is dropped. Every other label is a filtered
//! attribute. The timestamp is the exemplar's own, or the sample's when it has none (as
//! Prometheus's scrape loop sets it for classic types).

use opentelemetry_proto::tonic::metrics::v1::{Exemplar, exemplar};

use super::{ExemplarRef, ms_to_ns, string_kv};

fn hex_id<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    out.iter().any(|&x| x != 0).then_some(out)
}

pub(super) fn convert(e: &ExemplarRef<'_>, sample_timestamp_ms: i64) -> Exemplar {
    let mut out = Exemplar {
        time_unix_nano: ms_to_ns(e.timestamp_ms.unwrap_or(sample_timestamp_ms)),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..Exemplar::default()
    };
    for &(name, value) in e.labels {
        if name.eq_ignore_ascii_case("trace_id") {
            if value.is_empty() {
                continue;
            }
            if let Some(id) = hex_id::<16>(value) {
                out.trace_id = id.to_vec();
                continue;
            }
        } else if name.eq_ignore_ascii_case("span_id") {
            if value.is_empty() {
                continue;
            }
            if let Some(id) = hex_id::<8>(value) {
                out.span_id = id.to_vec();
                continue;
            }
        }
        out.filtered_attributes.push(string_kv(name, value));
    }
    out
}
