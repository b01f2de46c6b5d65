//! A student's record: detail, add, correct, status, enrolment, photo.

use super::admission::*;
use super::guardians::*;
use super::search::{list_item, LIST_ORDER, LIST_SELECT};
use crate::academic::class_name;
use crate::academic::classes::db::LEVEL_ORDER;
use crate::academic::store::reveal_phone;
use crate::academic::students::*;
use crate::audit;
use crate::audit::pii::{Aad, KeyRing};
use crate::db::{end_savepoint, map_constraint, savepoint, TenantTx};
use crate::identity::store::ChangedBy;
use crate::tenancy::TenantId;
use crate::{DomainError, ValidationError};
use sqlx::Row;
use uuid::Uuid;

/// What the add-student and enrolment forms offer.
pub async fn form_options(tx: &mut TenantTx, this_year: i32) -> Result<StudentFormOptions, sqlx::Error> {
    let year = intake_year(tx, this_year).await?;
    let next_admission_no = next_admission_no(tx, year).await?;
    let (admission_prefix, admission_format) = admission_settings(tx).await?;
    let classes = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT s.id, l.name AS level, s.name AS stream FROM streams s
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
          ORDER BY {LEVEL_ORDER}, s.name"
    )))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(ClassOption {
            id: r.try_get("id")?,
            class_name: class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let years = sqlx::query("SELECT id, year, is_current FROM academic_years ORDER BY year DESC")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok(YearOption { id: r.try_get("id")?, year: r.try_get("year")?, is_current: r.try_get("is_current")? }))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(StudentFormOptions { next_admission_no, admission_prefix, admission_format, classes, years })
}

pub(super) fn reveal(
    pii: &KeyRing,
    tenant: TenantId,
    field: &'static str,
    sealed: Option<Vec<u8>>,
    allowed: bool,
) -> Result<Pii, DomainError> {
    Ok(match (sealed, allowed) {
        (None, _) => Pii::NotSet,
        (Some(_), false) => Pii::Hidden,
        (Some(s), true) => Pii::Shown(pii.decrypt(&s, &Aad::new(tenant.0, field))?),
    })
}

/// A student with enrolments, guardians and siblings. Protected data is decrypted only
/// when `reveal_pii` (the reader holds `students.pii.read`).
pub async fn detail(tx: &mut TenantTx, pii: &KeyRing, student: Uuid, reveal_pii: bool) -> Result<StudentDetail, DomainError> {
    let tenant = tx.tenant();
    let r = sqlx::query(
        "SELECT st.id, st.admission_no, st.first_name, st.middle_name, st.last_name, st.sex, st.date_of_birth, st.status,
                st.status_reason, st.national_id_enc, st.medical_notes_enc, st.photo_key IS NOT NULL AS has_photo,
                l.name AS level, s.name AS stream
           FROM students st
           LEFT JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
           LEFT JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
          WHERE st.id = $1",
    )
    .bind(student)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let level: Option<String> = r.try_get("level")?;
    let stream: Option<String> = r.try_get("stream")?;
    let enrolments = sqlx::query(
        "SELECT y.year, l.name AS level, s.name AS stream, e.outcome
           FROM enrolments e
           JOIN academic_years y ON y.tenant_id = e.tenant_id AND y.id = e.academic_year_id
           JOIN streams s ON s.tenant_id = e.tenant_id AND s.id = e.stream_id
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
          WHERE e.student_id = $1
          ORDER BY y.year DESC",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|e| {
        Ok(EnrolmentView {
            year: e.try_get("year")?,
            class_name: class_name(&e.try_get::<String, _>("level")?, &e.try_get::<String, _>("stream")?),
            outcome: e.try_get("outcome")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut guardians = Vec::new();
    for g in sqlx::query(
        "SELECT g.id, g.full_name, g.phone_enc, g.email, sg.relationship, sg.receives_sms
           FROM student_guardians sg
           JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
          WHERE sg.student_id = $1
          ORDER BY sg.receives_sms DESC, g.full_name",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?
    {
        let sealed: Option<Vec<u8>> = g.try_get("phone_enc")?;
        let phone = match (sealed, reveal_pii) {
            (None, _) => Pii::NotSet,
            (Some(_), false) => Pii::Hidden,
            (Some(s), true) => Pii::Shown(reveal_phone(pii, tenant, &s)?.as_str().to_owned()),
        };
        guardians.push(GuardianView {
            id: g.try_get("id")?,
            full_name: g.try_get("full_name")?,
            relationship: g.try_get("relationship")?,
            phone,
            email: g.try_get("email")?,
            receives_sms: g.try_get("receives_sms")?,
        });
    }
    let sql = format!(
        "{LIST_SELECT}
          WHERE st.id IN (SELECT other.student_id FROM student_guardians mine
                            JOIN student_guardians other ON other.tenant_id = mine.tenant_id AND other.guardian_id = mine.guardian_id
                           WHERE mine.student_id = $1 AND other.student_id <> $1)
          {LIST_ORDER}"
    );
    let siblings = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(student)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(list_item)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StudentDetail {
        id: r.try_get("id")?,
        admission_no: r.try_get("admission_no")?,
        first_name: r.try_get("first_name")?,
        middle_name: r.try_get("middle_name")?,
        last_name: r.try_get("last_name")?,
        sex: r.try_get("sex")?,
        date_of_birth: r.try_get("date_of_birth")?,
        class_name: level.zip(stream).map(|(l, s)| class_name(&l, &s)),
        status: r.try_get("status")?,
        status_reason: r.try_get("status_reason")?,
        national_id: reveal(pii, tenant, STUDENT_NATIONAL_ID, r.try_get("national_id_enc")?, reveal_pii)?,
        medical_notes: reveal(pii, tenant, STUDENT_MEDICAL_NOTES, r.try_get("medical_notes_enc")?, reveal_pii)?,
        enrolments,
        guardians,
        siblings,
        has_photo: r.try_get("has_photo")?,
    })
}

pub(super) async fn require_student(tx: &mut TenantTx, student: Uuid) -> Result<String, DomainError> {
    // NO KEY: a payment being posted for this student meanwhile (its rows refer to the
    // student's) is not made to wait, nor made to wait for (it may hold the audit chain).
    sqlx::query_scalar("SELECT admission_no FROM students WHERE id = $1 FOR NO KEY UPDATE")
        .bind(student)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Adds a student with their first guardian (who receives SMS), enrolled in `stream`
/// for the current academic year when a class is chosen. All or nothing.
pub async fn add_student(
    tx: &mut TenantTx,
    pii: &KeyRing,
    s: &NewStudent,
    stream: Option<Uuid>,
    guardian: &NewGuardian,
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    let year: Option<(Uuid, i32)> = match stream {
        None => None,
        Some(_) => Some(
            sqlx::query_as("SELECT id, year FROM academic_years WHERE is_current")
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| ValidationError::new("stream", "students-error-no-current-year"))?,
        ),
    };
    let national_id = s.national_id.as_deref().map(|v| pii.encrypt(v, &Aad::new(tenant.0, STUDENT_NATIONAL_ID))).transpose()?;
    let medical = s.medical_notes.as_deref().map(|v| pii.encrypt(v, &Aad::new(tenant.0, STUDENT_MEDICAL_NOTES))).transpose()?;
    savepoint(tx).await?;
    let result = insert_student(tx, pii, s, stream, year, guardian, national_id, medical, by).await;
    end_savepoint(tx, result).await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_student(
    tx: &mut TenantTx,
    pii: &KeyRing,
    s: &NewStudent,
    stream: Option<Uuid>,
    year: Option<(Uuid, i32)>,
    guardian: &NewGuardian,
    national_id: Option<Vec<u8>>,
    medical: Option<Vec<u8>>,
    by: ChangedBy<'_>,
) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO students (tenant_id, admission_no, first_name, middle_name, last_name, sex, date_of_birth, stream_id,
                               national_id_enc, medical_notes_enc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tenant.0)
    .bind(s.admission_no.as_str())
    .bind(&s.first_name)
    .bind(&s.middle_name)
    .bind(&s.last_name)
    .bind(s.sex)
    .bind(s.date_of_birth)
    .bind(stream)
    .bind(national_id)
    .bind(medical)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_constraint)?;
    let details = serde_json::json!({ "admission_no": s.admission_no.as_str() });
    audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENT_ADDED, &id.to_string(), details).await?;
    if let (Some(stream), Some((year_id, year))) = (stream, year) {
        sqlx::query("INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id) VALUES ($1, $2, $3, $4)")
            .bind(tenant.0)
            .bind(id)
            .bind(year_id)
            .bind(stream)
            .execute(&mut **tx)
            .await
            .map_err(map_constraint)?;
        let details = serde_json::json!({ "year": year, "stream": stream });
        audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENT_ENROLLED, &id.to_string(), details).await?;
    }
    let first = NewGuardian { receives_sms: true, ..guardian.clone() };
    link(tx, pii, id, &first, by).await?;
    Ok(id)
}

/// Corrects a student's admission number, names, sex and date of birth, and — when
/// `with_pii` (the editor holds `students.pii.read`) — the national ID and medical notes
/// (empty clears them). Audited with the names of the fields that changed, never their
/// protected values.
pub async fn update_student(
    tx: &mut TenantTx,
    pii: &KeyRing,
    student: Uuid,
    s: &NewStudent,
    with_pii: bool,
    by: ChangedBy<'_>,
) -> Result<(), DomainError> {
    let tenant = tx.tenant();
    require_student(tx, student).await?;
    let before = sqlx::query(
        "SELECT admission_no, first_name, middle_name, last_name, sex, date_of_birth, national_id_enc, medical_notes_enc
           FROM students WHERE id = $1",
    )
    .bind(student)
    .fetch_one(&mut **tx)
    .await?;
    let mut changed: Vec<&str> = Vec::new();
    if before.try_get::<String, _>("admission_no")? != s.admission_no.as_str() {
        changed.push("admission_no");
    }
    if before.try_get::<String, _>("first_name")? != s.first_name {
        changed.push("first_name");
    }
    if before.try_get::<Option<String>, _>("middle_name")? != s.middle_name {
        changed.push("middle_name");
    }
    if before.try_get::<String, _>("last_name")? != s.last_name {
        changed.push("last_name");
    }
    if before.try_get::<String, _>("sex")? != s.sex {
        changed.push("sex");
    }
    if before.try_get::<Option<chrono::NaiveDate>, _>("date_of_birth")? != s.date_of_birth {
        changed.push("date_of_birth");
    }
    let mut sealed: (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    if with_pii {
        for (column, field, new, slot) in [
            ("national_id_enc", STUDENT_NATIONAL_ID, &s.national_id, &mut sealed.0),
            ("medical_notes_enc", STUDENT_MEDICAL_NOTES, &s.medical_notes, &mut sealed.1),
        ] {
            let aad = Aad::new(tenant.0, field);
            let old = before.try_get::<Option<Vec<u8>>, _>(column)?.map(|v| pii.decrypt(&v, &aad)).transpose()?;
            if old != *new {
                changed.push(field);
            }
            *slot = new.as_deref().map(|v| pii.encrypt(v, &aad)).transpose()?;
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    savepoint(tx).await?;
    let sql = if with_pii {
        "UPDATE students SET admission_no = $2, first_name = $3, middle_name = $4, last_name = $5, sex = $6, date_of_birth = $7,
                national_id_enc = $8, medical_notes_enc = $9 WHERE id = $1"
    } else {
        "UPDATE students SET admission_no = $2, first_name = $3, middle_name = $4, last_name = $5, sex = $6, date_of_birth = $7
          WHERE id = $1"
    };
    let mut query = sqlx::query(sql)
        .bind(student)
        .bind(s.admission_no.as_str())
        .bind(&s.first_name)
        .bind(&s.middle_name)
        .bind(&s.last_name)
        .bind(s.sex)
        .bind(s.date_of_birth);
    if with_pii {
        query = query.bind(sealed.0).bind(sealed.1);
    }
    let result = query.execute(&mut **tx).await.map(|_| ()).map_err(map_constraint);
    end_savepoint(tx, result).await?;
    let details = serde_json::json!({ "changed": changed, "admission_no": s.admission_no.as_str() });
    audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENT_UPDATED, &student.to_string(), details).await?;
    Ok(())
}

/// The key of the student's stored photo: `None` when there is no such student in this
/// school, `Some(None)` when the student has no photo.
pub async fn photo_key(tx: &mut TenantTx, student: Uuid) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT photo_key FROM students WHERE id = $1").bind(student).fetch_optional(&mut **tx).await
}

/// Replaces the photo key (locking the row first, so two uploads cannot both keep
/// their file), audited. `store` runs between the lock and the update: it saves the new
/// file. Returns the old key to delete, `None` when there is no such student.
pub async fn replace_photo<E>(
    tx: &mut TenantTx,
    student: Uuid,
    key: &str,
    details: serde_json::Value,
    by: ChangedBy<'_>,
    store: impl std::future::Future<Output = Result<(), E>>,
) -> Result<Option<Option<String>>, PhotoError<E>> {
    // Storage keys start with the school's id (`Storage::new_key`): a key of another school
    // is refused before anything is stored or written.
    if !key.starts_with(&format!("{}/", tx.tenant().0)) {
        return Err(PhotoError::OtherSchool);
    }
    let old: Option<Option<String>> = sqlx::query_scalar("SELECT photo_key FROM students WHERE id = $1 FOR NO KEY UPDATE")
        .bind(student)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(old) = old else { return Ok(None) };
    store.await.map_err(PhotoError::Storage)?;
    sqlx::query("UPDATE students SET photo_key = $2 WHERE id = $1").bind(student).bind(key).execute(&mut **tx).await?;
    audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENT_PHOTO_CHANGED, &student.to_string(), details).await?;
    Ok(Some(old))
}

/// Why a photo could not be replaced.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError<E> {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("storing the photo failed")]
    Storage(E),
    #[error("the storage key belongs to another school")]
    OtherSchool,
}

/// Changes a student's status (a reason is required unless active; see
/// [`super::check_status`]).
pub async fn change_status(
    tx: &mut TenantTx,
    student: Uuid,
    status: StudentStatus,
    reason: Option<&str>,
    by: ChangedBy<'_>,
) -> Result<(), DomainError> {
    require_student(tx, student).await?;
    let from: String = sqlx::query_scalar("SELECT status FROM students WHERE id = $1").bind(student).fetch_one(&mut **tx).await?;
    sqlx::query("UPDATE students SET status = $2, status_reason = $3 WHERE id = $1")
        .bind(student)
        .bind(status.code())
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    let details = serde_json::json!({ "from": from, "to": status.code(), "reason": reason });
    audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENT_STATUS_CHANGED, &student.to_string(), details).await?;
    Ok(())
}

/// Enrols a student in `stream` for `year` (replacing that year's class if already
/// enrolled). In the current year the stream also becomes the student's class.
pub async fn enrol(tx: &mut TenantTx, student: Uuid, year: Uuid, stream: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
    require_student(tx, student).await?;
    let (year_number, is_current): (i32, bool) = sqlx::query_as("SELECT year, is_current FROM academic_years WHERE id = $1")
        .bind(year)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ValidationError::new("year", "error-not-found"))?;
    savepoint(tx).await?;
    let result = upsert_enrolment(tx, student, year, stream).await;
    end_savepoint(tx, result).await?;
    if is_current {
        sqlx::query("UPDATE students SET stream_id = $2 WHERE id = $1").bind(student).bind(stream).execute(&mut **tx).await?;
    }
    let details = serde_json::json!({ "year": year_number, "stream": stream });
    audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENT_ENROLLED, &student.to_string(), details).await?;
    Ok(())
}

pub(super) async fn upsert_enrolment(tx: &mut TenantTx, student: Uuid, year: Uuid, stream: Uuid) -> Result<(), DomainError> {
    let tenant = tx.tenant();
    sqlx::query(
        "INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, student_id, academic_year_id) DO UPDATE SET stream_id = EXCLUDED.stream_id",
    )
    .bind(tenant.0)
    .bind(student)
    .bind(year)
    .bind(stream)
    .execute(&mut **tx)
    .await
    .map_err(map_constraint)?;
    Ok(())
}
