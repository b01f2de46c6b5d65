//! Subjects: the school's subjects (taken from the national master list, or the school's
//! own), which subjects each level takes (compulsory or optional), and who teaches each
//! subject in each stream in the current academic year (teacher allocations, which the
//! teacher workspace shows).

use super::classes::TeacherOption;
use super::Band;
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a level takes a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectMode {
    Compulsory,
    Optional,
}

impl SubjectMode {
    pub fn code(self) -> &'static str {
        match self {
            Self::Compulsory => "compulsory",
            Self::Optional => "optional",
        }
    }

    /// `compulsory`, `optional`, or `none` (the level does not take the subject).
    pub fn parse(input: &str) -> Result<Option<Self>, ValidationError> {
        match input.trim() {
            "compulsory" => Ok(Some(Self::Compulsory)),
            "optional" => Ok(Some(Self::Optional)),
            "none" => Ok(None),
            _ => Err(ValidationError::new("mode", "error-subject-mode")),
        }
    }
}

/// A school's own subject, checked whole: code (2–10 capital letters, digits or dashes,
/// starting with a letter) and a name in English and in Kiswahili.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomSubject {
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
}

fn check_name(field: &str, input: &str, errors: &mut Vec<ValidationError>) -> String {
    let s = input.trim();
    if s.is_empty() {
        errors.push(ValidationError::new(field, "error-subject-name-required"));
    } else if s.chars().count() > 60 || s.starts_with(['=', '+', '-', '@']) || !s.chars().any(char::is_alphabetic) {
        errors.push(ValidationError::new(field, "error-subject-name-invalid"));
    }
    s.to_owned()
}

impl CustomSubject {
    pub fn parse(code: &str, name_en: &str, name_sw: &str) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let code = code.trim().to_ascii_uppercase();
        let code_ok = (2..=10).contains(&code.len())
            && code.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !code_ok {
            errors.push(ValidationError::new("code", "error-subject-code"));
        }
        let name_en = check_name("name_en", name_en, &mut errors);
        let name_sw = check_name("name_sw", name_sw, &mut errors);
        if errors.is_empty() {
            Ok(Self { code, name_en, name_sw })
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectView {
    pub id: Uuid,
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
    /// The master-list code, or `None` for the school's own subject.
    pub master_code: Option<String>,
    /// The band of its master subject (`primary`, `o_level`, `a_level`); `None` for the
    /// school's own subject, which fits every level.
    pub band: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterSubject {
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
    pub band: String,
    pub necta_code: Option<String>,
}

/// One level's subjects: the school subjects that fit its band (and any it already takes),
/// with how the level takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelSubjects {
    pub level_id: Uuid,
    pub level_name: String,
    pub band: Band,
    /// (subject id, mode), in the order of `SubjectsView::subjects`.
    pub modes: Vec<(Uuid, Option<SubjectMode>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationRow {
    pub subject_id: Uuid,
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
    pub teacher_id: Option<Uuid>,
    pub teacher: Option<String>,
}

/// A stream's subjects (those its level takes, and any already allocated) with their
/// teachers this year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAllocations {
    pub stream_id: Uuid,
    pub level_id: Uuid,
    pub class_name: String,
    pub rows: Vec<AllocationRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SubjectsView {
    pub subjects: Vec<SubjectView>,
    /// Master subjects of the school's bands that the school has not added yet.
    pub master_available: Vec<MasterSubject>,
    pub levels: Vec<LevelSubjects>,
    pub streams: Vec<StreamAllocations>,
    pub teachers: Vec<TeacherOption>,
    /// The current academic year, which allocations belong to.
    pub current_year: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(SubjectMode::parse("compulsory"), Ok(Some(SubjectMode::Compulsory)));
        assert_eq!(SubjectMode::parse("none"), Ok(None));
        assert!(SubjectMode::parse("sometimes").is_err());
    }

    #[test]
    fn custom_subjects_are_checked_whole() {
        let s = CustomSubject::parse(" bk-2 ", " Bible Knowledge ", "Maarifa ya Biblia").unwrap();
        assert_eq!((s.code.as_str(), s.name_en.as_str()), ("BK-2", "Bible Knowledge"));
        let errors = CustomSubject::parse("1", "", "=cmd").unwrap_err();
        let keys: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        assert_eq!(
            keys,
            vec![("code", "error-subject-code"), ("name_en", "error-subject-name-required"), ("name_sw", "error-subject-name-invalid")]
        );
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    //! Subject reads and writes, inside a tenant transaction. Every change is audited in the
    //! same transaction; a refused change leaves nothing behind.
    use super::*;
    use crate::academic::class_name;
    use crate::academic::classes::db::{check_teacher, teachers, LEVEL_ORDER};
    use crate::academic::classes::parse_band;
    use crate::audit;
    use crate::db::TenantTx;
    use crate::db::{end_savepoint, map_constraint, savepoint};
    use crate::identity::store::ChangedBy;

    use crate::DomainError;
    use sqlx::Row;

    pub async fn list_subjects(tx: &mut TenantTx) -> Result<Vec<SubjectView>, sqlx::Error> {
        sqlx::query(
            "SELECT s.id, s.code, s.name_en, s.name_sw, s.master_code, m.band
               FROM school_subjects s LEFT JOIN master_subjects m ON m.code = s.master_code
              ORDER BY s.code",
        )
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(SubjectView {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name_en: r.try_get("name_en")?,
                name_sw: r.try_get("name_sw")?,
                master_code: r.try_get("master_code")?,
                band: r.try_get("band")?,
            })
        })
        .collect()
    }

    /// Master subjects the school can still add: those of the bands it teaches (every band
    /// while it has no levels yet).
    pub async fn master_available(tx: &mut TenantTx) -> Result<Vec<MasterSubject>, sqlx::Error> {
        sqlx::query(
            "SELECT m.code, m.name_en, m.name_sw, m.band, m.necta_code FROM master_subjects m
              WHERE (m.band IN (SELECT band FROM levels) OR NOT EXISTS (SELECT 1 FROM levels))
                AND NOT EXISTS (SELECT 1 FROM school_subjects s WHERE s.master_code = m.code OR s.code = m.code)
              ORDER BY CASE m.band WHEN 'primary' THEN 0 WHEN 'o_level' THEN 1 ELSE 2 END, m.name_en",
        )
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(MasterSubject {
                code: r.try_get("code")?,
                name_en: r.try_get("name_en")?,
                name_sw: r.try_get("name_sw")?,
                band: r.try_get("band")?,
                necta_code: r.try_get("necta_code")?,
            })
        })
        .collect()
    }

    fn mode_of(compulsory: Option<bool>) -> Option<SubjectMode> {
        compulsory.map(|c| if c { SubjectMode::Compulsory } else { SubjectMode::Optional })
    }

    /// Everything the subjects page shows.
    pub async fn overview(tx: &mut TenantTx) -> Result<SubjectsView, sqlx::Error> {
        let subjects = list_subjects(tx).await?;
        let master_available = master_available(tx).await?;
        let teachers = teachers(tx).await?;
        let current_year: Option<i32> =
            sqlx::query_scalar("SELECT year FROM academic_years WHERE is_current").fetch_optional(&mut **tx).await?;
        let levels = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT l.id, l.name, l.band FROM levels l ORDER BY {LEVEL_ORDER}")))
            .fetch_all(&mut **tx)
            .await?;
        let taken = sqlx::query("SELECT level_id, subject_id, compulsory FROM level_subjects").fetch_all(&mut **tx).await?;
        let mut taken_by: Vec<(Uuid, Uuid, bool)> = Vec::new();
        for r in &taken {
            taken_by.push((r.try_get("level_id")?, r.try_get("subject_id")?, r.try_get("compulsory")?));
        }
        let mut level_views = Vec::new();
        for l in &levels {
            let level_id: Uuid = l.try_get("id")?;
            let band_code: String = l.try_get("band")?;
            let band = parse_band(&band_code).map_err(|_| sqlx::Error::Decode(format!("unknown band {band_code}").into()))?;
            let modes = subjects
                .iter()
                .map(|s| {
                    let c = taken_by.iter().find(|(lv, sub, _)| *lv == level_id && *sub == s.id).map(|(_, _, c)| *c);
                    (s, mode_of(c))
                })
                .filter(|(s, mode)| mode.is_some() || s.band.as_deref().is_none_or(|b| b == band_code))
                .map(|(s, mode)| (s.id, mode))
                .collect();
            level_views.push(LevelSubjects { level_id, level_name: l.try_get("name")?, band, modes });
        }
        // Per stream: the subjects its level takes plus any allocated this year, with teachers.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT s.id AS stream_id, l.id AS level_id, l.name AS level, s.name AS stream, sub.id AS subject_id, sub.code, sub.name_en, sub.name_sw,
                    ta.teacher_id, u.display_name AS teacher
               FROM streams s
               JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
               JOIN school_subjects sub ON sub.tenant_id = s.tenant_id
               LEFT JOIN academic_years y ON y.tenant_id = s.tenant_id AND y.is_current
               LEFT JOIN teacher_allocations ta ON ta.tenant_id = s.tenant_id AND ta.stream_id = s.id
                    AND ta.subject_id = sub.id AND ta.academic_year_id = y.id
               LEFT JOIN users u ON u.tenant_id = ta.tenant_id AND u.id = ta.teacher_id
              WHERE ta.id IS NOT NULL
                 OR EXISTS (SELECT 1 FROM level_subjects ls WHERE ls.tenant_id = s.tenant_id AND ls.level_id = l.id AND ls.subject_id = sub.id)
              ORDER BY {LEVEL_ORDER}, s.name, sub.code"
        )))
        .fetch_all(&mut **tx)
        .await?;
        let mut streams: Vec<StreamAllocations> = Vec::new();
        for r in &rows {
            let stream_id: Uuid = r.try_get("stream_id")?;
            let row = AllocationRow {
                subject_id: r.try_get("subject_id")?,
                code: r.try_get("code")?,
                name_en: r.try_get("name_en")?,
                name_sw: r.try_get("name_sw")?,
                teacher_id: r.try_get("teacher_id")?,
                teacher: r.try_get("teacher")?,
            };
            match streams.last_mut() {
                Some(last) if last.stream_id == stream_id => last.rows.push(row),
                _ => streams.push(StreamAllocations {
                    stream_id,
                    level_id: r.try_get("level_id")?,
                    class_name: class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?),
                    rows: vec![row],
                }),
            }
        }
        // Streams with nothing to allocate yet still appear (as an empty state).
        let all_streams = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT s.id, s.level_id, l.name AS level, s.name AS stream FROM streams s
               JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
              ORDER BY {LEVEL_ORDER}, s.name"
        )))
        .fetch_all(&mut **tx)
        .await?;
        let mut ordered = Vec::new();
        for s in &all_streams {
            let id: Uuid = s.try_get("id")?;
            match streams.iter().position(|x| x.stream_id == id) {
                Some(i) => ordered.push(streams.swap_remove(i)),
                None => ordered.push(StreamAllocations {
                    stream_id: id,
                    level_id: s.try_get("level_id")?,
                    class_name: class_name(&s.try_get::<String, _>("level")?, &s.try_get::<String, _>("stream")?),
                    rows: vec![],
                }),
            }
        }
        Ok(SubjectsView { subjects, master_available, levels: level_views, streams: ordered, teachers, current_year })
    }

    async fn insert_subject(tx: &mut TenantTx, s: &CustomSubject, master: Option<&str>, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        savepoint(tx).await?;
        let inserted = sqlx::query_scalar(
            "INSERT INTO school_subjects (tenant_id, code, name_en, name_sw, master_code) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(tenant.0)
        .bind(&s.code)
        .bind(&s.name_en)
        .bind(&s.name_sw)
        .bind(master)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_constraint);
        let id: Uuid = end_savepoint(tx, inserted).await?;
        let details = serde_json::json!({ "code": s.code, "name_en": s.name_en, "name_sw": s.name_sw, "master": master });
        audit::append(tx, by.at, by.actor, crate::audit::actions::SUBJECT_ADDED, &id.to_string(), details).await?;
        Ok(id)
    }

    /// Adds a subject from the national master list (of a band the school teaches).
    pub async fn add_from_master(tx: &mut TenantTx, code: &str, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let code = code.trim();
        let row = sqlx::query(
            "SELECT m.code, m.name_en, m.name_sw,
                    (m.band IN (SELECT band FROM levels) OR NOT EXISTS (SELECT 1 FROM levels)) AS band_taught
               FROM master_subjects m WHERE m.code = $1",
        )
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ValidationError::new("code", "error-master-subject-unknown"))?;
        if !row.try_get::<bool, _>("band_taught")? {
            return Err(ValidationError::new("code", "error-subject-band").into());
        }
        let subject = CustomSubject { code: row.try_get("code")?, name_en: row.try_get("name_en")?, name_sw: row.try_get("name_sw")? };
        let already: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM school_subjects WHERE master_code = $1)")
            .bind(&subject.code)
            .fetch_one(&mut **tx)
            .await?;
        if already {
            return Err(DomainError::conflict("code", "error-subject-exists"));
        }
        insert_subject(tx, &subject, Some(subject.code.as_str()), by).await
    }

    /// Adds a subject of the school's own.
    pub async fn add_custom(tx: &mut TenantTx, subject: &CustomSubject, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        insert_subject(tx, subject, None, by).await
    }

    /// Sets how a level takes a subject; `None` removes it from the level.
    pub async fn set_level_subject(
        tx: &mut TenantTx,
        level: Uuid,
        subject: Uuid,
        mode: Option<SubjectMode>,
        by: ChangedBy<'_>,
    ) -> Result<(), DomainError> {
        let tenant = tx.tenant();
        let level_name: String = sqlx::query_scalar("SELECT name FROM levels WHERE id = $1")
            .bind(level)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        let subject_code: String = sqlx::query_scalar("SELECT code FROM school_subjects WHERE id = $1")
            .bind(subject)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        match mode {
            None => {
                sqlx::query("DELETE FROM level_subjects WHERE level_id = $1 AND subject_id = $2")
                    .bind(level)
                    .bind(subject)
                    .execute(&mut **tx)
                    .await?;
            }
            Some(m) => {
                sqlx::query(
                    "INSERT INTO level_subjects (tenant_id, level_id, subject_id, compulsory) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant_id, level_id, subject_id) DO UPDATE SET compulsory = EXCLUDED.compulsory",
                )
                .bind(tenant.0)
                .bind(level)
                .bind(subject)
                .bind(m == SubjectMode::Compulsory)
                .execute(&mut **tx)
                .await?;
            }
        }
        let details =
            serde_json::json!({ "level": level_name, "subject": subject_code, "mode": mode.map(SubjectMode::code).unwrap_or("none") });
        audit::append(tx, by.at, by.actor, crate::audit::actions::SUBJECT_LEVEL_SET, &level.to_string(), details).await?;
        Ok(())
    }

    async fn current_year(tx: &mut TenantTx) -> Result<Uuid, DomainError> {
        sqlx::query_scalar("SELECT id FROM academic_years WHERE is_current")
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ValidationError::new("year", "error-no-current-year").into())
    }

    /// (class name, subject code) of a stream and subject of this school.
    async fn stream_and_subject(tx: &mut TenantTx, stream: Uuid, subject: Uuid) -> Result<(String, String), DomainError> {
        let s = sqlx::query(
            "SELECT l.name AS level, s.name AS stream FROM streams s JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
              WHERE s.id = $1",
        )
        .bind(stream)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
        let code: String = sqlx::query_scalar("SELECT code FROM school_subjects WHERE id = $1")
            .bind(subject)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok((class_name(&s.try_get::<String, _>("level")?, &s.try_get::<String, _>("stream")?), code))
    }

    /// Gives a subject in a stream to a teacher for the current academic year (replacing
    /// whoever had it).
    pub async fn allocate(tx: &mut TenantTx, stream: Uuid, subject: Uuid, teacher: Uuid, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        let year = current_year(tx).await?;
        let (class, code) = stream_and_subject(tx, stream, subject).await?;
        check_teacher(tx, teacher, "teacher_id").await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO teacher_allocations (tenant_id, academic_year_id, teacher_id, subject_id, stream_id) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, academic_year_id, subject_id, stream_id) DO UPDATE SET teacher_id = EXCLUDED.teacher_id
             RETURNING id",
        )
        .bind(tenant.0)
        .bind(year)
        .bind(teacher)
        .bind(subject)
        .bind(stream)
        .fetch_one(&mut **tx)
        .await?;
        let details = serde_json::json!({ "class": class, "subject": code, "teacher": teacher, "year": year });
        audit::append(tx, by.at, by.actor, crate::audit::actions::ALLOCATION_SET, &id.to_string(), details).await?;
        Ok(id)
    }

    /// Takes a subject in a stream away from its teacher (current academic year).
    pub async fn unallocate(tx: &mut TenantTx, stream: Uuid, subject: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
        let year = current_year(tx).await?;
        let (class, code) = stream_and_subject(tx, stream, subject).await?;
        let removed = sqlx::query(
            "DELETE FROM teacher_allocations WHERE academic_year_id = $1 AND stream_id = $2 AND subject_id = $3 RETURNING id, teacher_id",
        )
        .bind(year)
        .bind(stream)
        .bind(subject)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
        let id: Uuid = removed.try_get("id")?;
        let teacher: Uuid = removed.try_get("teacher_id")?;
        let details = serde_json::json!({ "class": class, "subject": code, "teacher": teacher, "year": year });
        audit::append(tx, by.at, by.actor, crate::audit::actions::ALLOCATION_REMOVED, &id.to_string(), details).await?;
        Ok(())
    }
}
