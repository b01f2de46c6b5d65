//! Payment intake in a school's transaction (migration 0023): the school's channels (secrets
//! sealed, addresses allowed), the inbox every delivery is kept in, and the intake that turns
//! one verified [`PaymentEvent`] into a posted payment, a duplicate, or a suspense item.

use super::banks::{ValidationAnswer, ValidationCode};
use super::webhooks::Secret;
use super::{PaymentEvent, Provider};
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
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        self.allowed_ips.is_empty() || ip.is_some_and(|ip| self.allowed_ips.contains(&ip))
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
/// keeping the previous one active too while the provider moves over, and the addresses it
/// may call from. Audited (never the secret).
pub async fn set_channel(
    tx: &mut TenantTx,
    pii: &KeyRing,
    provider: Provider,
    allowed_ips: &[IpAddr],
    by: ChangedBy<'_>,
) -> Result<String, DomainError> {
    let school = tx.tenant().0;
    let previous: Option<Vec<u8>> = sqlx::query_scalar("SELECT secrets_sealed FROM payment_channels WHERE provider = $1 FOR UPDATE")
        .bind(provider.code())
        .fetch_optional(&mut **tx)
        .await?;
    let (_, text) = Secret::generate();
    let mut secrets = vec![text.clone()];
    if let Some(sealed) = previous {
        secrets.extend(open_secrets(pii, school, &sealed)?.into_iter().take(1));
    }
    let json = serde_json::to_string(&secrets).map_err(|e| DomainError::Internal(e.to_string()))?;
    let sealed = pii.encrypt(&json, &Aad::new(school, CHANNEL_SECRETS))?;
    let ips: Vec<String> = allowed_ips.iter().map(ToString::to_string).collect();
    sqlx::query(
        "INSERT INTO payment_channels (tenant_id, provider, enabled, secrets_sealed, allowed_ips, changed_at) VALUES ($1, $2, true, $3, $4, $5)
         ON CONFLICT (tenant_id, provider) DO UPDATE SET enabled = true, secrets_sealed = $3, allowed_ips = $4, changed_at = $5",
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
        serde_json::json!({ "allowed_ips": ips, "active_secrets": secrets.len() }),
    )
    .await?;
    Ok(text)
}

/// A delivery as it came, before anything is decided.
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

/// Keeps a delivery in the inbox (commit it before deciding anything). Returns its id.
pub async fn receive(tx: &mut TenantTx, d: &Delivery<'_>) -> Result<Uuid, DomainError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO payment_inbox (tenant_id, provider, kind, received_at, source_ip, headers, body) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(d.provider.code())
    .bind(d.kind)
    .bind(d.received_at)
    .bind(d.source_ip.map(|ip| ip.to_string()))
    .bind(&d.headers)
    .bind(d.body)
    .fetch_one(&mut **tx)
    .await?)
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
    /// A control number of another school: sent to the wrong place, refused.
    WrongSchool,
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

/// Whether a well-formed control number names another school (its prefix is not this one's).
async fn another_schools(tx: &mut TenantTx, reference: &str) -> Result<bool, DomainError> {
    let Ok(number) = ControlNumber::parse(reference) else { return Ok(false) };
    let ours = crate::finance::db::accounts::settings(tx).await?.control_prefix;
    Ok(number.prefix() != ours)
}

/// Takes one verified payment event: once per provider transaction (a repeat finds the first),
/// matched by control number and posted through `post_payment` with its ledger entry, or kept
/// in suspense for the bursar. Audited as the provider.
pub async fn intake(tx: &mut TenantTx, event: &PaymentEvent, inbox: Uuid, at: DateTime<Utc>) -> Result<Intake, DomainError> {
    if another_schools(tx, &event.reference).await? {
        return Ok(Intake::WrongSchool);
    }
    // Claim the transaction: a concurrent delivery of the same one waits here for this
    // transaction and then finds it.
    let claimed: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO provider_payments (tenant_id, provider, transaction_id, reference, payer_name, payer_phone, amount_minor, currency,
                                        paid_at, inbox_id, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'suspense', $11)
         ON CONFLICT (tenant_id, provider, transaction_id) DO NOTHING RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(event.provider.code())
    .bind(&event.transaction_id)
    .bind(&event.reference)
    .bind(&event.payer_name)
    .bind(&event.payer_phone)
    .bind(event.amount_minor)
    .bind(&event.currency)
    .bind(event.paid_at)
    .bind(inbox)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = claimed else {
        let receipt_no: Option<i64> = sqlx::query_scalar(
            "SELECT p.receipt_no FROM provider_payments pp LEFT JOIN payments p ON p.tenant_id = pp.tenant_id AND p.id = pp.payment_id
              WHERE pp.provider = $1 AND pp.transaction_id = $2",
        )
        .bind(event.provider.code())
        .bind(&event.transaction_id)
        .fetch_optional(&mut **tx)
        .await?
        .flatten();
        return Ok(Intake::Duplicate { receipt_no });
    };
    let matched = if event.currency != "TZS" { Err("payments-suspense-currency") } else { student_of(tx, &event.reference).await? };
    let student = match matched {
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
        Err(e) => return Err(e),
    };
    sqlx::query("UPDATE provider_payments SET status = 'posted', student_id = $2, payment_id = $3 WHERE id = $1")
        .bind(id)
        .bind(student)
        .bind(recorded.payment)
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
                "provider": event.provider.code(), "transaction_id": event.transaction_id,
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
