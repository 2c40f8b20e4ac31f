//! The operator graph: building it from the `operators:` list (ids, outputs, `if`,
//! `on_error`) and running batches of entries through it in graph order.

use std::time::Instant;

use serde_json::Value as Json;

use crate::config::{Fields, json_kind};
use crate::entry::Entry;
use crate::error::{ConfigError, ConfigErrors, Path};
use crate::expr::Expr;
use crate::operators::{self, Built, Transform, Verdict, recombine::Recombine};

/// The ids an `output` (or a route's `output`, or `default`) names, with where it was written.
#[derive(Clone, Debug)]
pub(crate) struct OutputSpec {
    ids: Vec<String>,
    path: Path,
}

/// Reads an output: one id or a list of ids.
pub(crate) fn read_outputs(f: &mut Fields, name: &'static str) -> Option<OutputSpec> {
    let path = f.path.key(name);
    let ids = match f.raw(name)? {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) if items.iter().all(Json::is_string) && !items.is_empty() => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        other => {
            let kind = json_kind(other);
            f.error(
                name,
                format!("expected an operator id or a list of ids, found {kind}"),
            );
            return None;
        }
    };
    Some(OutputSpec { ids, path })
}

/// What happens to an entry an operator failed on (stanza's `on_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnError {
    /// Sent on unchanged by the failed step; the failure is logged as a warning.
    Send,
    /// Sent on; logged at debug level only.
    SendQuiet,
    /// Dropped; logged as a warning.
    Drop,
    /// Dropped; logged at debug level only.
    DropQuiet,
}

enum Op {
    Transform(Box<dyn Transform>),
    Recombine(Box<Recombine>),
}

/// Where an entry goes: an operator's index, or `None` for out of the pipeline.
type Target = Option<usize>;

struct Node {
    id: String,
    condition: Option<Expr>,
    on_error: OnError,
    op: Op,
    /// Port 0 is the output; a router has one port per route, then its default.
    ports: Vec<Vec<Target>>,
    errors: u64,
}

/// A built operator pipeline. Not shared between threads while running: each receiver
/// instance (or each reader, if it wants parallelism) owns one.
pub struct Pipeline {
    nodes: Vec<Node>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.nodes.iter().map(|n| n.id.as_str()).collect();
        f.debug_struct("Pipeline").field("operators", &ids).finish()
    }
}

struct Pending {
    id: String,
    built: Option<(Op, Vec<Option<OutputSpec>>)>,
    condition: Option<Expr>,
    on_error: OnError,
    path: Path,
}

impl Pipeline {
    /// Builds the pipeline from the receiver's `operators` value (a list of maps; null or
    /// absent means no operators). Every problem is reported, each at its path from the
    /// receiver's config root (`operators[2].regex`).
    pub fn build(operators: &Json) -> Result<Pipeline, ConfigErrors> {
        match operators {
            Json::Null => Ok(Pipeline { nodes: Vec::new() }),
            Json::Array(items) => Self::build_list(items),
            other => {
                let kind = json_kind(other);
                Err(ConfigErrors(vec![ConfigError::new(
                    Path::default().key("operators"),
                    format!("expected a list of operators, found {kind}"),
                )]))
            }
        }
    }

    /// [`Pipeline::build`] from the list itself (a receiver config's
    /// `operators: Vec<serde_json::Value>`).
    pub fn build_list(items: &[Json]) -> Result<Pipeline, ConfigErrors> {
        let root = Path::default().key("operators");
        let mut errors = Vec::new();
        let mut pending = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = root.index(i);
            let Some(map) = item.as_object() else {
                errors.push(ConfigError::new(path, "expected a map with a `type`"));
                continue;
            };
            pending.push(Self::read_operator(map, path, &mut errors));
        }
        let nodes = Self::link(pending, &mut errors);
        if errors.is_empty() {
            Ok(Pipeline { nodes })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    fn read_operator(
        map: &serde_json::Map<String, Json>,
        path: Path,
        errors: &mut Vec<ConfigError>,
    ) -> Pending {
        let mut f = Fields::new(map, path.clone());
        let kind = f.required_string("type").unwrap_or_default();
        let id = f.string("id").unwrap_or_else(|| kind.clone());
        let mut pending = Pending {
            id,
            built: None,
            condition: None,
            on_error: OnError::Send,
            path: path.clone(),
        };
        if !operators::TYPES.contains(&kind.as_str()) {
            if kind.is_empty() {
                f.finish(errors);
                return pending;
            }
            let error = if operators::not_built(&kind) {
                ConfigError::new(
                    path.key("type"),
                    format!("operator type `{kind}` is not supported by Weir yet"),
                )
            } else if kind == "timestamp" || kind == "severity" {
                ConfigError::new(
                    path.key("type"),
                    format!(
                        "unknown operator type `{kind}`; the operator is `{kind}_parser` (or `time_parser`), the `{kind}:` block goes inside a parser"
                    ),
                )
            } else {
                ConfigError::unknown(path.key("type"), "operator type", &kind, operators::TYPES)
            };
            errors.push(error);
            // Unknown fields cannot be judged without knowing the type.
            return pending;
        }
        let transformer = operators::is_transformer(&kind);
        let output = if transformer {
            read_outputs(&mut f, "output")
        } else {
            None
        };
        if transformer {
            pending.on_error = match f.string("on_error").as_deref() {
                None | Some("send") => OnError::Send,
                Some("send_quiet") => OnError::SendQuiet,
                Some("drop") => OnError::Drop,
                Some("drop_quiet") => OnError::DropQuiet,
                Some(other) => {
                    let expected = ["send", "send_quiet", "drop", "drop_quiet"];
                    f.errors.push(ConfigError::unknown(
                        path.key("on_error"),
                        "on_error mode",
                        other,
                        &expected,
                    ));
                    OnError::Send
                }
            };
            pending.condition = f.expr("if");
        }
        pending.built = match operators::build(&kind, &mut f) {
            Some(Built::Transform(t)) => Some((Op::Transform(t), vec![output])),
            Some(Built::Recombine(r)) => Some((Op::Recombine(r), vec![output])),
            Some(Built::Router(r, ports)) => Some((Op::Transform(Box::new(r)), ports)),
            None => None,
        };
        f.finish(errors);
        pending
    }

    /// Resolves ids to indices, defaulting each output to the next operator.
    fn link(pending: Vec<Pending>, errors: &mut Vec<ConfigError>) -> Vec<Node> {
        let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
        for (i, p) in pending.iter().enumerate() {
            if ids[..i].contains(&p.id.as_str()) {
                errors.push(ConfigError::new(
                    p.path.key("id"),
                    format!("duplicate operator id `{}`; give each operator of the same type its own `id`", p.id),
                ));
            }
        }
        let mut nodes = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let next: Target = (i + 1 < pending.len()).then_some(i + 1);
            let Some((_, specs)) = &p.built else { continue };
            let ports: Vec<Vec<Target>> = specs
                .iter()
                .enumerate()
                .map(|(port, spec)| match spec {
                    // A router's default that is not given drops; an operator's output
                    // that is not given is the next operator.
                    None if specs.len() > 1 && port + 1 == specs.len() => Vec::new(),
                    None => vec![next],
                    Some(spec) => spec
                        .ids
                        .iter()
                        .filter_map(|id| match ids.iter().position(|x| x == id) {
                            Some(at) => Some(Some(at)),
                            None => {
                                errors.push(ConfigError::unknown(
                                    spec.path.clone(),
                                    "operator id",
                                    id,
                                    &ids,
                                ));
                                None
                            }
                        })
                        .collect(),
                })
                .collect();
            nodes.push((i, ports));
        }
        if !errors.is_empty() {
            return Vec::new();
        }
        if let Some(at) = find_cycle(&nodes) {
            errors.push(ConfigError::new(
                pending[at].path.key("output"),
                format!("the operators form a cycle through `{}`", pending[at].id),
            ));
            return Vec::new();
        }
        pending
            .into_iter()
            .zip(nodes)
            .filter_map(|(p, (_, ports))| {
                let (op, _) = p.built?;
                Some(Node {
                    id: p.id,
                    condition: p.condition,
                    on_error: p.on_error,
                    op,
                    ports,
                    errors: 0,
                })
            })
            .collect()
    }

    /// Runs a batch through the operators; what leaves the last operators comes back, in
    /// order. Entries held by `recombine` come out of a later call or of [`Pipeline::flush`].
    pub fn process(&mut self, entries: Vec<Entry>) -> Vec<Entry> {
        self.process_at(entries, Instant::now())
    }

    /// [`Pipeline::process`] at a given time (for `recombine`'s `force_flush_period`).
    pub fn process_at(&mut self, entries: Vec<Entry>, now: Instant) -> Vec<Entry> {
        let mut out = Vec::with_capacity(entries.len());
        self.process_into(entries, now, &mut out);
        out
    }

    /// Like [`Pipeline::process_at`], appending to `out` (so a caller can reuse its buffer).
    pub fn process_into(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
        now: Instant,
        out: &mut Vec<Entry>,
    ) {
        if self.nodes.is_empty() {
            out.extend(entries);
            return;
        }
        let mut stack = Vec::new();
        for entry in entries {
            stack.push((Some(0), entry));
            self.drain(&mut stack, now, out);
        }
    }

    /// Emits what `recombine` has held longer than its `force_flush_period`, and runs it
    /// through the operators after it. Call it at [`Pipeline::next_deadline`].
    pub fn flush(&mut self, now: Instant) -> Vec<Entry> {
        self.flush_with(now, false)
    }

    /// Emits everything held (at shutdown).
    pub fn flush_all(&mut self) -> Vec<Entry> {
        self.flush_with(Instant::now(), true)
    }

    fn flush_with(&mut self, now: Instant, all: bool) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        // In graph order, so what one recombine flushes can still join a later one's batch.
        for i in 0..self.nodes.len() {
            let mut emitted = Vec::new();
            if let Op::Recombine(r) = &mut self.nodes[i].op {
                if all {
                    r.flush_all(&mut emitted);
                } else {
                    r.flush_due(now, &mut emitted);
                }
            }
            for entry in emitted {
                self.forward(i, 0, entry, &mut stack);
                self.drain(&mut stack, now, &mut out);
            }
        }
        out
    }

    /// When [`Pipeline::flush`] next has something to emit.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.op {
                Op::Recombine(r) => r.deadline(),
                Op::Transform(_) => None,
            })
            .min()
    }

    /// The lowest [`crate::Origin`] tag among the entries `recombine` holds, if it holds any:
    /// reads tagged below it have all left the pipeline (or been dropped in it).
    pub fn held_from(&self) -> Option<u64> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.op {
                Op::Recombine(r) => r.held_from(),
                Op::Transform(_) => None,
            })
            .min()
    }

    /// Each operator's id with the number of entries it failed on (parse errors and other
    /// failures handled by `on_error`), in config order.
    pub fn parse_errors(&self) -> impl Iterator<Item = (&str, u64)> {
        self.nodes.iter().map(|n| (n.id.as_str(), n.errors))
    }

    /// The total of [`Pipeline::parse_errors`].
    pub fn total_parse_errors(&self) -> u64 {
        self.nodes.iter().map(|n| n.errors).sum()
    }

    /// Whether there are no operators (entries pass unchanged).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn drain(&mut self, stack: &mut Vec<(Target, Entry)>, now: Instant, out: &mut Vec<Entry>) {
        while let Some((target, mut entry)) = stack.pop() {
            let Some(i) = target else {
                out.push(entry);
                continue;
            };
            let node = &mut self.nodes[i];
            if let Some(condition) = &node.condition
                && !condition.matches(&entry)
            {
                self.forward(i, 0, entry, stack);
                continue;
            }
            let failure = match &mut node.op {
                Op::Transform(t) => match t.apply(&mut entry) {
                    Ok(Verdict::Pass) => {
                        self.forward(i, 0, entry, stack);
                        continue;
                    }
                    Ok(Verdict::Route(port)) => {
                        self.forward(i, port, entry, stack);
                        continue;
                    }
                    Ok(Verdict::Drop) => continue,
                    Err(message) => (entry, message),
                },
                Op::Recombine(r) => {
                    let mut emitted = Vec::new();
                    let result = r.process(entry, now, &mut emitted);
                    // Pushed in reverse so that they leave in the order they were combined.
                    for e in emitted.into_iter().rev() {
                        self.forward(i, 0, e, stack);
                    }
                    match result {
                        Ok(()) => continue,
                        Err(failure) => *failure,
                    }
                }
            };
            let (entry, message) = failure;
            let node = &mut self.nodes[i];
            node.errors += 1;
            match node.on_error {
                OnError::Send | OnError::Drop => {
                    tracing::warn!(operator = %node.id, error = %message, "failed to process entry");
                }
                OnError::SendQuiet | OnError::DropQuiet => {
                    tracing::debug!(operator = %node.id, error = %message, "failed to process entry");
                }
            }
            if matches!(node.on_error, OnError::Send | OnError::SendQuiet) {
                self.forward(i, 0, entry, stack);
            }
        }
    }

    /// Pushes `entry` to every target of a node's port; targets after the first get copies.
    fn forward(&self, node: usize, port: usize, entry: Entry, stack: &mut Vec<(Target, Entry)>) {
        let Some(targets) = self.nodes[node].ports.get(port) else {
            return;
        };
        // The stack is last in, first out: push the first target last.
        match targets.split_first() {
            None => {}
            Some((first, rest)) => {
                for target in rest.iter().rev() {
                    stack.push((*target, entry.clone()));
                }
                stack.push((*first, entry));
            }
        }
    }
}

/// An operator on a cycle, if the graph has one.
fn find_cycle(nodes: &[(usize, Vec<Vec<Target>>)]) -> Option<usize> {
    // 0 unvisited, 1 on the current path, 2 done.
    let mut state = vec![0u8; nodes.len()];
    fn visit(at: usize, nodes: &[(usize, Vec<Vec<Target>>)], state: &mut [u8]) -> Option<usize> {
        match state[at] {
            1 => return Some(at),
            2 => return None,
            _ => {}
        }
        state[at] = 1;
        for next in nodes[at].1.iter().flatten().flatten() {
            if let Some(c) = visit(*next, nodes, state) {
                return Some(c);
            }
        }
        state[at] = 2;
        None
    }
    (0..nodes.len()).find_map(|i| visit(i, nodes, &mut state))
}

#[cfg(test)]
mod tests;
