//! `time_parser`: the `timestamp:` block as an operator of its own.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::time::TimeParser;

pub(crate) struct TimeOperator(TimeParser);

impl TimeOperator {
    pub(crate) fn from_config(f: &mut Fields) -> Option<TimeOperator> {
        TimeParser::from_config(f).map(TimeOperator)
    }
}

impl Transform for TimeOperator {
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
    fn sets_the_timestamp_from_a_field() {
        let mut p = pipeline(json!([
            {"type": "regex_parser", "regex": "^(?P<t>\\d+)"},
            {"type": "time_parser", "parse_from": "attributes.t", "layout_type": "epoch", "layout": "s"}
        ]));
        assert_eq!(
            run(&mut p, "1700000000 x")[0].timestamp,
            Some(1_700_000_000_000_000_000)
        );
    }
}
