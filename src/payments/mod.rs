//! Payments from providers (issue 10): each provider's messages parsed into one
//! [`PaymentEvent`], verified, de-duplicated on the provider's transaction id, matched to a
//! student by control number and posted through `finance::db::payments::post_payment` — the
//! path a bursar's hand-recorded payment takes too — or kept in suspense for the bursar.
//!
//! - [`banks`]: NMB, NBC and CRDB speak Kilele's bank-collection contract (banks publish no
//!   open API; see docs/payments-providers.md §4): a reference validation before the bank takes
//!   the money, and a payment notification after, each bank with its own field names;
//! - `webhooks` (server side): the Standard Webhooks signature every bank request carries;
//! - `db` (server side): the channels' settings, the inbox of deliveries, the intake.
//!
//! The mobile-money adapters (M-Pesa, Airtel Money, Tigo Pesa) come next, on the same intake.

pub mod banks;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod webhooks;

use crate::finance::ledger::Channel;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who sends payment notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provider {
    Nmb,
    Nbc,
    Crdb,
    Mpesa,
    Airtel,
    Tigo,
}

impl Provider {
    pub const ALL: [Provider; 6] = [Self::Nmb, Self::Nbc, Self::Crdb, Self::Mpesa, Self::Airtel, Self::Tigo];
    pub const BANKS: [Provider; 3] = [Self::Nmb, Self::Nbc, Self::Crdb];

    /// As stored and in URLs (`/api/v1/webhooks/nmb/<school>`).
    pub fn code(self) -> &'static str {
        self.channel().code()
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The ledger's clearing channel the money arrives through.
    pub fn channel(self) -> Channel {
        match self {
            Self::Nmb => Channel::Nmb,
            Self::Nbc => Channel::Nbc,
            Self::Crdb => Channel::Crdb,
            Self::Mpesa => Channel::Mpesa,
            Self::Airtel => Channel::Airtel,
            Self::Tigo => Channel::Tigo,
        }
    }

    pub fn is_bank(self) -> bool {
        Self::BANKS.contains(&self)
    }
}

/// One payment as any provider reports it, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub provider: Provider,
    /// The provider's own id of the transaction: the de-duplication key.
    pub transaction_id: String,
    /// What the payer quoted (a control number, as typed).
    pub reference: String,
    pub payer_name: Option<String>,
    pub payer_phone: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub paid_at: DateTime<Utc>,
}

/// A provider's payment kept for the bursar: nobody matched (or it could not be posted as it
/// came), waiting to be assigned to a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspenseItem {
    pub id: uuid::Uuid,
    /// The payment as the provider reported it (the payer's phone only for those who may see
    /// personal data).
    pub event: PaymentEvent,
    /// Why it waits (a message key).
    pub reason: String,
}

/// Why a message cannot be read (a message key; the provider gets it in its own format).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub &'static str);

/// A decimal amount as providers send it ("150000.00", "150000", at most two decimals) in
/// minor units, exactly: no floats, no signs, no exponents, no thousands separators.
pub fn parse_amount(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || whole.len() > 13 || fraction.len() > 2 || (text.contains('.') && !digits(fraction)) {
        return None;
    }
    let cents = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse::<i64>().ok()?,
    };
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// Minor units as providers write them ("150000.00").
pub fn format_amount(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_or_refused() {
        assert_eq!(parse_amount("150000.00"), Some(15_000_000));
        assert_eq!(parse_amount("150000"), Some(15_000_000));
        assert_eq!(parse_amount("0.5"), Some(50));
        assert_eq!(parse_amount("12.34"), Some(1234));
        for bad in ["", ".", "1.", ".5", "-1", "+1", "1e5", "1,000", "1.234", " 1", "1 ", "NaN", "99999999999999"] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
        assert_eq!(format_amount(15_000_000), "150000.00");
        assert_eq!(format_amount(1234), "12.34");
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.code()), Some(p));
        }
        assert_eq!(Provider::parse("cash"), None, "cash is the bursar's, never a provider's");
    }

    /// Every reason a delivery is refused or kept for the bursar has its words in English and
    /// Kiswahili (the bursar's inbox and suspense pages show them), the routes' own included.
    #[test]
    fn every_payments_key_is_translated() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("banks.rs"),
            include_str!("webhooks.rs"),
            include_str!("db.rs"),
            include_str!("../../server/src/payments.rs"),
        ];
        let used = crate::i18n_keys::used(&sources, &["payments-"]);
        assert!(used.len() >= 25, "{used:?}");
        crate::i18n_keys::assert_translated(&used);
    }
}
