fn main() -> std::process::ExitCode {
    warren::cli::main()
}
