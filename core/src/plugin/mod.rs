//! The plugin loader: shared libraries that add receivers, processors, exporters and connectors to Weir at
//! run time through the C ABI of `weir-plugin-abi` (DESIGN.md §6).
//!
//! - [`library`] opens a library (`RTLD_NOW | RTLD_LOCAL`, never unloaded) and checks its
//!   descriptor: magic and ABI major first, then the panic flag, then each component;
//! - [`PluginFactory`] puts each component type in the same [`Registry`] as the built-ins,
//!   validating configs against the plugin's JSON Schema before `create`;
//! - `driver` runs each instance on a thread of its own behind a bounded channel, and
//!   `adapters` make instances [`crate::component::Processor`]s, exporters and receivers, and
//!   `connector` makes them connectors;
//! - `instance` holds the host side of the vtable (`log`, `emit`, `complete`, counters).
//!
//! This module, `plugins/abi` and `plugins/sdk` are the only places with `unsafe`.

mod adapters;
mod connector;
mod counters;
mod driver;
mod error;
mod factory;
mod instance;
pub mod library;
mod slot;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub use counters::{PluginCounter, counters};
pub use error::PluginError;
pub use factory::PluginFactory;
pub use instance::{Instance, Outcome};
pub use library::{ComponentInfo, LibraryInfo};

use crate::component::{DynFactory, Registry};

/// Libraries loaded so far, by canonical path: loading one twice (from `--plugin` and the
/// config) yields the same factories.
type Loaded = Mutex<Vec<(PathBuf, Arc<LibraryInfo>, Vec<Arc<PluginFactory>>)>>;

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Loads the library at `path` (once per process) and returns a factory per component.
pub fn load(path: &Path) -> Result<Vec<Arc<PluginFactory>>, PluginError> {
    load_library(path).map(|(_, factories)| factories)
}

/// [`load`], with what the library says about itself.
fn load_library(path: &Path) -> Result<(Arc<LibraryInfo>, Vec<Arc<PluginFactory>>), PluginError> {
    let canonical = path.canonicalize().map_err(|_| PluginError::NotFound {
        path: path.to_path_buf(),
    })?;
    let mut loaded = loaded().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, info, factories)) = loaded.iter().find(|(p, _, _)| *p == canonical) {
        return Ok((info.clone(), factories.clone()));
    }
    let (info, components) = library::open(path)?;
    let info = Arc::new(info);
    let factories = components
        .into_iter()
        .map(|component| PluginFactory::new(info.clone(), component).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| PluginError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
    // Weir loads plugins before its logging starts (their types must be known to read the
    // config), so the binary logs what `register` returns once it can; this is for embedders.
    tracing::debug!(
        plugin = %path.display(),
        library = %info.name,
        version = %info.version,
        components = factories.len(),
        "plugin library loaded"
    );
    loaded.push((canonical, info.clone(), factories.clone()));
    Ok((info, factories))
}

/// What [`register`] did with one library.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The library: path as given, name, version, what built it, ABI.
    pub library: LibraryInfo,
    /// Its component types, as `processor redact`.
    pub components: Vec<String>,
    /// How many types were added: 0 when the library was registered already.
    pub added: usize,
}

/// Loads the library at `path` and adds its component types to `registry`, refusing a type
/// that is already there (built-in or from another library). Registering the same library
/// twice is a no-op (`added` is then 0).
pub fn register(registry: &mut Registry, path: &Path) -> Result<Registered, PluginError> {
    let (library, factories) = load_library(path)?;
    let mut library = LibraryInfo::clone(&library);
    library.path = path.to_path_buf();
    let components = factories
        .iter()
        .map(|f| format!("{} {}", f.kind(), f.type_name()))
        .collect();
    let mut added = 0;
    for factory in factories {
        let as_dyn: Arc<dyn DynFactory> = factory.clone();
        if let Some(existing) = registry.get(factory.kind(), factory.type_name()) {
            if Arc::ptr_eq(existing, &as_dyn) || existing.origin() == as_dyn.origin() {
                continue;
            }
            return Err(PluginError::Duplicate {
                path: path.to_path_buf(),
                kind: factory.kind(),
                ty: factory.type_name().to_string(),
                origin: existing.origin(),
            });
        }
        registry.register(as_dyn);
        added += 1;
    }
    Ok(Registered {
        library,
        components,
        added,
    })
}
