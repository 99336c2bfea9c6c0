//! The `spec` binary: a thin shell over the library (see `spec::cli`).

/// mimalloc instead of the system allocator: loading specs, decoding
/// responses and polling triggers allocate many small objects (YAML
/// nodes, JSON values), and glibc's malloc/free took a third of a trigger
/// poll's time. Only the binary sets it; a platform embedding the library
/// keeps its own allocator.
#[global_allocator]
static ALLOCATOR: spec::allocator::Allocator = spec::allocator::Allocator;

fn main() -> std::process::ExitCode {
    spec::allocator::keep_freed_memory();
    spec::cli::main()
}
