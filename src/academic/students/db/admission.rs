//! The school's admission-number pattern and the next free number.

use crate::academic::students::*;
use crate::audit;
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::DomainError;
use sqlx::Row;

/// The school's admission-number prefix and pattern.
pub(super) async fn admission_settings(tx: &mut TenantTx) -> Result<(String, String), sqlx::Error> {
    let settings = sqlx::query("SELECT admission_prefix, admission_format FROM school_settings").fetch_optional(&mut **tx).await?;
    Ok(match settings {
        Some(r) => (r.try_get::<String, _>("admission_prefix")?, r.try_get::<String, _>("admission_format")?),
        None => ("ADM".to_owned(), DEFAULT_ADMISSION_FORMAT.to_owned()),
    })
}

/// The school's admission pattern for `year`.
pub(super) async fn admission_pattern(tx: &mut TenantTx, year: i32) -> Result<AdmissionPattern, sqlx::Error> {
    let (prefix, format) = admission_settings(tx).await?;
    Ok(AdmissionPattern::new(&format, &prefix, year))
}

/// Sets the school's admission-number prefix and pattern (checked with
/// [`super::check_admission_format`]). Numbers already given keep their form.
pub async fn set_admission_format(tx: &mut TenantTx, prefix: &str, format: &str, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let tenant = tx.tenant();
    let (from_prefix, from_format) = admission_settings(tx).await?;
    sqlx::query(
        "INSERT INTO school_settings (tenant_id, admission_prefix, admission_format) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET admission_prefix = EXCLUDED.admission_prefix, admission_format = EXCLUDED.admission_format",
    )
    .bind(tenant.0)
    .bind(prefix)
    .bind(format)
    .execute(&mut **tx)
    .await?;
    let details = serde_json::json!({
        "from": { "prefix": from_prefix, "format": from_format }, "to": { "prefix": prefix, "format": format }
    });
    audit::append(tx, by.at, by.actor, crate::audit::actions::SCHOOL_ADMISSION_FORMAT_CHANGED, &tenant.0.to_string(), details).await?;
    Ok(())
}

/// The next free admission number for an intake in `year`.
pub async fn next_admission_no(tx: &mut TenantTx, year: i32) -> Result<String, sqlx::Error> {
    let pattern = admission_pattern(tx, year).await?;
    let (from, to) = prefix_range(&pattern.head);
    let taken: Vec<String> =
        sqlx::query_scalar("SELECT search_admission FROM students WHERE search_admission >= $1 AND search_admission < $2")
            .bind(from)
            .bind(to)
            .fetch_all(&mut **tx)
            .await?;
    Ok(pattern.next(taken.iter().map(String::as_str)))
}

/// The intake year: the current academic year, else `fallback` (the calendar year).
pub(super) async fn intake_year(tx: &mut TenantTx, fallback: i32) -> Result<i32, sqlx::Error> {
    Ok(sqlx::query_scalar("SELECT year FROM academic_years WHERE is_current").fetch_optional(&mut **tx).await?.unwrap_or(fallback))
}
