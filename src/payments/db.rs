//! Payment intake in a school's transaction (migration 0023): the school's channels (secrets
//! sealed, addresses allowed), the inbox every delivery is kept in, and the intake that turns
//! one verified [`PaymentEvent`] into a posted payment, a duplicate, or a suspense item.

use super::banks::{ValidationAnswer, ValidationCode};
use super::webhooks::Secret;
use super::{PaymentEvent, Provider, SplitPart, SuspenseItem, MAX_SPLIT_PARTS};
use crate::audit::pii::{Aad, KeyRing};
use crate::audit::Actor;
use crate::db::TenantTx;
use crate::finance::control::ControlNumber;
use crate::finance::db::payments::{post_payment, NewPayment};
use crate::identity::store::ChangedBy;
use crate::DomainError;
use chrono::{DateTime, Utc};
use std::net::IpAddr;
use uuid::Uuid;

/// The sealed column of the channels' secrets.
pub const CHANNEL_SECRETS: &str = "payment_channels.secrets";
/// The sealed column of a delivery's body (it names a payer and their phone).
pub const INBOX_BODY: &str = "payment_inbox.body";
/// The sealed column of a payer's name and phone.
pub const PAYER: &str = "provider_payments.payer";

/// What a refused delivery keeps of its body (enough to see what was sent).
pub const REFUSED_BODY_KEPT: usize = 2048;

/// A school's settings for one provider.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    pub enabled: bool,
    /// Newest first.
    pub secrets: Vec<Secret>,
    /// Empty: any address (the signature alone decides).
    pub allowed_ips: Vec<IpAddr>,
}

impl ChannelSettings {
    /// Whether `ip` may deliver (an IPv4 peer seen as IPv6 on a dual-stack socket is the same).
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        self.allowed_ips.is_empty() || ip.is_some_and(|ip| self.allowed_ips.iter().any(|a| a.to_canonical() == ip.to_canonical()))
    }
}

fn open_secrets(pii: &KeyRing, school: Uuid, sealed: &[u8]) -> Result<Vec<String>, DomainError> {
    let json = pii.decrypt(sealed, &Aad::new(school, CHANNEL_SECRETS))?;
    serde_json::from_str(&json).map_err(|e| DomainError::Internal(format!("channel secrets: {e}")))
}

/// The school's channel for `provider`, its secrets opened.
pub async fn channel(tx: &mut TenantTx, pii: &KeyRing, provider: Provider) -> Result<Option<ChannelSettings>, DomainError> {
    let row: Option<(bool, Vec<u8>, Vec<String>)> =
        sqlx::query_as("SELECT enabled, secrets_sealed, allowed_ips FROM payment_channels WHERE provider = $1")
            .bind(provider.code())
            .fetch_optional(&mut **tx)
            .await?;
    let Some((enabled, sealed, ips)) = row else { return Ok(None) };
    let secrets = open_secrets(pii, tx.tenant().0, &sealed)?.iter().filter_map(|s| Secret::parse(s)).collect();
    Ok(Some(ChannelSettings { enabled, secrets, allowed_ips: ips.iter().filter_map(|ip| ip.parse().ok()).collect() }))
}

/// Gives the school's `provider` channel a new signing secret (returned once, `whsec_…`),
/// keeping the previous one active too while the provider moves over — unless
/// `revoke_previous` (a secret that leaked) — and the addresses it may call from; the channel
/// is open. Audited (never the secret).
pub async fn set_channel(
    tx: &mut TenantTx,
    pii: &KeyRing,
    provider: Provider,
    allowed_ips: &[IpAddr],
    revoke_previous: bool,
    by: ChangedBy<'_>,
) -> Result<String, DomainError> {
    let school = tx.tenant().0;
    let previous: Option<Vec<u8>> = sqlx::query_scalar("SELECT secrets_sealed FROM payment_channels WHERE provider = $1 FOR UPDATE")
        .bind(provider.code())
        .fetch_optional(&mut **tx)
        .await?;
    let (_, text) = Secret::generate();
    let mut secrets = vec![text.clone()];
    if let (Some(sealed), false) = (previous, revoke_previous) {
        secrets.extend(open_secrets(pii, school, &sealed)?.into_iter().take(1));
    }
    let json = serde_json::to_string(&secrets).map_err(|e| DomainError::Internal(e.to_string()))?;
    let sealed = pii.encrypt(&json, &Aad::new(school, CHANNEL_SECRETS))?;
    let ips: Vec<String> = allowed_ips.iter().map(ToString::to_string).collect();
    sqlx::query(
        "INSERT INTO payment_channels (tenant_id, provider, enabled, secrets_sealed, allowed_ips, changed_at) VALUES ($1, $2, true, $3, $4, $5)
         ON CONFLICT (tenant_id, provider) DO UPDATE SET enabled = true, closed_by = NULL, secrets_sealed = $3, allowed_ips = $4, changed_at = $5",
    )
    .bind(school)
    .bind(provider.code())
    .bind(&sealed)
    .bind(&ips)
    .bind(by.at)
    .execute(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_CHANNEL_SET,
        provider.code(),
        serde_json::json!({ "allowed_ips": ips, "active_secrets": secrets.len(), "revoked_previous": revoke_previous }),
    )
    .await?;
    Ok(text)
}

/// Closes the school's `provider` channel: every delivery is refused until it is set again.
/// Audited.
pub async fn close_channel(tx: &mut TenantTx, provider: Provider, closer: Closer, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let closed = sqlx::query("UPDATE payment_channels SET enabled = false, closed_by = $3, changed_at = $2 WHERE provider = $1")
        .bind(provider.code())
        .bind(by.at)
        .bind(closer.code())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if closed == 0 {
        return Err(DomainError::NotFound);
    }
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_CHANNEL_SET,
        provider.code(),
        serde_json::json!({ "enabled": false, "closed_by": closer.code() }),
    )
    .await?;
    Ok(())
}

/// Who closed a channel: the operator's may be opened again only by the operator (a secret
/// that leaked), the bursar's from the page too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closer {
    Operator,
    Bursar,
}

impl Closer {
    pub fn code(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Bursar => "bursar",
        }
    }
}

/// The school's six channels as the bursar's page shows them: set up or not, open or closed,
/// their addresses, their last delivery and the refusals of the last day.
pub async fn channels(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<Vec<super::ChannelView>, DomainError> {
    type Row = (String, bool, bool, Vec<String>, Option<DateTime<Utc>>, i64, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.provider, c.enabled,
                (c.credentials_sealed IS NOT NULL OR c.provider IN ('nmb', 'nbc', 'crdb')) AS set_up, c.allowed_ips,
                (SELECT max(received_at) FROM payment_inbox i WHERE i.provider = c.provider),
                (SELECT count(*) FROM payment_inbox i WHERE i.provider = c.provider AND i.outcome = 'refused' AND i.received_at > $1),
                coalesce(c.closed_by = 'operator', false)
           FROM payment_channels c",
    )
    .bind(now - chrono::Duration::days(1))
    .fetch_all(&mut **tx)
    .await?;
    Ok(Provider::ALL
        .into_iter()
        .map(|provider| match rows.iter().find(|r| r.0 == provider.code()) {
            Some((_, enabled, set_up, ips, last, refused, by_operator)) => super::ChannelView {
                provider,
                set_up: *set_up,
                enabled: *enabled,
                closed_by_operator: *by_operator,
                allowed_ips: ips.clone(),
                last_delivery: *last,
                refused_last_day: *refused,
            },
            None => super::ChannelView {
                provider,
                set_up: false,
                enabled: false,
                closed_by_operator: false,
                allowed_ips: Vec::new(),
                last_delivery: None,
                refused_last_day: 0,
            },
        })
        .collect())
}

/// Opens again a channel the bursar closed (one the operator closed — a secret that leaked —
/// only the operator opens, with `kilele payments channel`); a Tigo channel only with the
/// addresses Tigo calls from. Audited.
pub async fn open_channel(tx: &mut TenantTx, provider: Provider, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let row: Option<(bool, Option<String>, bool, Vec<String>)> = sqlx::query_as(
        "SELECT enabled, closed_by, credentials_sealed IS NOT NULL, allowed_ips FROM payment_channels WHERE provider = $1 FOR UPDATE",
    )
    .bind(provider.code())
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => return Err(DomainError::conflict("provider", "payments-channel-error-not-set-up")),
        Some((_, _, credentials, _)) if !provider.is_bank() && !credentials => {
            return Err(DomainError::conflict("provider", "payments-channel-error-not-set-up"))
        }
        Some((true, ..)) => return Ok(()),
        Some((false, closed_by, ..)) if closed_by.as_deref() != Some(Closer::Bursar.code()) => {
            return Err(DomainError::conflict("provider", "payments-channel-error-operator-closed"))
        }
        Some((.., ips)) if provider == Provider::Tigo && ips.is_empty() => {
            return Err(DomainError::conflict("provider", "payments-error-addresses-required"))
        }
        Some(_) => {}
    }
    sqlx::query("UPDATE payment_channels SET enabled = true, closed_by = NULL, changed_at = $2 WHERE provider = $1")
        .bind(provider.code())
        .bind(by.at)
        .execute(&mut **tx)
        .await?;
    by.audit(tx, crate::audit::actions::PAYMENT_CHANNEL_SET, provider.code(), serde_json::json!({ "enabled": true })).await?;
    Ok(())
}

/// Sets the addresses a bank may call a school's channel from, as the bursar typed them
/// (separated by commas, spaces or lines; each an IPv4 or IPv6 address; at most
/// [`super::MAX_CHANNEL_ADDRESSES`]); none: any (the bank's signature still decides). A
/// wallet's addresses stay with the operator: for Tigo, which signs nothing, they are the only
/// proof a call is Tigo's, so whoever sets them could post payments. Audited with the list.
pub async fn set_addresses(tx: &mut TenantTx, provider: Provider, typed: &str, by: ChangedBy<'_>) -> Result<Vec<IpAddr>, DomainError> {
    use crate::ValidationError;
    if !provider.is_bank() {
        return Err(DomainError::conflict("provider", "payments-channel-error-wallet-addresses"));
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    for word in typed.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|w| !w.is_empty()) {
        match word.parse::<IpAddr>() {
            Ok(ip) if ips.contains(&ip) => {}
            Ok(_) if ips.len() == super::MAX_CHANNEL_ADDRESSES => {
                return Err(ValidationError::new("addresses", "payments-channel-error-too-many").into())
            }
            Ok(ip) => ips.push(ip),
            Err(_) => return Err(ValidationError::new("addresses", "payments-channel-error-address").into()),
        }
    }
    let texts: Vec<String> = ips.iter().map(ToString::to_string).collect();
    let changed = sqlx::query("UPDATE payment_channels SET allowed_ips = $2, changed_at = $3 WHERE provider = $1")
        .bind(provider.code())
        .bind(&texts)
        .bind(by.at)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(DomainError::conflict("provider", "payments-channel-error-not-set-up"));
    }
    by.audit(tx, crate::audit::actions::PAYMENT_CHANNEL_SET, provider.code(), serde_json::json!({ "allowed_ips": texts })).await?;
    Ok(ips)
}

/// A delivery as it came.
#[derive(Debug)]
pub struct Delivery<'a> {
    pub provider: Provider,
    /// `notification` or `validation`.
    pub kind: &'static str,
    pub received_at: DateTime<Utc>,
    pub source_ip: Option<IpAddr>,
    pub headers: serde_json::Value,
    pub body: &'a [u8],
}

/// Keeps a delivery in the inbox, its body sealed (`keep`: how much of it; a refused one
/// keeps its start), decided already (`(outcome, reason)`, with the provider's id of what it
/// was about) or still to be (`received`: commit it before processing). Returns its id.
pub async fn receive(
    tx: &mut TenantTx,
    pii: &KeyRing,
    d: &Delivery<'_>,
    keep: usize,
    (outcome, reason): (&str, Option<&str>),
    transaction_id: Option<&str>,
) -> Result<Uuid, DomainError> {
    use base64::Engine;
    let kept = d.body.get(..keep.min(d.body.len())).unwrap_or_default();
    let sealed = pii.encrypt(&base64::engine::general_purpose::STANDARD.encode(kept), &Aad::new(tx.tenant().0, INBOX_BODY))?;
    Ok(sqlx::query_scalar(
        "INSERT INTO payment_inbox (tenant_id, provider, kind, received_at, source_ip, headers, body_sealed, body_bytes, outcome, reason,
                                    transaction_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(d.provider.code())
    .bind(d.kind)
    .bind(d.received_at)
    .bind(d.source_ip.map(|ip| ip.to_canonical().to_string()))
    .bind(&d.headers)
    .bind(&sealed)
    .bind(i32::try_from(d.body.len()).unwrap_or(i32::MAX))
    .bind(outcome)
    .bind(reason)
    .bind(transaction_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// A delivery's body as it was kept (the bursar's inbox view; tests).
pub async fn delivered_body(tx: &mut TenantTx, pii: &KeyRing, inbox: Uuid) -> Result<Vec<u8>, DomainError> {
    use base64::Engine;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT body_sealed FROM payment_inbox WHERE id = $1")
        .bind(inbox)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
    let text = pii.decrypt(&sealed, &Aad::new(tx.tenant().0, INBOX_BODY))?;
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| DomainError::Internal(e.to_string()))
}

/// What was decided about a delivery.
pub async fn decided(
    tx: &mut TenantTx,
    inbox: Uuid,
    outcome: &str,
    reason: Option<&str>,
    transaction_id: Option<&str>,
) -> Result<(), DomainError> {
    sqlx::query("UPDATE payment_inbox SET outcome = $2, reason = $3, transaction_id = $4 WHERE id = $1")
        .bind(inbox)
        .bind(outcome)
        .bind(reason)
        .bind(transaction_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What became of a payment notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Posted to the student's account: its receipt number.
    Posted { receipt_no: i64 },
    /// This transaction came before: what became of it then.
    Duplicate { receipt_no: Option<i64> },
    /// Kept for the bursar, with why (a message key). Nothing posted.
    Suspense { reason: &'static str },
    /// The same transaction again, but saying something else (another amount or number):
    /// refused, and the first one stands.
    ConflictingRepeat,
}

impl Intake {
    /// What the inbox records of the delivery that brought it: the outcome, and why.
    pub fn outcome(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Posted { .. } => ("posted", None),
            Self::Duplicate { .. } => ("duplicate", None),
            Self::Suspense { reason } => ("suspense", Some(*reason)),
            Self::ConflictingRepeat => ("refused", Some("payments-error-conflicting-repeat")),
        }
    }
}

/// The school's student with this control number, when it is one of this school's.
async fn student_of(tx: &mut TenantTx, reference: &str) -> Result<Result<Uuid, &'static str>, DomainError> {
    let Ok(number) = ControlNumber::parse(reference) else { return Ok(Err("payments-suspense-bad-control-number")) };
    let student: Option<Uuid> = sqlx::query_scalar("SELECT student_id FROM student_accounts WHERE control_number = $1")
        .bind(number.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(student.ok_or("payments-suspense-unknown-control-number"))
}

/// How a provider's payment found its student (kept with it, and in its audit entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    ControlNumber,
    /// An invoice number quoted instead (`INV-123`, `#123`, `123`).
    Invoice,
    /// The student's admission number quoted instead.
    Admission,
    /// Nothing quoted matched, but the payer's phone is a guardian's with one child here.
    PayerPhone,
    /// Assigned by the bursar from suspense.
    Bursar,
}

impl MatchedBy {
    pub fn code(self) -> &'static str {
        match self {
            Self::ControlNumber => "control_number",
            Self::Invoice => "invoice",
            Self::Admission => "admission",
            Self::PayerPhone => "payer_phone",
            Self::Bursar => "bursar",
        }
    }
}

/// The invoice number in a reference as payers write it (`INV-123`, `inv 123`, `Invoice: 7`,
/// `#123`): at most nine digits, and marked as an invoice's. A bare number is not taken for
/// one: invoice numbers count from 1, so nearly any short number is some child's invoice.
fn invoice_number(reference: &str) -> Option<i64> {
    let upper = reference.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("INVOICE").or_else(|| upper.strip_prefix("INV")).or_else(|| upper.strip_prefix('#'))?;
    let digits = rest.trim_start_matches([' ', '-', '#', '.', ':', '/']);
    (!digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

/// Matches a provider's payment to a student of this school, as a bursar would: the control
/// number; else an invoice number (not cancelled) or an admission number, of a child still at
/// the school (when both name different children, nobody); else the payer's phone, when it is
/// a guardian's with exactly one child here (through the phones' blind index: no phone is
/// opened). A reference that is a control number in form (twelve digits) but nobody's is a
/// mistyped one: it waits for the bursar, never paid to whoever the phone finds. What matches
/// nobody keeps the control number's reason (or says why it is unsure) for the suspense queue.
async fn match_student(
    tx: &mut TenantTx,
    pii: &KeyRing,
    event: &PaymentEvent,
) -> Result<Result<(Uuid, MatchedBy), &'static str>, DomainError> {
    // A GePG payment quotes GePG's control number for one of our bills.
    if event.provider == Provider::Gepg {
        return Ok(match super::bills::student_of(tx, event.reference.trim()).await? {
            Some(student) => Ok((student, MatchedBy::ControlNumber)),
            None => Err("payments-suspense-unknown-control-number"),
        });
    }
    let by_control = student_of(tx, &event.reference).await?;
    let why = match by_control {
        Ok(student) => return Ok(Ok((student, MatchedBy::ControlNumber))),
        // Quoting another school's child: that school's money, for the bursars to sort out,
        // never this school's student by some other clue. (Asked only when nobody here
        // matched: the usual payment costs no query more.)
        Err(_) if another_schools(tx, &event.reference).await? => return Ok(Err("payments-suspense-other-school")),
        Err(why) => why,
    };
    let digits: String = event.reference.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Err(why));
    }
    let by_invoice: Option<Uuid> = match invoice_number(&event.reference) {
        Some(number) => {
            sqlx::query_scalar(
                "SELECT i.student_id FROM invoices i JOIN students s ON s.tenant_id = i.tenant_id AND s.id = i.student_id
                  WHERE i.number = $1 AND NOT i.cancelled AND s.status = 'active'",
            )
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => None,
    };
    let admission = event.reference.trim().to_uppercase();
    let by_admission: Option<Uuid> = if admission.is_empty() || admission.len() > 40 {
        None
    } else {
        sqlx::query_scalar("SELECT id FROM students WHERE search_admission = $1 AND status = 'active'")
            .bind(&admission)
            .fetch_optional(&mut **tx)
            .await?
    };
    match (by_invoice, by_admission) {
        (Some(a), Some(b)) if a != b => return Ok(Err("payments-suspense-ambiguous-reference")),
        (Some(student), _) => return Ok(Ok((student, MatchedBy::Invoice))),
        (None, Some(student)) => return Ok(Ok((student, MatchedBy::Admission))),
        (None, None) => {}
    }
    let Some(phone) = event.payer_phone.as_deref().and_then(|p| crate::identity::Phone::parse(p).ok()) else {
        return Ok(Err(why));
    };
    let index = pii.blind_index(tx.tenant().0, crate::academic::store::GUARDIAN_PHONE, phone.as_str());
    let children: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT sg.student_id FROM guardians g
           JOIN student_guardians sg ON sg.tenant_id = g.tenant_id AND sg.guardian_id = g.id
           JOIN students s ON s.tenant_id = sg.tenant_id AND s.id = sg.student_id AND s.status = 'active'
          WHERE g.phone_bidx = $1 LIMIT 2",
    )
    .bind(index)
    .fetch_all(&mut **tx)
    .await?;
    Ok(match children[..] {
        [student] => Ok((student, MatchedBy::PayerPhone)),
        [] => Err(why),
        // Which child? Only the family or the bursar can say.
        _ => Err("payments-suspense-several-children"),
    })
}

/// Whether a well-formed control number names another school (its prefix is not this one's).
async fn another_schools(tx: &mut TenantTx, reference: &str) -> Result<bool, DomainError> {
    let Ok(number) = ControlNumber::parse(reference) else { return Ok(false) };
    let ours: Option<String> = sqlx::query_scalar("SELECT control_prefix FROM finance_settings").fetch_optional(&mut **tx).await?;
    Ok(ours.is_some_and(|ours| number.prefix() != ours))
}

/// Takes one verified payment event: once per provider transaction (a repeat finds the first),
/// matched to a student (`match_student`: control number, invoice or admission number, the
/// payer's phone) and posted through `post_payment` with its ledger entry, or kept
/// in suspense for the bursar (the money has moved: nothing verified is ever refused). Audited
/// as the provider.
pub async fn intake(tx: &mut TenantTx, pii: &KeyRing, event: &PaymentEvent, inbox: Uuid, at: DateTime<Utc>) -> Result<Intake, DomainError> {
    let id = match claim(tx, pii, event, inbox, at).await? {
        Ok(id) => id,
        Err(repeat) => return Ok(repeat),
    };
    take_claimed(tx, pii, event, id, at).await
}

/// Takes a verified payment that must not be posted as it came (a wallet's result for another
/// amount than its push asked): once per provider transaction like [`intake`], kept in
/// suspense with `reason` for the bursar. The money moved; the bursar decides where it goes.
pub async fn hold(
    tx: &mut TenantTx,
    pii: &KeyRing,
    event: &PaymentEvent,
    inbox: Uuid,
    at: DateTime<Utc>,
    reason: &'static str,
) -> Result<Intake, DomainError> {
    match claim(tx, pii, event, inbox, at).await? {
        Ok(id) => suspend(tx, id, reason).await,
        Err(repeat) => Ok(repeat),
    }
}

/// Claims the provider transaction (in suspense until matched), or says what became of it
/// when it came before.
async fn claim(
    tx: &mut TenantTx,
    pii: &KeyRing,
    event: &PaymentEvent,
    inbox: Uuid,
    at: DateTime<Utc>,
) -> Result<Result<Uuid, Intake>, DomainError> {
    let payer = serde_json::json!({ "name": event.payer_name, "phone": event.payer_phone }).to_string();
    let payer_sealed = pii.encrypt(&payer, &Aad::new(tx.tenant().0, PAYER))?;
    // The school's money lock before the claim, as before any student's: a claim waiting on
    // another transaction's claim must never hold what that one needs to post.
    crate::finance::db::ledger::lock_school(tx).await?;
    // Claim the transaction: a concurrent delivery of the same one waits here for this
    // transaction and then finds it.
    let claimed: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO provider_payments (tenant_id, provider, transaction_id, reference, payer_sealed, amount_minor, currency,
                                        paid_at, inbox_id, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'suspense', $10)
         ON CONFLICT (tenant_id, provider, transaction_id) DO NOTHING RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(event.provider.code())
    .bind(&event.transaction_id)
    .bind(&event.reference)
    .bind(&payer_sealed)
    .bind(event.amount_minor)
    .bind(&event.currency)
    .bind(event.paid_at)
    .bind(inbox)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = claimed else {
        let first: Option<(String, i64, String, Option<i64>, String)> = sqlx::query_as(
            "SELECT pp.reference, pp.amount_minor, pp.currency, p.receipt_no, i.kind
               FROM provider_payments pp LEFT JOIN payments p ON p.tenant_id = pp.tenant_id AND p.id = pp.payment_id
               JOIN payment_inbox i ON i.tenant_id = pp.tenant_id AND i.id = pp.inbox_id
              WHERE pp.provider = $1 AND pp.transaction_id = $2",
        )
        .bind(event.provider.code())
        .bind(&event.transaction_id)
        .fetch_optional(&mut **tx)
        .await?;
        return Ok(Err(match first {
            // Taken from a statement first, its reference read from the narration: the
            // provider's own notification that comes later says the same if the money agrees.
            Some((reference, amount, currency, receipt_no, kind))
                if (reference == event.reference || kind == "statement") && amount == event.amount_minor && currency == event.currency =>
            {
                Intake::Duplicate { receipt_no }
            }
            _ => Intake::ConflictingRepeat,
        }));
    };
    Ok(Ok(id))
}

/// Matches and posts a claimed transaction, or keeps it in suspense with why.
async fn take_claimed(tx: &mut TenantTx, pii: &KeyRing, event: &PaymentEvent, id: Uuid, at: DateTime<Utc>) -> Result<Intake, DomainError> {
    // Paid more than a day ahead of our clock or over a year ago: a provider's clock or a
    // replayed old record, for the bursar to look at.
    let plausible = event.paid_at <= at + chrono::Duration::days(1) && event.paid_at >= at - chrono::Duration::days(366);
    let matched = if event.currency != "TZS" {
        Err("payments-suspense-currency")
    } else if !plausible {
        Err("payments-suspense-paid-at")
    } else {
        match_student(tx, pii, event).await?
    };
    let (student, matched_by) = match matched {
        Ok(student) => student,
        Err(reason) => return suspend(tx, id, reason).await,
    };
    let payment = NewPayment {
        amount_minor: event.amount_minor,
        channel: event.provider.channel(),
        reference: Some(event.transaction_id.clone()),
        paid_on: crate::clock::school_date(event.paid_at),
    };
    // A bank slip the bursar already recorded by hand (the same reference for this student)
    // is not posted twice: it waits for the bursar instead.
    crate::db::savepoint(tx).await?;
    let posted = post_payment(tx, student, &payment, None, "provider", at).await;
    let recorded = match crate::db::end_savepoint(tx, posted).await {
        Ok(recorded) => recorded,
        Err(DomainError::Conflict { .. }) => return suspend(tx, id, "payments-suspense-recorded-by-hand").await,
        // A fault of ours: the provider tries again.
        Err(e @ (DomainError::Database(_) | DomainError::Internal(_) | DomainError::Pii(_))) => return Err(e),
        // Anything else about this payment: for the bursar, never lost.
        Err(_) => return suspend(tx, id, "payments-suspense-unpostable").await,
    };
    sqlx::query("UPDATE provider_payments SET status = 'posted', student_id = $2, payment_id = $3, matched_by = $4 WHERE id = $1")
        .bind(id)
        .bind(student)
        .bind(recorded.payment)
        .bind(matched_by.code())
        .execute(&mut **tx)
        .await?;
    let actor = Actor::system(event.provider.code());
    ChangedBy { actor: &actor, at }
        .audit(
            tx,
            crate::audit::actions::PAYMENT_RECEIVED,
            &student.to_string(),
            serde_json::json!({
                "payment": recorded.payment, "receipt_no": recorded.receipt_no, "amount_minor": event.amount_minor,
                "provider": event.provider.code(), "transaction_id": event.transaction_id, "matched_by": matched_by.code(),
            }),
        )
        .await?;
    Ok(Intake::Posted { receipt_no: recorded.receipt_no })
}

async fn suspend(tx: &mut TenantTx, id: Uuid, reason: &'static str) -> Result<Intake, DomainError> {
    sqlx::query("UPDATE provider_payments SET reason = $2 WHERE id = $1").bind(id).bind(reason).execute(&mut **tx).await?;
    Ok(Intake::Suspense { reason })
}

/// A bank's "who is this control number, and what is due?": only the student's name and the
/// school's, and what they owe now. A number that is not one of this school's students is
/// unknown, whatever the reason (nothing is said about other schools).
pub async fn validate(tx: &mut TenantTx, reference: &str) -> Result<ValidationAnswer, DomainError> {
    let unknown = ValidationAnswer { code: ValidationCode::Unknown, student_name: None, school_name: None, amount_due_minor: 0 };
    let Ok(student) = student_of(tx, reference).await? else { return Ok(unknown) };
    let (name, school): (String, String) = sqlx::query_as(
        "SELECT concat_ws(' ', s.first_name, s.last_name), t.name FROM students s JOIN tenants t ON t.id = s.tenant_id WHERE s.id = $1",
    )
    .bind(student)
    .fetch_one(&mut **tx)
    .await?;
    let (owed, _) = crate::finance::db::ledger::positions(tx, &[student]).await?.get(&student).copied().unwrap_or_default();
    Ok(ValidationAnswer {
        code: if owed > 0 { ValidationCode::Valid } else { ValidationCode::NothingOwed },
        student_name: Some(name),
        school_name: Some(school),
        amount_due_minor: owed.max(0),
    })
}

/// The payments waiting for the bursar, oldest first (the first 200). The payer's phone is
/// opened only when `with_phones` (the reader may see personal data).
pub async fn suspense(tx: &mut TenantTx, pii: &KeyRing, with_phones: bool) -> Result<Vec<SuspenseItem>, DomainError> {
    type Row = (Uuid, String, String, String, Option<Vec<u8>>, i64, String, DateTime<Utc>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, provider, transaction_id, reference, payer_sealed, amount_minor, currency, paid_at, reason
           FROM provider_payments WHERE status = 'suspense' ORDER BY created_at, id LIMIT 200",
    )
    .fetch_all(&mut **tx)
    .await?;
    let school = tx.tenant().0;
    let mut out = Vec::with_capacity(rows.len());
    for (id, provider, transaction_id, reference, payer, amount_minor, currency, paid_at, reason) in rows {
        let payer: serde_json::Value = match payer {
            Some(sealed) => serde_json::from_str(&pii.decrypt(&sealed, &Aad::new(school, PAYER))?).unwrap_or_default(),
            None => serde_json::Value::Null,
        };
        let event = PaymentEvent {
            provider: Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?,
            transaction_id,
            reference,
            payer_name: payer["name"].as_str().map(str::to_owned),
            payer_phone: payer["phone"].as_str().filter(|_| with_phones).map(str::to_owned),
            amount_minor,
            currency,
            paid_at,
        };
        out.push(SuspenseItem { id, event, reason: reason.unwrap_or_default() });
    }
    Ok(out)
}

/// A waiting payment, locked for the bursar's hand: its provider, transaction id, amount and
/// date. One already settled (assigned, split or refunded) is a conflict, and so is one in
/// another currency when it is `to_post`.
async fn waiting(tx: &mut TenantTx, item: Uuid, to_post: bool) -> Result<(Provider, String, i64, DateTime<Utc>), DomainError> {
    let row: Option<(String, String, i64, String, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT provider, transaction_id, amount_minor, currency, paid_at, status FROM provider_payments WHERE id = $1 FOR UPDATE",
    )
    .bind(item)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((provider, transaction_id, amount_minor, currency, paid_at, status)) = row else { return Err(DomainError::NotFound) };
    if status != "suspense" {
        return Err(DomainError::conflict("item", "payments-error-already-assigned"));
    }
    // Only shillings can be posted; anything may be sent back.
    if to_post && currency != "TZS" {
        return Err(DomainError::conflict("item", "payments-suspense-currency"));
    }
    let provider = Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?;
    Ok((provider, transaction_id, amount_minor, paid_at))
}

/// The student a bursar names by control number or admission number.
async fn student_by_number(tx: &mut TenantTx, wanted: &str) -> Result<Option<Uuid>, DomainError> {
    let wanted = wanted.trim();
    Ok(match ControlNumber::parse(wanted) {
        Ok(number) => {
            sqlx::query_scalar("SELECT student_id FROM student_accounts WHERE control_number = $1")
                .bind(number.as_str())
                .fetch_optional(&mut **tx)
                .await?
        }
        Err(_) if wanted.is_empty() => None,
        Err(_) => {
            sqlx::query_scalar("SELECT id FROM students WHERE search_admission = $1")
                .bind(wanted.to_uppercase())
                .fetch_optional(&mut **tx)
                .await?
        }
    })
}

/// The bursar assigns a waiting payment to a student (named by control number or admission
/// number): posted through `post_payment` like any payment, once; audited.
pub async fn assign(
    tx: &mut TenantTx,
    item: Uuid,
    student: &str,
    by: ChangedBy<'_>,
) -> Result<crate::finance::views::Recorded, DomainError> {
    let (provider, transaction_id, amount_minor, paid_at) = waiting(tx, item, true).await?;
    let student = student_by_number(tx, student)
        .await?
        .ok_or_else(|| DomainError::Invalid(crate::ValidationError::new("student", "payments-error-no-such-student")))?;
    let payment = NewPayment {
        amount_minor,
        channel: provider.channel(),
        reference: Some(transaction_id.clone()),
        paid_on: crate::clock::school_date(paid_at),
    };
    let recorded = post_payment(tx, student, &payment, by.actor.id, "provider", by.at).await?;
    sqlx::query("UPDATE provider_payments SET status = 'posted', student_id = $2, payment_id = $3, matched_by = 'bursar' WHERE id = $1")
        .bind(item)
        .bind(student)
        .bind(recorded.payment)
        .execute(&mut **tx)
        .await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_ASSIGNED,
        &student.to_string(),
        serde_json::json!({
            "item": item, "payment": recorded.payment, "receipt_no": recorded.receipt_no, "amount_minor": amount_minor,
            "provider": provider.code(), "transaction_id": transaction_id,
        }),
    )
    .await?;
    Ok(recorded)
}

/// The bursar says a waiting payment is the slip they recorded by hand under the provider's
/// reference (the provider's notification came after: `payments-suspense-recorded-by-hand`):
/// the provider's payment is linked to that payment, and nothing is posted again. Only when
/// exactly one payment was recorded by hand under that reference, for the same amount, and no
/// other provider payment is linked to it; audited.
pub async fn link_recorded(tx: &mut TenantTx, item: Uuid, by: ChangedBy<'_>) -> Result<crate::finance::views::Recorded, DomainError> {
    let (provider, transaction_id, amount_minor, _) = waiting(tx, item, true).await?;
    let by_hand: Vec<(Uuid, Uuid, i64)> = sqlx::query_as(
        "SELECT id, student_id, amount_minor FROM payments WHERE channel = $1 AND upper(reference) = upper($2) AND source <> 'provider' LIMIT 2",
    )
    .bind(provider.channel().code())
    .bind(&transaction_id)
    .fetch_all(&mut **tx)
    .await?;
    let (payment, student, amount) = match by_hand[..] {
        [one] => one,
        [] => return Err(DomainError::conflict("item", "payments-link-error-none")),
        // One slip recorded for several children: for the bursar to split instead.
        _ => return Err(DomainError::conflict("item", "payments-link-error-several")),
    };
    if amount != amount_minor {
        return Err(DomainError::conflict("item", "payments-link-error-amount"));
    }
    let linked: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM provider_payments WHERE payment_id = $1)")
        .bind(payment)
        .fetch_one(&mut **tx)
        .await?;
    if linked {
        return Err(DomainError::conflict("item", "payments-link-error-taken"));
    }
    sqlx::query("UPDATE provider_payments SET status = 'posted', student_id = $2, payment_id = $3, matched_by = 'bursar' WHERE id = $1")
        .bind(item)
        .bind(student)
        .bind(payment)
        .execute(&mut **tx)
        .await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_LINKED,
        &student.to_string(),
        serde_json::json!({
            "item": item, "payment": payment, "amount_minor": amount_minor, "provider": provider.code(), "transaction_id": transaction_id,
        }),
    )
    .await?;
    crate::finance::db::payments::recorded(tx, payment).await
}

/// The bursar splits a waiting payment between children (one slip for siblings): every line
/// checked and every error reported (`parts.{i}.student`, `parts.{i}.amount`), two children at
/// least, each once, the shares adding up to the whole; then one payment per child with its
/// receipt, under the provider's transaction id, all or nothing; audited.
pub async fn split(
    tx: &mut TenantTx,
    item: Uuid,
    parts: &[SplitPart],
    by: ChangedBy<'_>,
) -> Result<Vec<crate::finance::views::Recorded>, DomainError> {
    use crate::ValidationError;
    let (provider, transaction_id, amount_minor, paid_at) = waiting(tx, item, true).await?;
    // Rows left blank are no part; each error names the row as the form numbered it.
    let parts: Vec<(usize, &SplitPart)> =
        parts.iter().enumerate().filter(|(_, p)| !(p.student.trim().is_empty() && p.amount.trim().is_empty())).collect();
    if !(2..=MAX_SPLIT_PARTS).contains(&parts.len()) {
        return Err(DomainError::InvalidFields(vec![ValidationError::new("parts", "payments-split-error-count")]));
    }
    let mut errors = Vec::new();
    let mut shares: Vec<(Uuid, i64)> = Vec::new();
    for (i, part) in &parts {
        let student = student_by_number(tx, &part.student).await?;
        // Each share more than nothing and at most the whole (so the sum cannot overflow).
        let amount = crate::finance::Money::parse(&part.amount, crate::finance::Currency::Tzs)
            .ok()
            .map(|m| m.minor)
            .filter(|a| (1..=amount_minor).contains(a));
        match student {
            None => errors.push(ValidationError::new(&format!("parts.{i}.student"), "payments-error-no-such-student")),
            Some(s) if shares.iter().any(|(t, _)| *t == s) => {
                errors.push(ValidationError::new(&format!("parts.{i}.student"), "payments-split-error-twice"))
            }
            Some(_) => {}
        }
        if amount.is_none() {
            errors.push(ValidationError::new(&format!("parts.{i}.amount"), "payments-split-error-amount"));
        }
        if let (Some(s), Some(a)) = (student, amount) {
            shares.push((s, a));
        }
    }
    let total = shares.iter().try_fold(0i64, |sum, (_, a)| sum.checked_add(*a));
    if errors.is_empty() && total != Some(amount_minor) {
        errors.push(ValidationError::new("parts", "payments-split-error-total"));
    }
    if !errors.is_empty() {
        return Err(DomainError::InvalidFields(errors));
    }
    // Posted in one order whatever the form's, so two splits of siblings never deadlock on
    // the students' locks.
    shares.sort_by_key(|(student, _)| *student);
    let mut recorded = Vec::with_capacity(shares.len());
    for (student, share) in &shares {
        let payment = NewPayment {
            amount_minor: *share,
            channel: provider.channel(),
            reference: Some(transaction_id.clone()),
            paid_on: crate::clock::school_date(paid_at),
        };
        let made = post_payment(tx, *student, &payment, by.actor.id, "provider", by.at).await?;
        sqlx::query(
            "INSERT INTO provider_payment_parts (tenant_id, item_id, payment_id, student_id, amount_minor) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tx.tenant().0)
        .bind(item)
        .bind(made.payment)
        .bind(student)
        .bind(share)
        .execute(&mut **tx)
        .await?;
        recorded.push(made);
    }
    sqlx::query("UPDATE provider_payments SET status = 'split', matched_by = 'bursar' WHERE id = $1").bind(item).execute(&mut **tx).await?;
    let audited: Vec<serde_json::Value> = shares
        .iter()
        .zip(&recorded)
        .map(|((student, share), r)| serde_json::json!({ "student": student, "amount_minor": share, "payment": r.payment, "receipt_no": r.receipt_no }))
        .collect();
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_SPLIT,
        &item.to_string(),
        serde_json::json!({ "provider": provider.code(), "transaction_id": transaction_id, "amount_minor": amount_minor, "parts": audited }),
    )
    .await?;
    Ok(recorded)
}

/// The bursar sends a waiting payment back to the payer (outside Kilele: a bank transfer, a
/// wallet reversal) and says so here, with the refund's reference and why. Suspense is not in
/// the ledger, so nothing is posted; the payment leaves the queue; audited.
pub async fn refund_waiting(tx: &mut TenantTx, item: Uuid, reference: &str, reason: &str, by: ChangedBy<'_>) -> Result<(), DomainError> {
    use crate::ValidationError;
    let (provider, transaction_id, amount_minor, _) = waiting(tx, item, false).await?;
    let (reference, reason) = (reference.trim(), reason.trim());
    let mut errors = Vec::new();
    if reference.is_empty() || reference.chars().count() > 60 {
        errors.push(ValidationError::new("reference", "payments-refund-error-reference"));
    }
    if reason.is_empty() || reason.chars().count() > 200 {
        errors.push(ValidationError::new("reason", "payments-refund-error-reason"));
    }
    if !errors.is_empty() {
        return Err(DomainError::InvalidFields(errors));
    }
    sqlx::query("UPDATE provider_payments SET status = 'refunded', refund_reference = $2, refund_reason = $3 WHERE id = $1")
        .bind(item)
        .bind(reference)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_SENT_BACK,
        &item.to_string(),
        serde_json::json!({
            "provider": provider.code(), "transaction_id": transaction_id, "amount_minor": amount_minor,
            "refund_reference": reference, "reason": reason,
        }),
    )
    .await?;
    Ok(())
}

/// What a provider's reversal came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reversed {
    /// The payment it names is undone: a posted one by a refund through its channel, one
    /// waiting in suspense marked sent back.
    Done,
    /// This reversal came before (the same original and amount).
    Duplicate,
    /// Not taken (a message key): the original is not here (yet), more than is left of it,
    /// part of a payment still waiting, one the bursar settled by hand, or the same reversal
    /// id saying something else.
    Refused(&'static str),
}

/// Takes a provider's reversal: once per reversal id; the payment it names (this school's,
/// from the same provider) locked while its reversals are counted, so together they never
/// take back more than it brought. A posted payment is undone as a refund through the same
/// channel that no user approved (`refunds.reverses`), with its ledger entry; a payment still
/// waiting in suspense (never in the ledger) is marked sent back, whole only. Audited as the
/// provider.
pub async fn reverse(tx: &mut TenantTx, r: &super::banks::Reversal, inbox: Uuid, at: DateTime<Utc>) -> Result<Reversed, DomainError> {
    let original: Option<(Uuid, String, Option<Uuid>, i64, String)> = sqlx::query_as(
        "SELECT id, status, student_id, amount_minor, currency FROM provider_payments WHERE provider = $1 AND transaction_id = $2 FOR UPDATE",
    )
    .bind(r.provider.code())
    .bind(&r.original)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((original, status, student, amount, currency)) = original else {
        return Ok(Reversed::Refused("payments-error-reversal-unknown-original"));
    };
    // The original's lock orders its reversals: a repeat finds the first here.
    let first: Option<(Uuid, i64)> =
        sqlx::query_as("SELECT original_id, amount_minor FROM provider_reversals WHERE provider = $1 AND transaction_id = $2")
            .bind(r.provider.code())
            .bind(&r.transaction_id)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some((first_original, first_amount)) = first {
        return Ok(if first_original == original && first_amount == r.amount_minor {
            Reversed::Duplicate
        } else {
            Reversed::Refused("payments-error-conflicting-repeat")
        });
    }
    if r.currency != currency {
        return Ok(Reversed::Refused("payments-suspense-currency"));
    }
    let reversed_before: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(amount_minor), 0)::bigint FROM provider_reversals WHERE original_id = $1")
            .bind(original)
            .fetch_one(&mut **tx)
            .await?;
    let channel = r.provider.channel();
    let why =
        format!("Reversed by {}: {}", r.provider.code().to_uppercase(), if r.reason.is_empty() { "no reason given" } else { &r.reason });
    let refund = match (status.as_str(), student) {
        ("posted", Some(student)) => {
            if r.amount_minor > amount - reversed_before {
                return Ok(Reversed::Refused("payments-error-reversal-too-large"));
            }
            let (_, credit) = crate::finance::db::ledger::position_locked(tx, student).await?;
            let refund: Uuid = sqlx::query_scalar(
                "INSERT INTO refunds (tenant_id, student_id, amount_minor, channel, reference, reason, approved_by, reverses, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8) RETURNING id",
            )
            .bind(tx.tenant().0)
            .bind(student)
            .bind(r.amount_minor)
            .bind(channel.code())
            .bind(&r.transaction_id)
            .bind(&why)
            .bind(original)
            .bind(at)
            .fetch_one(&mut **tx)
            .await?;
            let memo = format!("{} {} (reversal)", channel.code().to_uppercase(), r.transaction_id);
            let posting = crate::finance::ledger::Posting::refund(refund, student, memo, channel, r.amount_minor, credit);
            crate::finance::db::ledger::post(tx, &[posting], crate::clock::school_date(at), at, None).await?;
            Some(refund)
        }
        ("suspense", _) if r.amount_minor == amount => {
            sqlx::query("UPDATE provider_payments SET status = 'refunded', refund_reference = $2, refund_reason = $3 WHERE id = $1")
                .bind(original)
                .bind(&r.transaction_id)
                .bind(why.chars().take(200).collect::<String>())
                .execute(&mut **tx)
                .await?;
            None
        }
        ("suspense", _) => return Ok(Reversed::Refused("payments-error-reversal-partial")),
        _ => return Ok(Reversed::Refused("payments-error-reversal-settled-by-hand")),
    };
    sqlx::query(
        "INSERT INTO provider_reversals (tenant_id, provider, transaction_id, original_id, amount_minor, refund_id, inbox_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant().0)
    .bind(r.provider.code())
    .bind(&r.transaction_id)
    .bind(original)
    .bind(r.amount_minor)
    .bind(refund)
    .bind(inbox)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    let actor = Actor::system(r.provider.code());
    ChangedBy { actor: &actor, at }
        .audit(
            tx,
            crate::audit::actions::PAYMENT_REVERSED,
            &student.map(|s| s.to_string()).unwrap_or_else(|| original.to_string()),
            serde_json::json!({
                "provider": r.provider.code(), "transaction_id": r.transaction_id, "original": r.original,
                "amount_minor": r.amount_minor, "refund": refund, "reason": r.reason,
            }),
        )
        .await?;
    Ok(Reversed::Done)
}

/// What became of the provider transactions whose id starts with `prefix` (a benchmark's or
/// a check's own): how many were kept, how many posted, and how many payments they made.
pub async fn tally(tx: &mut TenantTx, prefix: &str) -> Result<(i64, i64, i64), DomainError> {
    let like = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    Ok(sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'posted'),
                (SELECT count(*) FROM payments WHERE reference LIKE $1)
           FROM provider_payments WHERE transaction_id LIKE $1",
    )
    .bind(&like)
    .fetch_one(&mut **tx)
    .await?)
}

/// The control numbers of up to `limit` active students (given on first need): whom a
/// benchmark's or a simulator's payments quote.
pub async fn some_control_numbers(tx: &mut TenantTx, limit: i64) -> Result<Vec<String>, DomainError> {
    let students: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM students WHERE status = 'active' ORDER BY admission_no LIMIT $1")
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::with_capacity(students.len());
    for s in students {
        out.push(crate::finance::db::accounts::control_number(tx, s).await?);
    }
    Ok(out)
}

/// The school's payments of `from..=to` (and `channel`), newest first: the first
/// [`super::PaymentList::SHOWN`] with their students, and the count and total of all.
pub async fn payments_list(
    tx: &mut TenantTx,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    channel: Option<crate::finance::ledger::Channel>,
) -> Result<super::PaymentList, DomainError> {
    let code = channel.map(|c| c.code());
    let (count, total_minor): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(amount_minor), 0)::bigint FROM payments
          WHERE paid_on BETWEEN $1 AND $2 AND ($3::text IS NULL OR channel = $3)",
    )
    .bind(from)
    .bind(to)
    .bind(code)
    .fetch_one(&mut **tx)
    .await?;
    type Row = (Uuid, i64, chrono::NaiveDate, Uuid, String, String, String, Option<String>, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id, p.receipt_no, p.paid_on, p.student_id, concat_ws(' ', s.first_name, s.last_name), s.admission_no,
                p.channel, p.reference, p.amount_minor
           FROM (SELECT * FROM payments WHERE paid_on BETWEEN $1 AND $2 AND ($3::text IS NULL OR channel = $3)
                  ORDER BY paid_on DESC, receipt_no DESC LIMIT $4) p
           JOIN students s ON s.tenant_id = p.tenant_id AND s.id = p.student_id
          ORDER BY p.paid_on DESC, p.receipt_no DESC",
    )
    .bind(from)
    .bind(to)
    .bind(code)
    .bind(super::PaymentList::SHOWN)
    .fetch_all(&mut **tx)
    .await?;
    let rows = rows
        .into_iter()
        .map(|(id, receipt_no, paid_on, student_id, student_name, admission_no, channel, reference, amount_minor)| {
            Ok(super::PaymentListRow {
                id,
                receipt_no,
                paid_on,
                student_id,
                student_name,
                admission_no,
                channel: crate::finance::ledger::Channel::parse(&channel)
                    .ok_or_else(|| DomainError::Internal(format!("channel {channel}")))?,
                reference,
                amount_minor,
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    Ok(super::PaymentList { from, to, channel, rows, count, total_minor })
}

/// The school's latest deliveries (the first 200, newest first), or those with `outcome`.
pub async fn inbox(tx: &mut TenantTx, outcome: Option<&str>) -> Result<Vec<super::InboxRow>, DomainError> {
    type Row = (Uuid, String, String, DateTime<Utc>, Option<String>, String, Option<String>, Option<String>, i32);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, provider, kind, received_at, source_ip, outcome, reason, transaction_id, body_bytes
           FROM payment_inbox WHERE ($1::text IS NULL OR outcome = $1) ORDER BY received_at DESC, id LIMIT 200",
    )
    .bind(outcome)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(id, provider, kind, received_at, source_ip, outcome, reason, transaction_id, body_bytes)| {
            Ok(super::InboxRow {
                id,
                provider: Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?,
                kind,
                received_at,
                source_ip,
                outcome,
                reason,
                transaction_id,
                body_bytes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn invoice_numbers_are_read_as_payers_write_them() {
        for (text, number) in [
            ("INV-123", Some(123)),
            ("inv 123", Some(123)),
            ("#45", Some(45)),
            ("Invoice: 7", Some(7)),
            (" INV 123 ", Some(123)),
            ("123", None),
            ("INV-", None),
            ("1234567890", None),
            ("INV-12A", None),
            ("KHSS/2024/001", None),
            ("", None),
        ] {
            assert_eq!(super::invoice_number(text), number, "{text:?}");
        }
    }
}
