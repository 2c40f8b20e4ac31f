//! Guards the ABI's memory layout on 64-bit targets with explicit numbers: a change that moves a
//! field breaks every library built before it, so it must show up here as a failing test and be
//! a deliberate new major version (or an appended field with a new minor).

use std::mem::{align_of, offset_of, size_of};

use weir_plugin_abi::*;

#[test]
fn borrowed_slices_are_pointer_and_length() {
    assert_eq!(size_of::<WeirStr>(), 16);
    assert_eq!(offset_of!(WeirStr, len), 8);
    assert_eq!(size_of::<WeirBytes>(), 16);
    assert_eq!(offset_of!(WeirBytes, len), 8);
}

#[test]
fn library_prefix_never_moves() {
    assert_eq!(size_of::<WeirLibraryPrefix>(), 24);
    assert_eq!(offset_of!(WeirLibraryPrefix, magic), 0);
    assert_eq!(offset_of!(WeirLibraryPrefix, abi_major), 8);
    assert_eq!(offset_of!(WeirLibraryPrefix, abi_minor), 12);
    assert_eq!(offset_of!(WeirLibraryPrefix, struct_size), 16);
    assert_eq!(offset_of!(WeirLibraryPrefix, flags), 20);
    assert_eq!(offset_of!(WeirLibraryV1, prefix), 0);
}

#[test]
fn library_descriptor_layout() {
    assert_eq!(size_of::<WeirLibraryV1>(), 88);
    assert_eq!(align_of::<WeirLibraryV1>(), 8);
    assert_eq!(offset_of!(WeirLibraryV1, name), 24);
    assert_eq!(offset_of!(WeirLibraryV1, version), 40);
    assert_eq!(offset_of!(WeirLibraryV1, sdk_version), 56);
    assert_eq!(offset_of!(WeirLibraryV1, components), 72);
    assert_eq!(offset_of!(WeirLibraryV1, component_count), 80);
}

#[test]
fn component_descriptor_layout() {
    assert_eq!(size_of::<WeirComponentV1>(), 96);
    assert_eq!(offset_of!(WeirComponentV1, struct_size), 0);
    assert_eq!(offset_of!(WeirComponentV1, kind), 4);
    assert_eq!(offset_of!(WeirComponentV1, signals), 8);
    assert_eq!(offset_of!(WeirComponentV1, reserved), 12);
    assert_eq!(offset_of!(WeirComponentV1, type_name), 16);
    assert_eq!(offset_of!(WeirComponentV1, config_schema), 32);
    assert_eq!(offset_of!(WeirComponentV1, create), 48);
    assert_eq!(offset_of!(WeirComponentV1, start), 56);
    assert_eq!(offset_of!(WeirComponentV1, consume), 64);
    assert_eq!(offset_of!(WeirComponentV1, shutdown), 72);
    assert_eq!(offset_of!(WeirComponentV1, destroy), 80);
    // ABI 1.2, appended: everything before it stays where 1.0 put it.
    assert_eq!(offset_of!(WeirComponentV1, pairs), 88);
    assert_eq!(offset_of!(WeirComponentV1, reserved2), 92);
    assert_eq!(
        WEIR_COMPONENT_V1_0_SIZE as usize,
        offset_of!(WeirComponentV1, pairs)
    );
    // Nullable entry points are plain nullable pointers, as in C.
    assert_eq!(size_of::<Option<WeirConsumeFn>>(), 8);
}

#[test]
fn host_vtable_layout() {
    assert_eq!(size_of::<WeirHostV1>(), 56);
    assert_eq!(offset_of!(WeirHostV1, struct_size), 0);
    assert_eq!(offset_of!(WeirHostV1, max_log_level), 4);
    assert_eq!(offset_of!(WeirHostV1, ctx), 8);
    assert_eq!(offset_of!(WeirHostV1, log), 16);
    assert_eq!(offset_of!(WeirHostV1, emit), 24);
    assert_eq!(offset_of!(WeirHostV1, complete), 32);
    assert_eq!(offset_of!(WeirHostV1, counter_add), 40);
    // ABI 1.1, appended: everything before it stays where 1.0 put it.
    assert_eq!(offset_of!(WeirHostV1, answer), 48);
    assert_eq!(WEIR_HOST_V1_0_SIZE as usize, offset_of!(WeirHostV1, answer));
    assert_eq!(
        size_of::<Option<unsafe extern "C" fn(*mut core::ffi::c_void, u64, u64, WeirStr)>>(),
        8
    );
}

#[test]
fn magic_spells_weirplug_and_status_names_are_distinct() {
    assert_eq!(WEIR_PLUGIN_MAGIC.to_be_bytes(), *b"WEIRPLUG");
    let names: Vec<&str> = (0..=9).map(status_name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "{names:?}");
    assert_eq!(status_name(42), "UNKNOWN");
}
