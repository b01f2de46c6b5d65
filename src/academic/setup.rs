//! A school's first rows, written in bulk: the settings of a new school (`kilele school
//! create`, the demo seed) and the demo school's calendar, classes, subjects and
//! allocations (`kilele seed --demo`, `kilele bench pages`). These skip the per-change
//! audit entries of the admin console (the caller writes one entry for the whole setup);
//! students and guardians do not come through here but through
//! [`super::students::db::add_student`], like the admin console's.

use crate::academic::calendar::TermDates;
use crate::academic::Band;
use crate::db::TenantTx;
use crate::identity::Email;
use uuid::Uuid;

/// A new school's settings row (its admission-number prefix).
pub async fn create_settings(tx: &mut TenantTx, admission_prefix: &str) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query("INSERT INTO school_settings (tenant_id, admission_prefix) VALUES ($1, $2)")
        .bind(tenant.0)
        .bind(admission_prefix)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The current academic year with its terms; term number `current_term` is the current one.
pub async fn create_current_year(tx: &mut TenantTx, year: i32, terms: &[TermDates], current_term: i32) -> Result<Uuid, sqlx::Error> {
    let tenant = tx.tenant();
    let year_id: Uuid = sqlx::query_scalar("INSERT INTO academic_years (tenant_id, year, is_current) VALUES ($1, $2, true) RETURNING id")
        .bind(tenant.0)
        .bind(year)
        .fetch_one(&mut **tx)
        .await?;
    for term in terms {
        sqlx::query(
            "INSERT INTO terms (tenant_id, academic_year_id, number, starts_on, ends_on, is_current) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.0)
        .bind(year_id)
        .bind(term.number)
        .bind(term.starts_on)
        .bind(term.ends_on)
        .bind(term.number == current_term)
        .execute(&mut **tx)
        .await?;
    }
    Ok(year_id)
}

/// A school subject copied from the national master list.
pub async fn add_master_subject(tx: &mut TenantTx, code: &str) -> Result<Uuid, sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query_scalar(
        "INSERT INTO school_subjects (tenant_id, code, name_en, name_sw, master_code)
         SELECT $1, m.code, m.name_en, m.name_sw, m.code FROM master_subjects m WHERE m.code = $2 RETURNING id",
    )
    .bind(tenant.0)
    .bind(code)
    .fetch_one(&mut **tx)
    .await
}

/// A level under its Tanzanian code and name.
pub async fn add_level(tx: &mut TenantTx, band: Band, ordinal: i32) -> Result<Uuid, sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query_scalar("INSERT INTO levels (tenant_id, code, name, band, ordinal) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(tenant.0)
        .bind(crate::academic::classes::level_code(band, ordinal))
        .bind(crate::academic::level_name(band, ordinal))
        .bind(band.code())
        .bind(ordinal)
        .fetch_one(&mut **tx)
        .await
}

/// A stream of `level` with its class teacher.
pub async fn add_stream(tx: &mut TenantTx, level: Uuid, name: &str, class_teacher: Uuid) -> Result<Uuid, sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query_scalar("INSERT INTO streams (tenant_id, level_id, name, class_teacher_id) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(tenant.0)
        .bind(level)
        .bind(name)
        .bind(class_teacher)
        .fetch_one(&mut **tx)
        .await
}

/// Gives `subject` in `stream` to `teacher` for `year`.
pub async fn allocate(tx: &mut TenantTx, year: Uuid, teacher: Uuid, subject: Uuid, stream: Uuid) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query(
        "INSERT INTO teacher_allocations (tenant_id, academic_year_id, teacher_id, subject_id, stream_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.0)
    .bind(year)
    .bind(teacher)
    .bind(subject)
    .bind(stream)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Ties a guardian to a parent's sign-in.
pub async fn attach_guardian_account(tx: &mut TenantTx, guardian: Uuid, user: Uuid, email: &Email) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guardians SET user_id = $2, email = $3 WHERE id = $1")
        .bind(guardian)
        .bind(user)
        .bind(email.as_str())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Ties a student to their own sign-in.
pub async fn attach_student_account(tx: &mut TenantTx, student: Uuid, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE students SET user_id = $2 WHERE id = $1").bind(student).bind(user).execute(&mut **tx).await.map(|_| ())
}

/// A guardian's full name.
pub async fn guardian_name(tx: &mut TenantTx, guardian: Uuid) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT full_name FROM guardians WHERE id = $1").bind(guardian).fetch_one(&mut **tx).await
}

/// A student's first and last name.
pub async fn student_short_name(tx: &mut TenantTx, student: Uuid) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT concat_ws(' ', first_name, last_name) FROM students WHERE id = $1").bind(student).fetch_one(&mut **tx).await
}
