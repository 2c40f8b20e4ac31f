//! The instrumentation scope of a sample, from its `otel_scope_*` labels as otelcol's
//! `getScopeID` reads them: `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url`,
//! and every other `otel_scope_<key>` label as scope attribute `<key>`. A sample with none of
//! them (or only empty ones) belongs to the receiver's own scope.

pub(super) const PREFIX: &str = "otel_scope_";

/// A scope as a sample's labels name it, borrowed from them.
#[derive(Debug, Default, PartialEq)]
pub(super) struct ScopeLabels<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub schema_url: &'a str,
    /// `(key without the prefix, value)`, in label order.
    pub attributes: Vec<(&'a str, &'a str)>,
}

impl<'a> ScopeLabels<'a> {
    pub(super) fn from_labels(labels: &[(&'a str, &'a str)]) -> ScopeLabels<'a> {
        let mut scope = ScopeLabels::default();
        for &(name, value) in labels {
            let Some(key) = name.strip_prefix(PREFIX) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match key {
                "name" => scope.name = value,
                "version" => scope.version = value,
                "schema_url" => scope.schema_url = value,
                _ => scope.attributes.push((key, value)),
            }
        }
        scope
    }

    /// The scope `otel_scope_info`'s labels describe: its name, version and schema URL (the
    /// other labels are that scope's attributes, kept with their names as written).
    pub(super) fn of_scope_info(labels: &[(&'a str, &'a str)]) -> ScopeLabels<'a> {
        let mut scope = ScopeLabels::default();
        for &(name, value) in labels {
            match name {
                "otel_scope_name" => scope.name = value,
                "otel_scope_version" => scope.version = value,
                "otel_scope_schema_url" => scope.schema_url = value,
                _ => {}
            }
        }
        scope
    }

    /// The receiver's own scope: no scope labels at all.
    pub(super) fn is_default(&self) -> bool {
        self.name.is_empty()
            && self.version.is_empty()
            && self.schema_url.is_empty()
            && self.attributes.is_empty()
    }

    pub(super) fn hash(&self) -> u64 {
        use super::hash::{set_hash, str_hash};
        let h = str_hash(
            str_hash(str_hash(1, self.name), self.version),
            self.schema_url,
        );
        h ^ set_hash(self.attributes.iter().copied())
    }
}
