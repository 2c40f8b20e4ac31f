//! `relabel_configs` / `metric_relabel_configs` entries as Prometheus's YAML spells them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One relabelling step. Absent fields take Prometheus's defaults; a field given explicitly,
/// even as an empty string, is used as given (Prometheus does the same, so `separator: ""`
/// joins without a separator).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` into the value `regex` is matched
    /// against; a missing label contributes an empty string.
    pub source_labels: Option<Vec<String>>,
    /// What joins the source labels' values. Default `;`.
    pub separator: Option<String>,
    /// The label `replace`, `lowercase`, `uppercase` and `hashmod` write, and `keepequal` /
    /// `dropequal` compare with. `replace` expands `$1`, `${1}` and `${name}` in it.
    pub target_label: Option<String>,
    /// The regular expression (RE2 syntax), anchored at both ends as Prometheus anchors it.
    /// Default `(.*)`.
    pub regex: Option<String>,
    /// The modulus `hashmod` takes of the hash of the joined value.
    pub modulus: Option<u64>,
    /// What `replace` writes and what `labelmap` renames to, with `$1`, `${1}` and `${name}`
    /// expanded from the match. Default `$1`.
    pub replacement: Option<String>,
    /// What to do; default `replace`. Case does not matter, as in Prometheus.
    pub action: Action,
}

/// A relabelling action.
// Deserialized by hand (any case, as Prometheus reads it); the schema lists the lower-case
// names Prometheus's documentation uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Write the expanded `replacement` to the expanded `target_label` when `regex` matches.
    #[default]
    Replace,
    /// Drop the label set unless `regex` matches the joined source values.
    Keep,
    /// Drop the label set when `regex` matches the joined source values.
    Drop,
    /// Drop the label set unless the joined source values equal `target_label`'s value.
    KeepEqual,
    /// Drop the label set when the joined source values equal `target_label`'s value.
    DropEqual,
    /// Write `md5(joined) mod modulus` to `target_label`.
    HashMod,
    /// Copy every label whose name matches `regex` to the name `replacement` expands to.
    LabelMap,
    /// Remove every label whose name matches `regex`.
    LabelDrop,
    /// Remove every label whose name does not match `regex`.
    LabelKeep,
    /// Write the joined source values, lower-cased, to `target_label`.
    Lowercase,
    /// Write the joined source values, upper-cased, to `target_label`.
    Uppercase,
}

impl Action {
    /// The name Prometheus's YAML uses.
    pub fn name(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
        let s = String::deserialize(d)?;
        let lower = s.to_lowercase();
        Action::ALL
            .into_iter()
            .find(|a| a.name() == lower)
            .ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                serde::de::Error::custom(format!(
                    "unknown relabel action `{s}`, expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::RelabelConfig;

    #[test]
    fn the_schema_lists_the_fields_and_the_action_names() {
        let schema = serde_json::to_string(&schemars::schema_for!(RelabelConfig)).unwrap();
        for word in [
            "source_labels",
            "target_label",
            "modulus",
            "\"keepequal\"",
            "\"labelmap\"",
        ] {
            assert!(schema.contains(word), "{word} missing from {schema}");
        }
    }

    #[test]
    fn a_config_serializes_with_the_names_it_is_read_by() {
        let config = RelabelConfig {
            action: super::Action::KeepEqual,
            target_label: Some("port".into()),
            ..RelabelConfig::default()
        };
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains("\"action\":\"keepequal\""), "{json}");
        assert_eq!(
            serde_json::from_str::<RelabelConfig>(&json).unwrap(),
            config
        );
    }
}
