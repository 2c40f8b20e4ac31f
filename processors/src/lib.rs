//! Weir's built-in processors, one module folder each. `register` is this crate's one list.

pub mod attributes;
pub mod batch;
pub mod error_mode;
pub mod filter;
pub mod memory_limiter;
pub mod probabilistic_sampler;
pub mod redaction;
pub mod resource;
pub mod tail_sampling;
pub mod transform;
pub mod value_text;
pub mod wire_record;

/// Generated OTLP requests for property tests, shared with the core crate's own.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../core/src/batch/testgen.rs"]
pub(crate) mod testgen;

use weir_core::component::Registry;

/// Adds every built-in processor type to `registry`.
pub fn register(registry: &mut Registry) {
    registry.processor(attributes::AttributesFactory);
    registry.processor(batch::BatchFactory);
    registry.processor(filter::FilterFactory);
    registry.processor(memory_limiter::MemoryLimiterFactory);
    registry.processor(probabilistic_sampler::ProbabilisticSamplerFactory);
    registry.processor(redaction::RedactionFactory);
    registry.processor(resource::ResourceFactory);
    registry.processor(tail_sampling::TailSamplingFactory);
    registry.processor(transform::TransformFactory);
}
