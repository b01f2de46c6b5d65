//! Kilele's server: the axum application (web + API), the background worker, and the
//! operator subcommands (migrate, seed, audit verify).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod cli;
pub mod config;
pub mod csrf;
pub mod imports;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod ops;
pub mod pages;
pub mod school;
pub mod seed;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod worker;

pub use config::Config;
pub use state::AppState;
