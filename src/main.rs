//! The `tariffsim` binary: a thin shell over the library (see `tariffsim::cli`).

fn main() -> std::process::ExitCode {
    tariffsim::cli::main()
}
