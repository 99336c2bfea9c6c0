//! The `spec` binary: a thin shell over the library (see `spec::cli`).

/// mimalloc instead of the system allocator: loading specs, decoding
/// responses and polling triggers allocate many small objects (YAML
/// nodes, JSON values), and glibc's malloc/free took a third of a trigger
/// poll's time. Only the binary sets it; a platform embedding the library
/// keeps its own allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (15 in mimalloc.h, v2 and v3): how long freed
/// memory is kept before it is returned to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Keep freed memory instead of returning it after 10 ms: each validation
    // thread frees its connector's tree and rows, then builds the next one's
    // in the same amount of memory, and the kernel's zeroing of pages handed
    // back and asked for again cost a tenth of `spec validate` and `spec
    // apply`. Peak memory is unchanged; a run lasts seconds.
    // SAFETY: sets one documented option; any value is valid.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    spec::cli::main()
}
