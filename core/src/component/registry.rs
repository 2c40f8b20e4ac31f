//! The one list of component factories, built-in and plugin alike.

use std::marker::PhantomData;
use std::sync::Arc;

use super::factory::{
    BuildError, Built, ComponentConfig, ConnectorFactory, CreateSettings, DynFactory,
    ExporterFactory, ExtensionFactory, FieldError, Kind, ParsedConfig, ProcessorFactory,
    ReceiverFactory, Stability,
};
use crate::batch::Signal;

/// Every factory Weir knows, looked up by kind and type name or alias.
#[derive(Clone, Default)]
pub struct Registry {
    factories: Vec<Arc<dyn DynFactory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an erased factory (plugins, tests).
    pub fn register(&mut self, factory: Arc<dyn DynFactory>) {
        self.factories.push(factory);
    }

    /// Adds a receiver type.
    pub fn receiver<F: ReceiverFactory>(&mut self, factory: F) -> &mut Self {
        self.register(Arc::new(Typed::<F, ReceiverMarker>(factory, PhantomData)));
        self
    }

    /// Adds a processor type.
    pub fn processor<F: ProcessorFactory>(&mut self, factory: F) -> &mut Self {
        self.register(Arc::new(Typed::<F, ProcessorMarker>(factory, PhantomData)));
        self
    }

    /// Adds an exporter type.
    pub fn exporter<F: ExporterFactory>(&mut self, factory: F) -> &mut Self {
        self.register(Arc::new(Typed::<F, ExporterMarker>(factory, PhantomData)));
        self
    }

    /// Adds a connector type.
    pub fn connector<F: ConnectorFactory>(&mut self, factory: F) -> &mut Self {
        self.register(Arc::new(Typed::<F, ConnectorMarker>(factory, PhantomData)));
        self
    }

    /// Adds an extension type.
    pub fn extension<F: ExtensionFactory>(&mut self, factory: F) -> &mut Self {
        self.register(Arc::new(Typed::<F, ExtensionMarker>(factory, PhantomData)));
        self
    }

    /// The factory for `kind` whose type name or alias is `ty`.
    pub fn get(&self, kind: Kind, ty: &str) -> Option<&Arc<dyn DynFactory>> {
        self.factories
            .iter()
            .find(|f| f.kind() == kind && (f.type_name() == ty || f.aliases().contains(&ty)))
    }

    /// All factories, in registration order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn DynFactory>> {
        self.factories.iter()
    }

    /// Every type name and alias of `kind` (for "did you mean").
    pub fn names(&self, kind: Kind) -> Vec<String> {
        let mut names = Vec::new();
        for f in self.factories.iter().filter(|f| f.kind() == kind) {
            names.push(f.type_name().to_string());
            names.extend(f.aliases().iter().map(|a| a.to_string()));
        }
        names
    }
}

struct ReceiverMarker;
struct ProcessorMarker;
struct ExporterMarker;
struct ExtensionMarker;
struct ConnectorMarker;

/// A typed factory seen through [`DynFactory`].
struct Typed<F, M>(F, PhantomData<fn() -> M>);

fn schema_of<C: ComponentConfig>() -> schemars::Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<C>()
}

fn default_of<C: ComponentConfig>() -> serde_json::Value {
    serde_json::to_value(C::default()).unwrap_or(serde_json::Value::Null)
}

/// Deserializes a component config and runs `validate`. serde stops at the first bad field, so
/// each bad field found is taken out and the rest parsed again, until every problem of the
/// body is known (bounded, in case a removal does not help).
pub(crate) fn parse_config<C: ComponentConfig>(
    value: serde_json::Value,
) -> Result<ParsedConfig, Vec<FieldError>> {
    let mut value = match value {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other,
    };
    let mut errors = Vec::new();
    for _ in 0..MAX_FIELD_ERRORS {
        match serde_path_to_error::deserialize::<_, C>(value.clone()) {
            Ok(config) if errors.is_empty() => return validated(config),
            Ok(_) => return Err(errors),
            Err(e) => {
                let error = field_error(&e);
                if missing_because_removed(&error, &errors) {
                    // Its own bad value is already reported; "missing" would only mislead.
                    break;
                }
                let removed = remove_field(&mut value, &error);
                errors.push(error);
                if !removed {
                    break;
                }
            }
        }
    }
    Err(errors)
}

/// Whether `error` says a field is missing that was taken out after an earlier error about it.
fn missing_because_removed(error: &FieldError, earlier: &[FieldError]) -> bool {
    let Some(name) = error
        .message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
    else {
        return false;
    };
    earlier.iter().any(|e| {
        e.path.len() == error.path.len() + 1
            && e.path.starts_with(&error.path)
            && e.path.last().is_some_and(|last| last == name)
    })
}

/// How many bad fields of one component are reported before giving up.
const MAX_FIELD_ERRORS: usize = 32;

fn validated<C: ComponentConfig>(config: C) -> Result<ParsedConfig, Vec<FieldError>> {
    config.validate_fields()?;
    Ok(ParsedConfig(Arc::new(config)))
}

fn field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path: Vec<String> = e
        .path()
        .iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
            serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect();
    let message = e.inner().to_string();
    FieldError {
        expected: expected_fields(&message),
        path,
        message,
    }
}

/// Takes the field an error is about out of `value`, so parsing can go on to the next
/// problem. An unknown field's error path ends at its parent; its name is in the message.
fn remove_field(value: &mut serde_json::Value, error: &FieldError) -> bool {
    let unknown = error
        .message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string);
    let mut path: Vec<&str> = error.path.iter().map(String::as_str).collect();
    if let Some(name) = unknown.as_deref()
        && path.last() != Some(&name)
    {
        path.push(name);
    }
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for key in parents {
        node = match node {
            serde_json::Value::Object(map) => match map.get_mut(*key) {
                Some(next) => next,
                None => return false,
            },
            serde_json::Value::Array(items) => {
                match key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match node {
        serde_json::Value::Object(map) => map.remove(*last).is_some(),
        _ => false,
    }
}

/// The names serde lists after "expected" in an unknown-field message.
fn expected_fields(message: &str) -> Vec<String> {
    let Some(rest) = message.split_once("expected").map(|(_, rest)| rest) else {
        return Vec::new();
    };
    rest.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn typed_config<C: ComponentConfig>(config: &ParsedConfig) -> Result<&C, BuildError> {
    config
        .0
        .downcast_ref::<C>()
        .ok_or_else(|| BuildError("config was parsed by another factory".to_string()))
}

macro_rules! erase {
    ($bound:ident, $marker:ident, $kind:expr, $variant:ident, $signals:expr $(, $extra:item)*) => {
        impl<F: $bound> DynFactory for Typed<F, $marker> {
            fn kind(&self) -> Kind {
                $kind
            }
            fn type_name(&self) -> &str {
                F::TYPE
            }
            fn aliases(&self) -> &[&'static str] {
                F::ALIASES
            }
            fn signals(&self) -> &[Signal] {
                $signals
            }
            fn stability(&self) -> Stability {
                F::STABILITY
            }
            fn schema(&self) -> schemars::Schema {
                schema_of::<F::Config>()
            }
            fn default_config(&self) -> serde_json::Value {
                default_of::<F::Config>()
            }
            fn parse(&self, value: serde_json::Value) -> Result<ParsedConfig, Vec<FieldError>> {
                parse_config::<F::Config>(value)
            }
            fn build(
                &self,
                config: &ParsedConfig,
                settings: &CreateSettings,
            ) -> Result<Built, BuildError> {
                Ok(Built::$variant(
                    self.0
                        .create(typed_config::<F::Config>(config)?, settings)?,
                ))
            }
            $($extra)*
        }
    };
}

erase!(
    ReceiverFactory,
    ReceiverMarker,
    Kind::Receiver,
    Receiver,
    F::SIGNALS
);
erase!(
    ProcessorFactory,
    ProcessorMarker,
    Kind::Processor,
    Processor,
    F::SIGNALS
);
erase!(
    ExporterFactory,
    ExporterMarker,
    Kind::Exporter,
    Exporter,
    F::SIGNALS,
    fn adjust_helper(
        &self,
        config: &ParsedConfig,
        helper: &mut crate::exporter::ExporterHelperConfig,
        given: &serde_json::Value,
    ) -> Result<(), Vec<FieldError>> {
        match typed_config::<F::Config>(config) {
            Ok(c) => self.0.adjust_helper(c, helper, given),
            Err(_) => Ok(()),
        }
    }
);
erase!(
    ConnectorFactory,
    ConnectorMarker,
    Kind::Connector,
    Connector,
    &[],
    fn connector_pairs(&self) -> &[(Signal, Signal)] {
        F::PAIRS
    },
    fn named_pipelines(&self, config: &ParsedConfig) -> Vec<(String, String)> {
        typed_config::<F::Config>(config)
            .map(|c| self.0.named_pipelines(c))
            .unwrap_or_default()
    }
);
erase!(
    ExtensionFactory,
    ExtensionMarker,
    Kind::Extension,
    Extension,
    &[],
    fn auth_sides(&self, config: &ParsedConfig) -> super::AuthSides {
        typed_config::<F::Config>(config)
            .map(|c| self.0.auth_sides(c))
            .unwrap_or_default()
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        /// A number.
        size: u32,
        /// A nested section.
        nested: Nested,
    }

    #[derive(Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct Nested {
        /// A flag.
        on: bool,
    }

    impl ComponentConfig for Sample {}

    #[test]
    fn every_bad_field_of_one_body_is_reported_not_just_the_first() {
        let value =
            serde_json::json!({"size": "big", "nested": {"on": 3, "of": true}, "colour": 1});
        let errors = parse_config::<Sample>(value).unwrap_err();
        let found: Vec<(String, String)> = errors
            .iter()
            .map(|e| {
                (
                    e.path.join("."),
                    e.message.split(',').next().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(errors.len(), 4, "{found:?}");
        assert!(
            found
                .iter()
                .any(|(p, m)| p == "size" && m.starts_with("invalid type: string")),
            "{found:?}"
        );
        assert!(found.iter().any(|(p, _)| p == "nested.on"), "{found:?}");
        assert!(
            found.iter().any(|(_, m)| m == "unknown field `of`"),
            "{found:?}"
        );
        assert!(
            found.iter().any(|(_, m)| m == "unknown field `colour`"),
            "{found:?}"
        );
    }

    #[test]
    fn unknown_field_message_yields_expected_names() {
        let names =
            expected_fields("unknown field `sned`, expected one of `send_batch_size`, `timeout`");
        assert_eq!(names, vec!["send_batch_size", "timeout"]);
        assert!(expected_fields("invalid type: string").is_empty());
    }
}
