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
//! - [`mpesa`]: M-Pesa OpenAPI: the push to a parent's phone ("pay now" in the portal), its
//!   result, and the status query that confirms every result before anything is posted;
//! - `pushes` (server side): the parent's pushes, settled through the same intake.
//!
//! - [`airtel`]: Airtel Money's Open API: the same push, callback and enquiry.
//! - [`tigo`]: Tigo Pesa: the push and its callback (no status query exists), and the USSD
//!   bill-pay in which Tigo asks us, in XML, who a control number is and to take a payment.
//! - `tokens` (server side): the wallets' access tokens and the one retry on a 401.
//! - `statements` and `reconcile` (server side): a bank's statement imported by the bursar,
//!   and its reconciliation against what the bank notified.

pub mod airtel;
pub mod banks;
#[cfg(feature = "ssr")]
pub mod bills;
#[cfg(feature = "ssr")]
pub mod db;
pub mod gepg;
pub mod mpesa;
#[cfg(feature = "ssr")]
pub mod pushes;
#[cfg(feature = "ssr")]
pub mod reconcile;
#[cfg(feature = "ssr")]
pub mod statements;
pub mod tigo;
#[cfg(feature = "ssr")]
pub mod tokens;
#[cfg(feature = "ssr")]
pub mod wallets;
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
    /// The Government Electronic Payment Gateway (government schools).
    Gepg,
}

impl Provider {
    pub const ALL: [Provider; 7] = [Self::Nmb, Self::Nbc, Self::Crdb, Self::Mpesa, Self::Airtel, Self::Tigo, Self::Gepg];
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
            Self::Gepg => Channel::Gepg,
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

/// A reference in a provider's XML resolved: a character reference, or one of XML's five
/// predefined entities; anything else (an entity of the sender's own) is `None`.
pub(crate) fn xml_reference(r: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    match r.resolve_char_ref().ok()? {
        Some(c) => Some(c.to_string()),
        None => quick_xml::escape::resolve_predefined_entity(&r.decode().ok()?).map(str::to_owned),
    }
}

/// A GePG bill as the bursar's page shows it: what it asked for, and GePG's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GepgBillView {
    pub id: uuid::Uuid,
    pub bill_id: String,
    pub amount_minor: i64,
    /// `submitted` (GePG's answer awaited), `issued` (with its control number) or `refused`.
    pub status: String,
    pub control_number: Option<String>,
    /// GePG's code when it refused the bill (or we could not reach it).
    pub code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A student's GePG bills, and whether the school bills through GePG at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GepgBills {
    pub open: bool,
    pub bills: Vec<GepgBillView>,
}

/// A bank statement the bursar imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementSummary {
    pub id: uuid::Uuid,
    pub provider: Provider,
    pub file_name: String,
    pub first_day: chrono::NaiveDate,
    pub last_day: chrono::NaiveDate,
    pub lines: i32,
    pub total_minor: i64,
    pub imported_at: DateTime<Utc>,
}

/// What a statement line, or a notification, came to in the reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecOutcome {
    /// On the statement and notified, for the same amount.
    Matched,
    /// On the statement and notified, for another amount.
    AmountDiffers,
    /// On the statement, never notified: money on the account that Kilele does not know.
    MissingHere,
    /// Notified for the statement's days, not on the statement.
    MissingThere,
}

impl RecOutcome {
    pub const ALL: [RecOutcome; 4] = [Self::Matched, Self::AmountDiffers, Self::MissingHere, Self::MissingThere];

    pub fn code(self) -> &'static str {
        match self {
            Self::Matched => "matched",
            Self::AmountDiffers => "amount-differs",
            Self::MissingHere => "missing-here",
            Self::MissingThere => "missing-there",
        }
    }
}

/// One line of a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecLine {
    pub outcome: RecOutcome,
    pub transaction_id: String,
    /// The statement's value date, or the day a notification was paid.
    pub day: chrono::NaiveDate,
    pub statement_minor: Option<i64>,
    pub ours_minor: Option<i64>,
    /// What became of the notification here (posted, suspense, split, refunded).
    pub our_status: Option<String>,
}

/// A statement reconciled: its lines first (in date order), then what the bank notified that
/// the statement does not show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub statement: StatementSummary,
    pub lines: Vec<RecLine>,
}

impl Reconciliation {
    pub fn count(&self, outcome: RecOutcome) -> usize {
        self.lines.iter().filter(|l| l.outcome == outcome).count()
    }
}

/// A school's channel as the bursar's channel page shows it (never a secret or a credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    pub provider: Provider,
    /// Given its secrets or credentials (by the operator): it can be opened.
    pub set_up: bool,
    pub enabled: bool,
    /// Closed by the operator (a leaked secret): only the operator opens it again.
    pub closed_by_operator: bool,
    /// The addresses the provider may call from (none: any — except Tigo, which then takes nothing).
    pub allowed_ips: Vec<String>,
    /// The last delivery through it, and how many were refused in the last day.
    pub last_delivery: Option<DateTime<Utc>>,
    pub refused_last_day: i64,
}

/// The most addresses one channel lists.
pub const MAX_CHANNEL_ADDRESSES: usize = 20;

/// One child's share of a payment the bursar splits between children, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SplitPart {
    /// Control number or admission number.
    pub student: String,
    /// Shillings.
    pub amount: String,
}

/// The most children one payment is split between.
pub const MAX_SPLIT_PARTS: usize = 8;

/// One payment in the bursar's list of payments (every channel: cash, banks, wallets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentListRow {
    pub id: uuid::Uuid,
    pub receipt_no: i64,
    pub paid_on: chrono::NaiveDate,
    pub student_id: uuid::Uuid,
    pub student_name: String,
    pub admission_no: String,
    pub channel: Channel,
    pub reference: Option<String>,
    pub amount_minor: i64,
}

/// The payments of a period (and channel), newest first: the first [`PaymentList::SHOWN`],
/// with the count and total of all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentList {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub channel: Option<Channel>,
    pub rows: Vec<PaymentListRow>,
    pub count: i64,
    pub total_minor: i64,
}

impl PaymentList {
    pub const SHOWN: i64 = 200;
}

/// One delivery in the bursar's inbox: what came, from where, and what was decided (never the
/// body: it is sealed, and names payers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRow {
    pub id: uuid::Uuid,
    pub provider: Provider,
    /// `notification`, `validation` or `reversal`.
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub source_ip: Option<String>,
    /// received, posted, suspense, duplicate, answered, declined, reversed, refused.
    pub outcome: String,
    /// Why (a message key), for a refusal, a suspense item or a decline.
    pub reason: Option<String>,
    pub transaction_id: Option<String>,
    pub body_bytes: i32,
}

/// The inbox's outcomes, in the order the filter offers them.
pub const INBOX_OUTCOMES: [&str; 8] = ["received", "posted", "suspense", "duplicate", "answered", "declined", "reversed", "refused"];

/// Where a "pay now" push is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PushStatus {
    /// Sent to the provider; the parent's phone asks for their PIN.
    Waiting,
    /// Paid and posted: the receipt is there.
    Paid,
    /// The provider said no (a reason is given).
    Failed,
    /// No answer in time: the parent never confirmed (money that still arrives is posted).
    Abandoned,
}

impl PushStatus {
    pub const ALL: [PushStatus; 4] = [Self::Waiting, Self::Paid, Self::Failed, Self::Abandoned];

    pub fn code(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn is_open(self) -> bool {
        self == Self::Waiting
    }
}

/// A push as the parent's page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushView {
    pub id: uuid::Uuid,
    pub provider: Provider,
    pub status: PushStatus,
    pub amount_minor: i64,
    /// Once paid: the receipt and its payment (for the receipt's PDF link).
    pub receipt_no: Option<i64>,
    pub payment_id: Option<uuid::Uuid>,
    /// Why it failed (a message key).
    pub reason: Option<String>,
}

impl PushView {
    /// What the page's live status line gets: the status code, then the receipt number or
    /// the reason (plain text: the parents' bundle parses no JSON).
    pub fn line(&self) -> String {
        match (self.status, self.receipt_no, &self.reason) {
            (PushStatus::Paid, Some(receipt), _) => {
                format!("paid {receipt} {}", self.payment_id.map(|p| p.to_string()).unwrap_or_default())
            }
            (status, _, Some(reason)) => format!("{} {reason}", status.code()),
            (status, _, None) => status.code().to_owned(),
        }
    }
}

/// A Tanzanian mobile number as wallets take it (`2557XXXXXXXX`, `2556XXXXXXXX`), from how
/// people write it: `0712 345 678`, `+255 712 345 678`, `255712345678`, `712345678`.
pub fn msisdn(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let local = match digits.len() {
        12 => digits.strip_prefix("255")?,
        10 => digits.strip_prefix('0')?,
        9 => digits,
        _ => return None,
    };
    matches!(local.as_bytes().first(), Some(b'6' | b'7')).then(|| format!("255{local}"))
}

/// What a wallet's status query (M-Pesa's `queryTransactionStatus`, Airtel's enquiry) says
/// of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Completed and not reversed: the money moved. The wallet's transaction id.
    Paid { transaction_id: String },
    /// It did not happen (a message key).
    Failed(&'static str),
    /// Not known yet (in progress, or the query itself failed): ask again later.
    Unknown,
}

/// How a wallet took a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAnswer {
    /// Sent to the phone; the result comes later (asynchronous mode).
    Sent { conversation_id: Option<String> },
    /// Paid already (synchronous mode): still confirmed by a status query before posting.
    Paid { transaction_id: String },
    /// Refused (a message key).
    Refused(&'static str),
    /// No answer we could read: the result or a status query will say.
    Unknown,
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

    #[test]
    fn phone_numbers_are_read_as_people_write_them() {
        for ok in ["0712 345 678", "+255 712 345 678", "255712345678", "712345678", "0612-345-678"] {
            assert!(msisdn(ok).is_some_and(|m| m.len() == 12 && m.starts_with("255")), "{ok}");
        }
        assert_eq!(msisdn("0712345678").as_deref(), Some("255712345678"));
        for bad in ["", "0812345678", "12345", "07123456789", "+1 712 345 678", "07l2345678", "254712345678"] {
            assert_eq!(msisdn(bad), None, "{bad}");
        }
        for s in PushStatus::ALL {
            assert_eq!(PushStatus::parse(s.code()), Some(s));
        }
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
            include_str!("mpesa.rs"),
            include_str!("airtel.rs"),
            include_str!("tigo.rs"),
            include_str!("statements.rs"),
            include_str!("reconcile.rs"),
            include_str!("../../server/src/statements.rs"),
            include_str!("pushes.rs"),
            include_str!("wallets.rs"),
            include_str!("../../server/src/payments.rs"),
        ];
        let used = crate::i18n_keys::used(&sources, &["payments-"]);
        assert!(used.len() >= 25, "{used:?}");
        crate::i18n_keys::assert_translated(&used);
    }
}
