//! The `request` context's conditions: otelcol's deliberately small grammar,
//! `request["<name>"] == "<value>"` or `!=`, compared with the client metadata the receiver
//! kept (HTTP headers or gRPC metadata, names matched without regard to case).

use weir_core::batch::BatchMeta;

/// One compiled `request[...]` comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestCondition {
    /// The header or metadata name, lower-cased.
    name: String,
    value: String,
    equal: bool,
}

impl RequestCondition {
    /// Reads `request["name"] == "value"` (or `!=`); the error says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<RequestCondition, String> {
        let shape = r#"must have the form request["<name>"] == "<value>" (or !=)"#;
        let (left, right, equal) = match (text.find("=="), text.find("!=")) {
            (Some(_), Some(_)) => return Err(format!("has two comparators; it {shape}")),
            (Some(at), None) => (&text[..at], &text[at + 2..], true),
            (None, Some(at)) => (&text[..at], &text[at + 2..], false),
            (None, None) => return Err(format!("has no `==` or `!=`; it {shape}")),
        };
        if right.contains("==") || right.contains("!=") {
            return Err(format!("has two comparators; it {shape}"));
        }
        let name = left
            .trim()
            .strip_prefix("request[\"")
            .and_then(|rest| rest.strip_suffix("\"]"))
            .filter(|name| !name.is_empty() && !name.contains('"'))
            .ok_or_else(|| format!("`{}` {shape}", left.trim()))?;
        let value = right
            .trim()
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .ok_or_else(|| {
                format!(
                    "compares with `{}`, not a quoted string; it {shape}",
                    right.trim()
                )
            })?;
        Ok(RequestCondition {
            name: name.to_ascii_lowercase(),
            value: value.to_string(),
            equal,
        })
    }

    /// Whether any value the client sent under the name compares as written (false when it
    /// sent none).
    pub(crate) fn holds(&self, meta: &BatchMeta) -> bool {
        meta.client
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(&self.name))
            .any(|(_, value)| (*value == self.value) == self.equal)
    }
}

#[cfg(test)]
mod tests {
    use weir_core::batch::ClientInfo;

    use super::*;

    fn meta(headers: &[(&str, &str)]) -> BatchMeta {
        BatchMeta {
            client: ClientInfo {
                peer: None,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            },
            ..BatchMeta::default()
        }
    }

    #[test]
    fn equality_matches_any_value_of_the_header_whatever_its_case() {
        let c = RequestCondition::parse(r#"request["X-Tenant"] == "acme""#).unwrap();
        assert!(c.holds(&meta(&[("x-tenant", "ecorp"), ("x-tenant", "acme")])));
        assert!(!c.holds(&meta(&[("x-tenant", "ecorp")])));
        assert!(!c.holds(&meta(&[])));
    }

    #[test]
    fn inequality_needs_the_header_present() {
        let c = RequestCondition::parse(r#" request["x-tenant"]!="acme" "#).unwrap();
        assert!(c.holds(&meta(&[("X-Tenant", "ecorp")])));
        assert!(!c.holds(&meta(&[("x-tenant", "acme")])));
        assert!(!c.holds(&meta(&[])));
    }

    #[test]
    fn other_shapes_are_refused_with_the_expected_form() {
        for bad in [
            r#"request["a"] < "b""#,
            r#"request["a"] == "b" == "c""#,
            r#"request[a] == "b""#,
            r#"request["a"] == b"#,
            r#"attributes["a"] == "b""#,
        ] {
            let e = RequestCondition::parse(bad).unwrap_err();
            assert!(e.contains(r#"request["<name>"]"#), "{bad}: {e}");
        }
    }
}
