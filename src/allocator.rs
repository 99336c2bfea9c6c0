//! mimalloc as a global allocator, for the `spec` binary and benchmarks
//! that measure what it ships with. The library itself never installs an
//! allocator: a platform embedding it keeps its own, or opts in with
//! `#[global_allocator] static A: spec::allocator::Allocator = spec::allocator::Allocator;`.

/// mimalloc through its plain `mi_malloc` when the alignment asked for is
/// one every block has: `mimalloc::MiMalloc` calls `mi_malloc_aligned` for
/// every allocation, whose slower path over-allocates whenever the page's
/// next free block is not aligned (about 4 % of `spec validate`).
pub struct Allocator;

/// The alignment of every mimalloc block: block sizes are multiples of a
/// word, and a page's first block is 16-aligned.
const PLAIN_ALIGN: usize = 8;

fn plain(layout: std::alloc::Layout) -> bool {
    layout.align() <= PLAIN_ALIGN
}

// SAFETY: every pointer comes from mimalloc and goes back to it (`mi_free`
// takes blocks from both kinds of call); `mi_malloc`'s blocks are aligned
// to `PLAIN_ALIGN`, and layouts that need more use the aligned calls.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if plain(layout) {
            unsafe { libmimalloc_sys::mi_malloc(layout.size()).cast() }
        } else {
            unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if plain(layout) {
            unsafe { libmimalloc_sys::mi_zalloc(layout.size()).cast() }
        } else {
            unsafe { libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let new = std::alloc::Layout::from_size_align(new_size, layout.align());
        if new.is_ok_and(plain) {
            unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            unsafe {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

/// mimalloc's `mi_option_purge_delay` (15 in mimalloc.h, v2 and v3): how long freed
/// memory is kept before it is returned to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory instead of returning it after 10 ms: each validation
/// thread frees its connector's tree and rows, then builds the next one's
/// in the same amount of memory, and the kernel's zeroing of pages handed
/// back and asked for again cost a tenth of `spec validate` and `spec
/// apply`. Peak memory is unchanged; a run lasts seconds. For a process
/// that runs commands and exits, not for a long-lived service.
pub fn keep_freed_memory() {
    // SAFETY: sets one documented option; any value is valid.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
