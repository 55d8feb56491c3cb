//! Settings for the C allocator that let the server give memory back.
//!
//! glibc serves an allocation above its mmap threshold (128 KiB at start) with its own
//! `mmap`, returned on `free`, but raises the threshold to the size of each such block freed
//! (up to 32 MiB). After the first argon2 run (a 19 MiB work area) every later work area came
//! from the heap and stayed resident: +19 MiB per login, never returned. A fixed threshold
//! turns that adjustment off: blocks of 1 MiB and more are always mapped and unmapped.
//! Smaller blocks, such as the stream's 64-128 KiB chunks, stay on the heap, where reusing
//! them is cheapest.
//!
//! Fixing the mmap threshold also fixes glibc's trim threshold at 128 KiB, so under 256
//! streams every freed chunk at a heap's top was handed back and faulted in again (14 times
//! the page faults). The trim threshold is 4 MiB instead: a heap hands its top back only
//! once that much is free there (glibc's `malloc_trim` does not trim the tops of per-thread
//! heaps, so a higher threshold would keep that memory for good). [`release_free_memory`]
//! hands the free pages inside the heaps back when streaming goes quiet: after 256 streams
//! the chunks they had in flight (32 MiB) were otherwise still resident minutes later.
//!
//! Other allocators (musl, macOS, Windows) already unmap large blocks on `free`.

/// Allocations of at least this many bytes get their own mapping.
pub const MMAP_THRESHOLD: usize = 1 << 20;
/// Free bytes a heap keeps at its top while the server is busy.
pub const TRIM_THRESHOLD: usize = 4 << 20;

/// Returns the free pages of every malloc heap to the system (glibc's `malloc_trim`). Takes
/// milliseconds on a large heap: call it on a blocking thread, when the server is quiet.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe (it takes each arena's lock in turn).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Call once at start, before other threads allocate.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; it is called before the runtime
        // starts its threads. It returns 0 (ignored) if the value is refused.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
        }
    }
}
