//! The descriptors a library hands Weir: built once, on the first call of the entry point, and
//! kept for the life of the process (libraries are never unloaded), so the raw pointers inside
//! them stay valid.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use schemars::JsonSchema;

use crate::abi::{self, WeirComponentV1, WeirLibraryPrefix, WeirLibraryV1};
use crate::host::str_of;
use crate::{Connector, Exporter, Processor, Receiver, SDK_VERSION, Signal, shim};

/// The JSON Schema of a config type, as the JSON text a component descriptor carries.
pub fn schema_of<C: JsonSchema>() -> String {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<C>();
    serde_json::to_string(&schema).unwrap_or_else(|_| "{}".to_string())
}

/// One component's descriptor with the strings it points into.
pub struct ComponentDescriptor {
    raw: Box<WeirComponentV1>,
    // Owned here so that `raw.config_schema` stays valid as long as the descriptor.
    _schema: String,
}

impl ComponentDescriptor {
    fn new(
        kind: u32,
        type_name: &'static str,
        signals: &[Signal],
        pairs: &[(Signal, Signal)],
        schema: String,
        entry: Entry,
    ) -> ComponentDescriptor {
        let raw = Box::new(WeirComponentV1 {
            struct_size: std::mem::size_of::<WeirComponentV1>() as u32,
            kind,
            signals: Signal::bits(signals),
            reserved: 0,
            type_name: str_of(type_name),
            config_schema: str_of(&schema),
            create: Some(entry.create),
            start: entry.start,
            consume: entry.consume,
            shutdown: entry.shutdown,
            destroy: Some(entry.destroy),
            pairs: Signal::pair_bits(pairs),
            reserved2: 0,
        });
        ComponentDescriptor {
            raw,
            _schema: schema,
        }
    }

    /// The ABI struct (for the test host, which calls it as Weir would).
    pub fn raw(&self) -> &WeirComponentV1 {
        &self.raw
    }
}

struct Entry {
    create: abi::WeirCreateFn,
    start: Option<abi::WeirStartFn>,
    consume: Option<abi::WeirConsumeFn>,
    shutdown: Option<abi::WeirShutdownFn>,
    destroy: abi::WeirDestroyFn,
}

/// The descriptor of processor type `P`.
pub fn processor_descriptor<P: Processor>() -> ComponentDescriptor {
    ComponentDescriptor::new(
        abi::WEIR_KIND_PROCESSOR,
        P::TYPE,
        P::SIGNALS,
        &[],
        schema_of::<P::Config>(),
        Entry {
            create: shim::processor_create::<P>,
            start: None,
            consume: Some(shim::processor_consume::<P>),
            shutdown: Some(shim::processor_shutdown::<P>),
            destroy: shim::processor_destroy::<P>,
        },
    )
}

/// The descriptor of exporter type `E`.
pub fn exporter_descriptor<E: Exporter>() -> ComponentDescriptor {
    ComponentDescriptor::new(
        abi::WEIR_KIND_EXPORTER,
        E::TYPE,
        E::SIGNALS,
        &[],
        schema_of::<E::Config>(),
        Entry {
            create: shim::exporter_create::<E>,
            start: Some(shim::exporter_start::<E>),
            consume: Some(shim::exporter_consume::<E>),
            shutdown: Some(shim::exporter_shutdown::<E>),
            destroy: shim::exporter_destroy::<E>,
        },
    )
}

/// The descriptor of receiver type `R`.
pub fn receiver_descriptor<R: Receiver>() -> ComponentDescriptor {
    ComponentDescriptor::new(
        abi::WEIR_KIND_RECEIVER,
        R::TYPE,
        R::SIGNALS,
        &[],
        schema_of::<R::Config>(),
        Entry {
            create: shim::receiver_create::<R>,
            start: Some(shim::receiver_start::<R>),
            consume: None,
            shutdown: Some(shim::receiver_shutdown::<R>),
            destroy: shim::receiver_destroy::<R>,
        },
    )
}

/// The descriptor of connector type `C` (ABI 1.2): its signals are the upstream ones of its
/// pairs.
pub fn connector_descriptor<C: Connector>() -> ComponentDescriptor {
    let mut upstream: Vec<Signal> = C::PAIRS.iter().map(|(from, _)| *from).collect();
    upstream.sort();
    upstream.dedup();
    ComponentDescriptor::new(
        abi::WEIR_KIND_CONNECTOR,
        C::TYPE,
        &upstream,
        C::PAIRS,
        schema_of::<C::Config>(),
        Entry {
            create: shim::connector_create::<C>,
            start: Some(shim::connector_start::<C>),
            consume: Some(shim::connector_consume::<C>),
            shutdown: Some(shim::connector_shutdown::<C>),
            destroy: shim::connector_destroy::<C>,
        },
    )
}

/// A whole library's descriptor, as `weir_plugin_entry_v1` returns it.
pub struct LibraryDescriptor {
    raw: WeirLibraryV1,
    _components: Vec<ComponentDescriptor>,
    _pointers: Vec<*const WeirComponentV1>,
}

// SAFETY: the descriptor is immutable once built; its raw pointers point into data it owns
// (heap allocations that never move) or into `'static` strings.
unsafe impl Send for LibraryDescriptor {}
// SAFETY: as above.
unsafe impl Sync for LibraryDescriptor {}

impl LibraryDescriptor {
    /// A descriptor for `components`, named after the library crate.
    pub fn new(
        name: &'static str,
        version: &'static str,
        components: Vec<ComponentDescriptor>,
    ) -> LibraryDescriptor {
        let pointers: Vec<*const WeirComponentV1> =
            components.iter().map(|c| &*c.raw as *const _).collect();
        let raw = WeirLibraryV1 {
            prefix: WeirLibraryPrefix {
                magic: abi::WEIR_PLUGIN_MAGIC,
                abi_major: abi::ABI_MAJOR,
                abi_minor: abi::ABI_MINOR,
                struct_size: std::mem::size_of::<WeirLibraryV1>() as u32,
                // The crate does not compile with panic = "abort", so this is always set; it is
                // computed rather than assumed so the flag can never lie.
                flags: if cfg!(panic = "unwind") {
                    abi::WEIR_LIBRARY_PANIC_UNWIND
                } else {
                    0
                },
            },
            name: str_of(name),
            version: str_of(version),
            sdk_version: str_of(SDK_VERSION),
            components: pointers.as_ptr(),
            component_count: pointers.len(),
        };
        LibraryDescriptor {
            raw,
            _components: components,
            _pointers: pointers,
        }
    }

    /// The ABI struct.
    pub fn raw(&self) -> &WeirLibraryV1 {
        &self.raw
    }
}

/// The body of `weir_plugin_entry_v1` (see [`crate::export_plugin!`]): builds the descriptor
/// once and returns it, or null if building it panicked (the host then refuses the library).
pub fn library_entry(
    cell: &'static OnceLock<LibraryDescriptor>,
    name: &'static str,
    version: &'static str,
    components: impl FnOnce() -> Vec<ComponentDescriptor>,
) -> *const WeirLibraryV1 {
    match catch_unwind(AssertUnwindSafe(|| {
        cell.get_or_init(|| LibraryDescriptor::new(name, version, components()))
    })) {
        Ok(library) => library.raw(),
        Err(_) => std::ptr::null(),
    }
}
