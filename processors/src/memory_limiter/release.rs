//! Handing freed memory back to the operating system, the allocator's counterpart of the
//! garbage collection otelcol's limiter forces when it is over the soft limit.
//!
//! glibc's malloc keeps freed memory in its arenas for reuse; after a burst the resident set can
//! stay above the hard limit with nothing held, and a limiter that trusts the resident set would
//! then refuse for good. `malloc_trim(0)` returns every free page of every arena (the top of the
//! heap by `brk`, the middle by `madvise(MADV_DONTNEED)`), so the next measurement sees what is
//! really in use. Other allocators (musl's, for one) return large blocks on free already, so
//! there is nothing to do for them.

/// Returns the allocator's free memory to the operating system, as far as the allocator can.
/// Costs a walk of the heap: call it at a measurement, never per batch.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `malloc_trim` takes no pointers and is thread-safe (it locks each arena).
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
