//! Money received and the corrections: a payment recorded by the bursar (the provider
//! adapters of the payments issue post through [`post_payment`] too), credit notes, late fines
//! and their waivers, refunds, write-offs. Each is a document of its own with its entry in
//! the ledger, written and audited in one transaction.

use super::{internal, ledger};
use crate::db::TenantTx;
use crate::finance::ledger::{Channel, Posting};
use crate::finance::{Currency, Money};
use crate::identity::store::ChangedBy;
use crate::reporting::VerifyCode;
use crate::{DomainError, ValidationError};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// A payment as the bursar typed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentForm {
    pub amount: String,
    pub channel: String,
    pub reference: String,
    pub paid_on: String,
}

/// A checked payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub amount_minor: i64,
    pub channel: Channel,
    pub reference: Option<String>,
    pub paid_on: NaiveDate,
}

/// The largest payment one slip may carry (TZS 100 million): a typo guard.
const MAX_PAYMENT_MINOR: i64 = 100_000_000 * 100;

fn reason_checked(reason: &str) -> Result<String, ValidationError> {
    let r = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if (3..=500).contains(&r.chars().count()) {
        Ok(r)
    } else {
        Err(ValidationError::new("reason", "finance-error-reason"))
    }
}

fn amount_checked(input: &str) -> Result<i64, ValidationError> {
    match Money::parse(input, Currency::Tzs) {
        Ok(m) if m.minor > 0 && m.minor <= MAX_PAYMENT_MINOR => Ok(m.minor),
        Ok(m) if m.minor > MAX_PAYMENT_MINOR => Err(ValidationError::new("amount", "finance-error-fee-too-large")),
        _ => Err(ValidationError::new("amount", "finance-error-fee-amount")),
    }
}

fn reference_checked(channel: Option<Channel>, input: &str) -> Result<Option<String>, ValidationError> {
    let r = input.trim();
    if r.is_empty() {
        return if channel.is_some_and(Channel::needs_reference) {
            Err(ValidationError::new("reference", "finance-error-reference"))
        } else {
            Ok(None)
        };
    }
    crate::finance::slip_reference(r).map(Some).ok_or_else(|| ValidationError::new("reference", "finance-error-reference"))
}

impl NewPayment {
    /// Checks every field (reports all at once). A payment dated in the future is refused.
    pub fn parse(form: &PaymentForm, today: NaiveDate) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let amount = amount_checked(&form.amount).map_err(|e| errors.push(e)).ok();
        let channel = Channel::parse(form.channel.trim());
        if channel.is_none() {
            errors.push(ValidationError::new("channel", "error-choose-one"));
        }
        let reference = reference_checked(channel, &form.reference).map_err(|e| errors.push(e)).ok();
        let paid_on = NaiveDate::parse_from_str(form.paid_on.trim(), "%Y-%m-%d").ok();
        match paid_on {
            None => errors.push(ValidationError::new("paid_on", "error-date-invalid")),
            Some(d) if d > today => errors.push(ValidationError::new("paid_on", "finance-error-paid-in-future")),
            // Older than a year is a typo (and would rewrite statements long since printed).
            Some(d) if d < today - chrono::Duration::days(366) => {
                errors.push(ValidationError::new("paid_on", "finance-error-paid-too-long-ago"))
            }
            _ => {}
        }
        match (amount, channel, reference, paid_on) {
            (Some(amount_minor), Some(channel), Some(reference), Some(paid_on)) if errors.is_empty() => {
                Ok(Self { amount_minor, channel, reference, paid_on })
            }
            _ => Err(errors),
        }
    }
}

pub use crate::finance::views::Recorded;

async fn student_exists(tx: &mut TenantTx, student: Uuid) -> Result<(), DomainError> {
    let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM students WHERE id = $1)").bind(student).fetch_one(&mut **tx).await?;
    if found {
        Ok(())
    } else {
        Err(DomainError::NotFound)
    }
}

/// Posts a payment for a student: the document, its entry (settling what is owed, the rest
/// credited), the same path for money typed by the bursar and money reported by a provider.
pub async fn post_payment(
    tx: &mut TenantTx,
    student: Uuid,
    payment: &NewPayment,
    recorded_by: Option<Uuid>,
    source: &str,
    at: DateTime<Utc>,
) -> Result<Recorded, DomainError> {
    student_exists(tx, student).await?;
    let (owed, _) = ledger::position_locked(tx, student).await?;
    let receipt_no: i64 =
        sqlx::query_scalar("UPDATE finance_settings SET next_receipt_no = next_receipt_no + 1 RETURNING next_receipt_no - 1")
            .fetch_one(&mut **tx)
            .await?;
    let verify_code = VerifyCode::from_random(*Uuid::new_v4().as_bytes().first_chunk::<7>().ok_or_else(|| internal("uuid"))?);
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO payments (tenant_id, receipt_no, student_id, amount_minor, channel, reference, paid_on, source, recorded_by, recorded_at, verify_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(receipt_no)
    .bind(student)
    .bind(payment.amount_minor)
    .bind(payment.channel.code())
    .bind(&payment.reference)
    .bind(payment.paid_on)
    .bind(source)
    .bind(recorded_by)
    .bind(at)
    .bind(verify_code.as_str())
    .fetch_one(&mut **tx)
    .await
    .map_err(crate::db::map_constraint)?;
    let memo = format!("{} {}", payment.channel.code().to_uppercase(), payment.reference.as_deref().unwrap_or(""));
    let posting = Posting::payment(id, student, memo.trim().to_owned(), payment.channel, payment.amount_minor, owed);
    ledger::post(tx, &[posting], payment.paid_on, at, recorded_by).await?;
    Ok(Recorded { payment: id, receipt_no, verify_code: verify_code.as_str().to_owned() })
}

/// The bursar records a cash payment or a bank slip. Audited.
pub async fn record_payment(tx: &mut TenantTx, student: Uuid, payment: &NewPayment, by: ChangedBy<'_>) -> Result<Recorded, DomainError> {
    let recorded = post_payment(tx, student, payment, by.actor.id, "manual", by.at).await?;
    by.audit(
        tx,
        crate::audit::actions::PAYMENT_RECORDED,
        &student.to_string(),
        serde_json::json!({
            "payment": recorded.payment, "receipt_no": recorded.receipt_no, "amount_minor": payment.amount_minor,
            "channel": payment.channel.code(), "reference": payment.reference, "paid_on": payment.paid_on,
        }),
    )
    .await?;
    Ok(recorded)
}

/// A recorded payment as its receipt names it (a form sent twice answers with the first).
pub async fn recorded(tx: &mut TenantTx, payment: Uuid) -> Result<Recorded, DomainError> {
    let (receipt_no, verify_code): (i64, String) = sqlx::query_as("SELECT receipt_no, verify_code FROM payments WHERE id = $1")
        .bind(payment)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(Recorded { payment, receipt_no, verify_code })
}

/// A credit note: cancels a whole invoice (`amount` empty) or takes part of it off.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreditNoteForm {
    pub invoice: String,
    /// Empty: cancel the whole invoice.
    pub amount: String,
    pub reason: String,
}

/// Issues a credit note (never a delete): the whole invoice cancelled, or part of it
/// allowed. A part may not exceed what the invoice still charges after earlier notes.
pub async fn credit_note(tx: &mut TenantTx, student: Uuid, form: &CreditNoteForm, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
    let mut errors = Vec::new();
    let invoice = Uuid::parse_str(form.invoice.trim()).map_err(|_| errors.push(ValidationError::new("invoice", "error-choose-one"))).ok();
    let reason = reason_checked(&form.reason).map_err(|e| errors.push(e)).ok();
    let partial = if form.amount.trim().is_empty() { None } else { amount_checked(&form.amount).map_err(|e| errors.push(e)).ok() };
    let (Some(invoice), Some(reason)) = (invoice, reason) else {
        return Err(DomainError::InvalidFields(errors));
    };
    if !errors.is_empty() {
        return Err(DomainError::InvalidFields(errors));
    }
    student_exists(tx, student).await?;
    let (owed, _) = ledger::position_locked(tx, student).await?;
    let row: Option<(i64, i64, bool, i64)> = sqlx::query_as(
        "SELECT i.net_minor, i.discount_minor, i.cancelled,
                coalesce((SELECT sum(c.amount_minor) FROM credit_notes c WHERE c.tenant_id = i.tenant_id AND c.invoice_id = i.id), 0)::bigint
           FROM invoices i WHERE i.id = $1 AND i.student_id = $2 FOR UPDATE",
    )
    .bind(invoice)
    .bind(student)
    .fetch_optional(&mut **tx)
    .await?;
    let (net, discount, cancelled, credited) = row.ok_or(DomainError::NotFound)?;
    if cancelled {
        return Err(DomainError::conflict("invoice", "finance-error-invoice-cancelled"));
    }
    let number: i64 =
        sqlx::query_scalar("UPDATE finance_settings SET next_credit_note_no = next_credit_note_no + 1 RETURNING next_credit_note_no - 1")
            .fetch_one(&mut **tx)
            .await?;
    let note = Uuid::new_v4();
    let memo = format!("CN {number}");
    let (amount, posting) = match partial {
        Some(amount) => {
            if amount > net - credited {
                return Err(ValidationError::new("amount", "finance-error-credit-too-large").into());
            }
            (amount, Posting::allowance(note, student, memo, amount, owed))
        }
        None => {
            if credited > 0 {
                // Part was already allowed: cancelling now would credit it twice.
                return Err(DomainError::conflict("invoice", "finance-error-invoice-partly-credited"));
            }
            let lines: Vec<(Uuid, i64)> =
                sqlx::query_as("SELECT item_id, gross_minor FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no")
                    .bind(invoice)
                    .fetch_all(&mut **tx)
                    .await?;
            sqlx::query("UPDATE invoices SET cancelled = true WHERE id = $1").bind(invoice).execute(&mut **tx).await?;
            (net, Posting::cancellation(note, student, memo, &lines, discount, owed))
        }
    };
    if amount == 0 && partial.is_some() {
        return Err(ValidationError::new("amount", "finance-error-fee-amount").into());
    }
    sqlx::query(
        "INSERT INTO credit_notes (tenant_id, id, number, invoice_id, student_id, cancels, amount_minor, reason, approved_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant().0)
    .bind(note)
    .bind(number)
    .bind(invoice)
    .bind(student)
    .bind(partial.is_none())
    .bind(amount)
    .bind(&reason)
    .bind(by.actor.id)
    .bind(by.at)
    .execute(&mut **tx)
    .await?;
    ledger::post(tx, &[posting], crate::clock::school_date(by.at), by.at, by.actor.id).await?;
    by.audit(
        tx,
        crate::audit::actions::CREDIT_NOTE_ISSUED,
        &student.to_string(),
        serde_json::json!({ "credit_note": note, "number": number, "invoice": invoice, "cancels": partial.is_none(), "amount_minor": amount, "reason": reason }),
    )
    .await?;
    Ok(note)
}

/// A refund or a write-off as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdjustmentForm {
    pub amount: String,
    /// Refunds only.
    pub channel: String,
    pub reference: String,
    pub reason: String,
}

/// A refund or a write-off, checked whole (every mistake reported at once).
struct Adjustment {
    amount: i64,
    /// With its reference (refunds only).
    channel: Option<(Channel, Option<String>)>,
    reason: String,
}

impl AdjustmentForm {
    /// `with_channel`: a refund says how the money went back (and the slip's reference).
    fn checked(&self, with_channel: bool) -> Result<Adjustment, DomainError> {
        let mut errors = Vec::new();
        let amount = amount_checked(&self.amount).map_err(|e| errors.push(e)).ok();
        let channel = if with_channel {
            let channel = Channel::parse(self.channel.trim());
            if channel.is_none() {
                errors.push(ValidationError::new("channel", "error-choose-one"));
            }
            let reference = reference_checked(channel, &self.reference).map_err(|e| errors.push(e)).ok();
            channel.zip(reference)
        } else {
            None
        };
        let reason = reason_checked(&self.reason).map_err(|e| errors.push(e)).ok();
        match (amount, reason) {
            (Some(amount), Some(reason)) if errors.is_empty() => Ok(Adjustment { amount, channel, reason }),
            _ => Err(DomainError::InvalidFields(errors)),
        }
    }
}

/// Pays money back to a family. Refused when larger than what the student has paid and not
/// had back (400 with the field), so a refund can never hand out money that never came in.
pub async fn refund(tx: &mut TenantTx, student: Uuid, form: &AdjustmentForm, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
    let Adjustment { amount, channel, reason } = form.checked(true)?;
    let (channel, reference) = channel.ok_or_else(|| DomainError::Internal("a checked refund has its channel".into()))?;
    student_exists(tx, student).await?;
    let (_, credit) = ledger::position_locked(tx, student).await?;
    let refundable: i64 = sqlx::query_scalar(
        "SELECT (coalesce((SELECT sum(amount_minor) FROM payments WHERE student_id = $1), 0)
               - coalesce((SELECT sum(amount_minor) FROM refunds WHERE student_id = $1), 0))::bigint",
    )
    .bind(student)
    .fetch_one(&mut **tx)
    .await?;
    if amount > refundable {
        return Err(ValidationError::new("amount", "finance-error-refund-too-large").into());
    }
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO refunds (tenant_id, student_id, amount_minor, channel, reference, reason, approved_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(student)
    .bind(amount)
    .bind(channel.code())
    .bind(&reference)
    .bind(&reason)
    .bind(by.actor.id)
    .bind(by.at)
    .fetch_one(&mut **tx)
    .await?;
    ledger::post(
        tx,
        // The memo is what families read on statements: the channel and reference, never the reason.
        &[Posting::refund(
            id,
            student,
            format!("{} {}", channel.code().to_uppercase(), reference.as_deref().unwrap_or("")).trim().to_owned(),
            channel,
            amount,
            credit,
        )],
        crate::clock::school_date(by.at),
        by.at,
        by.actor.id,
    )
    .await?;
    by.audit(
        tx,
        crate::audit::actions::REFUND_MADE,
        &student.to_string(),
        serde_json::json!({ "refund": id, "amount_minor": amount, "channel": channel.code(), "reference": reference, "reason": reason }),
    )
    .await?;
    Ok(id)
}

/// Gives up (part of) a debt. Refused beyond what the student owes.
pub async fn write_off(tx: &mut TenantTx, student: Uuid, form: &AdjustmentForm, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
    let Adjustment { amount, reason, .. } = form.checked(false)?;
    student_exists(tx, student).await?;
    let (owed, _) = ledger::position_locked(tx, student).await?;
    if amount > owed {
        return Err(ValidationError::new("amount", "finance-error-write-off-too-large").into());
    }
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO write_offs (tenant_id, student_id, amount_minor, reason, approved_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(student)
    .bind(amount)
    .bind(&reason)
    .bind(by.actor.id)
    .bind(by.at)
    .fetch_one(&mut **tx)
    .await?;
    ledger::post(tx, &[Posting::write_off(id, student, String::new(), amount)], crate::clock::school_date(by.at), by.at, by.actor.id)
        .await?;
    by.audit(
        tx,
        crate::audit::actions::WRITE_OFF_MADE,
        &student.to_string(),
        serde_json::json!({ "write_off": id, "amount_minor": amount, "reason": reason }),
    )
    .await?;
    Ok(id)
}

/// Waives a late fine (with a reason). A fine waived before is refused (409).
pub async fn waive_fine(tx: &mut TenantTx, fine: Uuid, reason: &str, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let reason = reason_checked(reason)?;
    let row: Option<(Uuid, i64, bool)> =
        sqlx::query_as("SELECT student_id, amount_minor, waived_at IS NOT NULL FROM late_fines WHERE id = $1")
            .bind(fine)
            .fetch_optional(&mut **tx)
            .await?;
    let (student, amount, waived) = row.ok_or(DomainError::NotFound)?;
    let (owed, _) = ledger::position_locked(tx, student).await?;
    // Re-read under the student's lock: a second waiver racing this one sees it waived.
    let waived_now: bool =
        sqlx::query_scalar("SELECT waived_at IS NOT NULL FROM late_fines WHERE id = $1").bind(fine).fetch_one(&mut **tx).await?;
    if waived || waived_now {
        return Err(DomainError::conflict("fine", "finance-error-fine-waived"));
    }
    sqlx::query("UPDATE late_fines SET waived_by = $2, waived_reason = $3, waived_at = $4 WHERE id = $1")
        .bind(fine)
        .bind(by.actor.id)
        .bind(&reason)
        .bind(by.at)
        .execute(&mut **tx)
        .await?;
    ledger::post(
        tx,
        &[Posting::fine_waiver(fine, student, String::new(), amount, owed)],
        crate::clock::school_date(by.at),
        by.at,
        by.actor.id,
    )
    .await?;
    by.audit(
        tx,
        crate::audit::actions::FINE_WAIVED,
        &student.to_string(),
        serde_json::json!({ "fine": fine, "amount_minor": amount, "reason": reason }),
    )
    .await?;
    Ok(())
}

/// The late-fines job for one school: every instalment still unpaid `grace` days after its
/// due date gets the school's fine, once (a unique key per instalment), with any credit the
/// student holds applied to it. Returns how many fines were applied.
pub async fn apply_late_fines(tx: &mut TenantTx, today: NaiveDate, at: DateTime<Utc>) -> Result<usize, DomainError> {
    let settings = super::accounts::settings(tx).await?;
    if settings.late_fine_minor <= 0 {
        return Ok(0);
    }
    let cutoff = today - chrono::Duration::days(i64::from(settings.late_fine_grace_days));
    // Students with an overdue instalment and no fine for it yet.
    let candidates: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT i.student_id FROM invoice_instalments ii JOIN invoices i ON i.tenant_id = ii.tenant_id AND i.id = ii.invoice_id
          WHERE NOT i.cancelled AND ii.due_on < $1 AND ii.amount_minor > 0
            AND NOT EXISTS (SELECT 1 FROM late_fines f WHERE f.tenant_id = ii.tenant_id AND f.invoice_id = ii.invoice_id AND f.seq = ii.seq)",
    )
    .bind(cutoff)
    .fetch_all(&mut **tx)
    .await?;
    // The students' locks first: a payment recorded meanwhile is either seen or waits.
    ledger::lock_students(tx, &candidates).await?;
    let debts = super::reads::debts_of(tx, &candidates, settings.allocation).await?;
    let positions = ledger::positions(tx, &candidates).await?;
    let mut applied = 0;
    for student in candidates {
        let dues = debts.get(&student).cloned().unwrap_or_default();
        let (mut owed, mut credit) = positions.get(&student).copied().unwrap_or_default();
        let mut postings = Vec::new();
        // At least a shilling unpaid: cents left by rounding are no reason for a fine.
        for d in dues.iter().filter(|d| d.debt.seq > 0 && d.unpaid >= 100 && d.debt.due_on < cutoff) {
            let id = Uuid::new_v4();
            let inserted = sqlx::query(
                "INSERT INTO late_fines (tenant_id, id, invoice_id, seq, student_id, amount_minor, applied_on) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant_id, invoice_id, seq) DO NOTHING",
            )
            .bind(tx.tenant().0)
            .bind(id)
            .bind(d.debt.invoice)
            .bind(i32::try_from(d.debt.seq).unwrap_or(0))
            .bind(student)
            .bind(settings.late_fine_minor)
            .bind(today)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            let memo = format!("{}", d.debt.due_on);
            postings.push(Posting::fine(id, student, memo.clone(), settings.late_fine_minor));
            owed += settings.late_fine_minor;
            if let Some(p) = Posting::credit_applied(id, student, memo, credit, owed) {
                let used = credit.min(owed);
                credit -= used;
                owed -= used;
                postings.push(p);
            }
            applied += 1;
        }
        ledger::post(tx, &postings, today, at, None).await?;
    }
    Ok(applied)
}
