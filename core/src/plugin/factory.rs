//! A plugin component type as the registry holds it: a [`DynFactory`] whose schema is the
//! plugin's, whose `parse` validates against that schema (with the path of the offending field)
//! before anything reaches the plugin, and whose `build` starts an instance on its own thread.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde_json::Value;

use super::adapters::{PluginExporter, PluginProcessor, PluginReceiver};
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
        let errors: Vec<FieldError> = self
            .validator
            .iter_errors(&value)
            .map(|error| FieldError {
                path: error
                    .instance_path()
                    .iter()
                    .map(|segment| segment.to_string())
                    .collect(),
                message: error.to_string(),
                expected: Vec::new(),
            })
            .collect();
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
