//! The `weir` package as a library: the one list of built-in components, and the
//! configuration reference the README carries (generated from the same schema `weir schema`
//! prints, so the two cannot drift apart).

pub mod reference;

use weir_core::component::Registry;

/// Every built-in component type, from each component crate's own list.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    weir_receivers::register(&mut registry);
    weir_processors::register(&mut registry);
    weir_exporters::register(&mut registry);
    weir_extensions::register(&mut registry);
    weir_connectors::register(&mut registry);
    registry
}
