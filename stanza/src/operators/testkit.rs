//! Helpers for the operators' tests: build a pipeline from JSON, run a line through it.

use crate::entry::Entry;
use crate::error::ConfigError;
use crate::pipeline::Pipeline;

pub(crate) fn pipeline(operators: serde_json::Value) -> Pipeline {
    match Pipeline::build(&operators) {
        Ok(p) => p,
        Err(e) => panic!("config refused:\n{e}"),
    }
}

pub(crate) fn config_errors(operators: serde_json::Value) -> Vec<ConfigError> {
    match Pipeline::build(&operators) {
        Ok(_) => panic!("config accepted"),
        Err(e) => e.0,
    }
}

pub(crate) fn run(p: &mut Pipeline, line: &str) -> Vec<Entry> {
    p.process(vec![Entry::new(line, 0)])
}

pub(crate) fn attr(entry: &Entry, key: &str) -> String {
    match entry.attributes.get(key) {
        Some(v) => v.to_text(),
        None => panic!("no attribute `{key}` in {:?}", entry.attributes),
    }
}
