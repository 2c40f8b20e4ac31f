//! The C ABI shared by Weir and plugin libraries.
//!
//! Only the version constants exist so far; the descriptors, host vtable and status codes are
//! specified in DESIGN.md §6 and land with the plugin loader.

/// Major version of the plugin ABI: a library built for another major is refused.
pub const ABI_MAJOR: u32 = 1;
/// Minor version of the plugin ABI: minors only append fields.
pub const ABI_MINOR: u32 = 0;
