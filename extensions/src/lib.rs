//! Weir's built-in extensions, one module folder each. `register` is this crate's one list.

pub mod file_storage;
pub mod health_check;

use weir_core::component::Registry;

/// Adds every built-in extension type to `registry`.
pub fn register(registry: &mut Registry) {
    registry.extension(file_storage::FileStorageFactory);
    registry.extension(health_check::HealthCheckFactory);
}
