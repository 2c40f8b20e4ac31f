//! Weir's built-in processors, one module folder each. `register` is this crate's one list.

pub mod attributes;
pub mod batch;
pub mod memory_limiter;
pub mod redaction;
pub mod resource;

use weir_core::component::Registry;

/// Adds every built-in processor type to `registry`.
pub fn register(registry: &mut Registry) {
    registry.processor(attributes::AttributesFactory);
    registry.processor(batch::BatchFactory);
    registry.processor(memory_limiter::MemoryLimiterFactory);
    registry.processor(redaction::RedactionFactory);
    registry.processor(resource::ResourceFactory);
}
