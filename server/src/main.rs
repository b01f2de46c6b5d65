//! The `kilele` binary. See `server::cli` for the subcommands.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::cli::main().await
}
