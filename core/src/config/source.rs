//! Reading config sources into positioned trees with yaml-rust2's marked event parser, the only
//! YAML parser in Weir: it gives every node its line and column, which survive merging.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::{ConfigError, Location, Problem};
use super::tree::{Entry, Node, Style, Tree};

/// Where a config comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A YAML file (`--config path`).
    File(PathBuf),
    /// YAML text with a name for error messages: the embedded default config, tests.
    Yaml {
        /// Shown where a file path would be.
        name: String,
        /// The YAML.
        text: String,
    },
}

impl Source {
    /// Reads and parses the source. `order` is its position among all sources.
    pub(crate) fn read(&self, order: usize) -> Result<Node, Vec<ConfigError>> {
        match self {
            Source::File(path) => {
                let name: Arc<str> = path.display().to_string().into();
                match std::fs::read_to_string(path) {
                    Ok(text) => parse(name, order, &text),
                    Err(e) => Err(vec![ConfigError {
                        location: Some(Location::new(name, order, 0, 0)),
                        path: String::new(),
                        problem: Problem::Read(e.to_string()),
                    }]),
                }
            }
            Source::Yaml { name, text } => parse(name.as_str().into(), order, text),
        }
    }
}

/// Deeper nesting than this is refused: every later pass recurses over the tree, and no real
/// config comes close.
const MAX_DEPTH: usize = 128;

/// Nodes created by alias expansion are counted against this, so a few lines of anchors cannot
/// grow into billions of nodes.
const MAX_NODES: usize = 1_000_000;

/// Parses one YAML document into a tree; an empty document is an empty mapping.
pub(crate) fn parse(name: Arc<str>, order: usize, text: &str) -> Result<Node, Vec<ConfigError>> {
    let mut builder = Builder {
        name: name.clone(),
        order,
        stack: Vec::new(),
        docs: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        errors: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let loc = builder.loc(*e.marker());
        builder.errors.push(ConfigError::new(
            &loc,
            "",
            Problem::Syntax(e.info().to_string()),
        ));
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    let mut docs = builder.docs.into_iter();
    let first = docs
        .next()
        .unwrap_or_else(|| Node::empty_map(Location::new(name, order, 1, 1)));
    if let Some(second) = docs.next() {
        return Err(vec![ConfigError::new(
            &second.loc,
            "",
            Problem::Syntax("a second YAML document; Weir reads one document per file".into()),
        )]);
    }
    Ok(if first.is_null() {
        Node::empty_map(first.loc)
    } else {
        first
    })
}

enum Frame {
    Seq {
        items: Vec<Node>,
        loc: Location,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<(String, Location)>,
        loc: Location,
        anchor: usize,
    },
}

/// Builds the tree from parser events, keeping the marker of each node.
struct Builder {
    name: Arc<str>,
    order: usize,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    errors: Vec<ConfigError>,
}

impl Builder {
    fn loc(&self, mark: Marker) -> Location {
        // yaml-rust2 markers: line 1-based, column 0-based.
        Location::new(self.name.clone(), self.order, mark.line(), mark.col() + 1)
    }

    fn fail(&mut self, loc: &Location, message: impl Into<String>) {
        self.errors
            .push(ConfigError::new(loc, "", Problem::Syntax(message.into())));
    }

    fn push_frame(&mut self, frame: Frame, loc: &Location) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(loc, format!("nested more than {MAX_DEPTH} levels deep"));
            return;
        }
        self.stack.push(frame);
    }

    fn insert(&mut self, node: Node, anchor: usize, size: usize) {
        self.nodes += size;
        if self.nodes > MAX_NODES {
            let loc = node.loc.clone();
            self.fail(
                &loc,
                format!("more than {MAX_NODES} nodes after expanding aliases"),
            );
            return;
        }
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), count(&node)));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => match &node.tree {
                    Tree::Scalar { text, .. } => *key = Some((text.clone(), node.loc)),
                    _ => {
                        let loc = node.loc.clone();
                        self.fail(
                            &loc,
                            "mapping keys must be plain names, not lists or mappings",
                        );
                    }
                },
                Some((name, key_loc)) => {
                    if let Some(first) = entries.iter().find(|e| e.key == name) {
                        let message = format!(
                            "duplicate key `{name}` (first at line {})",
                            first.key_loc.line
                        );
                        self.fail(&key_loc, message);
                    } else {
                        entries.push(Entry {
                            key: name,
                            key_loc,
                            node,
                        });
                    }
                }
            },
        }
    }

    /// Applies YAML merge keys (`<<: *defaults`): entries of the merged mappings fill in keys
    /// the mapping does not set itself.
    fn merge_keys(&mut self, entries: Vec<Entry>) -> Vec<Entry> {
        if !entries.iter().any(|e| e.key == "<<") {
            return entries;
        }
        let (merges, mut own): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.key == "<<");
        for merge in merges {
            let sources = match merge.node.tree {
                Tree::Map(_) => vec![merge.node],
                Tree::Seq(items) => items,
                Tree::Scalar { .. } => {
                    self.fail(
                        &merge.key_loc,
                        "`<<` must merge a mapping or a list of mappings",
                    );
                    continue;
                }
            };
            for source in sources {
                match source.tree {
                    Tree::Map(inherited) => {
                        for entry in inherited {
                            if !own.iter().any(|e| e.key == entry.key) {
                                own.push(entry);
                            }
                        }
                    }
                    _ => self.fail(
                        &source.loc,
                        "`<<` must merge a mapping or a list of mappings",
                    ),
                }
            }
        }
        own
    }
}

fn earliest(loc: Location, first: Option<&Location>) -> Location {
    match first {
        Some(first) if (first.line, first.column) < (loc.line, loc.column) => first.clone(),
        _ => loc,
    }
}

fn count(node: &Node) -> usize {
    match &node.tree {
        Tree::Scalar { .. } => 1,
        Tree::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Tree::Map(entries) => 1 + entries.iter().map(|e| 1 + count(&e.node)).sum::<usize>(),
    }
}

fn is_str_tag(tag: &Option<Tag>) -> bool {
    matches!(tag, Some(t) if t.handle == "tag:yaml.org,2002:" && t.suffix == "str")
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if !self.errors.is_empty() {
            return;
        }
        let loc = self.loc(mark);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let style = if style == TScalarStyle::Plain && !is_str_tag(&tag) {
                    Style::Plain
                } else {
                    Style::Text
                };
                self.insert(
                    Node {
                        tree: Tree::Scalar { text, style },
                        loc,
                    },
                    anchor,
                    1,
                );
            }
            Event::SequenceStart(anchor, _) => {
                self.push_frame(
                    Frame::Seq {
                        items: Vec::new(),
                        loc: loc.clone(),
                        anchor,
                    },
                    &loc,
                );
            }
            Event::MappingStart(anchor, _) => {
                self.push_frame(
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        loc: loc.clone(),
                        anchor,
                    },
                    &loc,
                );
            }
            Event::SequenceEnd | Event::MappingEnd => {
                // yaml-rust2 marks a block collection where the parser stood after its first
                // entry; a collection starts no later than its first entry (flow ones, at the
                // bracket, start earlier and keep their mark).
                let node = match self.stack.pop() {
                    Some(Frame::Seq { items, loc, anchor }) => {
                        let loc = earliest(loc, items.first().map(|n| &n.loc));
                        (
                            Node {
                                tree: Tree::Seq(items),
                                loc,
                            },
                            anchor,
                        )
                    }
                    Some(Frame::Map {
                        entries,
                        loc,
                        anchor,
                        ..
                    }) => {
                        let loc = earliest(loc, entries.first().map(|e| &e.key_loc));
                        let entries = self.merge_keys(entries);
                        (
                            Node {
                                tree: Tree::Map(entries),
                                loc,
                            },
                            anchor,
                        )
                    }
                    None => return,
                };
                // Children were counted when inserted; only the container itself is new.
                self.insert(node.0, node.1, 1);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                // The copy keeps the anchor's positions: a typo inside shared defaults is
                // reported where it was written, and the path names the component using it.
                Some((node, size)) => {
                    let (node, size) = (node.clone(), *size);
                    self.insert(node, 0, size);
                }
                None => self.fail(&loc, "alias to an unknown anchor"),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}
