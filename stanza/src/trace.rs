//! Trace context: the `trace:` block of parsers and the `trace_parser` operator. Hex strings
//! in `trace_id`, `span_id` and `trace_flags` fields (by default the attributes of those names)
//! become the entry's trace id (16 bytes), span id (8) and flags (1); a field that is absent
//! leaves its part unset.

use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;
use crate::value::Value;

#[derive(Clone, Debug)]
pub(crate) struct TraceParser {
    trace_id: Field,
    span_id: Field,
    trace_flags: Field,
}

fn part(f: &mut Fields, name: &'static str) -> Field {
    let default = Field::attribute(name);
    match f.block(name) {
        None => default,
        Some(mut block) => {
            let field = block.field_or("parse_from", default);
            block.finish(&mut f.errors);
            field
        }
    }
}

impl TraceParser {
    pub(crate) fn from_config(f: &mut Fields) -> TraceParser {
        TraceParser {
            trace_id: part(f, "trace_id"),
            span_id: part(f, "span_id"),
            trace_flags: part(f, "trace_flags"),
        }
    }

    pub(crate) fn apply(&self, entry: &mut Entry) -> Result<(), String> {
        if let Some(v) = self.trace_id.get(entry) {
            entry.trace_id = hex(v, 16, "trace_id")?;
        }
        if let Some(v) = self.span_id.get(entry) {
            entry.span_id = hex(v, 8, "span_id")?;
        }
        if let Some(v) = self.trace_flags.get(entry) {
            entry.trace_flags = hex(v, 1, "trace_flags")?[0];
        }
        Ok(())
    }
}

fn hex(value: &Value, len: usize, what: &str) -> Result<Vec<u8>, String> {
    let text = value
        .as_text()
        .ok_or_else(|| format!("{what} must be a hex string, not a {}", value.kind()))?;
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != len * 2 {
        return Err(format!(
            "{what} must be {} hex digits, found `{text}`",
            len * 2
        ));
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| format!("{what} `{text}` is not hex"))
}
