//! The `switchyard` binary: parse the command line and run the command.

fn main() -> std::process::ExitCode {
    switchyard::cli::main()
}
