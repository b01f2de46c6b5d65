//! Classes: levels with their Tanzanian names (Standard I–VII, Form 1–4, Form 5–6), their
//! streams (Form 2A, 2B …) with a class teacher each, and the A-level subject combinations
//! (PCM, PCB, CBG …) a school offers, picked from a default list.

use super::Band;
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A band as a form sends it (`primary`, `o_level`, `a_level`).
pub fn parse_band(input: &str) -> Result<Band, ValidationError> {
    match input.trim() {
        "primary" => Ok(Band::Primary),
        "o_level" => Ok(Band::OLevel),
        "a_level" => Ok(Band::ALevel),
        _ => Err(ValidationError::new("band", "error-level-band")),
    }
}

/// The levels a band has: Standard I–VII, Form 1–4, Form 5–6.
pub fn ordinals(band: Band) -> std::ops::RangeInclusive<i32> {
    match band {
        Band::Primary => 1..=7,
        Band::OLevel => 1..=4,
        Band::ALevel => 5..=6,
    }
}

/// Checks that `ordinal` is a level of `band` (Form 5 is A-level, not O-level).
pub fn check_level(band: Band, ordinal: i32) -> Result<(), ValidationError> {
    if ordinals(band).contains(&ordinal) {
        Ok(())
    } else {
        Err(ValidationError::new("ordinal", "error-level-ordinal"))
    }
}

/// The short code a level is stored under: `STD3`, `F2`, `F5`.
pub fn level_code(band: Band, ordinal: i32) -> String {
    match band {
        Band::Primary => format!("STD{ordinal}"),
        Band::OLevel | Band::ALevel => format!("F{ordinal}"),
    }
}

/// A stream's name: usually one letter (A, B …), or a short word some schools use
/// ("Blue", "Science"). One letter is upper-cased.
pub fn parse_stream_name(input: &str) -> Result<String, ValidationError> {
    let s = input.trim();
    let first_is_letter = s.chars().next().is_some_and(|c| c.is_alphabetic());
    let ok = first_is_letter && s.chars().count() <= 20 && s.chars().all(|c| c.is_alphanumeric() || c == ' ' || c == '-');
    if s.is_empty() {
        return Err(ValidationError::new("name", "error-stream-name-required"));
    }
    if !ok {
        return Err(ValidationError::new("name", "error-stream-name-invalid"));
    }
    if s.chars().count() == 1 {
        Ok(s.to_uppercase())
    } else {
        Ok(s.to_owned())
    }
}

/// A combination code as the school writes it: PCM, HGL, EGM (2–6 capital letters).
pub fn parse_combination_code(input: &str) -> Result<String, ValidationError> {
    let s = input.trim().to_ascii_uppercase();
    if (2..=6).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s)
    } else {
        Err(ValidationError::new("code", "error-combination-unknown"))
    }
}

/// Someone who can be given a class or a subject: an active user with the teacher role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeacherOption {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamView {
    pub id: Uuid,
    pub name: String,
    /// As people say it: "Form 2A".
    pub class_name: String,
    pub class_teacher_id: Option<Uuid>,
    pub class_teacher: Option<String>,
    pub students: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub band: Band,
    pub ordinal: i32,
    pub streams: Vec<StreamView>,
}

/// A subject of a combination, named in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectName {
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
}

/// A combination the school offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinationView {
    pub id: Uuid,
    pub code: String,
    pub subjects: Vec<SubjectName>,
    pub students: i64,
}

/// A combination from the default list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterCombination {
    pub code: String,
    pub name_en: String,
    pub name_sw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClassesView {
    pub levels: Vec<LevelView>,
    pub teachers: Vec<TeacherOption>,
    pub combinations: Vec<CombinationView>,
    /// Default combinations the school does not offer yet.
    pub available_combinations: Vec<MasterCombination>,
}

impl ClassesView {
    pub fn has_a_level(&self) -> bool {
        self.levels.iter().any(|l| l.band == Band::ALevel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_belong_to_their_band() {
        assert_eq!(parse_band("o_level"), Ok(Band::OLevel));
        assert!(parse_band("college").is_err());
        assert!(check_level(Band::Primary, 7).is_ok());
        assert!(check_level(Band::Primary, 8).is_err());
        assert!(check_level(Band::OLevel, 5).is_err());
        assert!(check_level(Band::ALevel, 5).is_ok());
        assert!(check_level(Band::ALevel, 4).is_err());
        assert_eq!(level_code(Band::Primary, 3), "STD3");
        assert_eq!(level_code(Band::ALevel, 6), "F6");
    }

    #[test]
    fn stream_names() {
        assert_eq!(parse_stream_name(" b "), Ok("B".into()));
        assert_eq!(parse_stream_name("Blue"), Ok("Blue".into()));
        assert_eq!(parse_stream_name("").map_err(|e| e.message), Err("error-stream-name-required".into()));
        assert_eq!(parse_stream_name("=A1").map_err(|e| e.message), Err("error-stream-name-invalid".into()));
        assert!(parse_stream_name("1A").is_err());
        assert!(parse_stream_name("A very long stream name indeed").is_err());
    }

    #[test]
    fn combination_codes() {
        assert_eq!(parse_combination_code(" pcm "), Ok("PCM".into()));
        assert!(parse_combination_code("P").is_err());
        assert!(parse_combination_code("PC1").is_err());
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    //! Classes reads and writes, inside a tenant transaction. Every change is audited in the
    //! same transaction; a refused change leaves nothing behind (savepoints).
    use super::*;
    use crate::academic::class_name;
    use crate::audit;
    use crate::db::TenantTx;
    use crate::identity::store::ChangedBy;

    use crate::DomainError;
    use sqlx::Row;

    use crate::db::{end_savepoint, map_constraint, savepoint};

    fn band_from_code(code: &str) -> Result<Band, sqlx::Error> {
        parse_band(code).map_err(|_| sqlx::Error::Decode(format!("unknown band {code}").into()))
    }

    /// Active users holding the teacher role, by name.
    pub async fn teachers(tx: &mut TenantTx) -> Result<Vec<TeacherOption>, sqlx::Error> {
        sqlx::query(
            "SELECT DISTINCT u.id, u.display_name
               FROM users u
               JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
               JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
              WHERE r.code = 'teacher' AND u.status = 'active'
              ORDER BY u.display_name, u.id",
        )
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok(TeacherOption { id: r.try_get("id")?, name: r.try_get("display_name")? }))
        .collect()
    }

    /// Refuses anyone who is not an active teacher of this school (field `field`).
    pub(crate) async fn check_teacher(tx: &mut TenantTx, teacher: Uuid, field: &str) -> Result<(), DomainError> {
        let ok: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM users u
                  JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
                  JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
                 WHERE u.id = $1 AND r.code = 'teacher' AND u.status = 'active')",
        )
        .bind(teacher)
        .fetch_one(&mut **tx)
        .await?;
        if ok {
            Ok(())
        } else {
            Err(ValidationError::new(field, "error-teacher-unknown").into())
        }
    }

    pub(crate) const LEVEL_ORDER: &str = "CASE l.band WHEN 'primary' THEN 0 WHEN 'o_level' THEN 1 ELSE 2 END, l.ordinal";

    /// The school's levels (in teaching order) with their streams.
    pub async fn levels(tx: &mut TenantTx) -> Result<Vec<LevelView>, sqlx::Error> {
        let levels = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT l.id, l.code, l.name, l.band, l.ordinal FROM levels l ORDER BY {LEVEL_ORDER}"
        )))
        .fetch_all(&mut **tx)
        .await?;
        let streams = sqlx::query(
            "SELECT s.id, s.level_id, s.name, s.class_teacher_id, u.display_name AS class_teacher,
                    (SELECT count(*) FROM students st WHERE st.tenant_id = s.tenant_id AND st.stream_id = s.id AND st.status = 'active') AS students
               FROM streams s
               LEFT JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.class_teacher_id
              ORDER BY s.name",
        )
        .fetch_all(&mut **tx)
        .await?;
        levels
            .iter()
            .map(|l| {
                let id: Uuid = l.try_get("id")?;
                let name: String = l.try_get("name")?;
                let mut level_streams = Vec::new();
                for s in streams.iter().filter(|s| s.try_get::<Uuid, _>("level_id").ok() == Some(id)) {
                    let stream: String = s.try_get("name")?;
                    level_streams.push(StreamView {
                        id: s.try_get("id")?,
                        class_name: class_name(&name, &stream),
                        name: stream,
                        class_teacher_id: s.try_get("class_teacher_id")?,
                        class_teacher: s.try_get("class_teacher")?,
                        students: s.try_get("students")?,
                    });
                }
                Ok(LevelView {
                    id,
                    code: l.try_get("code")?,
                    name,
                    band: band_from_code(&l.try_get::<String, _>("band")?)?,
                    ordinal: l.try_get("ordinal")?,
                    streams: level_streams,
                })
            })
            .collect()
    }

    /// Everything the classes page shows.
    pub async fn overview(tx: &mut TenantTx) -> Result<ClassesView, sqlx::Error> {
        let levels = levels(tx).await?;
        let teachers = teachers(tx).await?;
        let combos = sqlx::query(
            "SELECT c.id, c.code,
                    (SELECT count(*) FROM students st WHERE st.tenant_id = c.tenant_id AND st.combination_id = c.id) AS students
               FROM subject_combinations c ORDER BY c.code",
        )
        .fetch_all(&mut **tx)
        .await?;
        let members = sqlx::query(
            "SELECT cs.combination_id, s.code, s.name_en, s.name_sw
               FROM combination_subjects cs
               JOIN school_subjects s ON s.tenant_id = cs.tenant_id AND s.id = cs.subject_id
              ORDER BY s.code",
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut combinations = Vec::new();
        for c in &combos {
            let id: Uuid = c.try_get("id")?;
            let mut subjects = Vec::new();
            for m in members.iter().filter(|m| m.try_get::<Uuid, _>("combination_id").ok() == Some(id)) {
                subjects.push(SubjectName { code: m.try_get("code")?, name_en: m.try_get("name_en")?, name_sw: m.try_get("name_sw")? });
            }
            combinations.push(CombinationView { id, code: c.try_get("code")?, subjects, students: c.try_get("students")? });
        }
        let available_combinations = sqlx::query(
            "SELECT m.code, m.name_en, m.name_sw FROM master_combinations m
              WHERE NOT EXISTS (SELECT 1 FROM subject_combinations c WHERE c.code = m.code)
              ORDER BY m.code",
        )
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok(MasterCombination { code: r.try_get("code")?, name_en: r.try_get("name_en")?, name_sw: r.try_get("name_sw")? }))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(ClassesView { levels, teachers, combinations, available_combinations })
    }

    /// Adds a level (e.g. Form 5) under its Tanzanian name. The same level twice is refused.
    pub async fn add_level(tx: &mut TenantTx, band: Band, ordinal: i32, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        check_level(band, ordinal)?;
        let code = level_code(band, ordinal);
        let name = crate::academic::level_name(band, ordinal);
        savepoint(tx).await?;
        let inserted =
            sqlx::query_scalar("INSERT INTO levels (tenant_id, code, name, band, ordinal) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(tenant.0)
                .bind(&code)
                .bind(&name)
                .bind(band.code())
                .bind(ordinal)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_constraint);
        let id: Uuid = end_savepoint(tx, inserted).await?;
        let details = serde_json::json!({ "code": code, "name": name, "band": band.code(), "ordinal": ordinal });
        audit::append(tx, by.at, by.actor, crate::audit::actions::CLASS_LEVEL_ADDED, &id.to_string(), details).await?;
        Ok(id)
    }

    /// Adds a stream to a level. A name the level already has is refused.
    pub async fn add_stream(tx: &mut TenantTx, level: Uuid, name: &str, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        let name = parse_stream_name(name)?;
        let level_name: String = sqlx::query_scalar("SELECT name FROM levels WHERE id = $1")
            .bind(level)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        savepoint(tx).await?;
        let inserted = sqlx::query_scalar("INSERT INTO streams (tenant_id, level_id, name) VALUES ($1, $2, $3) RETURNING id")
            .bind(tenant.0)
            .bind(level)
            .bind(&name)
            .fetch_one(&mut **tx)
            .await
            .map_err(map_constraint);
        let id: Uuid = end_savepoint(tx, inserted).await?;
        let details = serde_json::json!({ "level": level, "class": class_name(&level_name, &name) });
        audit::append(tx, by.at, by.actor, crate::audit::actions::CLASS_STREAM_ADDED, &id.to_string(), details).await?;
        Ok(id)
    }

    /// Sets (or, with `None`, clears) a stream's class teacher.
    pub async fn set_class_teacher(tx: &mut TenantTx, stream: Uuid, teacher: Option<Uuid>, by: ChangedBy<'_>) -> Result<(), DomainError> {
        let before: Option<Uuid> = sqlx::query_scalar("SELECT class_teacher_id FROM streams WHERE id = $1")
            .bind(stream)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        if let Some(t) = teacher {
            check_teacher(tx, t, "teacher_id").await?;
        }
        sqlx::query("UPDATE streams SET class_teacher_id = $2 WHERE id = $1").bind(stream).bind(teacher).execute(&mut **tx).await?;
        let details = serde_json::json!({ "from": before, "to": teacher });
        audit::append(tx, by.at, by.actor, crate::audit::actions::CLASS_TEACHER_ASSIGNED, &stream.to_string(), details).await?;
        Ok(())
    }

    /// Offers a default A-level combination: its subjects become school subjects when they
    /// are not yet, then the combination is added. Only for schools with an A-level.
    pub async fn add_combination(tx: &mut TenantTx, code: &str, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        let code = parse_combination_code(code)?;
        let has_a_level: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM levels WHERE band = 'a_level')").fetch_one(&mut **tx).await?;
        if !has_a_level {
            return Err(ValidationError::new("code", "error-combination-needs-a-level").into());
        }
        let name: String = sqlx::query_scalar("SELECT name_en FROM master_combinations WHERE code = $1")
            .bind(&code)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ValidationError::new("code", "error-combination-unknown"))?;
        let subject_codes: Vec<String> =
            sqlx::query_scalar("SELECT subject_code FROM master_combination_subjects WHERE combination_code = $1 ORDER BY subject_code")
                .bind(&code)
                .fetch_all(&mut **tx)
                .await?;
        savepoint(tx).await?;
        let result: Result<(Uuid, Vec<(Uuid, String)>), DomainError> = async {
            let id: Uuid = sqlx::query_scalar("INSERT INTO subject_combinations (tenant_id, code, name) VALUES ($1, $2, $3) RETURNING id")
                .bind(tenant.0)
                .bind(&code)
                .bind(&name)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_constraint)?;
            let mut added = Vec::new();
            for subject in &subject_codes {
                let new: Option<Uuid> = sqlx::query_scalar(
                    "INSERT INTO school_subjects (tenant_id, code, name_en, name_sw, master_code)
                     SELECT $1, m.code, m.name_en, m.name_sw, m.code FROM master_subjects m WHERE m.code = $2
                     ON CONFLICT (tenant_id, code) DO NOTHING RETURNING id",
                )
                .bind(tenant.0)
                .bind(subject)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(new) = new {
                    added.push((new, subject.clone()));
                }
                sqlx::query(
                    "INSERT INTO combination_subjects (tenant_id, combination_id, subject_id)
                     SELECT $1, $2, s.id FROM school_subjects s WHERE s.code = $3",
                )
                .bind(tenant.0)
                .bind(id)
                .bind(subject)
                .execute(&mut **tx)
                .await?;
            }
            Ok((id, added))
        }
        .await;
        let (id, added) = end_savepoint(tx, result).await?;
        for (subject_id, subject_code) in added {
            let details = serde_json::json!({ "code": subject_code, "master": subject_code, "via": code });
            audit::append(tx, by.at, by.actor, crate::audit::actions::SUBJECT_ADDED, &subject_id.to_string(), details).await?;
        }
        let details = serde_json::json!({ "code": code, "subjects": subject_codes });
        audit::append(tx, by.at, by.actor, crate::audit::actions::CLASS_COMBINATION_ADDED, &id.to_string(), details).await?;
        Ok(id)
    }

    /// Stops offering a combination. Refused while students are in it.
    pub async fn remove_combination(tx: &mut TenantTx, combination: Uuid, by: ChangedBy<'_>) -> Result<(), DomainError> {
        savepoint(tx).await?;
        let deleted = sqlx::query_scalar("DELETE FROM subject_combinations WHERE id = $1 RETURNING code")
            .bind(combination)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_constraint)
            .and_then(|code: Option<String>| code.ok_or(DomainError::NotFound));
        let code = end_savepoint(tx, deleted).await?;
        audit::append(
            tx,
            by.at,
            by.actor,
            crate::audit::actions::CLASS_COMBINATION_REMOVED,
            &combination.to_string(),
            serde_json::json!({ "code": code }),
        )
        .await?;
        Ok(())
    }
}
