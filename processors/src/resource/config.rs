//! Configuration of the `resource` processor: otelcol's `attributes` list, the same actions as
//! the `attributes` processor's (`key`, `pattern`, `action`, `value`, `from_attribute`,
//! `converted_type`), checked the same way and reported with their place (`attributes.1.key …`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_core::component::ComponentConfig;

use crate::attributes::ActionConfig;

/// Inserts, updates, deletes, hashes, extracts or converts resource attributes of every span,
/// metric and log batch, editing the encoded batch without decoding it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConfig {
    /// The actions, applied in order to the attributes of every resource (`insert`, `update`,
    /// `upsert`, `delete`, `hash`, `extract`, `convert`, with the fields and rules of the
    /// `attributes` processor's `actions`). At least one. A resource the request does not carry
    /// is edited as an empty one, so `insert` and `upsert` give it attributes.
    pub attributes: Vec<ActionConfig>,
}

impl ComponentConfig for ResourceConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.attributes.is_empty() {
            problems.push("attributes must list at least one action".to_string());
        }
        for (i, action) in self.attributes.iter().enumerate() {
            action.check(&format!("attributes.{i}"), &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
