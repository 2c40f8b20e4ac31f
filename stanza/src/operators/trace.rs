//! `trace_parser`: the `trace:` block as an operator of its own.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::trace::TraceParser;

pub(crate) struct TraceOperator(TraceParser);

impl TraceOperator {
    pub(crate) fn from_config(f: &mut Fields) -> Option<TraceOperator> {
        Some(TraceOperator(TraceParser::from_config(f)))
    }
}

impl Transform for TraceOperator {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        self.0.apply(entry)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn hex_ids_become_the_trace_context() {
        let mut p = pipeline(json!([
            {"type": "key_value_parser"},
            {"type": "trace_parser"}
        ]));
        let out = run(
            &mut p,
            "trace_id=480140f3d770a5ae32f0a22b6a812cff span_id=92c3792d1d0c5a5b trace_flags=01",
        );
        assert_eq!(out[0].trace_id.len(), 16);
        assert_eq!(out[0].trace_id[0], 0x48);
        assert_eq!(out[0].span_id[7], 0x5b);
        assert_eq!(out[0].trace_flags, 1);
    }

    #[test]
    fn the_block_reads_other_fields_and_refuses_bad_ids() {
        let mut p = pipeline(json!([{
            "type": "regex_parser", "regex": "^(?P<t>\\S+)",
            "trace": {"trace_id": {"parse_from": "attributes.t"}},
            "on_error": "drop_quiet"
        }]));
        assert_eq!(
            run(&mut p, "480140f3d770a5ae32f0a22b6a812cff x")[0].trace_id[15],
            0xff
        );
        assert!(run(&mut p, "nothex x").is_empty());
    }
}
