//! `severity_parser`: the `severity:` block as an operator of its own.

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::severity::SeverityParser;

pub(crate) struct SeverityOperator(SeverityParser);

impl SeverityOperator {
    pub(crate) fn from_config(f: &mut Fields) -> Option<SeverityOperator> {
        SeverityParser::from_config(f).map(SeverityOperator)
    }
}

impl Transform for SeverityOperator {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        self.0.apply(entry)?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::entry::Severity;
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn sets_the_severity_from_the_body() {
        let mut p = pipeline(
            json!([{"type": "severity_parser", "parse_from": "body", "mapping": {"fatal": "boom"}}]),
        );
        assert_eq!(run(&mut p, "boom")[0].severity, Severity::FATAL);
        assert_eq!(run(&mut p, "INFO")[0].severity, Severity::INFO);
    }
}
