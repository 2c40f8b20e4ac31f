//! Weir's built-in extensions, one module folder each: storage for persistent queues, health
//! check, and the authenticators `bearertokenauth` and `basicauth`. `register` is this crate's one list.

pub mod basicauth;
pub mod bearertokenauth;
pub mod file_storage;
pub mod health_check;

use weir_core::component::Registry;

/// Adds every built-in extension type to `registry`.
pub fn register(registry: &mut Registry) {
    registry.extension(file_storage::FileStorageFactory);
    registry.extension(health_check::HealthCheckFactory);
    registry.extension(bearertokenauth::BearerTokenAuthFactory);
    registry.extension(basicauth::BasicAuthFactory);
}
