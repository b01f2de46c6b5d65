//! Kilele's bank-collection contract for NMB, NBC and CRDB (docs/payments-providers.md §4.3:
//! Kilele's own proposal, since the banks publish no open API). Two messages, JSON over HTTPS,
//! each signed the Standard Webhooks way:
//! - **validation**: before taking the money at a counter, an agent or in an app, the bank
//!   asks who a control number is and what is due;
//! - **notification**: after taking it, the bank tells Kilele (and retries until answered 2xx).
//!
//! Each bank names the fields its own way (NMB camelCase, CRDB snake_case, NBC PascalCase), as
//! real integrations differ; one table per bank maps them, so adding a bank is a table.

use super::{format_amount, parse_amount, PaymentEvent, Provider, Unreadable};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The names one bank gives the contract's fields.
#[derive(Debug)]
pub struct Naming {
    pub request_id: &'static str,
    pub control_number: &'static str,
    pub status_code: &'static str,
    pub status_message: &'static str,
    pub student_name: &'static str,
    pub school_name: &'static str,
    pub amount_due: &'static str,
    pub currency: &'static str,
    pub allow_partial: &'static str,
    pub allow_overpay: &'static str,
    pub transaction_ref: &'static str,
    pub amount: &'static str,
    pub paid_at: &'static str,
    pub payer_name: &'static str,
    pub payer_phone: &'static str,
    pub status: &'static str,
    pub receipt_number: &'static str,
    pub message: &'static str,
    /// A reversal: the bank reference of the payment it takes back, and why.
    pub original_ref: &'static str,
    pub reason: &'static str,
}

const NMB: Naming = Naming {
    request_id: "requestId",
    control_number: "controlNumber",
    status_code: "statusCode",
    status_message: "statusMessage",
    student_name: "studentName",
    school_name: "schoolName",
    amount_due: "amountDue",
    currency: "currency",
    allow_partial: "allowPartial",
    allow_overpay: "allowOverpay",
    transaction_ref: "transactionRef",
    amount: "amount",
    paid_at: "paidAt",
    payer_name: "payerName",
    payer_phone: "payerPhone",
    status: "status",
    receipt_number: "receiptNumber",
    message: "message",
    original_ref: "originalTransactionRef",
    reason: "reason",
};

const CRDB: Naming = Naming {
    request_id: "request_id",
    control_number: "control_number",
    status_code: "status_code",
    status_message: "status_message",
    student_name: "student_name",
    school_name: "school_name",
    amount_due: "amount_due",
    currency: "currency",
    allow_partial: "allow_partial",
    allow_overpay: "allow_overpay",
    transaction_ref: "bank_reference",
    amount: "amount",
    paid_at: "payment_date",
    payer_name: "payer_name",
    payer_phone: "payer_msisdn",
    status: "status",
    receipt_number: "receipt_number",
    message: "message",
    original_ref: "original_bank_reference",
    reason: "reason",
};

const NBC: Naming = Naming {
    request_id: "RequestId",
    control_number: "ControlNumber",
    status_code: "StatusCode",
    status_message: "StatusMessage",
    student_name: "StudentName",
    school_name: "SchoolName",
    amount_due: "AmountDue",
    currency: "Currency",
    allow_partial: "AllowPartial",
    allow_overpay: "AllowOverpay",
    transaction_ref: "TransactionReference",
    amount: "Amount",
    paid_at: "TransactionDate",
    payer_name: "PayerName",
    payer_phone: "PayerMobile",
    status: "Status",
    receipt_number: "ReceiptNumber",
    message: "Message",
    original_ref: "OriginalTransactionReference",
    reason: "Reason",
};

/// The bank's field names; `None` for a provider that is not a bank.
pub fn naming(bank: Provider) -> Option<&'static Naming> {
    match bank {
        Provider::Nmb => Some(&NMB),
        Provider::Crdb => Some(&CRDB),
        Provider::Nbc => Some(&NBC),
        Provider::Mpesa | Provider::Airtel | Provider::Tigo | Provider::Gepg => None,
    }
}

/// Largest body a bank may send (a notification is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

fn object(body: &[u8]) -> Result<Map<String, Value>, Unreadable> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Unreadable("payments-error-not-an-object")),
        Err(_) => Err(Unreadable("payments-error-not-json")),
    }
}

/// A required text field, trimmed, 1–`max` characters.
fn text<'a>(map: &'a Map<String, Value>, field: &str, max: usize, missing: &'static str) -> Result<&'a str, Unreadable> {
    match map.get(field).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => Ok(s),
        _ => Err(Unreadable(missing)),
    }
}

/// An optional free text (a payer's name, a reason): trimmed, without control characters (a
/// NUL would be refused by the database, and the bank would retry forever), at most `max`.
fn optional(map: &Map<String, Value>, field: &str, max: usize) -> Option<String> {
    let text: String = map.get(field).and_then(Value::as_str)?.chars().filter(|c| !c.is_control()).take(max).collect();
    Some(text.trim().to_owned()).filter(|s| !s.is_empty())
}

/// "Who is control number X?", as a bank asks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRequest {
    pub request_id: String,
    pub control_number: String,
}

pub fn parse_validation(bank: Provider, body: &[u8]) -> Result<ValidationRequest, Unreadable> {
    let n = naming(bank).ok_or(Unreadable("payments-error-not-a-bank"))?;
    let map = object(body)?;
    Ok(ValidationRequest {
        request_id: text(&map, n.request_id, 64, "payments-error-request-id")?.to_owned(),
        control_number: text(&map, n.control_number, 40, "payments-error-control-number")?.to_owned(),
    })
}

/// The contract's result codes for a validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationCode {
    /// A student of this school: take the money.
    Valid,
    /// No such control number here (or its check digits are wrong).
    Unknown,
    /// Known, nothing owed now (payment still taken: it becomes credit).
    NothingOwed,
    /// The school does not take payments through this bank.
    NotAccepting,
}

impl ValidationCode {
    pub fn code(self) -> &'static str {
        match self {
            Self::Valid => "00",
            Self::Unknown => "01",
            Self::NothingOwed => "02",
            Self::NotAccepting => "03",
        }
    }
}

/// What Kilele answers a validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationAnswer {
    pub code: ValidationCode,
    /// Only the student's name and school: just enough for the payer to confirm the child.
    pub student_name: Option<String>,
    pub school_name: Option<String>,
    pub amount_due_minor: i64,
}

pub fn validation_reply(bank: Provider, answer: &ValidationAnswer) -> Value {
    let Some(n) = naming(bank) else { return Value::Null };
    let message = match answer.code {
        ValidationCode::Valid => "OK",
        ValidationCode::Unknown => "Unknown control number",
        ValidationCode::NothingOwed => "Nothing owed; a payment becomes credit",
        ValidationCode::NotAccepting => "Payments through this bank are not open for this school",
    };
    let mut map = Map::new();
    map.insert(n.status_code.into(), answer.code.code().into());
    map.insert(n.status_message.into(), message.into());
    if let (Some(student), Some(school)) = (&answer.student_name, &answer.school_name) {
        map.insert(n.student_name.into(), student.clone().into());
        map.insert(n.school_name.into(), school.clone().into());
        map.insert(n.amount_due.into(), format_amount(answer.amount_due_minor).into());
        map.insert(n.currency.into(), "TZS".into());
        map.insert(n.allow_partial.into(), true.into());
        map.insert(n.allow_overpay.into(), true.into());
    }
    Value::Object(map)
}

/// How much moved, in which currency, and when: the fields a notification and a reversal
/// share (the amount positive and exact; the time with its offset).
fn money_moved(map: &Map<String, Value>, n: &Naming) -> Result<(i64, String, DateTime<Utc>), Unreadable> {
    let amount_minor = text(map, n.amount, 20, "payments-error-amount")
        .ok()
        .and_then(parse_amount)
        .filter(|a| *a > 0)
        .ok_or(Unreadable("payments-error-amount"))?;
    let currency = text(map, n.currency, 3, "payments-error-currency")?.to_ascii_uppercase();
    let at = text(map, n.paid_at, 40, "payments-error-paid-at")?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| Unreadable("payments-error-paid-at"))?.with_timezone(&Utc);
    Ok((amount_minor, currency, at))
}

/// A bank's payment notification, read into the common event. Every field is checked; the
/// first one wrong is the reason.
pub fn parse_notification(bank: Provider, body: &[u8]) -> Result<PaymentEvent, Unreadable> {
    let n = naming(bank).ok_or(Unreadable("payments-error-not-a-bank"))?;
    let map = object(body)?;
    // Stored as a bursar's slip reference is (upper-case, ≤ 60): the same slip typed by hand
    // and notified by the bank is one payment.
    let transaction_id = text(&map, n.transaction_ref, 60, "payments-error-transaction-ref")
        .ok()
        .and_then(crate::finance::slip_reference)
        .ok_or(Unreadable("payments-error-transaction-ref"))?;
    let reference = text(&map, n.control_number, 40, "payments-error-control-number")?.to_owned();
    let (amount_minor, currency, paid_at) = money_moved(&map, n)?;
    Ok(PaymentEvent {
        provider: bank,
        transaction_id,
        reference,
        payer_name: optional(&map, n.payer_name, 120),
        payer_phone: optional(&map, n.payer_phone, 20),
        amount_minor,
        currency,
        paid_at,
    })
}

/// A bank taking back money it notified before: its own reference for the reversal, the
/// payment's reference it reverses, how much, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    pub provider: Provider,
    pub transaction_id: String,
    pub original: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reversed_at: DateTime<Utc>,
    pub reason: String,
}

/// Reads a bank's reversal (`…/reversal`): the same field names as its notifications, with
/// the original's reference and a reason.
pub fn parse_reversal(bank: Provider, body: &[u8]) -> Result<Reversal, Unreadable> {
    let n = naming(bank).ok_or(Unreadable("payments-error-not-a-bank"))?;
    let map = object(body)?;
    let slip = |field: &str| {
        text(&map, field, 60, "payments-error-transaction-ref")
            .ok()
            .and_then(crate::finance::slip_reference)
            .ok_or(Unreadable("payments-error-transaction-ref"))
    };
    let transaction_id = slip(n.transaction_ref)?;
    let original = slip(n.original_ref).map_err(|_| Unreadable("payments-error-original-ref"))?;
    let (amount_minor, currency, reversed_at) = money_moved(&map, n)?;
    let reason = optional(&map, n.reason, 200).unwrap_or_default();
    if transaction_id == original {
        return Err(Unreadable("payments-error-original-ref"));
    }
    Ok(Reversal { provider: bank, transaction_id, original, amount_minor, currency, reversed_at, reason })
}

/// A reversal as a bank would send it (the simulator's and the tests' side).
pub fn reversal_body(
    bank: Provider,
    transaction_ref: &str,
    original_ref: &str,
    amount_minor: i64,
    at: DateTime<Utc>,
    reason: &str,
) -> Value {
    let Some(n) = naming(bank) else { return Value::Null };
    let mut map = Map::new();
    map.insert(n.transaction_ref.into(), transaction_ref.into());
    map.insert(n.original_ref.into(), original_ref.into());
    map.insert(n.amount.into(), format_amount(amount_minor).into());
    map.insert(n.currency.into(), "TZS".into());
    map.insert(n.paid_at.into(), at.to_rfc3339().into());
    map.insert(n.reason.into(), reason.into());
    Value::Object(map)
}

/// The contract's answers to a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Posted to the student's account.
    Accepted,
    /// This bank reference was taken before: the first receipt number again.
    Duplicate,
    /// Kept for the bursar (unknown control number, another currency): the money has moved,
    /// so it is never refused.
    Suspense,
    /// A reversal taken: the payment it names is undone.
    Reversed,
}

impl NotificationStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::Duplicate => "DUPLICATE",
            Self::Suspense => "SUSPENSE",
            Self::Reversed => "REVERSED",
        }
    }
}

pub fn notification_ack(bank: Provider, status: NotificationStatus, transaction_ref: &str, receipt_number: Option<i64>) -> Value {
    let Some(n) = naming(bank) else { return Value::Null };
    let message = match status {
        NotificationStatus::Accepted => "Posted",
        NotificationStatus::Duplicate => "Already posted",
        NotificationStatus::Suspense => "Received; the school's bursar will allocate it",
        NotificationStatus::Reversed => "Reversed",
    };
    let mut map = Map::new();
    map.insert(n.status.into(), status.code().into());
    map.insert(n.transaction_ref.into(), transaction_ref.into());
    map.insert(n.receipt_number.into(), receipt_number.map(|r| r.to_string()).map_or(Value::Null, Value::String));
    map.insert(n.message.into(), message.into());
    Value::Object(map)
}

/// A refusal in the bank's field names (a 4xx body): the status `REJECTED` and the reason.
pub fn refusal(bank: Provider, reason: &str) -> Value {
    let Some(n) = naming(bank) else { return serde_json::json!({ "error": reason }) };
    let mut map = Map::new();
    map.insert(n.status.into(), "REJECTED".into());
    map.insert(n.message.into(), reason.into());
    Value::Object(map)
}

/// A notification as a bank would send it (the simulator's and the tests' side).
#[allow(clippy::too_many_arguments)]
pub fn notification_body(
    bank: Provider,
    transaction_ref: &str,
    control_number: &str,
    amount_minor: i64,
    paid_at: DateTime<Utc>,
    payer_name: &str,
    payer_phone: Option<&str>,
) -> Value {
    let Some(n) = naming(bank) else { return Value::Null };
    let mut map = Map::new();
    map.insert(n.transaction_ref.into(), transaction_ref.into());
    map.insert(n.control_number.into(), control_number.into());
    map.insert(n.amount.into(), format_amount(amount_minor).into());
    map.insert(n.currency.into(), "TZS".into());
    // In East Africa Time, as the banks' systems write it.
    let local =
        chrono::FixedOffset::east_opt(3 * 3600).map_or_else(|| paid_at.to_rfc3339(), |eat| paid_at.with_timezone(&eat).to_rfc3339());
    map.insert(n.paid_at.into(), local.into());
    map.insert(n.payer_name.into(), payer_name.into());
    if let Some(phone) = payer_phone {
        map.insert(n.payer_phone.into(), phone.into());
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reversal_names_its_original_in_each_banks_words() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+03:00").unwrap().with_timezone(&Utc);
        for bank in Provider::BANKS {
            let body = reversal_body(bank, "rev-1", "PAY-1", 4_000_000, at, "Cheque returned");
            let r = parse_reversal(bank, &serde_json::to_vec(&body).unwrap()).unwrap();
            assert_eq!((r.transaction_id.as_str(), r.original.as_str(), r.amount_minor), ("REV-1", "PAY-1", 4_000_000));
            assert_eq!((r.reversed_at, r.reason.as_str()), (at, "Cheque returned"));
            let mut itself = body.clone();
            itself[naming(bank).unwrap().original_ref] = "REV-1".into();
            assert_eq!(parse_reversal(bank, &serde_json::to_vec(&itself).unwrap()), Err(Unreadable("payments-error-original-ref")));
            let mut none = body.clone();
            none.as_object_mut().unwrap().remove(naming(bank).unwrap().original_ref);
            assert_eq!(parse_reversal(bank, &serde_json::to_vec(&none).unwrap()), Err(Unreadable("payments-error-original-ref")));
        }
        // Another bank's names do not read.
        let nmb = reversal_body(Provider::Nmb, "REV-1", "PAY-1", 100, at, "");
        assert!(parse_reversal(Provider::Crdb, &serde_json::to_vec(&nmb).unwrap()).is_err());
    }

    #[test]
    fn each_bank_reads_its_own_field_names_and_nothing_else() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T09:30:01+03:00").unwrap().with_timezone(&Utc);
        for bank in Provider::BANKS {
            let body = notification_body(bank, "TX-1", "100112345678", 15_000_000, at, "Asha Juma", Some("+255712000111")).to_string();
            let event = parse_notification(bank, body.as_bytes()).unwrap();
            assert_eq!(
                (event.transaction_id.as_str(), event.reference.as_str(), event.amount_minor, event.currency.as_str(), event.paid_at),
                ("TX-1", "100112345678", 15_000_000, "TZS", at),
                "{bank:?}"
            );
            assert_eq!(event.payer_phone.as_deref(), Some("+255712000111"));
            // Another bank's names are not this bank's.
            let other = Provider::BANKS.into_iter().find(|b| *b != bank).unwrap();
            let foreign = notification_body(other, "TX-1", "100112345678", 15_000_000, at, "Asha Juma", None).to_string();
            assert!(parse_notification(bank, foreign.as_bytes()).is_err(), "{bank:?} read {other:?}'s message");
        }
        assert_eq!(parse_notification(Provider::Mpesa, b"{}"), Err(Unreadable("payments-error-not-a-bank")));
    }

    #[test]
    fn a_bad_notification_says_which_field() {
        let at = Utc::now();
        let good = notification_body(Provider::Nmb, "TX-9", "100112345678", 500_000, at, "A", None);
        let with = |field: &str, value: Value| {
            let mut v = good.clone();
            v[field] = value;
            parse_notification(Provider::Nmb, v.to_string().as_bytes()).err().map(|e| e.0)
        };
        assert_eq!(with("amount", "-5.00".into()), Some("payments-error-amount"));
        assert_eq!(with("amount", "0.00".into()), Some("payments-error-amount"));
        assert_eq!(with("amount", 5000.into()), Some("payments-error-amount"), "amounts are strings, never JSON numbers (floats)");
        assert_eq!(with("transactionRef", "".into()), Some("payments-error-transaction-ref"));
        assert_eq!(with("transactionRef", "x".repeat(61).into()), Some("payments-error-transaction-ref"), "longer than a slip reference");
        assert_eq!(with("transactionRef", "TX;DROP".into()), Some("payments-error-transaction-ref"));
        let mut lower = good.clone();
        lower["transactionRef"] = "nmb-tx-77".into();
        assert_eq!(
            parse_notification(Provider::Nmb, lower.to_string().as_bytes()).unwrap().transaction_id,
            "NMB-TX-77",
            "as a bursar's slip"
        );
        assert_eq!(with("paidAt", "yesterday".into()), Some("payments-error-paid-at"));
        assert_eq!(with("currency", Value::Null), Some("payments-error-currency"));
        assert_eq!(parse_notification(Provider::Nmb, b"not json").err().map(|e| e.0), Some("payments-error-not-json"));
        assert_eq!(parse_notification(Provider::Nmb, b"[1]").err().map(|e| e.0), Some("payments-error-not-an-object"));
    }

    #[test]
    fn replies_use_the_banks_names() {
        let answer = ValidationAnswer {
            code: ValidationCode::Valid,
            student_name: Some("Asha Juma".into()),
            school_name: Some("Kilimanjaro Hills".into()),
            amount_due_minor: 28_000_000,
        };
        assert_eq!(validation_reply(Provider::Crdb, &answer)["amount_due"], "280000.00");
        assert_eq!(validation_reply(Provider::Nbc, &answer)["StatusCode"], "00");
        let unknown = ValidationAnswer { code: ValidationCode::Unknown, student_name: None, school_name: None, amount_due_minor: 0 };
        assert!(validation_reply(Provider::Nmb, &unknown).get("studentName").is_none(), "nothing about anyone for an unknown number");
        let ack = notification_ack(Provider::Nbc, NotificationStatus::Duplicate, "TX-1", Some(17));
        assert_eq!((ack["Status"].as_str(), ack["ReceiptNumber"].as_str()), (Some("DUPLICATE"), Some("17")));
    }
}
