//! GePG bills kept (migration 0031): a government school asks GePG for a control number for
//! what a student owes; the bill is recorded before GePG is called (its answer, which comes to
//! the school's webhook later, always finds it), then marked with GePG's control number or its
//! refusal. A payment quoting a bill's control number is that student's (`db::match_student`).

use super::gepg::{Bill, BillResponse, GepgCredentials};
use super::{GepgBillView, Provider};
use crate::audit::pii::KeyRing;
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::DomainError;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// How long a bill may be paid (GePG's expiry date): a term.
pub const PAYABLE_FOR: chrono::Duration = chrono::Duration::days(120);

type Row = (Uuid, String, i64, String, Option<String>, Option<String>, DateTime<Utc>, DateTime<Utc>);

fn view((id, bill_id, amount_minor, status, control_number, code, created_at, expires_at): Row) -> GepgBillView {
    GepgBillView { id, bill_id, amount_minor, status, control_number, code, created_at, expires_at }
}

const COLUMNS: &str = "id, bill_id, amount_minor, status, control_number, code, created_at, expires_at";

/// The school's GePG account, when its channel is open.
pub async fn account(tx: &mut TenantTx, pii: &KeyRing) -> Result<Option<GepgCredentials>, DomainError> {
    match super::pushes::wallet(tx, pii, Provider::Gepg).await? {
        Some((settings, credentials)) if settings.enabled => {
            Ok(Some(serde_json::from_str(&credentials).map_err(|e| DomainError::Internal(format!("gepg credentials: {e}")))?))
        }
        _ => Ok(None),
    }
}

/// A student's bills, newest first (the latest 10). Another school's student is not found.
pub async fn of_student(tx: &mut TenantTx, student: Uuid) -> Result<Vec<GepgBillView>, DomainError> {
    let here: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM students WHERE id = $1)").bind(student).fetch_one(&mut **tx).await?;
    if !here {
        return Err(DomainError::NotFound);
    }
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM gepg_bills WHERE student_id = $1 ORDER BY created_at DESC, id LIMIT 10"
    )))
    .bind(student)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(view).collect())
}

/// The student's GePG control number to pay now: the latest bill GePG issued that is still
/// payable (what the family's fees page shows).
pub async fn payable(tx: &mut TenantTx, student: Uuid, now: DateTime<Utc>) -> Result<Option<GepgBillView>, DomainError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM gepg_bills WHERE student_id = $1 AND status = 'issued' AND expires_at > $2 ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(student)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(view))
}

/// Records a bill for what `student` owes now, audited, and returns it with what to send to
/// GePG; or returns the student's bill already waiting for GePG's answer or issued for that
/// amount and still payable (nothing to send; a bill GePG has not answered in ten minutes is
/// sent anew). Refused when the student is not this school's,
/// GePG is not `configured` here or the school's GePG channel is not open, or nothing is owed.
pub async fn request(
    tx: &mut TenantTx,
    pii: &KeyRing,
    student: Uuid,
    configured: bool,
    by: ChangedBy<'_>,
) -> Result<(GepgBillView, Option<(GepgCredentials, Bill)>), DomainError> {
    let who: Option<(String, String)> =
        sqlx::query_as("SELECT admission_no, concat_ws(' ', first_name, last_name) FROM students WHERE id = $1 AND status = 'active'")
            .bind(student)
            .fetch_optional(&mut **tx)
            .await?;
    let (admission_no, name) = who.ok_or(DomainError::NotFound)?;
    // The student's money lock: two bursars asking at once get one bill.
    crate::finance::db::ledger::lock_students(tx, &[student]).await?;
    let creds = match account(tx, pii).await? {
        Some(creds) if configured => creds,
        _ => return Err(DomainError::conflict("student", "payments-gepg-error-not-open")),
    };
    let (owed, _) = crate::finance::db::ledger::positions(tx, &[student]).await?.get(&student).copied().unwrap_or_default();
    if owed <= 0 {
        return Err(DomainError::conflict("student", "payments-gepg-error-nothing-owed"));
    }
    let standing: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM gepg_bills
          WHERE student_id = $1 AND amount_minor = $2
            AND ((status = 'issued' AND expires_at > $3) OR (status = 'submitted' AND created_at > $3 - interval '10 minutes'))
          ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(student)
    .bind(owed)
    .bind(by.at)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = standing {
        return Ok((view(row), None));
    }
    let requested_by = by.actor.id.ok_or_else(|| DomainError::Internal("a bill is requested by a user".into()))?;
    // Ours, unique, and telling nothing: GePG shows it to payers.
    let bill_id = format!("KIL{}", &Uuid::new_v4().simple().to_string()[..16].to_uppercase());
    let expires_at = by.at + PAYABLE_FOR;
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO gepg_bills (tenant_id, student_id, bill_id, amount_minor, expires_at, status, requested_by, created_at)
         VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(tx.tenant().0)
    .bind(student)
    .bind(&bill_id)
    .bind(owed)
    .bind(expires_at)
    .bind(requested_by)
    .bind(by.at)
    .fetch_one(&mut **tx)
    .await?;
    by.audit(
        tx,
        crate::audit::actions::GEPG_BILL_REQUESTED,
        &student.to_string(),
        serde_json::json!({ "bill_id": bill_id, "amount_minor": owed }),
    )
    .await?;
    let bill = Bill {
        sp_code: creds.sp_code.clone(),
        sub_sp_code: creds.sub_sp_code.clone(),
        sp_sys_id: creds.sp_sys_id.clone(),
        gfs_code: creds.gfs_code.clone(),
        bill_id,
        amount_minor: owed,
        expires_at,
        generated_at: by.at,
        payer_id: admission_no,
        payer_name: name,
        payer_phone: String::new(),
        payer_email: String::new(),
        description: "School fees".into(),
        generated_by: "Kilele".into(),
    };
    Ok((view(row), Some((creds, bill))))
}

/// GePG did not take a bill we sent (its code, or ours when it could not be reached).
pub async fn refused(tx: &mut TenantTx, bill: Uuid, code: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
    sqlx::query("UPDATE gepg_bills SET status = 'refused', code = $2, answered_at = $3 WHERE id = $1 AND status = 'submitted'")
        .bind(bill)
        .bind(code.chars().take(20).collect::<String>())
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What GePG answered about a bill (its control number, or its refusal). Returns false for a
/// bill that is not this school's; the same answer again changes nothing.
pub async fn answered(tx: &mut TenantTx, answer: &BillResponse, at: DateTime<Utc>) -> Result<bool, DomainError> {
    let (status, number) = match &answer.control_number {
        Some(n) => ("issued", Some(n.as_str())),
        None => ("refused", None),
    };
    let changed = sqlx::query(
        "UPDATE gepg_bills SET status = $2, control_number = $3, code = $4, answered_at = $5
          WHERE bill_id = $1 AND (status = 'submitted' OR (status = 'refused' AND code = 'unreachable'))",
    )
    .bind(&answer.bill_id)
    .bind(status)
    .bind(number)
    .bind(&answer.code)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(crate::db::map_constraint)?
    .rows_affected();
    if changed > 0 {
        return Ok(true);
    }
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM gepg_bills WHERE bill_id = $1)")
        .bind(&answer.bill_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(known)
}

/// Whether a GePG payment names one of this school's bills: its control number and its bill
/// id together (several schools may share a GePG service provider code).
pub async fn is_ours(tx: &mut TenantTx, control_number: &str, bill_id: &str) -> Result<bool, DomainError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM gepg_bills WHERE control_number = $1 AND bill_id = $2)")
        .bind(control_number)
        .bind(bill_id)
        .fetch_one(&mut **tx)
        .await?)
}

/// The student whose bill has this GePG control number.
pub async fn student_of(tx: &mut TenantTx, control_number: &str) -> Result<Option<Uuid>, DomainError> {
    Ok(sqlx::query_scalar("SELECT student_id FROM gepg_bills WHERE control_number = $1")
        .bind(control_number)
        .fetch_optional(&mut **tx)
        .await?)
}
