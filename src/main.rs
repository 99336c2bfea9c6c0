//! The `spec` binary: a thin shell over the library (see `spec::cli`).

fn main() -> std::process::ExitCode {
    spec::cli::main()
}
