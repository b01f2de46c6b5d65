//! The `kilele` binary. See `server::cli` for the subcommands.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Before any HTTPS client exists (see the function).
    kilele::storage::install_crypto_provider();
    server::cli::main().await
}
