//! Finance: fees, invoices, control numbers, payments recorded by the bursar and the
//! double-entry ledger (issue 9).
//!
//! - [`money`]: `Money`, integer minor units with a currency, never floating point;
//! - [`control`]: control numbers (ISO 7064 MOD 97-10 check digits);
//! - [`billing`]: a fee structure as typed, checked; one student's invoice worked out;
//! - [`ledger`]: accounts, the balanced entry each movement posts, allocation and ageing;
//! - [`views`]: what the pages show;
//! - `db` (`ssr`): storage, one file per concern; every write audited in its transaction.

pub mod billing;
pub mod charts;
pub mod control;
pub mod ledger;
mod money;
pub mod views;

#[cfg(feature = "ssr")]
pub mod db;

pub use money::{Currency, Money};

/// A bank slip's or a provider's transaction reference as stored: trimmed, upper-case, at most
/// 60 characters of letters, digits, `-`, `/`, `.` and spaces. The same rule for a bursar
/// typing a slip and a bank notifying it, so the same slip is never posted twice.
pub fn slip_reference(input: &str) -> Option<String> {
    let r = input.trim();
    let ok = !r.is_empty() && r.len() <= 60 && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.' | ' '));
    ok.then(|| r.to_uppercase())
}

#[cfg(test)]
mod tests {
    /// Every message key the finance code names has its words in English and Kiswahili.
    #[test]
    fn every_finance_key_is_translated() {
        let sources = [
            include_str!("billing.rs"),
            include_str!("control.rs"),
            include_str!("ledger.rs"),
            include_str!("money.rs"),
            include_str!("db/accounts.rs"),
            include_str!("db/invoicing.rs"),
            include_str!("db/payments.rs"),
            include_str!("db/reads.rs"),
            include_str!("db/structures.rs"),
            include_str!("../db.rs"),
        ];
        let used = crate::i18n_keys::used(&sources, &["finance-", "error-"]);
        assert!(used.contains("finance-error-shares-sum") && used.contains("finance-channel-mpesa"), "{used:?}");
        // Each channel's how-to-pay steps (named by code in the family's page).
        let mut used = used;
        for c in super::ledger::Channel::ALL.iter().filter(|c| !matches!(c, super::ledger::Channel::Cash | super::ledger::Channel::Gepg)) {
            used.insert(format!("finance-howto-{}", c.code()));
        }
        crate::i18n_keys::assert_translated(&used);
    }
}
