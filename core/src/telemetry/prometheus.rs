//! Renders the runtime's counters as Prometheus text, with otelcol's names and labels so
//! existing dashboards keep working.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::runtime::GraphStats;

/// One metric family: its type, help and samples (labels rendered, value).
#[derive(Default)]
struct Family {
    kind: &'static str,
    help: &'static str,
    samples: Vec<(String, u64)>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The Prometheus text exposition of `stats`.
pub fn render(stats: &GraphStats) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut add =
        |name: String, kind: &'static str, help: &'static str, label: String, value: u64| {
            let family = families.entry(name).or_insert_with(|| Family {
                kind,
                help,
                ..Family::default()
            });
            family.samples.push((label, value));
        };
    for (id, signal, s) in &stats.receivers {
        let id = id.to_string();
        let l = labels(&[("receiver", &id)]);
        let noun = signal.item_noun();
        add(
            format!("otelcol_receiver_accepted_{noun}_total"),
            "counter",
            "Items successfully pushed into the pipeline.",
            l.clone(),
            s.accepted_items.load(Ordering::Relaxed),
        );
        add(
            format!("otelcol_receiver_refused_{noun}_total"),
            "counter",
            "Items that could not be pushed into the pipeline.",
            l.clone(),
            s.refused_items.load(Ordering::Relaxed),
        );
        add(
            format!("otelcol_receiver_failed_{noun}_total"),
            "counter",
            "Items the receiver failed to process.",
            l,
            s.failed_items.load(Ordering::Relaxed),
        );
    }
    for (id, pipeline, signal, s) in &stats.processors {
        let id = id.to_string();
        let l = labels(&[
            ("processor", &id),
            ("pipeline", pipeline),
            ("otel_signal", signal.as_str()),
        ]);
        add(
            "otelcol_processor_incoming_items_total".into(),
            "counter",
            "Items passed to the processor.",
            l.clone(),
            s.incoming_items.load(Ordering::Relaxed),
        );
        add(
            "otelcol_processor_outgoing_items_total".into(),
            "counter",
            "Items emitted by the processor.",
            l,
            s.outgoing_items.load(Ordering::Relaxed),
        );
    }
    for (id, signal, s) in &stats.exporters {
        let id = id.to_string();
        let noun = signal.item_noun();
        let l = labels(&[("exporter", &id)]);
        add(
            format!("otelcol_exporter_sent_{noun}_total"),
            "counter",
            "Items successfully sent to the destination.",
            l.clone(),
            s.sent_items.load(Ordering::Relaxed),
        );
        add(
            format!("otelcol_exporter_send_failed_{noun}_total"),
            "counter",
            "Items that failed to be sent to the destination.",
            l.clone(),
            s.send_failed_items.load(Ordering::Relaxed),
        );
        let lq = labels(&[("exporter", &id), ("data_type", signal.as_str())]);
        add(
            "otelcol_exporter_queue_size".into(),
            "gauge",
            "Current size of the retry queue (in batches).",
            lq.clone(),
            s.queued_batches.load(Ordering::Relaxed),
        );
        add(
            "otelcol_exporter_queue_capacity".into(),
            "gauge",
            "Fixed capacity of the retry queue (in batches).",
            lq.clone(),
            s.capacity.load(Ordering::Relaxed),
        );
        add(
            "weir_exporter_retries_total".into(),
            "counter",
            "Export attempts that failed and were retried.",
            lq.clone(),
            s.retries.load(Ordering::Relaxed),
        );
        add(
            "weir_exporter_rejected_items_total".into(),
            "counter",
            "Items the destination rejected in a partial success.",
            lq,
            s.rejected_items.load(Ordering::Relaxed),
        );
    }
    let mut out = String::new();
    for (name, family) in families {
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} {}", family.kind);
        for (label, value) in family.samples {
            let _ = writeln!(out, "{name}{label} {value}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::batch::Signal;
    use crate::exporter::QueueStats;
    use crate::runtime::entry::EntryStats;

    #[test]
    fn renders_otelcol_names_with_labels_and_values() {
        let recv = Arc::new(EntryStats::default());
        recv.accepted_items.store(7, Ordering::Relaxed);
        let queue = Arc::new(QueueStats::default());
        queue.send_failed_items.store(3, Ordering::Relaxed);
        queue.capacity.store(1000, Ordering::Relaxed);
        let stats = GraphStats {
            receivers: vec![("otlp".parse().unwrap(), Signal::Traces, recv)],
            processors: Vec::new(),
            exporters: vec![("otlp/backend".parse().unwrap(), Signal::Logs, queue)],
        };
        let text = render(&stats);
        assert!(text.contains("# TYPE otelcol_receiver_accepted_spans_total counter\n"));
        assert!(text.contains("otelcol_receiver_accepted_spans_total{receiver=\"otlp\"} 7\n"));
        assert!(text.contains(
            "otelcol_exporter_send_failed_log_records_total{exporter=\"otlp/backend\"} 3\n"
        ));
        assert!(text.contains(
            "otelcol_exporter_queue_capacity{exporter=\"otlp/backend\",data_type=\"logs\"} 1000\n"
        ));
    }
}
