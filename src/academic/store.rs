//! Queries behind the portal dashboards. All run inside a tenant transaction.

use super::{class_name, ChildSummary, SchoolOverview, StreamSummary, TeachingAssignment};
use crate::academic::classes::db::LEVEL_ORDER;
use crate::audit::pii::{Aad, KeyRing};
use crate::db::TenantTx;
use crate::identity::{Email, Phone};
use crate::tenancy::TenantId;
use crate::DomainError;
use sqlx::Row;
use uuid::Uuid;

pub async fn school_overview(tx: &mut TenantTx) -> Result<SchoolOverview, sqlx::Error> {
    let counts = sqlx::query(
        "SELECT
           (SELECT count(*) FROM students WHERE status = 'active') AS students,
           (SELECT count(DISTINCT ur.user_id) FROM user_roles ur
              JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
              JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
             WHERE u.status = 'active' AND r.code IN ('school_admin', 'teacher', 'accountant')) AS staff,
           (SELECT count(*) FROM guardians) AS guardians",
    )
    .fetch_one(&mut **tx)
    .await?;
    let streams = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT s.id, l.name AS level, s.name AS stream, u.display_name AS class_teacher,
                (SELECT count(*) FROM students st WHERE st.stream_id = s.id AND st.status = 'active') AS students
           FROM streams s
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
           LEFT JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.class_teacher_id
          ORDER BY {LEVEL_ORDER}, s.name"
    )))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(StreamSummary {
            id: r.try_get("id")?,
            class_name: class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?),
            students: r.try_get("students")?,
            class_teacher: r.try_get("class_teacher")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(SchoolOverview {
        students: counts.try_get("students")?,
        staff: counts.try_get("staff")?,
        guardians: counts.try_get("guardians")?,
        streams,
    })
}

/// The teacher's allocations in the current academic year.
pub async fn teaching_assignments(tx: &mut TenantTx, teacher: Uuid) -> Result<Vec<TeachingAssignment>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT l.name AS level, s.name AS stream, sub.code, sub.name_en, sub.name_sw,
                (s.class_teacher_id = ta.teacher_id) AS is_class_teacher,
                (SELECT count(*) FROM students st WHERE st.stream_id = s.id AND st.status = 'active') AS students
           FROM teacher_allocations ta
           JOIN academic_years y ON y.tenant_id = ta.tenant_id AND y.id = ta.academic_year_id AND y.is_current
           JOIN streams s ON s.tenant_id = ta.tenant_id AND s.id = ta.stream_id
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
           JOIN school_subjects sub ON sub.tenant_id = ta.tenant_id AND sub.id = ta.subject_id
          WHERE ta.teacher_id = $1
          ORDER BY {LEVEL_ORDER}, s.name, sub.code"
    )))
    .bind(teacher)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(TeachingAssignment {
            class_name: class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?),
            subject_code: r.try_get("code")?,
            subject_en: r.try_get("name_en")?,
            subject_sw: r.try_get("name_sw")?,
            students: r.try_get("students")?,
            is_class_teacher: r.try_get::<Option<bool>, _>("is_class_teacher")?.unwrap_or(false),
        })
    })
    .collect()
}

const CHILD_SELECT: &str = "SELECT st.id, concat_ws(' ', st.first_name, st.middle_name, st.last_name) AS full_name,
        st.admission_no, st.status, l.name AS level, s.name AS stream
   FROM students st
   LEFT JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
   LEFT JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id";

fn child_from_row(r: &sqlx::postgres::PgRow) -> Result<ChildSummary, sqlx::Error> {
    let level: Option<String> = r.try_get("level")?;
    let stream: Option<String> = r.try_get("stream")?;
    Ok(ChildSummary {
        student_id: r.try_get("id")?,
        full_name: r.try_get("full_name")?,
        admission_no: r.try_get("admission_no")?,
        class_name: level.zip(stream).map(|(l, s)| class_name(&l, &s)),
        status: r.try_get("status")?,
    })
}

/// The parent home's query (`$1`: the user); public so a test can EXPLAIN it as the app role.
pub fn children_of_guardian_sql() -> String {
    format!(
        "{CHILD_SELECT}
          JOIN student_guardians sg ON sg.tenant_id = st.tenant_id AND sg.student_id = st.id
          JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
         WHERE g.user_id = $1
         ORDER BY st.first_name, st.last_name"
    )
}

/// The student home's query (`$1`: the user).
pub fn student_of_user_sql() -> String {
    format!("{CHILD_SELECT} WHERE st.user_id = $1")
}

/// Children of the guardian whose sign-in account is `user`.
pub async fn children_of_guardian(tx: &mut TenantTx, user: Uuid) -> Result<Vec<ChildSummary>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(children_of_guardian_sql())).bind(user).fetch_all(&mut **tx).await?.iter().map(child_from_row).collect()
}

/// The student record linked to a student's sign-in account.
pub async fn student_of_user(tx: &mut TenantTx, user: Uuid) -> Result<Option<ChildSummary>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(student_of_user_sql()))
        .bind(user)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(child_from_row)
        .transpose()
}

/// Field names bound into encryption (associated data) and blind indexes.
pub const GUARDIAN_PHONE: &str = "guardians.phone";

/// Adds a guardian. The phone number is stored encrypted, with a keyed blind index for
/// lookups; it never reaches the database in plain text.
pub async fn insert_guardian(
    tx: &mut TenantTx,
    pii: &KeyRing,
    full_name: &str,
    phone: &Phone,
    email: Option<&Email>,
) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    let sealed = pii.encrypt(phone.as_str(), &Aad::new(tenant.0, GUARDIAN_PHONE))?;
    let index = pii.blind_index(tenant.0, GUARDIAN_PHONE, phone.as_str());
    Ok(sqlx::query_scalar(
        "INSERT INTO guardians (tenant_id, full_name, phone_enc, phone_bidx, email) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tenant.0)
    .bind(full_name)
    .bind(sealed)
    .bind(index)
    .bind(email.map(Email::as_str))
    .fetch_one(&mut **tx)
    .await?)
}

/// A guardian's phone number in clear, for callers that hold `students.pii.read`.
pub fn reveal_phone(pii: &KeyRing, tenant: TenantId, sealed: &[u8]) -> Result<Phone, DomainError> {
    let clear = pii.decrypt(sealed, &Aad::new(tenant.0, GUARDIAN_PHONE))?;
    Phone::parse(&clear).map_err(|_| DomainError::Internal("stored phone is not a phone".into()))
}

/// Guardians whose phone number is `phone` (exact match through the blind index).
pub async fn guardians_by_phone(tx: &mut TenantTx, pii: &KeyRing, phone: &Phone) -> Result<Vec<Uuid>, sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query_scalar("SELECT id FROM guardians WHERE phone_bidx = $1 ORDER BY full_name")
        .bind(pii.blind_index(tenant.0, GUARDIAN_PHONE, phone.as_str()))
        .fetch_all(&mut **tx)
        .await
}
