//! Renders the runtime's counters as Prometheus text, with otelcol's names and labels so
//! existing dashboards keep working.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::batch::Signal;
use crate::plugin::PluginCounter;
use crate::runtime::GraphStats;
use crate::runtime::entry::{EntryStats, TRANSPORTS};

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

/// The Prometheus text exposition of `stats`, and of the counters plugins keep.
pub fn render(stats: &GraphStats) -> String {
    render_with(stats, &crate::plugin::counters())
}

/// [`render`] with the plugin counters given.
fn render_with(stats: &GraphStats, plugin_counters: &[PluginCounter]) -> String {
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
        receiver_samples(&id.to_string(), *signal, s, &mut add);
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
        add(
            format!("otelcol_exporter_enqueue_failed_{noun}_total"),
            "counter",
            "Items refused because the sending queue was full.",
            l.clone(),
            s.enqueue_failed_items.load(Ordering::Relaxed),
        );
        let lq = labels(&[("exporter", &id), ("data_type", signal.as_str())]);
        add(
            "otelcol_exporter_queue_size".into(),
            "gauge",
            "Current size of the sending queue, in its sizer's unit.",
            lq.clone(),
            s.size(),
        );
        add(
            "otelcol_exporter_queue_capacity".into(),
            "gauge",
            "Fixed capacity of the sending queue, in its sizer's unit.",
            lq.clone(),
            s.capacity(),
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
    for (receiver, transport, value) in super::auth::unauthenticated_counts() {
        add(
            "weir_receiver_unauthenticated_requests_total".into(),
            "counter",
            "Requests refused because their credentials were missing or invalid.",
            labels(&[("receiver", &receiver), ("transport", &transport)]),
            value,
        );
    }
    // `weir_plugin_<counter>_total`; the plugin's name is already letters, digits and `_`.
    for sample in super::counters::counters() {
        let pairs: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        add(
            sample.name.into(),
            sample.kind,
            sample.help,
            labels(&pairs),
            sample.value,
        );
    }
    for counter in plugin_counters {
        let name = counter.name.strip_suffix("_total").unwrap_or(&counter.name);
        add(
            format!("weir_plugin_{name}_total"),
            "counter",
            "A counter a plugin keeps (the host's counter_add), per component.",
            labels(&[
                ("plugin", &counter.plugin),
                ("library", &counter.library),
                ("component", &counter.component),
            ]),
            counter.value,
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
    render_histograms(&mut out);
    super::process::render(&mut out);
    out
}

/// The histograms components keep, each series as its cumulative buckets, sum and count.
fn render_histograms(out: &mut String) {
    let mut last = "";
    for sample in super::counters::histograms() {
        if sample.name != last {
            let _ = writeln!(out, "# HELP {} {}", sample.name, sample.help);
            let _ = writeln!(out, "# TYPE {} histogram", sample.name);
            last = sample.name;
        }
        let pairs: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        for (bound, count) in &sample.buckets {
            let le = bound.map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let mut with_le = pairs.clone();
            with_le.push(("le", &le));
            let _ = writeln!(out, "{}_bucket{} {count}", sample.name, labels(&with_le));
        }
        let l = labels(&pairs);
        let _ = writeln!(out, "{}_sum{l} {}", sample.name, sample.sum);
        let _ = writeln!(out, "{}_count{l} {}", sample.name, sample.count);
    }
}

/// A receiver's samples for one signal: one series per transport that has counted something
/// (otelcol's `transport` label), or a series without the label while none has, so the
/// metric exists from the start.
fn receiver_samples(
    id: &str,
    signal: Signal,
    s: &EntryStats,
    add: &mut impl FnMut(String, &'static str, &'static str, String, u64),
) {
    let noun = signal.item_noun();
    let mut rendered = false;
    for (slot, transport) in TRANSPORTS.iter().enumerate() {
        let values = [
            s.accepted_items.get(slot),
            s.refused_items.get(slot),
            s.failed_items.get(slot),
        ];
        let last = slot + 1 == TRANSPORTS.len();
        if values.iter().all(|v| *v == 0) && (rendered || !last) {
            continue;
        }
        rendered = true;
        let l = match transport {
            Some(t) => labels(&[("receiver", id), ("transport", t)]),
            None => labels(&[("receiver", id)]),
        };
        let [accepted, refused, failed] = values;
        add(
            format!("otelcol_receiver_accepted_{noun}_total"),
            "counter",
            "Items successfully pushed into the pipeline.",
            l.clone(),
            accepted,
        );
        add(
            format!("otelcol_receiver_refused_{noun}_total"),
            "counter",
            "Items that could not be pushed into the pipeline.",
            l.clone(),
            refused,
        );
        add(
            format!("otelcol_receiver_failed_{noun}_total"),
            "counter",
            "Items the receiver failed to process.",
            l,
            failed,
        );
    }
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
        recv.accepted_items.add(None, 7);
        let store = Arc::new(crate::exporter::MemoryStore::new(
            crate::exporter::Sizer::Items,
            1000,
        ));
        let queue = Arc::new(QueueStats::for_store(store));
        queue.send_failed_items.store(3, Ordering::Relaxed);
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

    #[test]
    fn labels_receiver_series_by_transport_once_one_has_counted() {
        let recv = Arc::new(EntryStats::default());
        let stats = GraphStats {
            receivers: vec![("otlp".parse().unwrap(), Signal::Metrics, recv.clone())],
            ..GraphStats::default()
        };
        let before = render_with(&stats, &[]);
        assert!(
            before.contains("otelcol_receiver_accepted_metric_points_total{receiver=\"otlp\"} 0\n"),
            "{before}"
        );
        assert!(!before.contains("transport="), "{before}");

        recv.accepted_items.add(Some("grpc"), 4);
        recv.refused_items.add(Some("http"), 2);
        let after = render_with(&stats, &[]);
        for line in [
            "otelcol_receiver_accepted_metric_points_total{receiver=\"otlp\",transport=\"grpc\"} 4\n",
            "otelcol_receiver_refused_metric_points_total{receiver=\"otlp\",transport=\"grpc\"} 0\n",
            "otelcol_receiver_accepted_metric_points_total{receiver=\"otlp\",transport=\"http\"} 0\n",
            "otelcol_receiver_refused_metric_points_total{receiver=\"otlp\",transport=\"http\"} 2\n",
        ] {
            assert!(after.contains(line), "missing {line:?} in {after}");
        }
        assert!(
            !after.contains("otelcol_receiver_accepted_metric_points_total{receiver=\"otlp\"}"),
            "the unlabelled series goes once a transport has counted: {after}"
        );
    }

    #[test]
    fn renders_enqueue_failed_per_exporter() {
        let store = Arc::new(crate::exporter::MemoryStore::new(
            crate::exporter::Sizer::Requests,
            1,
        ));
        let queue = Arc::new(QueueStats::for_store(store));
        queue.enqueue_failed_items.store(11, Ordering::Relaxed);
        let stats = GraphStats {
            exporters: vec![("otlp".parse().unwrap(), Signal::Traces, queue)],
            ..GraphStats::default()
        };
        let text = render_with(&stats, &[]);
        assert!(
            text.contains("# TYPE otelcol_exporter_enqueue_failed_spans_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("otelcol_exporter_enqueue_failed_spans_total{exporter=\"otlp\"} 11\n"),
            "{text}"
        );
    }

    #[test]
    fn renders_component_counters_with_their_labels_from_the_first_use() {
        let counter = super::super::counter(
            "otelcol_processor_filter_test_filtered_total",
            "Test items filtered.",
            &[("filter", "filter/render-test")],
        );
        let text = render_with(&GraphStats::default(), &[]);
        assert!(
            text.contains(
                "otelcol_processor_filter_test_filtered_total{filter=\"filter/render-test\"} 0\n"
            ),
            "{text}"
        );
        counter.fetch_add(4, Ordering::Relaxed);
        let text = render_with(&GraphStats::default(), &[]);
        assert!(
            text.contains("# TYPE otelcol_processor_filter_test_filtered_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "otelcol_processor_filter_test_filtered_total{filter=\"filter/render-test\"} 4\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn renders_plugin_counters_with_their_plugin_library_and_component() {
        let stats = GraphStats::default();
        let counter = |component: &str, name: &str, value| PluginCounter {
            plugin: "drop_spans".into(),
            library: "weir-plugin-drop-spans".into(),
            component: component.into(),
            name: name.into(),
            value,
        };
        let text = render_with(
            &stats,
            &[
                counter("drop_spans", "dropped_spans", 3),
                counter("drop_spans/edge", "dropped_spans", 5),
                counter("drop_spans", "bytes_total", 9),
            ],
        );
        assert!(
            text.contains("# TYPE weir_plugin_dropped_spans_total counter\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE weir_plugin_dropped_spans_total")
                .count(),
            1,
            "one family for both components: {text}"
        );
        assert!(text.contains(
            "weir_plugin_dropped_spans_total{plugin=\"drop_spans\",library=\"weir-plugin-drop-spans\",component=\"drop_spans/edge\"} 5\n"
        ), "{text}");
        assert!(
            text.contains("weir_plugin_bytes_total{plugin=\"drop_spans\",library=\"weir-plugin-drop-spans\",component=\"drop_spans\"} 9\n"),
            "a name already ending in _total is not doubled: {text}"
        );
    }
}
