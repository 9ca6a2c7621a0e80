//! The `tariffsim` binary: parses arguments, validates them into one configuration, calls the
//! library and renders results and errors for people (the `cli` module; the library has no
//! command-line code).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
