//! A level's assessments and grading scheme for a term. Until marks are first saved, the
//! defaults apply (read, never written): the secondary or primary term of
//! [`AssessmentSet`], and the NECTA preset of the level's band for the term's year. The first
//! save writes them, so what graded a term never changes under it.

use crate::academic::Band;
use crate::db::TenantTx;
use crate::results::{presets, AssessmentSet, GradingScheme};
use crate::{DomainError, ValidationError};
use sqlx::Row;
use uuid::Uuid;

/// A term with its year, and a stream with its level: what a sheet hangs on.
#[derive(Debug, Clone)]
pub struct SheetPlace {
    pub term_id: Uuid,
    pub year_id: Uuid,
    pub year: i32,
    pub term_number: i32,
    pub stream_id: Uuid,
    pub level_id: Uuid,
    pub band: Band,
    pub level_name: String,
    pub stream_name: String,
    /// The stream's class teacher, if it has one.
    pub class_teacher: Option<Uuid>,
}

impl SheetPlace {
    pub fn class_name(&self) -> String {
        crate::academic::class_name(&self.level_name, &self.stream_name)
    }
    pub fn term_label(&self) -> String {
        format!("{} T{}", self.year, self.term_number)
    }
}

fn band_of(code: &str) -> Band {
    match code {
        "primary" => Band::Primary,
        "a_level" => Band::ALevel,
        _ => Band::OLevel,
    }
}

/// A term and a class (level): what the class's set-up and results pages hang on.
#[derive(Debug, Clone)]
pub(super) struct ClassTerm {
    pub year_id: Uuid,
    pub year: i32,
    /// "2026 T1".
    pub term_label: String,
    pub level_name: String,
    pub band: Band,
    /// Some mark of the class's term is stored.
    pub marks_exist: bool,
    pub published: bool,
}

/// The term and level, or `NotFound` (another school's ids are not found: RLS).
pub(super) async fn class_term(tx: &mut TenantTx, term: Uuid, level: Uuid) -> Result<ClassTerm, DomainError> {
    let row = sqlx::query(
        "SELECT y.id AS year_id, y.year, t.number, l.name, l.band,
                EXISTS (SELECT 1 FROM marks m
                          JOIN mark_sheets ms ON ms.tenant_id = m.tenant_id AND ms.id = m.sheet_id
                          JOIN streams s ON s.tenant_id = ms.tenant_id AND s.id = ms.stream_id
                         WHERE ms.term_id = t.id AND s.level_id = l.id) AS marks_exist,
                EXISTS (SELECT 1 FROM result_publications p WHERE p.term_id = t.id AND p.level_id = l.id) AS published
           FROM terms t
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
           JOIN levels l ON l.tenant_id = t.tenant_id AND l.id = $2
          WHERE t.id = $1",
    )
    .bind(term)
    .bind(level)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let year: i32 = row.try_get("year")?;
    Ok(ClassTerm {
        year_id: row.try_get("year_id")?,
        year,
        term_label: format!("{year} T{}", row.try_get::<i32, _>("number")?),
        level_name: row.try_get("name")?,
        band: band_of(&row.try_get::<String, _>("band")?),
        marks_exist: row.try_get("marks_exist")?,
        published: row.try_get("published")?,
    })
}

/// The term and stream, or `NotFound` (another school's ids are not found: RLS).
pub async fn place(tx: &mut TenantTx, term: Uuid, stream: Uuid) -> Result<SheetPlace, DomainError> {
    let row = sqlx::query(
        "SELECT t.id AS term_id, y.id AS year_id, y.year, t.number, s.id AS stream_id, l.id AS level_id, l.band, l.name AS level, s.name AS stream,
                s.class_teacher_id
           FROM terms t
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
           JOIN streams s ON s.tenant_id = t.tenant_id AND s.id = $2
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
          WHERE t.id = $1",
    )
    .bind(term)
    .bind(stream)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    Ok(SheetPlace {
        term_id: row.try_get("term_id")?,
        year_id: row.try_get("year_id")?,
        year: row.try_get("year")?,
        term_number: row.try_get("number")?,
        stream_id: row.try_get("stream_id")?,
        level_id: row.try_get("level_id")?,
        band: band_of(&row.try_get::<String, _>("band")?),
        level_name: row.try_get("level")?,
        stream_name: row.try_get("stream")?,
        class_teacher: row.try_get("class_teacher_id")?,
    })
}

/// The school's current term, if one is set.
pub async fn current_term(tx: &mut TenantTx) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.id, y.year, t.number FROM terms t
           JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE t.is_current",
    )
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| Ok((r.try_get("id")?, format!("{} T{}", r.try_get::<i32, _>("year")?, r.try_get::<i32, _>("number")?)))).transpose()
}

/// What grades a level's term: stored, or the defaults (`stored: false`).
#[derive(Debug, Clone)]
pub struct TermSetup {
    pub assessments: AssessmentSet,
    pub scheme: GradingScheme,
    /// `grading_schemes.id` once written.
    pub scheme_id: Option<Uuid>,
    pub stored: bool,
}

fn default_assessments(band: Band) -> AssessmentSet {
    match band {
        Band::Primary => AssessmentSet::default_primary(),
        Band::OLevel | Band::ALevel => AssessmentSet::default_secondary(),
    }
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

/// The level's setup for the term.
pub async fn term_setup(tx: &mut TenantTx, term: Uuid, level: Uuid, band: Band, year: i32) -> Result<TermSetup, DomainError> {
    let row = sqlx::query(
        "SELECT ta.definition, ta.scheme_id, gs.definition AS scheme
           FROM term_assessments ta
           JOIN grading_schemes gs ON gs.tenant_id = ta.tenant_id AND gs.id = ta.scheme_id
          WHERE ta.term_id = $1 AND ta.level_id = $2",
    )
    .bind(term)
    .bind(level)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = row {
        let assessments: AssessmentSet = serde_json::from_value(row.try_get("definition")?).map_err(internal)?;
        let scheme: GradingScheme = serde_json::from_value(row.try_get("scheme")?).map_err(internal)?;
        return Ok(TermSetup { assessments, scheme, scheme_id: Some(row.try_get("scheme_id")?), stored: true });
    }
    let exam_year = u16::try_from(year).map_err(|_| ValidationError::new("exam_year", "error-scheme-no-preset"))?;
    let scheme = presets::preset_for(band, exam_year)?;
    Ok(TermSetup { assessments: default_assessments(band), scheme, scheme_id: None, stored: false })
}

/// Writes `setup` (the defaults: not yet stored) for the level's term, copying its preset
/// into the school's schemes once (by key and version). Returns the scheme's id. Two first
/// saves at once: the second finds the first's rows.
pub async fn store_term_setup(tx: &mut TenantTx, term: Uuid, level: Uuid, setup: &TermSetup) -> Result<Uuid, DomainError> {
    let tenant = tx.tenant();
    let definition = serde_json::to_value(&setup.scheme).map_err(internal)?;
    let scheme_id: Uuid = sqlx::query_scalar(
        "WITH added AS (
             INSERT INTO grading_schemes (tenant_id, key, version, name, definition) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, key, version) DO NOTHING RETURNING id)
         SELECT id FROM added UNION ALL SELECT id FROM grading_schemes WHERE key = $2 AND version = $3 LIMIT 1",
    )
    .bind(tenant.0)
    .bind(setup.scheme.key())
    .bind(i32::try_from(setup.scheme.version()).unwrap_or(i32::MAX))
    .bind(setup.scheme.name())
    .bind(&definition)
    .fetch_one(&mut **tx)
    .await?;
    let assessments = serde_json::to_value(&setup.assessments).map_err(internal)?;
    let stored: Uuid = sqlx::query_scalar(
        "WITH added AS (
             INSERT INTO term_assessments (tenant_id, term_id, level_id, definition, scheme_id) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, term_id, level_id) DO NOTHING RETURNING scheme_id)
         SELECT scheme_id FROM added UNION ALL SELECT scheme_id FROM term_assessments WHERE term_id = $2 AND level_id = $3 LIMIT 1",
    )
    .bind(tenant.0)
    .bind(term)
    .bind(level)
    .bind(&assessments)
    .bind(scheme_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(stored)
}
