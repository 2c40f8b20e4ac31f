//! weir-core: everything a Weir pipeline is made of except the components themselves.
//!
//! - [`batch`]: the encoded batch that flows through pipelines, and the wire walk over OTLP bytes;
//! - [`component`]: the component traits, their typed factories and the one [`component::Registry`];
//! - [`config`]: loading, expanding, merging and validating otelcol-shaped YAML;
//! - [`graph`]: turning a validated config into the pipeline graph;
//! - [`runtime`]: the tasks and bounded channels that run that graph, and shutdown;
//! - [`exporter`]: the sending queue, retry and timeout that wrap every exporter;
//! - [`net`]: compression, the gRPC byte codec, RPC status and the one HTTP server loop;
//! - [`telemetry`]: Weir's own metrics, with otelcol's names, on a Prometheus endpoint;
//! - [`plugin`]: the loader of plugin libraries, whose components join the same registry.

pub mod batch;
pub mod component;
pub mod config;
pub mod exporter;
pub mod graph;
pub mod net;
pub mod plugin;
pub mod runtime;
pub mod telemetry;
