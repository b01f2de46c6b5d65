//! The school's finance settings (made on first use, with its control-number prefix) and each
//! student's control number.

use crate::db::TenantTx;
use crate::finance::control::ControlNumber;
use crate::finance::ledger::Allocation;
use crate::finance::views::FinanceSettingsView;
use crate::identity::store::ChangedBy;
use crate::{DomainError, ValidationError};
use sqlx::Row;
use uuid::Uuid;

/// The school's settings row, made with the next free prefix the first time.
pub async fn settings(tx: &mut TenantTx) -> Result<FinanceSettingsView, DomainError> {
    sqlx::query(
        "INSERT INTO finance_settings (tenant_id, control_prefix)
         SELECT $1, nextval('control_prefix_seq')::text
          WHERE NOT EXISTS (SELECT 1 FROM finance_settings)
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tx.tenant().0)
    .execute(&mut **tx)
    .await?;
    let r = sqlx::query(
        "SELECT control_prefix, allocation, sibling_second_bp, sibling_third_bp, mid_term_joiners, late_fine_minor, late_fine_grace_days
           FROM finance_settings",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(FinanceSettingsView {
        control_prefix: r.try_get("control_prefix")?,
        allocation: Allocation::parse(r.try_get::<&str, _>("allocation")?).unwrap_or(Allocation::OldestFirst),
        sibling_second_bp: u32::try_from(r.try_get::<i32, _>("sibling_second_bp")?).unwrap_or(0),
        sibling_third_bp: u32::try_from(r.try_get::<i32, _>("sibling_third_bp")?).unwrap_or(0),
        pro_rata: r.try_get::<&str, _>("mid_term_joiners")? == "pro_rata",
        late_fine_minor: r.try_get("late_fine_minor")?,
        late_fine_grace_days: u32::try_from(r.try_get::<i32, _>("late_fine_grace_days")?).unwrap_or(0),
    })
}

/// The fee rules as the bursar typed them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettingsForm {
    pub allocation: String,
    pub sibling_second: String,
    pub sibling_third: String,
    pub pro_rata: bool,
    pub late_fine: String,
    pub grace_days: String,
}

/// Saves the school's fee rules (every field checked; all or nothing), audited.
pub async fn save_settings(tx: &mut TenantTx, form: &SettingsForm, by: ChangedBy<'_>) -> Result<FinanceSettingsView, DomainError> {
    use crate::finance::billing::parse_percent_bp;
    let before = settings(tx).await?;
    let mut errors = Vec::new();
    let allocation = Allocation::parse(&form.allocation);
    if allocation.is_none() {
        errors.push(ValidationError::new("allocation", "error-choose-one"));
    }
    let second = parse_percent_bp(&form.sibling_second);
    if second.is_none() {
        errors.push(ValidationError::new("sibling_second", "finance-error-percent"));
    }
    let third = parse_percent_bp(&form.sibling_third);
    if third.is_none() {
        errors.push(ValidationError::new("sibling_third", "finance-error-percent"));
    }
    let fine = if form.late_fine.trim().is_empty() {
        Some(0)
    } else {
        crate::finance::Money::parse(&form.late_fine, crate::finance::Currency::Tzs).ok().map(|m| m.minor)
    };
    // A typo guard: a fine above TZS 1,000,000 per instalment is no school's rule.
    let fine = fine.filter(|f| (0..=100_000_000).contains(f));
    if fine.is_none() {
        errors.push(ValidationError::new("late_fine", "finance-error-fine-too-large"));
    }
    let grace = form.grace_days.trim().parse::<u32>().ok().filter(|d| *d <= 365);
    if grace.is_none() {
        errors.push(ValidationError::new("grace_days", "finance-error-grace-days"));
    }
    let (Some(allocation), Some(second), Some(third), Some(fine), Some(grace)) = (allocation, second, third, fine, grace) else {
        return Err(DomainError::InvalidFields(errors));
    };
    sqlx::query(
        "UPDATE finance_settings SET allocation = $1, sibling_second_bp = $2, sibling_third_bp = $3, mid_term_joiners = $4,
                late_fine_minor = $5, late_fine_grace_days = $6",
    )
    .bind(allocation.code())
    .bind(i32::try_from(second).unwrap_or(0))
    .bind(i32::try_from(third).unwrap_or(0))
    .bind(if form.pro_rata { "pro_rata" } else { "full" })
    .bind(fine)
    .bind(i32::try_from(grace).unwrap_or(0))
    .execute(&mut **tx)
    .await?;
    let after = settings(tx).await?;
    by.audit(tx, crate::audit::actions::FINANCE_SETTINGS_CHANGED, "finance", serde_json::json!({ "before": before, "after": after }))
        .await?;
    Ok(after)
}

/// Gives every one of `students` without a control number its number (serials in the order
/// given). Returns how many were made.
pub async fn ensure(tx: &mut TenantTx, students: &[Uuid]) -> Result<usize, DomainError> {
    let missing: Vec<Uuid> = sqlx::query_scalar(
        "SELECT s.id FROM unnest($1::uuid[]) WITH ORDINALITY AS s (id, n)
          WHERE NOT EXISTS (SELECT 1 FROM student_accounts a WHERE a.student_id = s.id) ORDER BY s.n",
    )
    .bind(students)
    .fetch_all(&mut **tx)
    .await?;
    if missing.is_empty() {
        return Ok(0);
    }
    let prefix = settings(tx).await?.control_prefix;
    let count = i32::try_from(missing.len()).map_err(|e| DomainError::Internal(e.to_string()))?;
    // Takes the serials (and locks the settings row: two runs never hand out the same one).
    let first: i32 = sqlx::query_scalar("UPDATE finance_settings SET next_serial = next_serial + $1 RETURNING next_serial - $1")
        .bind(count)
        .fetch_one(&mut **tx)
        .await
        .map_err(|_| DomainError::conflict("students", "finance-error-serials-exhausted"))?;
    let mut numbers = Vec::with_capacity(missing.len());
    for n in 0..count {
        let serial = u32::try_from(first + n).unwrap_or(0);
        let number =
            ControlNumber::issue(&prefix, serial).ok_or_else(|| DomainError::conflict("students", "finance-error-serials-exhausted"))?;
        numbers.push(number.as_str().to_owned());
    }
    sqlx::query(
        "INSERT INTO student_accounts (tenant_id, student_id, control_number, created_at)
         SELECT $1, * , now() FROM unnest($2::uuid[], $3::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant().0)
    .bind(&missing)
    .bind(&numbers)
    .execute(&mut **tx)
    .await?;
    Ok(missing.len())
}

/// A student's control number (made if missing).
pub async fn control_number(tx: &mut TenantTx, student: Uuid) -> Result<String, DomainError> {
    ensure(tx, &[student]).await?;
    sqlx::query_scalar("SELECT control_number FROM student_accounts WHERE student_id = $1")
        .bind(student)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)
}
