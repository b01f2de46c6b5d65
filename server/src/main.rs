//! The `kilele` binary. See `server::cli` for the subcommands.

/// mimalloc instead of glibc's malloc: rendering a page allocates and frees many small
/// objects across threads, and glibc's allocator (with its arena consolidation) was about a
/// fifth of a page's CPU in `kilele bench pages` (perf, issue 6).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Before any HTTPS client exists (see the function).
    kilele::storage::install_crypto_provider();
    server::cli::main().await
}
