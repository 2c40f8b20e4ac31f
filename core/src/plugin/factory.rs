//! A plugin component type as the registry holds it: a [`DynFactory`] whose schema is the
//! plugin's, whose `parse` validates against that schema (with the path of the offending field)
//! before anything reaches the plugin, and whose `build` starts an instance on its own thread.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::adapters::{PluginExporter, PluginProcessor, PluginReceiver};
use super::connector::PluginConnector;
use super::driver::{Driver, SPIN};
use super::instance::{HostContext, Instance};
use super::library::{ComponentInfo, LibraryInfo};
use crate::batch::Signal;
use crate::component::{
    BuildError, Built, CreateSettings, DynFactory, FieldError, Kind, ParsedConfig, Stability,
};

/// A config that passed the plugin's schema: the JSON handed to `create`.
struct PluginConfig(Value);

/// One component type of a loaded plugin library.
pub struct PluginFactory {
    library: Arc<LibraryInfo>,
    info: ComponentInfo,
    validator: jsonschema::Validator,
    defaults: Value,
}

impl std::fmt::Debug for PluginFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginFactory")
            .field("kind", &self.info.kind)
            .field("type", &self.info.type_name)
            .field("library", &self.library.path)
            .finish()
    }
}

impl PluginFactory {
    pub(crate) fn new(library: Arc<LibraryInfo>, info: ComponentInfo) -> Result<Self, String> {
        let validator = jsonschema::validator_for(&info.schema)
            .map_err(|e| format!("`{}`: invalid config schema: {e}", info.type_name))?;
        let defaults = defaults_of(&info.schema);
        Ok(PluginFactory {
            library,
            info,
            validator,
            defaults,
        })
    }

    /// The library the type comes from.
    pub fn library(&self) -> &LibraryInfo {
        &self.library
    }

    fn config_text(config: &ParsedConfig) -> Result<String, BuildError> {
        config
            .0
            .downcast_ref::<PluginConfig>()
            .map(|c| c.0.to_string())
            .ok_or_else(|| BuildError("config was parsed by another factory".into()))
    }

    /// [`DynFactory::build`] with another spin budget for the hand-off between the caller and
    /// the instance's thread (`Duration::ZERO`: always sleep at once). For the crossing
    /// benchmark, which compares them; the runtime always uses the default.
    #[doc(hidden)]
    pub fn build_with_spin(
        &self,
        config: &ParsedConfig,
        settings: &CreateSettings,
        spin: Duration,
    ) -> Result<Built, BuildError> {
        let ctx = HostContext::new(
            settings.id.clone(),
            self.info.kind,
            settings.signal,
            &self.info.pairs,
            &self.info.type_name,
            &self.library.name,
        );
        let driver = Driver::spawn(
            self.info.raw,
            ctx,
            self.info.kind,
            Self::config_text(config)?,
            spin,
        )
        .map_err(BuildError)?;
        Ok(match self.info.kind {
            Kind::Processor => Built::Processor(Box::new(PluginProcessor { driver })),
            Kind::Exporter => Built::Exporter(Arc::new(PluginExporter {
                driver,
                next_token: AtomicU64::new(1),
            })),
            Kind::Connector => Built::Connector(Arc::new(PluginConnector::new(driver))),
            _ => Built::Receiver(Box::new(PluginReceiver { driver })),
        })
    }

    /// Creates an instance on the calling thread, which then owns it (for benchmarks and for
    /// tests that measure the crossing itself; the runtime uses [`DynFactory::build`], which
    /// gives each instance a thread).
    pub fn instance_on_this_thread(
        &self,
        config: &ParsedConfig,
        settings: &CreateSettings,
    ) -> Result<Instance, BuildError> {
        let ctx = HostContext::new(
            settings.id.clone(),
            self.info.kind,
            settings.signal,
            &self.info.pairs,
            &self.info.type_name,
            &self.library.name,
        );
        let mut instance = Instance::create(self.info.raw, ctx, &Self::config_text(config)?)
            .map_err(BuildError)?;
        if self.info.kind != Kind::Receiver {
            let status = instance.start();
            if status != weir_plugin_abi::WEIR_OK {
                return Err(BuildError(format!(
                    "start answered {}",
                    weir_plugin_abi::status_name(status)
                )));
            }
        }
        Ok(instance)
    }
}

/// What `value` breaks of `schema`, with the path of each offending field. A property the
/// schema does not allow (`additionalProperties: false`) becomes an "unknown field" error with
/// the names the schema does define there, so the config loader can say "did you mean", as it
/// does for built-in components.
fn field_errors(
    validator: &jsonschema::Validator,
    schema: &Value,
    value: &Value,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for error in validator.iter_errors(value) {
        let path: Vec<String> = error
            .instance_path()
            .iter()
            .map(|segment| segment.to_string())
            .collect();
        if let ValidationErrorKind::AdditionalProperties { unexpected } = error.kind() {
            let expected = properties_at(schema, error.schema_path().as_str());
            for name in unexpected {
                let mut field = path.clone();
                field.push(name.clone());
                errors.push(FieldError {
                    path: field,
                    message: format!("unknown field `{name}`"),
                    expected: expected.clone(),
                });
            }
            continue;
        }
        errors.push(FieldError {
            path,
            message: error.to_string(),
            expected: Vec::new(),
        });
    }
    errors
}

/// The property names of the subschema that holds the keyword at `keyword_path` (a JSON
/// pointer into `root` such as `/properties/tls/$ref/additionalProperties`), following local
/// `$ref`s on the way.
fn properties_at(root: &Value, keyword_path: &str) -> Vec<String> {
    let mut segments: Vec<String> = keyword_path
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    segments.pop();
    let mut node = root;
    for segment in &segments {
        let next = if segment == "$ref" {
            node.get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|pointer| root.pointer(pointer))
        } else {
            match node {
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                other => other.get(segment.as_str()),
            }
        };
        match next {
            Some(next) => node = next,
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// The config of a component listed with no body: each top-level property's `default`.
fn defaults_of(schema: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            if let Some(default) = property.get("default") {
                out.insert(key.clone(), default.clone());
            }
        }
    }
    Value::Object(out)
}

impl DynFactory for PluginFactory {
    fn kind(&self) -> Kind {
        self.info.kind
    }

    fn type_name(&self) -> &str {
        &self.info.type_name
    }

    fn aliases(&self) -> &[&'static str] {
        &[]
    }

    fn signals(&self) -> &[Signal] {
        &self.info.signals
    }

    fn connector_pairs(&self) -> &[(Signal, Signal)] {
        &self.info.pairs
    }

    fn stability(&self) -> Stability {
        Stability::Development
    }

    fn origin(&self) -> String {
        format!(
            "plugin {} ({} {}, {}, ABI {}.{})",
            self.library.path.display(),
            self.library.name,
            self.library.version,
            self.library.sdk_version,
            self.library.abi.0,
            self.library.abi.1
        )
    }

    fn schema(&self) -> schemars::Schema {
        schemars::Schema::try_from(self.info.schema.clone()).unwrap_or_default()
    }

    fn default_config(&self) -> Value {
        self.defaults.clone()
    }

    fn parse(&self, value: Value) -> Result<ParsedConfig, Vec<FieldError>> {
        let value = match value {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let errors = field_errors(&self.validator, &self.info.schema, &value);
        if errors.is_empty() {
            Ok(ParsedConfig(Arc::new(PluginConfig(value))))
        } else {
            Err(errors)
        }
    }

    fn build(&self, config: &ParsedConfig, settings: &CreateSettings) -> Result<Built, BuildError> {
        self.build_with_spin(config, settings, SPIN)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A schema shaped as schemars writes one: nested structs under `$defs`, behind `$ref`.
    fn schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "mode": {"type": "string"},
                "after": {"type": "integer"},
                "tls": {"$ref": "#/$defs/Tls"}
            },
            "$defs": {
                "Tls": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {"insecure": {"type": "boolean"}, "ca_file": {"type": "string"}}
                }
            }
        })
    }

    fn errors(value: Value) -> Vec<FieldError> {
        let schema = schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        field_errors(&validator, &schema, &value)
    }

    #[test]
    fn an_unknown_top_level_field_lists_the_known_ones() {
        let errors = errors(json!({"mdoe": "pass", "after": 1}));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, vec!["mdoe"]);
        assert_eq!(errors[0].message, "unknown field `mdoe`");
        let mut expected = errors[0].expected.clone();
        expected.sort();
        assert_eq!(expected, vec!["after", "mode", "tls"]);
    }

    #[test]
    fn an_unknown_nested_field_behind_a_ref_lists_the_nested_names() {
        let errors = errors(json!({"tls": {"insecur": true}, "after": "x"}));
        let unknown = errors
            .iter()
            .find(|e| e.message.starts_with("unknown field"))
            .unwrap_or_else(|| panic!("{errors:?}"));
        assert_eq!(unknown.path, vec!["tls", "insecur"]);
        let mut expected = unknown.expected.clone();
        expected.sort();
        assert_eq!(expected, vec!["ca_file", "insecure"]);
        let other = errors
            .iter()
            .find(|e| e.path == vec!["after"])
            .unwrap_or_else(|| panic!("{errors:?}"));
        assert!(other.expected.is_empty());
    }

    #[test]
    fn several_unknown_fields_are_each_reported() {
        let mut paths: Vec<String> = errors(json!({"a": 1, "b": 2}))
            .into_iter()
            .map(|e| e.path.join("."))
            .collect();
        paths.sort();
        assert_eq!(paths, vec!["a", "b"]);
    }
}
