//! Guardians of a student: linking (one guardian shared between siblings, found by phone),
//! unlinking, SMS.

use super::records::require_student;
use crate::academic::store::{guardians_by_phone, insert_guardian};
use crate::academic::students::*;
use crate::audit;
use crate::audit::pii::KeyRing;
use crate::db::{end_savepoint, map_constraint, savepoint, TenantTx};
use crate::identity::store::ChangedBy;
use crate::{DomainError, ValidationError};
use uuid::Uuid;

/// What linking a guardian did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linked {
    pub guardian: Uuid,
    /// The phone number belonged to a guardian already in the school (a sibling's): that
    /// guardian was linked, no new one was created.
    pub existing: bool,
}

pub(super) async fn link(
    tx: &mut TenantTx,
    pii: &KeyRing,
    student: Uuid,
    g: &NewGuardian,
    by: ChangedBy<'_>,
) -> Result<Linked, DomainError> {
    let tenant = tx.tenant();
    let found = guardians_by_phone(tx, pii, &g.phone).await?;
    let (guardian, existing) = match found.first() {
        Some(id) => (*id, true),
        None => (insert_guardian(tx, pii, &g.name, &g.phone, g.email.as_ref()).await?, false),
    };
    let has_sms: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM student_guardians WHERE student_id = $1 AND receives_sms)")
        .bind(student)
        .fetch_one(&mut **tx)
        .await?;
    let receives_sms = g.receives_sms || !has_sms;
    sqlx::query(
        "INSERT INTO student_guardians (tenant_id, student_id, guardian_id, relationship, receives_sms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.0)
    .bind(student)
    .bind(guardian)
    .bind(g.relationship)
    .bind(receives_sms)
    .execute(&mut **tx)
    .await
    .map_err(map_constraint)?;
    let details = serde_json::json!({
        "guardian": guardian, "relationship": g.relationship, "existing": existing, "receives_sms": receives_sms
    });
    audit::append(tx, by.at, by.actor, crate::audit::actions::GUARDIAN_LINKED, &student.to_string(), details).await?;
    Ok(Linked { guardian, existing })
}

/// Links a guardian to a student. A guardian whose phone number is already in the
/// school (found through the blind index) is linked as they are: siblings share them.
/// The first guardian of a student always receives SMS.
pub async fn link_guardian(
    tx: &mut TenantTx,
    pii: &KeyRing,
    student: Uuid,
    g: &NewGuardian,
    by: ChangedBy<'_>,
) -> Result<Linked, DomainError> {
    require_student(tx, student).await?;
    savepoint(tx).await?;
    let result = link(tx, pii, student, g, by).await;
    end_savepoint(tx, result).await
}

/// The SMS flags of a student's guardians other than `guardian`: (how many, how many
/// receive SMS).
pub(super) async fn others(tx: &mut TenantTx, student: Uuid, guardian: Uuid) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE receives_sms) FROM student_guardians WHERE student_id = $1 AND guardian_id <> $2",
    )
    .bind(student)
    .bind(guardian)
    .fetch_one(&mut **tx)
    .await
}

pub(super) async fn link_sms(tx: &mut TenantTx, student: Uuid, guardian: Uuid) -> Result<bool, DomainError> {
    sqlx::query_scalar("SELECT receives_sms FROM student_guardians WHERE student_id = $1 AND guardian_id = $2 FOR UPDATE")
        .bind(student)
        .bind(guardian)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Unlinks a guardian from a student (the guardian stays, for their other children).
/// Refused when the guardian is the only one receiving SMS while others remain.
pub async fn unlink_guardian(tx: &mut TenantTx, student: Uuid, guardian: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
    require_student(tx, student).await?;
    let receives_sms = link_sms(tx, student, guardian).await?;
    let (others, others_sms) = others(tx, student, guardian).await?;
    if receives_sms && others > 0 && others_sms == 0 {
        return Err(ValidationError::new("guardian", "students-error-sms-needs-one").into());
    }
    sqlx::query("DELETE FROM student_guardians WHERE student_id = $1 AND guardian_id = $2")
        .bind(student)
        .bind(guardian)
        .execute(&mut **tx)
        .await?;
    let details = serde_json::json!({ "guardian": guardian });
    audit::append(tx, by.at, by.actor, crate::audit::actions::GUARDIAN_UNLINKED, &student.to_string(), details).await?;
    Ok(())
}

/// Turns SMS on or off for one of a student's guardians; at least one keeps receiving.
pub async fn set_sms(tx: &mut TenantTx, student: Uuid, guardian: Uuid, receives_sms: bool, by: ChangedBy<'_>) -> Result<(), DomainError> {
    require_student(tx, student).await?;
    let before = link_sms(tx, student, guardian).await?;
    if before == receives_sms {
        return Ok(());
    }
    if !receives_sms && others(tx, student, guardian).await?.1 == 0 {
        return Err(ValidationError::new("guardian", "students-error-sms-needs-one").into());
    }
    sqlx::query("UPDATE student_guardians SET receives_sms = $3 WHERE student_id = $1 AND guardian_id = $2")
        .bind(student)
        .bind(guardian)
        .bind(receives_sms)
        .execute(&mut **tx)
        .await?;
    let details = serde_json::json!({ "guardian": guardian, "receives_sms": receives_sms });
    audit::append(tx, by.at, by.actor, crate::audit::actions::GUARDIAN_SMS_CHANGED, &student.to_string(), details).await?;
    Ok(())
}
