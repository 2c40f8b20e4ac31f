//! The component model: five kinds as in otelcol, a typed factory per component type for
//! authors, an erased form for the runtime, and the one [`Registry`] built-ins and plugins share.

mod auth;
mod connector;
mod consumer;
mod exporter;
mod extension;
mod factory;
mod id;
mod processor;
mod receiver;
mod registry;

pub use auth::{AuthConfig, AuthError, AuthSides, ClientAuthenticator, Host, ServerAuthenticator};
pub use connector::{Connector, ConnectorError, Output, Outputs};
pub use consumer::{Consumer, PushOutcome};
pub use exporter::{Delivered, ExportError, Exporter};
pub use extension::{Extension, ExtensionContext, ExtensionError, KvStore, StatusBoard, Storage};
pub use factory::{
    BuildError, Built, ComponentConfig, ConnectorFactory, CreateSettings, DynFactory,
    ExporterFactory, ExtensionFactory, FieldError, Kind, ParsedConfig, ProcessorFactory,
    ReceiverFactory, Stability,
};
pub use id::{ComponentId, IdError};
pub use processor::{Admission, ProcessError, Processor, Refusal};
pub use receiver::{Receiver, ReceiverContext, ReceiverError};
pub use registry::Registry;
