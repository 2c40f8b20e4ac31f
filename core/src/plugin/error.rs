//! Why a plugin library was refused. Every message names the file.

use std::path::PathBuf;

use weir_plugin_abi::{ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL};

/// A plugin library that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Nothing at the path.
    #[error("plugin {path}: no such file")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The dynamic loader refused the file (not a shared library, missing dependencies, ...).
    #[error("plugin {path}: cannot load it as a shared library: {reason}")]
    Open {
        /// The path as given.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// A shared library, but not a Weir plugin.
    #[error("plugin {path}: no `{ENTRY_SYMBOL}` symbol, so it is not a Weir plugin ({reason})")]
    NoEntry {
        /// The path as given.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// The entry point returned null (the SDK does so when building the descriptor panicked).
    #[error("plugin {path}: `{ENTRY_SYMBOL}` returned no descriptor")]
    NullDescriptor {
        /// The path as given.
        path: PathBuf,
    },
    /// The descriptor does not start with the magic number.
    #[error("plugin {path}: the descriptor has magic {found:#018x}, not Weir's; not a Weir plugin")]
    BadMagic {
        /// The path as given.
        path: PathBuf,
        /// What was there.
        found: u64,
    },
    /// Built for another major version of the ABI.
    #[error(
        "plugin {path}: built for plugin ABI {major}.{minor}, but this Weir speaks plugin ABI \
         {ABI_MAJOR}.{ABI_MINOR}; rebuild the plugin against weir-plugin-abi {ABI_MAJOR}.x"
    )]
    AbiMajor {
        /// The path as given.
        path: PathBuf,
        /// The library's major.
        major: u32,
        /// The library's minor.
        minor: u32,
    },
    /// Built with `panic = "abort"`: a panic in it would abort Weir.
    #[error(
        "plugin {path}: built with panic = \"abort\" (the WEIR_LIBRARY_PANIC_UNWIND flag is not \
         set), so a panic inside it would abort Weir; rebuild it with panic = \"unwind\""
    )]
    PanicAbort {
        /// The path as given.
        path: PathBuf,
    },
    /// The descriptor is malformed.
    #[error("plugin {path}: invalid descriptor: {message}")]
    Invalid {
        /// The path as given.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A component type of the library is already known.
    #[error("plugin {path}: {kind} type `{ty}` is already provided by {origin}")]
    Duplicate {
        /// The path as given.
        path: PathBuf,
        /// The component kind.
        kind: crate::component::Kind,
        /// The type name.
        ty: String,
        /// Who provides it already.
        origin: String,
    },
}
