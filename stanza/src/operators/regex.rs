//! `regex_parser`: the named groups of a regex become fields.

use regex::{CaptureLocations, Regex};

use super::parser::ParserCore;
use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::value::{Map, Value};

pub(crate) struct RegexParser {
    core: ParserCore,
    regex: Regex,
    /// Each capture group's name, by group index (`None` for unnamed groups).
    names: Vec<Option<String>>,
    /// Reused for every line, so matching allocates nothing.
    locations: CaptureLocations,
}

impl RegexParser {
    pub(crate) fn from_config(f: &mut Fields) -> Option<RegexParser> {
        let pattern = f.required_string("regex");
        // The cache only saves repeated matching of identical lines; results are the same
        // without it, so a configured size is accepted and has no effect.
        if let Some(cache) = f.block("cache") {
            let mut cache = cache;
            cache.u64("size", 0);
            cache.finish(&mut f.errors);
        }
        let core = ParserCore::from_config(f);
        let regex = match Regex::new(&pattern?) {
            Ok(re) => re,
            Err(e) => {
                f.error("regex", format!("invalid regex: {e}"));
                return None;
            }
        };
        let names: Vec<Option<String>> = regex
            .capture_names()
            .map(|n| n.map(str::to_string))
            .collect();
        if names.iter().all(Option::is_none) {
            f.error(
                "regex",
                "the regex has no named capture groups (`(?P<name>...)`)",
            );
            return None;
        }
        Some(RegexParser {
            core: core?,
            locations: regex.capture_locations(),
            regex,
            names,
        })
    }
}

impl Transform for RegexParser {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        let input = self.core.input(entry)?;
        let text = input
            .as_text()
            .ok_or_else(|| format!("type {} cannot be parsed as a regex", input.kind()))?;
        self.regex
            .captures_read(&mut self.locations, text)
            .ok_or("regex pattern does not match")?;
        let mut map = Map::new();
        for (i, name) in self.names.iter().enumerate() {
            // A named group that took no part in the match is an empty string, as Go's
            // FindStringSubmatch gives stanza.
            if let Some(name) = name {
                let group = self.locations.get(i).map_or("", |(a, b)| &text[a..b]);
                map.insert(name.clone(), Value::String(group.to_string()));
            }
        }
        self.core.finish(entry, Value::Map(map))?;
        Ok(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn named_groups_become_attributes() {
        let mut p = pipeline(
            json!([{"type": "regex_parser", "regex": "^(?P<time>\\d{4}-\\d{2}-\\d{2}) (?P<sev>[A-Z]+) (?P<msg>.*)$"}]),
        );
        let out = run(&mut p, "2023-01-02 ERROR disk full");
        assert_eq!(attr(&out[0], "sev"), "ERROR");
        assert_eq!(attr(&out[0], "msg"), "disk full");
        assert_eq!(out[0].body, "2023-01-02 ERROR disk full".into());
    }

    #[test]
    fn embedded_timestamp_and_severity_blocks_run_after_the_parse() {
        let mut p = pipeline(json!([{
            "type": "regex_parser",
            "regex": "^(?P<time>[^ ]+ [^ ]+) (?P<sev>[a-z]+)",
            "timestamp": {"parse_from": "attributes.time", "layout": "%Y-%m-%d %H:%M:%S", "location": "UTC"},
            "severity": {"parse_from": "attributes.sev"}
        }]));
        let out = run(&mut p, "2024-05-06 07:08:09 warn hi");
        assert_eq!(out[0].timestamp, Some(1_714_979_289_000_000_000));
        assert_eq!(out[0].severity, crate::entry::Severity::WARN);
        assert_eq!(out[0].severity_text, "warn");
    }

    #[test]
    fn an_optional_group_that_did_not_match_is_empty() {
        let mut p = pipeline(json!([{"type": "regex_parser", "regex": "^(?P<a>a)(?P<b>b)?$"}]));
        assert_eq!(attr(&run(&mut p, "a")[0], "b"), "");
    }

    #[test]
    fn parse_to_body_replaces_the_body() {
        let mut p =
            pipeline(json!([{"type": "regex_parser", "regex": "(?P<a>x)", "parse_to": "body"}]));
        let out = run(&mut p, "x");
        assert_eq!(out[0].body.as_map().unwrap()["a"], "x".into());
    }

    #[test]
    fn bad_regexes_are_config_errors() {
        let errors = config_errors(json!([{"type": "regex_parser", "regex": "(?P<a>x"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].regex");
        let errors = config_errors(json!([{"type": "regex_parser", "regex": "x+"}]));
        assert!(errors[0].message.contains("named capture"));
        let errors = config_errors(json!([{"type": "regex_parser"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].regex");
    }
}
