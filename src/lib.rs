//! Kilele domain core.
//!
//! One module per bounded context. Pure logic (types built by `parse`, policies, hash
//! chains) compiles everywhere, including the browser; anything that touches the database
//! or spends real CPU on password hashing is behind the `ssr` feature.

pub mod academic;
pub mod analytics;
pub mod audit;
pub mod clock;
pub mod error;
pub mod finance;
#[cfg(test)]
mod i18n_keys;
pub mod identity;
pub mod jobs;
pub mod notifications;
pub mod payments;
pub mod reporting;
pub mod results;
pub mod tenancy;

#[cfg(feature = "ssr")]
pub mod databases;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod spreadsheet;
#[cfg(feature = "ssr")]
pub mod storage;

pub use error::{DomainError, ValidationError};
pub use identity::Language;
