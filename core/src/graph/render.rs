//! The graph as text (one line per pipeline), Graphviz DOT and Mermaid.

use std::fmt::Write;

use super::{Graph, NodeKind};
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

fn label(graph_node: &super::Node) -> String {
    match &graph_node.pipeline {
        Some(pipeline) => format!("{}\\n({pipeline})", graph_node.component),
        None => graph_node.component.clone(),
    }
}

/// DOT's quoted strings escape `"` and `\`; component ids may hold neither, pipeline names
/// may.
fn dot_quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT: receivers and exporters boxes, connectors hexagons joining pipelines,
/// processors ellipses per pipeline; edges named by their pipeline where they reach an
/// exporter or connector.
pub fn to_dot(config: &Config) -> String {
    let graph = Graph::of(config);
    let mut out = String::from("digraph weir {\n  rankdir=LR;\n");
    for node in &graph.nodes {
        let shape = match node.kind {
            NodeKind::Receiver | NodeKind::Exporter => "box",
            NodeKind::Connector => "hexagon",
            NodeKind::Processor => "ellipse",
        };
        let text = match &node.pipeline {
            Some(pipeline) => format!("{}\\n({})", dot_quote(&node.component), dot_quote(pipeline)),
            None => dot_quote(&node.component),
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{text}\", shape={shape}];",
            dot_quote(&node.id)
        );
    }
    for edge in &graph.edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            dot_quote(&edge.from),
            dot_quote(&edge.to),
            dot_quote(&edge.pipeline)
        );
    }
    out.push_str("}\n");
    out
}

/// Mermaid (`flowchart LR`), which GitHub and GitLab render in Markdown: node ids are
/// `n0`, `n1`, ... (Mermaid ids cannot hold `/` or `:`), labels quoted.
pub fn to_mermaid(config: &Config) -> String {
    let graph = Graph::of(config);
    let mut out = String::from("flowchart LR\n");
    let index = |id: &str| graph.nodes.iter().position(|n| n.id == id).unwrap_or(0);
    // Mermaid's quoted labels take `#quot;` for a quote; line breaks are `<br>`.
    let quote = |text: &str| text.replace('"', "#quot;");
    for (i, node) in graph.nodes.iter().enumerate() {
        let text = quote(&label(node).replace("\\n", "<br>"));
        let shape = match node.kind {
            NodeKind::Receiver | NodeKind::Exporter => format!("[\"{text}\"]"),
            NodeKind::Connector => format!("{{{{\"{text}\"}}}}"),
            NodeKind::Processor => format!("(\"{text}\")"),
        };
        let _ = writeln!(out, "  n{i}{shape}");
    }
    for edge in &graph.edges {
        let _ = writeln!(
            out,
            "  n{} -->|\"{}\"| n{}",
            index(&edge.from),
            quote(&edge.pipeline),
            index(&edge.to)
        );
    }
    out
}
