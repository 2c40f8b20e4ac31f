//! What every parser shares (stanza's `ParserConfig`): where to read (`parse_from`), where to
//! write (`parse_to`), an optional `body` to promote, and the embedded `timestamp:`,
//! `severity:`, `trace:` and `scope_name:` blocks, run after the parse.

use super::scope_name::ScopeNameParser;
use crate::config::Fields;
use crate::entry::Entry;
use crate::field::Field;
use crate::severity::SeverityParser;
use crate::time::TimeParser;
use crate::trace::TraceParser;
use crate::value::Value;

pub(crate) struct ParserCore {
    parse_from: Field,
    parse_to: Field,
    body: Option<Field>,
    timestamp: Option<TimeParser>,
    severity: Option<SeverityParser>,
    trace: Option<TraceParser>,
    scope_name: Option<ScopeNameParser>,
}

impl ParserCore {
    pub(crate) fn from_config(f: &mut Fields) -> Option<ParserCore> {
        let parse_from = f.field_or("parse_from", Field::body());
        let parse_to = f.field_or("parse_to", Field::attributes());
        let body = f.field("body");
        let mut failed = false;
        let timestamp = f.block("timestamp").and_then(|mut block| {
            let t = TimeParser::from_config(&mut block);
            failed |= t.is_none();
            block.finish(&mut f.errors);
            t
        });
        let severity = f.block("severity").and_then(|mut block| {
            let s = SeverityParser::from_config(&mut block);
            failed |= s.is_none();
            block.finish(&mut f.errors);
            s
        });
        let trace = f.block("trace").map(|mut block| {
            let t = TraceParser::from_config(&mut block);
            block.finish(&mut f.errors);
            t
        });
        let scope_name = f.block("scope_name").and_then(|mut block| {
            let p = ScopeNameParser::from_config(&mut block);
            failed |= p.is_none();
            block.finish(&mut f.errors);
            p
        });
        (!failed).then_some(ParserCore {
            parse_from,
            parse_to,
            body,
            timestamp,
            severity,
            trace,
            scope_name,
        })
    }

    /// The value to parse.
    pub(crate) fn input<'e>(&self, entry: &'e Entry) -> Result<&'e Value, String> {
        self.parse_from.get(entry).ok_or_else(|| {
            format!(
                "entry is missing the expected parse_from field `{}`",
                self.parse_from
            )
        })
    }

    /// Writes what was parsed, then runs the timestamp and severity blocks.
    pub(crate) fn finish(&self, entry: &mut Entry, parsed: Value) -> Result<(), String> {
        self.parse_to.set(entry, parsed)?;
        if let Some(body) = &self.body
            && let Some(v) = body.get(entry)
        {
            entry.body = v.clone();
        }
        self.blocks(entry)
    }

    /// The timestamp and severity blocks alone.
    pub(crate) fn blocks(&self, entry: &mut Entry) -> Result<(), String> {
        let time = self.timestamp.as_ref().map(|t| t.apply(entry));
        let severity = self.severity.as_ref().map(|s| s.apply(entry));
        let trace = self.trace.as_ref().map(|t| t.apply(entry));
        let scope = self.scope_name.as_ref().map(|s| s.apply(entry));
        // All run even if one fails, as in stanza; the first failure is reported.
        time.unwrap_or(Ok(()))?;
        severity.unwrap_or(Ok(()))?;
        trace.unwrap_or(Ok(()))?;
        scope.unwrap_or(Ok(()))
    }
}
