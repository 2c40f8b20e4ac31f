//! Weir's built-in extensions, one module folder each. `register` is this crate's one list.

use weir_core::component::Registry;

/// Adds every built-in extension type to `registry`.
pub fn register(registry: &mut Registry) {
    let _ = registry;
}
