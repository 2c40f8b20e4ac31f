//! Typed factories for component authors, and the erased [`DynFactory`] the runtime holds.
//!
//! "Validate, then build": [`DynFactory::parse`] is pure (deserialize + `validate`), and
//! [`DynFactory::build`] creates the instance from an already-validated config.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{AuthSides, ComponentId, Connector, Exporter, Extension, Host, Processor, Receiver};
use crate::batch::Signal;

/// The kinds of component, as in otelcol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Takes telemetry in.
    Receiver,
    /// Changes telemetry in a pipeline.
    Processor,
    /// Sends telemetry out.
    Exporter,
    /// Exporter of one pipeline and receiver of another.
    Connector,
    /// Not in a pipeline: health, storage, auth.
    Extension,
}

impl Kind {
    /// The config section name in the singular (`receiver`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Receiver => "receiver",
            Kind::Processor => "processor",
            Kind::Exporter => "exporter",
            Kind::Connector => "connector",
            Kind::Extension => "extension",
        }
    }

    /// The top-level config section (`receivers`).
    pub fn section(self) -> &'static str {
        match self {
            Kind::Receiver => "receivers",
            Kind::Processor => "processors",
            Kind::Exporter => "exporters",
            Kind::Connector => "connectors",
            Kind::Extension => "extensions",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// otelcol's stability levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stability {
    /// Not ready for use.
    Development,
    /// Usable, may change.
    Alpha,
    /// Config and behaviour settled.
    Beta,
    /// Covered by compatibility guarantees.
    Stable,
}

impl Stability {
    /// Lower-case name, as `weir components` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Development => "development",
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::Stable => "stable",
        }
    }
}

/// A component's configuration struct. `Default` is the config of a component listed with no
/// body (`batch:`). Every field carries a doc comment: it becomes the schema description.
pub trait ComponentConfig:
    DeserializeOwned + Serialize + JsonSchema + Default + Send + Sync + 'static
{
    /// Checks what serde cannot (ranges, combinations). Pure; reports every problem found.
    fn validate(&self) -> Result<(), Vec<String>> {
        Ok(())
    }

    /// [`ComponentConfig::validate`], each problem with the path of the field it is about
    /// (so `weir validate` points at that field's line and column); by default, every problem
    /// of `validate` is about the component as a whole.
    fn validate_fields(&self) -> Result<(), Vec<FieldError>> {
        self.validate().map_err(|problems| {
            problems
                .into_iter()
                .map(|message| FieldError {
                    path: Vec::new(),
                    message,
                    expected: Vec::new(),
                })
                .collect()
        })
    }
}

/// What the runtime tells a factory about the instance it wants.
#[derive(Clone, Debug)]
pub struct CreateSettings {
    /// The component's id.
    pub id: ComponentId,
    /// For processors: the signal of the pipeline the instance serves.
    pub signal: Option<Signal>,
    /// For processors: the pipeline the instance serves (`traces/2`).
    pub pipeline: Option<String>,
    /// The started extensions (exporters find their authenticator here).
    pub host: Host,
}

/// A component that could not be created from a valid config.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// A problem with one field of a component's config, located by its path inside that config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Keys from the component's config root to the offending field.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
    /// For an unknown field: the field names that exist there (for "did you mean").
    pub expected: Vec<String>,
}

/// A parsed and validated config, opaque to the runtime; only its factory reads it.
#[derive(Clone)]
pub struct ParsedConfig(pub Arc<dyn Any + Send + Sync>);

impl fmt::Debug for ParsedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParsedConfig")
    }
}

/// A receiver type.
pub trait ReceiverFactory: Send + Sync + 'static {
    /// Its config.
    type Config: ComponentConfig;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Other accepted type names.
    const ALIASES: &'static [&'static str] = &[];
    /// Signals it can produce.
    const SIGNALS: &'static [Signal];
    /// Stability level.
    const STABILITY: Stability = Stability::Development;
    /// Creates the instance (no I/O: binding happens in `Receiver::start`).
    fn create(
        &self,
        config: &Self::Config,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Receiver>, BuildError>;
}

/// A processor type.
pub trait ProcessorFactory: Send + Sync + 'static {
    /// Its config.
    type Config: ComponentConfig;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Other accepted type names.
    const ALIASES: &'static [&'static str] = &[];
    /// Signals it can process.
    const SIGNALS: &'static [Signal];
    /// Stability level.
    const STABILITY: Stability = Stability::Development;
    /// Creates one instance for one pipeline.
    fn create(
        &self,
        config: &Self::Config,
        settings: &CreateSettings,
    ) -> Result<Box<dyn Processor>, BuildError>;
}

/// An exporter type. `sending_queue` and `retry_on_failure` are not part of `Config`: the
/// runtime takes them out of the exporter's YAML and applies them to every exporter.
pub trait ExporterFactory: Send + Sync + 'static {
    /// Its config.
    type Config: ComponentConfig;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Other accepted type names.
    const ALIASES: &'static [&'static str] = &[];
    /// Signals it can send.
    const SIGNALS: &'static [Signal];
    /// Stability level.
    const STABILITY: Stability = Stability::Development;
    /// Creates the instance, shared by every pipeline that lists it.
    fn create(
        &self,
        config: &Self::Config,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Exporter>, BuildError>;
    /// Settles the runtime's `sending_queue` and `retry_on_failure` for this exporter from
    /// its own config, for exporters whose otelcol config carries its own queue settings
    /// (`prometheusremotewrite`'s `remote_write_queue`) or other defaults. `helper` is as
    /// parsed, defaults filled in; `given` is what the YAML wrote under those two keys (an
    /// object), so that settings given in both places can be refused. Problems are located
    /// like the config's own.
    fn adjust_helper(
        &self,
        _config: &Self::Config,
        _helper: &mut crate::exporter::ExporterHelperConfig,
        _given: &serde_json::Value,
    ) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
}

/// A connector type.
pub trait ConnectorFactory: Send + Sync + 'static {
    /// Its config.
    type Config: ComponentConfig;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Other accepted type names.
    const ALIASES: &'static [&'static str] = &[];
    /// The signals it joins: (the signal of a pipeline exporting into it, the signal of a
    /// pipeline it feeds).
    const PAIRS: &'static [(Signal, Signal)];
    /// Stability level.
    const STABILITY: Stability = Stability::Development;
    /// Creates the instance, shared by every pipeline that lists it (no I/O).
    fn create(
        &self,
        config: &Self::Config,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Connector>, BuildError>;
    /// The pipelines `config` names (`routing`'s table), each with the dotted place in the
    /// config that names it (`table.0.pipelines.1`): the config loader refuses one the
    /// connector does not feed, at that place.
    fn named_pipelines(&self, _config: &Self::Config) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// An extension type.
pub trait ExtensionFactory: Send + Sync + 'static {
    /// Its config.
    type Config: ComponentConfig;
    /// Type name in YAML.
    const TYPE: &'static str;
    /// Other accepted type names.
    const ALIASES: &'static [&'static str] = &[];
    /// Stability level.
    const STABILITY: Stability = Stability::Development;
    /// Creates the instance (no I/O: that happens in `Extension::start`).
    fn create(
        &self,
        config: &Self::Config,
        settings: &CreateSettings,
    ) -> Result<Arc<dyn Extension>, BuildError>;
    /// Which sides of authentication an instance with `config` provides (none: not an
    /// authenticator). Lets the config loader refuse `auth: {authenticator: file_storage}`.
    fn auth_sides(&self, _config: &Self::Config) -> AuthSides {
        AuthSides::default()
    }
}

/// An instance made by a factory.
pub enum Built {
    /// A receiver.
    Receiver(Box<dyn Receiver>),
    /// A processor.
    Processor(Box<dyn Processor>),
    /// An exporter.
    Exporter(Arc<dyn Exporter>),
    /// An extension.
    Extension(Arc<dyn Extension>),
    /// A connector.
    Connector(Arc<dyn Connector>),
}

/// A factory with its types erased, as the registry holds it. Built-ins get this through the
/// blanket wrappers in [`super::Registry`]; plugins implement it in the loader.
pub trait DynFactory: Send + Sync + 'static {
    /// The kind it makes.
    fn kind(&self) -> Kind;
    /// Type name in YAML.
    fn type_name(&self) -> &str;
    /// Other accepted type names.
    fn aliases(&self) -> &[&'static str];
    /// Signals supported (for connectors, see [`DynFactory::connector_pairs`]).
    fn signals(&self) -> &[Signal];
    /// For connectors: the (upstream, downstream) signal pairs it joins.
    fn connector_pairs(&self) -> &[(Signal, Signal)] {
        &[]
    }
    /// For connectors: the pipelines `config` names, with where (see
    /// [`ConnectorFactory::named_pipelines`]).
    fn named_pipelines(&self, _config: &ParsedConfig) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Stability level.
    fn stability(&self) -> Stability;
    /// Where it comes from: `built-in`, or a plugin library's path and version.
    fn origin(&self) -> String {
        "built-in".to_string()
    }
    /// JSON Schema of the config.
    fn schema(&self) -> schemars::Schema;
    /// The config used when the YAML gives no body.
    fn default_config(&self) -> serde_json::Value;
    /// Deserializes (unknown fields are errors) and validates.
    fn parse(&self, value: serde_json::Value) -> Result<ParsedConfig, Vec<FieldError>>;
    /// Creates an instance from a config `parse` returned.
    fn build(&self, config: &ParsedConfig, settings: &CreateSettings) -> Result<Built, BuildError>;
    /// For extensions: which sides of authentication an instance with `config` provides.
    fn auth_sides(&self, _config: &ParsedConfig) -> AuthSides {
        AuthSides::default()
    }
    /// For exporters: see [`ExporterFactory::adjust_helper`].
    fn adjust_helper(
        &self,
        _config: &ParsedConfig,
        _helper: &mut crate::exporter::ExporterHelperConfig,
        _given: &serde_json::Value,
    ) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
}
