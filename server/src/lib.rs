//! Kilele's server: the axum application (web + API), the background worker, and the
//! operator subcommands (migrate, seed, audit verify, results compute).

pub mod auth;
pub mod bench;
pub mod bench_cards;
pub mod bench_fees;
pub mod bench_webhooks;
pub mod broadsheets;
pub mod cards;
pub mod cli;
pub mod config;
pub mod csrf;
pub mod finance;
pub mod imports;
pub mod intake;
pub mod limits;
pub mod mail;
pub mod marks;
pub mod metrics;
pub mod ops;
pub mod pages;
pub mod payments;
pub mod photos;
pub mod progress;
pub mod results;
pub mod school;
pub mod security;
pub mod seed;
pub mod simulate;
pub mod state;
pub mod statements;
pub mod telemetry;
pub mod uploads;
pub mod web;
pub mod worker;

pub use config::Config;
pub use state::AppState;
