//! The pipeline graph a config describes, for people and tools: `weir graph` prints it as
//! text, Graphviz DOT, Mermaid or JSON. The runtime builds the same shape in
//! [`crate::runtime`]: receivers, exporters and connectors are one instance each, shared by
//! the pipelines that list them; processors are one instance per pipeline.
//!
//! [`Graph`] is the model (nodes and edges, serialisable); the renderers are in
//! `render.rs`.

mod render;

use serde::Serialize;

use crate::component::{ComponentId, Kind};
use crate::config::Config;

pub use render::{to_dot, to_mermaid, to_text};

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Receiver,
    Processor,
    Connector,
    Exporter,
}

/// One component instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Unique in the graph: `receiver:otlp`, `processor:traces/2:batch`, `connector:count`.
    pub id: String,
    pub kind: NodeKind,
    /// The component id as the config writes it (`otlp/2`).
    pub component: String,
    /// For processors, the pipeline whose instance this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
}

/// Data flowing from one node to another in a pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The pipeline the data is in (`traces/2`).
    pub pipeline: String,
}

/// The graph of a config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// Receivers, then connectors, processors and exporters, each in id order.
    pub nodes: Vec<Node>,
    /// Per pipeline in id order, from its receivers to its exporters.
    pub edges: Vec<Edge>,
}

impl Graph {
    fn add(&mut self, id: String, kind: NodeKind, component: String, pipeline: Option<String>) {
        if !self.nodes.iter().any(|n| n.id == id) {
            self.nodes.push(Node {
                id,
                kind,
                component,
                pipeline,
            });
        }
    }

    /// The graph `config` declares. Components that no pipeline uses are left out, as the
    /// runtime does not start them.
    pub fn of(config: &Config) -> Graph {
        let mut graph = Graph::default();
        let shared = |id: &ComponentId, side: Kind| -> (String, NodeKind) {
            if config.connectors.contains_key(id) {
                (format!("connector:{id}"), NodeKind::Connector)
            } else if side == Kind::Receiver {
                (format!("receiver:{id}"), NodeKind::Receiver)
            } else {
                (format!("exporter:{id}"), NodeKind::Exporter)
            }
        };
        for (pid, p) in &config.service.pipelines {
            let pipeline = pid.to_string();
            let mut previous = Vec::new();
            for r in &p.receivers {
                let (id, kind) = shared(r, Kind::Receiver);
                graph.add(id.clone(), kind, r.to_string(), None);
                previous.push(id);
            }
            for proc_id in &p.processors {
                let id = format!("processor:{pipeline}:{proc_id}");
                graph.add(
                    id.clone(),
                    NodeKind::Processor,
                    proc_id.to_string(),
                    Some(pipeline.clone()),
                );
                for from in previous.drain(..) {
                    graph.edges.push(Edge {
                        from,
                        to: id.clone(),
                        pipeline: pipeline.clone(),
                    });
                }
                previous.push(id);
            }
            for e in &p.exporters {
                let (id, kind) = shared(e, Kind::Exporter);
                graph.add(id.clone(), kind, e.to_string(), None);
                for from in &previous {
                    graph.edges.push(Edge {
                        from: from.clone(),
                        to: id.clone(),
                        pipeline: pipeline.clone(),
                    });
                }
            }
        }
        graph
            .nodes
            .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        graph
    }
}
