//! Tamper flags: raised once per fingerprint (a change after approval at once, in the save's
//! transaction; the rest by the scoring job: over the audited writes, and score jumps over
//! the term's marks), listed for the head teacher with their evidence, resolved with a
//! comment (audited).

use super::sheets::stored_mark;
use crate::audit::{self, actions};
use crate::db::TenantTx;
use crate::identity::store::ChangedBy;
use crate::results::flags::{score_term_jumps, score_writes, FlagKind, FlagThresholds, MarkWrite, SheetMarks};
pub use crate::results::views::FlagView;
use crate::results::AssessmentSet;
use crate::DomainError;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// A flag to raise.
#[derive(Debug, Clone)]
pub struct NewFlag {
    pub term: Uuid,
    pub kind: FlagKind,
    /// Stable: the same finding raised twice is one flag.
    pub fingerprint: String,
    pub sheet: Option<Uuid>,
    pub student: Option<Uuid>,
    pub writer: Option<Uuid>,
    pub evidence: Value,
    pub at: DateTime<Utc>,
}

/// Raises a flag unless the same finding was raised before. Returns whether it is new.
pub async fn raise(tx: &mut TenantTx, flag: NewFlag) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant();
    let done = sqlx::query(
        "INSERT INTO result_flags (tenant_id, term_id, kind, fingerprint, sheet_id, student_id, writer_id, evidence, raised_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, kind, fingerprint) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(flag.term)
    .bind(flag.kind.code())
    .bind(&flag.fingerprint)
    .bind(flag.sheet)
    .bind(flag.student)
    .bind(flag.writer)
    .bind(&flag.evidence)
    .bind(flag.at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The school's flags, open ones first, newest first; each flag's evidence in words, its
/// assessments by the names the sheet's level has for the flag's term. One query.
pub async fn list_flags(tx: &mut TenantTx) -> Result<Vec<FlagView>, sqlx::Error> {
    sqlx::query(
        "SELECT f.id, f.kind, f.raised_at, f.evidence, f.resolved_at, f.resolution,
                l.name AS level, s.name AS stream, sub.name_en AS subject, ta.definition AS assessments,
                concat_ws(' ', st.first_name, st.last_name) AS student, w.display_name AS writer, r.display_name AS resolver
           FROM result_flags f
           LEFT JOIN mark_sheets ms ON ms.tenant_id = f.tenant_id AND ms.id = f.sheet_id
           LEFT JOIN streams s ON s.tenant_id = ms.tenant_id AND s.id = ms.stream_id
           LEFT JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
           LEFT JOIN school_subjects sub ON sub.tenant_id = ms.tenant_id AND sub.id = ms.subject_id
           LEFT JOIN term_assessments ta ON ta.tenant_id = f.tenant_id AND ta.term_id = f.term_id AND ta.level_id = s.level_id
           LEFT JOIN students st ON st.tenant_id = f.tenant_id AND st.id = f.student_id
           LEFT JOIN users w ON w.tenant_id = f.tenant_id AND w.id = f.writer_id
           LEFT JOIN users r ON r.tenant_id = f.tenant_id AND r.id = f.resolved_by
          ORDER BY (f.resolved_at IS NULL) DESC, f.raised_at DESC
          LIMIT 500",
    )
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let level: Option<String> = r.try_get("level")?;
        let stream: Option<String> = r.try_get("stream")?;
        let student: Option<String> = r.try_get("student")?;
        // Stored by the level's first save, so there whenever the sheet is; a definition that
        // no longer reads leaves the keys as they are.
        let assessments: Option<AssessmentSet> = r.try_get::<Option<Value>, _>("assessments")?.and_then(|d| serde_json::from_value(d).ok());
        Ok(FlagView {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            raised_at: r.try_get("raised_at")?,
            class_name: level.zip(stream).map(|(l, s)| crate::academic::class_name(&l, &s)),
            subject: r.try_get("subject")?,
            student: student.filter(|s| !s.is_empty()),
            writer: r.try_get("writer")?,
            evidence: crate::results::evidence_facts(&r.try_get::<Value, _>("evidence")?, assessments.as_ref()),
            resolved_at: r.try_get("resolved_at")?,
            resolved_by: r.try_get("resolver")?,
            resolution: r.try_get("resolution")?,
        })
    })
    .collect()
}

/// Resolves an open flag with a comment (`comment`: 1–1,000 characters). Audited.
pub async fn resolve_flag(tx: &mut TenantTx, flag: Uuid, comment: &str, by: ChangedBy<'_>) -> Result<(), DomainError> {
    let comment = crate::results::entry::check_return_comment(comment)?;
    let kind: Option<String> = sqlx::query_scalar(
        "UPDATE result_flags SET resolved_at = $2, resolved_by = $3, resolution = $4
          WHERE id = $1 AND resolved_at IS NULL RETURNING kind",
    )
    .bind(flag)
    .bind(by.at)
    .bind(by.actor.id)
    .bind(&comment)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(kind) = kind else {
        return Err(DomainError::NotFound);
    };
    audit::append(tx, by.at, by.actor, actions::RESULT_FLAG_RESOLVED, &flag.to_string(), json!({ "kind": kind, "comment": comment }))
        .await?;
    Ok(())
}

/// The scoring job: reads the term's audited mark writes and raises what the rules find
/// (bursts of changes, writes outside the writer's allocation), then reads the term's marks
/// and the previous term's and raises score jumps ([`score_term_jumps`]). Returns how many
/// flags are new.
pub async fn score_term(tx: &mut TenantTx, term: Uuid, thresholds: &FlagThresholds, at: DateTime<Utc>) -> Result<usize, DomainError> {
    let mut writes = Vec::new();
    for entry in super::marks::saved_marks(tx, Some(term)).await? {
        // Only people's writes are scored.
        let Some(writer) = entry.actor else { continue };
        let s = entry.saved;
        let text = |t: String| Some(t).filter(|t| !t.is_empty());
        writes.extend(s.cells.into_iter().map(|cell| MarkWrite {
            writer,
            at: entry.at,
            sheet: s.sheet,
            student: cell.student,
            assessment: cell.assessment,
            old: text(cell.old),
            new: text(cell.new),
            after_approval: s.after_approval,
            within_allocation: s.within_allocation,
        }));
    }
    let mut findings = score_writes(&writes, thresholds);
    // A change after approval is raised by the save itself, with its reason.
    findings.retain(|f| f.kind != FlagKind::ChangedAfterApproval);
    findings.extend(score_jumps_of_term(tx, term, thresholds).await?);
    let mut raised = 0;
    for finding in findings {
        let new = raise(
            tx,
            NewFlag {
                term,
                kind: finding.kind,
                fingerprint: finding.fingerprint,
                sheet: finding.sheet,
                student: finding.student,
                writer: finding.writer,
                evidence: finding.evidence,
                at,
            },
        )
        .await?;
        raised += usize::from(new);
    }
    Ok(raised)
}

/// The term's score jumps: four reads (the previous term, the levels' assessments, the
/// sheets, their marks), each one query for both terms, then the pure check.
async fn score_jumps_of_term(
    tx: &mut TenantTx,
    term: Uuid,
    thresholds: &FlagThresholds,
) -> Result<Vec<crate::results::Finding>, DomainError> {
    // The school's term that started last before this one (RLS: the same school).
    let previous: Option<Uuid> = sqlx::query_scalar(
        "SELECT p.id FROM terms t JOIN terms p ON p.tenant_id = t.tenant_id AND p.starts_on < t.starts_on
          WHERE t.id = $1 ORDER BY p.starts_on DESC LIMIT 1",
    )
    .bind(term)
    .fetch_optional(&mut **tx)
    .await?;
    let terms: Vec<Uuid> = std::iter::once(term).chain(previous).collect();

    // Each level's assessments per term, as stored by the first save (a level without marks
    // has none stored, and no sheet to score).
    let mut sets: HashMap<(Uuid, Uuid), AssessmentSet> = HashMap::new();
    for r in sqlx::query("SELECT term_id, level_id, definition FROM term_assessments WHERE term_id = ANY($1)")
        .bind(&terms)
        .fetch_all(&mut **tx)
        .await?
    {
        let set: AssessmentSet =
            serde_json::from_value(r.try_get("definition")?).map_err(|e| DomainError::Internal(format!("term assessments: {e}")))?;
        sets.insert((r.try_get("term_id")?, r.try_get("level_id")?), set);
    }

    // The sheets: (id, term, subject, level).
    let sheets: Vec<(Uuid, Uuid, Uuid, Uuid)> = sqlx::query(
        "SELECT ms.id, ms.term_id, ms.subject_id, s.level_id
           FROM mark_sheets ms JOIN streams s ON s.tenant_id = ms.tenant_id AND s.id = ms.stream_id
          WHERE ms.term_id = ANY($1)",
    )
    .bind(&terms)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("term_id")?, r.try_get("subject_id")?, r.try_get("level_id")?)))
    .collect::<Result<_, sqlx::Error>>()?;

    let mut marks: HashMap<Uuid, Vec<(Uuid, String, crate::results::Mark)>> = HashMap::new();
    for r in sqlx::query(
        "SELECT m.sheet_id, m.student_id, m.assessment, m.score_hundredths, m.special
           FROM marks m JOIN mark_sheets ms ON ms.tenant_id = m.tenant_id AND ms.id = m.sheet_id
          WHERE ms.term_id = ANY($1)",
    )
    .bind(&terms)
    .fetch_all(&mut **tx)
    .await?
    {
        let special: Option<String> = r.try_get("special")?;
        if let Some(mark) = stored_mark(r.try_get("score_hundredths")?, special.as_deref()) {
            marks.entry(r.try_get("sheet_id")?).or_default().push((r.try_get("student_id")?, r.try_get("assessment")?, mark));
        }
    }

    let (mut now, mut before) = (Vec::new(), Vec::new());
    for (sheet, sheet_term, subject, level) in sheets {
        let Some(assessments) = sets.get(&(sheet_term, level)) else { continue };
        let s = SheetMarks { sheet, subject, assessments, marks: marks.remove(&sheet).unwrap_or_default() };
        if sheet_term == term {
            now.push(s);
        } else {
            before.push(s);
        }
    }
    Ok(score_term_jumps(&now, &before, thresholds))
}
