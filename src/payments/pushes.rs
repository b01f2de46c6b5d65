//! "Pay now" pushes (migration 0024): a parent asks their wallet to pay a child's fees; the
//! push is recorded before the wallet is called, the wallet's result finds it by our
//! conversation id, and a confirmed result is posted through the same intake as every other
//! provider payment (once per wallet transaction).

use super::db::{intake, ChannelSettings, Intake};
use super::{PaymentEvent, Provider, PushStatus, PushView};
use crate::audit::pii::{Aad, KeyRing};
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::{DomainError, ValidationError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The sealed column of a push's phone number (a guardian's).
pub const PHONE: &str = "payment_pushes.phone";
/// The sealed column of a wallet channel's credentials.
pub const CREDENTIALS: &str = "payment_channels.credentials";

/// How long a parent has to confirm on their phone before the page says the push was not
/// answered (wallets give up after a minute or two; money that still arrives is posted).
pub const PATIENCE: chrono::Duration = chrono::Duration::minutes(3);

/// The largest push: what a wallet takes in one payment (M-Pesa's per-transaction ceiling for
/// customers is TZS 5,000,000).
pub const MAX_PUSH_MINOR: i64 = 5_000_000 * 100;

/// A school's wallet channel: its settings and its application credentials (JSON, opened).
pub async fn wallet(tx: &mut TenantTx, pii: &KeyRing, provider: Provider) -> Result<Option<(ChannelSettings, String)>, DomainError> {
    let row: Option<(bool, Option<Vec<u8>>, Vec<String>)> =
        sqlx::query_as("SELECT enabled, credentials_sealed, allowed_ips FROM payment_channels WHERE provider = $1")
            .bind(provider.code())
            .fetch_optional(&mut **tx)
            .await?;
    let Some((enabled, Some(sealed), ips)) = row else { return Ok(None) };
    let credentials = pii.decrypt(&sealed, &Aad::new(tx.tenant().0, CREDENTIALS))?;
    let settings = ChannelSettings { enabled, secrets: Vec::new(), allowed_ips: ips.iter().filter_map(|ip| ip.parse().ok()).collect() };
    Ok(Some((settings, credentials)))
}

/// The wallets whose channel the school has open (what "pay now" may offer), without
/// opening any credentials: the parents' fees page asks on every view.
pub async fn open_wallets(tx: &mut TenantTx) -> Result<Vec<Provider>, DomainError> {
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT provider FROM payment_channels WHERE enabled AND credentials_sealed IS NOT NULL ORDER BY provider")
            .fetch_all(&mut **tx)
            .await?;
    Ok(codes.iter().filter_map(|c| Provider::parse(c)).collect())
}

/// Opens the school's wallet channel with its application `credentials` (JSON, sealed) and
/// the addresses the wallet calls from. Audited (never the credentials).
pub async fn set_wallet(
    tx: &mut TenantTx,
    pii: &KeyRing,
    provider: Provider,
    credentials: &str,
    allowed_ips: &[std::net::IpAddr],
    by: ChangedBy<'_>,
) -> Result<(), DomainError> {
    if provider.is_bank() {
        return Err(DomainError::Internal("banks sign with secrets, not wallet credentials".into()));
    }
    let school = tx.tenant().0;
    let sealed = pii.encrypt(credentials, &Aad::new(school, CREDENTIALS))?;
    // Wallets sign nothing: the secrets column holds an empty list.
    let no_secrets = pii.encrypt("[]", &Aad::new(school, super::db::CHANNEL_SECRETS))?;
    let ips: Vec<String> = allowed_ips.iter().map(ToString::to_string).collect();
    sqlx::query(
        "INSERT INTO payment_channels (tenant_id, provider, enabled, secrets_sealed, credentials_sealed, allowed_ips, changed_at)
         VALUES ($1, $2, true, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, provider) DO UPDATE SET enabled = true, closed_by = NULL, credentials_sealed = $4, allowed_ips = $5, changed_at = $6",
    )
    .bind(school)
    .bind(provider.code())
    .bind(&no_secrets)
    .bind(&sealed)
    .bind(&ips)
    .bind(by.at)
    .execute(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_CHANNEL_SET,
        provider.code(),
        serde_json::json!({ "allowed_ips": ips, "credentials": true }),
    )
    .await?;
    Ok(())
}

/// A push as the wallet and the intake need it.
#[derive(Debug, Clone)]
pub struct Push {
    pub id: Uuid,
    pub provider: Provider,
    pub student_id: Uuid,
    pub conversation_id: String,
    pub control_number: String,
    pub amount_minor: i64,
    /// `255…`.
    pub phone: String,
    pub status: PushStatus,
    pub created_at: DateTime<Utc>,
}

impl Push {
    /// The wallet's payment of this push (its `transaction_id`, `amount_minor`) as the intake
    /// takes it: quoting the child's control number, from the parent's phone.
    fn paid(&self, transaction_id: &str, amount_minor: i64, at: DateTime<Utc>) -> PaymentEvent {
        PaymentEvent {
            provider: self.provider,
            transaction_id: transaction_id.to_owned(),
            reference: self.control_number.clone(),
            payer_name: None,
            payer_phone: Some(self.phone.clone()),
            amount_minor,
            currency: "TZS".into(),
            paid_at: at,
        }
    }
}

/// What a parent asks for.
#[derive(Debug, Clone)]
pub struct NewPush {
    pub provider: Provider,
    pub student_id: Uuid,
    pub requested_by: Uuid,
    /// As typed: read with [`super::msisdn`].
    pub phone: String,
    /// As typed, in shillings.
    pub amount: String,
}

/// Records a push before the wallet is called (so its result always finds it), once the
/// school's channel is open and the form is right; audited as the parent.
pub async fn begin(tx: &mut TenantTx, pii: &KeyRing, new: &NewPush, by: ChangedBy<'_>) -> Result<Push, DomainError> {
    let mut errors = Vec::new();
    let phone = super::msisdn(&new.phone);
    if phone.is_none() {
        errors.push(ValidationError::new("phone", "payments-push-error-phone"));
    }
    let amount = crate::finance::Money::parse(&new.amount, crate::finance::Currency::Tzs).ok().map(|m| m.minor);
    match amount {
        Some(a) if a > MAX_PUSH_MINOR => errors.push(ValidationError::new("amount", "payments-push-error-too-much")),
        // Wallets take whole shillings.
        Some(a) if a > 0 && a % 100 == 0 => {}
        _ => errors.push(ValidationError::new("amount", "payments-push-error-amount")),
    }
    let (Some(phone), Some(amount_minor), true) = (phone, amount, errors.is_empty()) else {
        return Err(DomainError::InvalidFields(errors));
    };
    match wallet(tx, pii, new.provider).await? {
        Some((settings, _)) if settings.enabled => {}
        _ => return Err(DomainError::conflict("provider", "payments-push-error-not-offered")),
    }
    // Given on first need, like the fees page does.
    let control_number = crate::finance::db::accounts::control_number(tx, new.student_id).await?;
    let id = Uuid::new_v4();
    // Random, and not the push's id (that one is in the parent's URLs): see migration 0024.
    let conversation_id = Uuid::new_v4().simple().to_string();
    let sealed = pii.encrypt(&phone, &Aad::new(tx.tenant().0, PHONE))?;
    sqlx::query(
        "INSERT INTO payment_pushes (tenant_id, id, provider, student_id, requested_by, phone_sealed, amount_minor, control_number,
                                     conversation_id, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'waiting', $10, $10)",
    )
    .bind(tx.tenant().0)
    .bind(id)
    .bind(new.provider.code())
    .bind(new.student_id)
    .bind(new.requested_by)
    .bind(&sealed)
    .bind(amount_minor)
    .bind(&control_number)
    .bind(&conversation_id)
    .bind(by.at)
    .execute(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_PUSH_SENT,
        &new.student_id.to_string(),
        serde_json::json!({ "push": id, "provider": new.provider.code(), "amount_minor": amount_minor }),
    )
    .await?;
    Ok(Push {
        id,
        provider: new.provider,
        student_id: new.student_id,
        conversation_id,
        control_number,
        amount_minor,
        phone,
        status: PushStatus::Waiting,
        created_at: by.at,
    })
}

/// The wallet took the push: its own conversation id, for the status query.
pub async fn sent(tx: &mut TenantTx, push: Uuid, provider_conversation_id: Option<&str>, at: DateTime<Utc>) -> Result<(), DomainError> {
    sqlx::query("UPDATE payment_pushes SET provider_conversation_id = $2, updated_at = $3 WHERE id = $1")
        .bind(push)
        .bind(provider_conversation_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The push failed (refused by the wallet, or declined on the phone): `reason` is a message
/// key. A push that was paid stays paid.
pub async fn failed(tx: &mut TenantTx, push: Uuid, reason: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
    sqlx::query("UPDATE payment_pushes SET status = 'failed', reason = $2, updated_at = $3 WHERE id = $1 AND status <> 'paid'")
        .bind(push)
        .bind(reason)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

type PushRow = (Uuid, String, Uuid, String, String, i64, Vec<u8>, String, DateTime<Utc>);

fn push_of(pii: &KeyRing, school: Uuid, row: PushRow) -> Result<Push, DomainError> {
    let (id, provider, student_id, conversation_id, control_number, amount_minor, phone, status, created_at) = row;
    Ok(Push {
        id,
        provider: Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?,
        student_id,
        conversation_id,
        control_number,
        amount_minor,
        phone: pii.decrypt(&phone, &Aad::new(school, PHONE))?,
        status: PushStatus::parse(&status).ok_or_else(|| DomainError::Internal(format!("push status {status}")))?,
        created_at,
    })
}

/// The push a wallet's result names (by our conversation id), locked until this transaction
/// ends: two deliveries of one result are taken one after the other.
pub async fn by_conversation(
    tx: &mut TenantTx,
    pii: &KeyRing,
    provider: Provider,
    conversation_id: &str,
) -> Result<Option<Push>, DomainError> {
    let row: Option<PushRow> = sqlx::query_as(
        "SELECT id, provider, student_id, conversation_id, control_number, amount_minor, phone_sealed, status, created_at
           FROM payment_pushes WHERE provider = $1 AND conversation_id = $2 FOR UPDATE",
    )
    .bind(provider.code())
    .bind(conversation_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| push_of(pii, tx.tenant().0, r)).transpose()
}

/// A confirmed payment of `push` (the wallet's `transaction_id`): taken through the intake
/// (once per wallet transaction; posted to the child's control number) and the push marked
/// paid with its payment. Money the intake keeps in suspense leaves the push failed with
/// "received, the bursar will allocate it".
pub async fn settle(
    tx: &mut TenantTx,
    pii: &KeyRing,
    push: &Push,
    transaction_id: &str,
    inbox: Uuid,
    at: DateTime<Utc>,
) -> Result<Intake, DomainError> {
    let event = push.paid(transaction_id, push.amount_minor, at);
    let taken = intake(tx, pii, &event, inbox, at).await?;
    let payment: Option<Uuid> =
        sqlx::query_scalar("SELECT payment_id FROM provider_payments WHERE provider = $1 AND transaction_id = $2 AND status = 'posted'")
            .bind(push.provider.code())
            .bind(transaction_id)
            .fetch_optional(&mut **tx)
            .await?
            .flatten();
    match payment {
        Some(payment) => {
            sqlx::query(
                "UPDATE payment_pushes SET status = 'paid', reason = NULL, transaction_id = $2, payment_id = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(push.id)
            .bind(transaction_id)
            .bind(payment)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        None => failed(tx, push.id, "payments-push-held", at).await?,
    }
    Ok(taken)
}

/// The wallet transaction a paid push was paid with.
pub async fn paid_with(tx: &mut TenantTx, push: Uuid) -> Result<Option<String>, DomainError> {
    Ok(sqlx::query_scalar("SELECT transaction_id FROM payment_pushes WHERE id = $1 AND status = 'paid'")
        .bind(push)
        .fetch_optional(&mut **tx)
        .await?
        .flatten())
}

/// A wallet's "paid" for `push` that cannot be posted as it came (`reason`: another amount
/// than asked): kept in suspense for the bursar once per wallet transaction, the push failed
/// with "received, the bursar will allocate it".
#[allow(clippy::too_many_arguments)]
pub async fn hold(
    tx: &mut TenantTx,
    pii: &KeyRing,
    push: &Push,
    transaction_id: &str,
    amount_minor: i64,
    inbox: Uuid,
    at: DateTime<Utc>,
    reason: &'static str,
) -> Result<Intake, DomainError> {
    let event = push.paid(transaction_id, amount_minor, at);
    let taken = super::db::hold(tx, pii, &event, inbox, at, reason).await?;
    failed(tx, push.id, "payments-push-held", at).await?;
    Ok(taken)
}

/// A push as its parent's page shows it: only to whoever asked for it (another user's, or
/// another school's, is not found). A push left unanswered past [`PATIENCE`] is marked
/// abandoned when it is looked at.
pub async fn view(tx: &mut TenantTx, push: Uuid, requested_by: Uuid, now: DateTime<Utc>) -> Result<PushView, DomainError> {
    sqlx::query(
        "UPDATE payment_pushes SET status = 'abandoned', reason = 'payments-push-unanswered', updated_at = $3
                  WHERE id = $1 AND requested_by = $2 AND status = 'waiting' AND created_at < $4",
    )
    .bind(push)
    .bind(requested_by)
    .bind(now)
    .bind(now - PATIENCE)
    .execute(&mut **tx)
    .await?;
    type ViewRow = (String, String, i64, Option<Uuid>, Option<i64>, Option<String>);
    let row: Option<ViewRow> = sqlx::query_as(
        "SELECT pp.provider, pp.status, pp.amount_minor, pp.payment_id, p.receipt_no, pp.reason
           FROM payment_pushes pp LEFT JOIN payments p ON p.tenant_id = pp.tenant_id AND p.id = pp.payment_id
          WHERE pp.id = $1 AND pp.requested_by = $2",
    )
    .bind(push)
    .bind(requested_by)
    .fetch_optional(&mut **tx)
    .await?;
    let (provider, status, amount_minor, payment_id, receipt_no, reason) = row.ok_or(DomainError::NotFound)?;
    Ok(PushView {
        id: push,
        provider: Provider::parse(&provider).ok_or_else(|| DomainError::Internal(format!("provider {provider}")))?,
        status: PushStatus::parse(&status).ok_or_else(|| DomainError::Internal(format!("push status {status}")))?,
        amount_minor,
        receipt_no,
        payment_id,
        reason,
    })
}

/// How often an unsettled push is asked about again: a waiting one every half minute (its
/// result may be late or lost), an abandoned one every ten minutes (money can still arrive),
/// for a day.
pub const RECHECK_WAITING: chrono::Duration = chrono::Duration::seconds(30);
pub const RECHECK_ABANDONED: chrono::Duration = chrono::Duration::minutes(10);
pub const RECHECK_FOR: chrono::Duration = chrono::Duration::days(1);

/// The school's pushes due to be asked about again (at most `limit`), each marked as asked
/// now; skipped while another process holds them, so two web processes never ask twice.
/// Commit before calling the wallet.
pub async fn due_for_recheck(tx: &mut TenantTx, pii: &KeyRing, now: DateTime<Utc>, limit: i64) -> Result<Vec<Push>, DomainError> {
    let rows: Vec<PushRow> = sqlx::query_as(
        "UPDATE payment_pushes SET checked_at = $1
          WHERE id IN (SELECT id FROM payment_pushes
                        WHERE status IN ('waiting', 'abandoned') AND created_at > $2 AND created_at < $3
                          AND (checked_at IS NULL
                               OR checked_at < CASE WHEN status = 'waiting' THEN $4 ELSE $5 END)
                        ORDER BY created_at LIMIT $6 FOR UPDATE SKIP LOCKED)
          RETURNING id, provider, student_id, conversation_id, control_number, amount_minor, phone_sealed, status, created_at",
    )
    .bind(now)
    .bind(now - RECHECK_FOR)
    .bind(now - RECHECK_WAITING)
    .bind(now - RECHECK_WAITING)
    .bind(now - RECHECK_ABANDONED)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let school = tx.tenant().0;
    rows.into_iter().map(|r| push_of(pii, school, r)).collect()
}
