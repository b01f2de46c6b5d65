//! Finance storage, inside a tenant transaction. Every change is audited in the same
//! transaction and posts its ledger entry there too; a refused change writes nothing.
//!
//! - [`accounts`]: the school's fee rules and prefix, students' control numbers;
//! - [`structures`]: fee structures, discounts, optional items;
//! - [`invoicing`]: invoicing runs (requested by the bursar, run by the worker);
//! - [`payments`]: payments, credit notes, fines and waivers, refunds, write-offs;
//! - [`ledger`]: posting, balances, `ledger check`;
//! - [`reads`]: the pages' reads (account, statement, dashboard, defaulters, search);
//! - [`dashboards`]: the accountant's dashboard kept per school until the ledger moves on.

pub mod accounts;
pub mod dashboards;
pub mod invoicing;
pub mod ledger;
pub mod payments;
pub mod reads;
pub mod structures;

use crate::DomainError;

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

/// "2027 T1", as the rest of the school's pages name a term.
pub fn term_label(year: i32, number: i32) -> String {
    format!("{year} T{number}")
}
