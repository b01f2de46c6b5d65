//! `sqlx::migrate!` (cli.rs) embeds migrations/ when the crate compiles, and cargo does not
//! know it reads that directory: without this, a new migration left a stale binary that
//! migrated without it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
