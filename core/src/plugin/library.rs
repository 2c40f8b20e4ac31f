//! Opening a plugin library and reading its descriptor, most basic checks first: the file, the
//! dynamic loader, the entry symbol, the magic and the ABI major (before anything else of the
//! descriptor is read), the panic flag, then each component descriptor.

use std::path::{Path, PathBuf};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use weir_plugin_abi::{
    self as abi, ABI_MAJOR, ENTRY_SYMBOL, WeirComponentV1, WeirEntryV1, WeirLibraryPrefix,
    WeirLibraryV1, WeirStr,
};

use super::PluginError;
use crate::batch::Signal;
use crate::component::Kind;

/// What a library says about itself.
#[derive(Clone, Debug)]
pub struct LibraryInfo {
    /// The path it was loaded from, as given.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What built it.
    pub sdk_version: String,
    /// ABI major and minor it was built for.
    pub abi: (u32, u32),
}

/// One component descriptor, checked.
#[derive(Clone, Debug)]
pub struct ComponentInfo {
    /// Its kind.
    pub kind: Kind,
    /// Type name in YAML.
    pub type_name: String,
    /// Signals supported (for connectors: the upstream signals of `pairs`).
    pub signals: Vec<Signal>,
    /// Connectors: the (upstream, downstream) signal pairs it joins; empty for other kinds.
    pub pairs: Vec<(Signal, Signal)>,
    /// Its config's JSON Schema.
    pub schema: serde_json::Value,
    /// The entry points (valid forever: libraries are never unloaded).
    pub raw: EntryPoints,
}

/// A component descriptor's entry points, shareable between threads.
#[derive(Clone, Copy, Debug)]
pub struct EntryPoints(pub(crate) WeirComponentV1);

// SAFETY: the descriptor is immutable and lives as long as the process (its library is never
// unloaded); its function pointers may be called from any thread (ABI contract), and its
// string pointers are only read, once, while loading.
unsafe impl Send for EntryPoints {}
// SAFETY: as above.
unsafe impl Sync for EntryPoints {}

/// Copies borrowed ABI text.
///
/// # Safety
/// `text` must be valid for reads of `len` bytes (or null with length 0).
pub(crate) unsafe fn text(text: WeirStr) -> Result<String, String> {
    if text.len == 0 {
        return Ok(String::new());
    }
    if text.ptr.is_null() {
        return Err("null string".into());
    }
    // SAFETY: per the caller.
    let bytes = unsafe { std::slice::from_raw_parts(text.ptr, text.len) };
    String::from_utf8(bytes.to_vec()).map_err(|e| format!("string is not UTF-8: {e}"))
}

/// Loads `path` and returns its descriptor, checked. The library stays loaded for the life of
/// the process, whatever the outcome after `dlopen` succeeded (its code may have run).
pub fn open(path: &Path) -> Result<(LibraryInfo, Vec<ComponentInfo>), PluginError> {
    let owned = || path.to_path_buf();
    if !path.exists() {
        return Err(PluginError::NotFound { path: owned() });
    }
    // SAFETY: loading runs the library's initialisers; trusting the plugins listed in the
    // config is the premise of plugins. RTLD_LOCAL keeps its symbols from resolving other
    // plugins' symbols; RTLD_NOW reports missing symbols here instead of at first call.
    let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
        PluginError::Open {
            path: owned(),
            reason: e.to_string(),
        }
    })?;
    // Never unloaded: instances, descriptors and threads of the plugin may outlive any scope
    // here, and unloading code that may still run is unsound.
    let library: &'static Library = Box::leak(Box::new(library));
    // SAFETY: the symbol's type is the ABI's entry point type; a library exporting the name
    // with another type breaks the ABI contract, which the magic check below then catches.
    let entry =
        unsafe { library.get::<WeirEntryV1>(ENTRY_SYMBOL) }.map_err(|e| PluginError::NoEntry {
            path: owned(),
            reason: e.to_string(),
        })?;
    // SAFETY: the ABI entry point takes no arguments and returns a pointer valid for the
    // life of the library.
    let descriptor = unsafe { entry() };
    // SAFETY: a non-null descriptor from the entry point is valid for the process's life.
    unsafe { read(path, descriptor) }
}

/// Reads and checks a descriptor.
///
/// # Safety
/// `descriptor` must be null or point to memory valid for the process's life, at least a
/// [`WeirLibraryPrefix`] long, and as long as its `struct_size` says.
pub(crate) unsafe fn read(
    path: &Path,
    descriptor: *const WeirLibraryV1,
) -> Result<(LibraryInfo, Vec<ComponentInfo>), PluginError> {
    let owned = || path.to_path_buf();
    if descriptor.is_null() {
        return Err(PluginError::NullDescriptor { path: owned() });
    }
    // Only the prefix until the magic and the major are known to be ours.
    // SAFETY: non-null and at least a prefix long, per the caller.
    let prefix: WeirLibraryPrefix = unsafe { descriptor.cast::<WeirLibraryPrefix>().read() };
    if prefix.magic != abi::WEIR_PLUGIN_MAGIC {
        return Err(PluginError::BadMagic {
            path: owned(),
            found: prefix.magic,
        });
    }
    if prefix.abi_major != ABI_MAJOR {
        return Err(PluginError::AbiMajor {
            path: owned(),
            major: prefix.abi_major,
            minor: prefix.abi_minor,
        });
    }
    if prefix.flags & abi::WEIR_LIBRARY_PANIC_UNWIND == 0 {
        return Err(PluginError::PanicAbort { path: owned() });
    }
    let invalid = |message: String| PluginError::Invalid {
        path: owned(),
        message,
    };
    if (prefix.struct_size as usize) < std::mem::size_of::<WeirLibraryV1>() {
        return Err(invalid(format!(
            "library descriptor of {} bytes is shorter than ABI 1.0's {}",
            prefix.struct_size,
            std::mem::size_of::<WeirLibraryV1>()
        )));
    }
    // SAFETY: ours (magic, major) and long enough (struct_size), per the caller.
    let library = unsafe { descriptor.read() };
    // SAFETY: the descriptor's strings live as long as it does.
    let (name, version, sdk_version) = unsafe {
        (
            text(library.name).map_err(&invalid)?,
            text(library.version).map_err(&invalid)?,
            text(library.sdk_version).map_err(&invalid)?,
        )
    };
    let info = LibraryInfo {
        path: owned(),
        name,
        version,
        sdk_version,
        abi: (prefix.abi_major, prefix.abi_minor),
    };
    if library.component_count > 0 && library.components.is_null() {
        return Err(invalid("null component list".into()));
    }
    let mut components = Vec::with_capacity(library.component_count);
    for i in 0..library.component_count {
        // SAFETY: `component_count` pointers, per the ABI.
        let component = unsafe { *library.components.add(i) };
        // SAFETY: each non-null entry is a component descriptor valid for the process's life.
        let info = unsafe { component_info(component) }
            .map_err(|message| invalid(format!("component #{i}: {message}")))?;
        components.push(info);
    }
    Ok((info, components))
}

/// # Safety
/// `component` must be null or a component descriptor at least `struct_size` long.
unsafe fn component_info(component: *const WeirComponentV1) -> Result<ComponentInfo, String> {
    if component.is_null() {
        return Err("null descriptor".into());
    }
    // SAFETY: non-null, per the caller at least struct_size long; the size is read first.
    let size = unsafe { (*component).struct_size } as usize;
    let v1_0 = abi::WEIR_COMPONENT_V1_0_SIZE as usize;
    if size < v1_0 {
        return Err(format!(
            "descriptor of {size} bytes is shorter than ABI 1.0's {v1_0}"
        ));
    }
    // An older library's descriptor ends before the fields later minors appended: those read
    // as zero. A newer one's may be longer: its extra fields are not ours to read.
    let mut raw = std::mem::MaybeUninit::<WeirComponentV1>::zeroed();
    let len = size.min(std::mem::size_of::<WeirComponentV1>());
    // SAFETY: the descriptor is `size` bytes long (per the caller), of which `len` are copied
    // into a struct at least that long; every field of the struct (integers, raw pointers,
    // nullable function pointers) is valid as all zeros, and as whatever bytes the library
    // wrote for it.
    let raw = unsafe {
        std::ptr::copy_nonoverlapping(component.cast::<u8>(), raw.as_mut_ptr().cast::<u8>(), len);
        raw.assume_init()
    };
    let kind = match raw.kind {
        abi::WEIR_KIND_RECEIVER => Kind::Receiver,
        abi::WEIR_KIND_PROCESSOR => Kind::Processor,
        abi::WEIR_KIND_EXPORTER => Kind::Exporter,
        abi::WEIR_KIND_CONNECTOR => Kind::Connector,
        other => return Err(format!("unknown kind {other}")),
    };
    // SAFETY: the descriptor's strings live as long as it does.
    let type_name = unsafe { text(raw.type_name) }?;
    if type_name.is_empty()
        || !type_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "type name `{type_name}` must be letters, digits and `_`"
        ));
    }
    let signals = signals_of(raw.signals);
    if signals.is_empty() || raw.signals & !0b111 != 0 {
        return Err(format!("`{type_name}`: bad signal set {:#b}", raw.signals));
    }
    let pairs = if kind == Kind::Connector {
        let needed = std::mem::offset_of!(WeirComponentV1, pairs) + std::mem::size_of::<u32>();
        if size < needed {
            return Err(format!(
                "`{type_name}`: a connector's descriptor needs ABI 1.2's `pairs` ({needed} bytes), \
                 but it is {size} bytes long"
            ));
        }
        let pairs = pairs_of(raw.pairs);
        if pairs.is_empty() || raw.pairs & !PAIR_BITS != 0 {
            return Err(format!(
                "`{type_name}`: bad connector pair set {:#b}",
                raw.pairs
            ));
        }
        let upstream: u32 = pairs
            .iter()
            .fold(0, |bits, (from, _)| bits | signal_bit(*from));
        if upstream != raw.signals {
            return Err(format!(
                "`{type_name}`: a connector's signals ({}) must be the upstream signals of its \
                 pairs ({})",
                names(&signals),
                names(&signals_of(upstream))
            ));
        }
        pairs
    } else {
        Vec::new()
    };
    // SAFETY: as above.
    let schema_text = unsafe { text(raw.config_schema) }?;
    let schema: serde_json::Value = serde_json::from_str(&schema_text)
        .map_err(|e| format!("`{type_name}`: config schema is not JSON: {e}"))?;
    if !(schema.is_object() || schema.is_boolean()) {
        return Err(format!("`{type_name}`: config schema is not a JSON Schema"));
    }
    if raw.create.is_none() || raw.destroy.is_none() {
        return Err(format!("`{type_name}`: create and destroy are required"));
    }
    if kind != Kind::Receiver && raw.consume.is_none() {
        return Err(format!("`{type_name}`: a {kind} needs consume"));
    }
    Ok(ComponentInfo {
        kind,
        type_name,
        signals,
        pairs,
        schema,
        raw: EntryPoints(raw),
    })
}

/// The signals in an ABI bit set.
pub(crate) fn signals_of(bits: u32) -> Vec<Signal> {
    Signal::ALL
        .into_iter()
        .filter(|s| bits & signal_bit(*s) != 0)
        .collect()
}

/// Every `WEIR_PAIR_*` bit.
const PAIR_BITS: u32 = (1 << 9) - 1;

/// The ABI bit of a connector pair: three bits per upstream signal, in the order traces,
/// metrics, logs, one per downstream signal in the same order.
pub(crate) fn pair_bit(from: Signal, to: Signal) -> u32 {
    let index = |s: Signal| Signal::ALL.iter().position(|x| *x == s).unwrap_or(0) as u32;
    1 << (index(from) * 3 + index(to))
}

/// The connector pairs in an ABI bit set.
pub(crate) fn pairs_of(bits: u32) -> Vec<(Signal, Signal)> {
    let mut pairs = Vec::new();
    for from in Signal::ALL {
        for to in Signal::ALL {
            if bits & pair_bit(from, to) != 0 {
                pairs.push((from, to));
            }
        }
    }
    pairs
}

fn names(signals: &[Signal]) -> String {
    if signals.is_empty() {
        return "none".into();
    }
    signals
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The signal of an ABI value that names exactly one.
pub(crate) fn signal_of(value: u32) -> Option<Signal> {
    Signal::ALL.into_iter().find(|s| signal_bit(*s) == value)
}

/// The ABI value of a signal.
pub(crate) fn signal_bit(signal: Signal) -> u32 {
    match signal {
        Signal::Traces => abi::WEIR_SIGNAL_TRACES,
        Signal::Metrics => abi::WEIR_SIGNAL_METRICS,
        Signal::Logs => abi::WEIR_SIGNAL_LOGS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &'static str) -> WeirStr {
        WeirStr {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    fn library(prefix: WeirLibraryPrefix) -> WeirLibraryV1 {
        WeirLibraryV1 {
            prefix,
            name: s("test"),
            version: s("1.2.3"),
            sdk_version: s("unit"),
            components: std::ptr::null(),
            component_count: 0,
        }
    }

    fn prefix() -> WeirLibraryPrefix {
        WeirLibraryPrefix {
            magic: abi::WEIR_PLUGIN_MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: 7,
            struct_size: std::mem::size_of::<WeirLibraryV1>() as u32,
            flags: abi::WEIR_LIBRARY_PANIC_UNWIND,
        }
    }

    fn check(lib: &WeirLibraryV1) -> Result<LibraryInfo, PluginError> {
        // SAFETY: a live descriptor on the stack, as long as it says.
        unsafe { read(Path::new("/x/lib.so"), lib) }.map(|(info, _)| info)
    }

    #[test]
    fn a_later_minor_of_the_same_major_is_accepted() {
        let info = check(&library(prefix())).unwrap();
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("test", "1.2.3")
        );
        assert_eq!(info.abi, (ABI_MAJOR, 7));
    }

    #[test]
    fn magic_is_checked_before_the_version() {
        let mut p = prefix();
        p.magic = 42;
        p.abi_major = 9;
        let err = check(&library(p)).unwrap_err();
        assert!(
            matches!(err, PluginError::BadMagic { found: 42, .. }),
            "{err}"
        );
    }

    #[test]
    fn another_major_is_refused_with_both_versions() {
        let mut p = prefix();
        p.abi_major = ABI_MAJOR + 1;
        // A descriptor of another major may have any shape: nothing past the prefix is read,
        // so a lying struct size does no harm.
        p.struct_size = 0;
        let err = check(&library(p)).unwrap_err().to_string();
        assert!(err.contains(&format!("ABI {}.7", ABI_MAJOR + 1)), "{err}");
        assert!(
            err.contains(&format!("ABI {ABI_MAJOR}.{}", weir_plugin_abi::ABI_MINOR)),
            "{err}"
        );
        assert!(err.contains("/x/lib.so"), "{err}");
    }

    #[test]
    fn missing_unwind_flag_is_refused() {
        let mut p = prefix();
        p.flags = 0;
        assert!(matches!(
            check(&library(p)).unwrap_err(),
            PluginError::PanicAbort { .. }
        ));
    }

    #[test]
    fn short_descriptor_is_refused() {
        let mut p = prefix();
        p.struct_size = 24;
        assert!(matches!(
            check(&library(p)).unwrap_err(),
            PluginError::Invalid { .. }
        ));
    }

    #[test]
    fn components_are_checked() {
        unsafe extern "C" fn destroy(_: *mut std::ffi::c_void) {}
        unsafe extern "C" fn create(
            _: *const abi::WeirHostV1,
            _: WeirStr,
            _: *mut *mut std::ffi::c_void,
        ) -> u32 {
            abi::WEIR_INTERNAL
        }
        let good = WeirComponentV1 {
            struct_size: std::mem::size_of::<WeirComponentV1>() as u32,
            kind: abi::WEIR_KIND_RECEIVER,
            signals: abi::WEIR_SIGNAL_LOGS | abi::WEIR_SIGNAL_TRACES,
            reserved: 0,
            type_name: s("tick"),
            config_schema: s(r#"{"type":"object"}"#),
            create: Some(create),
            start: None,
            consume: None,
            shutdown: None,
            destroy: Some(destroy),
            pairs: 0,
            reserved2: 0,
        };
        // SAFETY: a live descriptor on the stack.
        let info = unsafe { component_info(&good) }.unwrap();
        assert_eq!(info.signals, vec![Signal::Traces, Signal::Logs]);
        let bad = [
            WeirComponentV1 {
                kind: abi::WEIR_KIND_PROCESSOR,
                ..good
            },
            WeirComponentV1 {
                type_name: s("no-dash"),
                ..good
            },
            WeirComponentV1 {
                config_schema: s("{"),
                ..good
            },
            WeirComponentV1 { signals: 0, ..good },
            WeirComponentV1 {
                destroy: None,
                ..good
            },
        ];
        for (i, component) in bad.iter().enumerate() {
            // SAFETY: as above.
            assert!(unsafe { component_info(component) }.is_err(), "case {i}");
        }
    }

    unsafe extern "C" fn test_destroy(_: *mut std::ffi::c_void) {}
    unsafe extern "C" fn test_create(
        _: *const abi::WeirHostV1,
        _: WeirStr,
        _: *mut *mut std::ffi::c_void,
    ) -> u32 {
        abi::WEIR_INTERNAL
    }
    unsafe extern "C" fn test_consume(
        _: *mut std::ffi::c_void,
        _: u32,
        abi::WeirBytes { .. }: abi::WeirBytes,
        _: u64,
    ) -> u32 {
        abi::WEIR_OK
    }

    fn connector() -> WeirComponentV1 {
        WeirComponentV1 {
            struct_size: std::mem::size_of::<WeirComponentV1>() as u32,
            kind: abi::WEIR_KIND_CONNECTOR,
            signals: abi::WEIR_SIGNAL_TRACES | abi::WEIR_SIGNAL_LOGS,
            reserved: 0,
            type_name: s("joiner"),
            config_schema: s(r#"{"type":"object"}"#),
            create: Some(test_create),
            start: None,
            consume: Some(test_consume),
            shutdown: None,
            destroy: Some(test_destroy),
            pairs: abi::WEIR_PAIR_TRACES_METRICS
                | abi::WEIR_PAIR_TRACES_TRACES
                | abi::WEIR_PAIR_LOGS_METRICS,
            reserved2: 0,
        }
    }

    #[test]
    fn a_connector_descriptor_is_accepted_with_its_pairs() {
        // SAFETY: a live descriptor on the stack.
        let info = unsafe { component_info(&connector()) }.unwrap();
        assert_eq!(info.kind, Kind::Connector);
        assert_eq!(info.signals, vec![Signal::Traces, Signal::Logs]);
        assert_eq!(
            info.pairs,
            vec![
                (Signal::Traces, Signal::Traces),
                (Signal::Traces, Signal::Metrics),
                (Signal::Logs, Signal::Metrics),
            ]
        );
        for (from, to) in &info.pairs {
            assert_eq!(pairs_of(pair_bit(*from, *to)), vec![(*from, *to)]);
        }
    }

    #[test]
    fn bad_connector_pairs_are_refused() {
        let cases = [
            // No pairs at all.
            (
                WeirComponentV1 {
                    pairs: 0,
                    ..connector()
                },
                "bad connector pair set",
            ),
            // A bit past the nine pairs.
            (
                WeirComponentV1 {
                    pairs: abi::WEIR_PAIR_TRACES_TRACES | 1 << 9,
                    ..connector()
                },
                "bad connector pair set",
            ),
            // Signals that are not the pairs' upstream ones.
            (
                WeirComponentV1 {
                    signals: abi::WEIR_SIGNAL_TRACES,
                    ..connector()
                },
                "must be the upstream signals of its pairs (traces,logs)",
            ),
            (
                WeirComponentV1 {
                    consume: None,
                    ..connector()
                },
                "needs consume",
            ),
        ];
        for (i, (component, expected)) in cases.iter().enumerate() {
            // SAFETY: a live descriptor on the stack.
            let err = unsafe { component_info(component) }.unwrap_err();
            assert!(err.contains(expected), "case {i}: {err}");
        }
    }

    #[test]
    fn a_1_1_sized_descriptor_still_loads_and_a_short_connector_is_refused() {
        // A 1.1 library's descriptor ends at `destroy`: what lies past it (here garbage in
        // `pairs`) is not the library's to give, and the loader must not read it.
        let mut older = WeirComponentV1 {
            struct_size: abi::WEIR_COMPONENT_V1_0_SIZE,
            kind: abi::WEIR_KIND_PROCESSOR,
            signals: abi::WEIR_SIGNAL_METRICS,
            pairs: u32::MAX,
            ..connector()
        };
        // SAFETY: a live descriptor on the stack, longer than it says.
        let info = unsafe { component_info(&older) }.unwrap();
        assert_eq!(info.kind, Kind::Processor);
        assert_eq!(info.signals, vec![Signal::Metrics]);
        assert!(info.pairs.is_empty());
        assert_eq!(info.raw.0.pairs, 0, "fields past struct_size read as zero");

        older.kind = abi::WEIR_KIND_CONNECTOR;
        older.signals = abi::WEIR_SIGNAL_TRACES | abi::WEIR_SIGNAL_LOGS;
        older.pairs = connector().pairs;
        // SAFETY: as above.
        let err = unsafe { component_info(&older) }.unwrap_err();
        assert!(err.contains("needs ABI 1.2's `pairs`"), "{err}");

        older.struct_size = abi::WEIR_COMPONENT_V1_0_SIZE - 8;
        // SAFETY: as above.
        let err = unsafe { component_info(&older) }.unwrap_err();
        assert!(err.contains("shorter than ABI 1.0's 88"), "{err}");
    }
}
