//! The pipeline graph a config describes, for people: `weir graph` prints it as text or as
//! Graphviz DOT. The runtime builds the same shape in [`crate::runtime`].

use std::fmt::Write;

use crate::config::Config;

/// One line per pipeline: `traces/2: otlp → [batch] → otlp/backend, debug`.
pub fn to_text(config: &Config) -> String {
    let mut out = String::new();
    for (pid, p) in &config.service.pipelines {
        let join = |ids: &[crate::component::ComponentId]| {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "{pid}: {} → [{}] → {}",
            join(&p.receivers),
            join(&p.processors),
            join(&p.exporters)
        );
    }
    out
}

/// Graphviz DOT: receivers and exporters are shared nodes, processors are per pipeline (as
/// the runtime instantiates them).
pub fn to_dot(config: &Config) -> String {
    let mut out = String::from("digraph weir {\n  rankdir=LR;\n");
    for id in config.receivers.keys() {
        let _ = writeln!(out, "  \"receiver:{id}\" [label=\"{id}\", shape=box];");
    }
    for id in config.exporters.keys() {
        let _ = writeln!(out, "  \"exporter:{id}\" [label=\"{id}\", shape=box];");
    }
    for (pid, p) in &config.service.pipelines {
        let mut previous: Vec<String> = p
            .receivers
            .iter()
            .map(|r| format!("receiver:{r}"))
            .collect();
        for proc_id in &p.processors {
            let node = format!("{pid}:{proc_id}");
            let _ = writeln!(out, "  \"{node}\" [label=\"{proc_id}\\n({pid})\"];");
            for prev in &previous {
                let _ = writeln!(out, "  \"{prev}\" -> \"{node}\";");
            }
            previous = vec![node];
        }
        for exp in &p.exporters {
            for prev in &previous {
                let _ = writeln!(out, "  \"{prev}\" -> \"exporter:{exp}\" [label=\"{pid}\"];");
            }
        }
    }
    out.push_str("}\n");
    out
}
