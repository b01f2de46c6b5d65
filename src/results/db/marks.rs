//! Saving entries: every cell checked (its student is in the stream, its assessment exists,
//! its mark is in range, nobody saved it since it was loaded), then all written or none,
//! with one audit entry listing each cell's old and new value. A save over approved marks
//! needs the amend permission and a reason, and raises a flag per changed cell.

use super::flags::{raise, NewFlag};
use super::setup::{place, store_term_setup, term_setup};
use super::sheets::{current_entries, is_allocated, sheet_row, stored_mark, stream_students, subject_names};
use super::Writer;
use crate::audit::{self, actions};
use crate::db::{keep_savepoint, savepoint, TenantTx};
use crate::results::entry::{
    cell_field, check_cell, check_reason, CellConflict, CellSave, SaveReport, SavedCell, SheetStatus, MAX_CELLS_PER_SAVE,
};
use crate::results::flags::FlagKind;
use crate::results::Mark;
use crate::{DomainError, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The stored form of a mark: (score in hundredths, special).
fn stored_form(mark: Mark) -> (Option<i32>, Option<&'static str>) {
    match mark {
        Mark::Score(h) => (Some(i32::try_from(h.0).unwrap_or(i32::MAX)), None),
        Mark::Absent => (None, Some("ABS")),
        Mark::Exempt => (None, Some("EX")),
    }
}

/// What a marks save records in the audit log (action `marks.saved`). Written by the save,
/// read back by the cross-check ([`verify_marks`]) and the scoring job: one shape for all.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SavedMarks {
    pub sheet: Uuid,
    pub term: Uuid,
    pub stream: Uuid,
    pub subject: Uuid,
    pub subject_name: String,
    /// The sheet's status when it was written.
    pub status: String,
    pub after_approval: bool,
    pub within_allocation: bool,
    pub reason: Option<String>,
    pub cells: Vec<AuditedCell>,
    /// Where the cells came from, when an uploaded file: its id and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<serde_json::Value>,
}

/// One cell of a [`SavedMarks`]: its old and new text ("" = empty) and new revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct AuditedCell {
    pub student: Uuid,
    pub assessment: String,
    pub old: String,
    pub new: String,
    pub revision: i32,
}

/// A save as the log holds it: when, by whom (`None`: not a person) and what.
pub(super) struct SavedEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: Option<Uuid>,
    pub saved: SavedMarks,
}

/// The school's marks saves in the order they happened (`term`: only that term's).
pub(super) async fn saved_marks(tx: &mut TenantTx, term: Option<Uuid>) -> Result<Vec<SavedEntry>, DomainError> {
    sqlx::query(
        "SELECT at, actor_id, details FROM audit_log
          WHERE action = $1 AND ($2::text IS NULL OR details->>'term' = $2) ORDER BY seq",
    )
    .bind(actions::MARKS_SAVED.as_str())
    .bind(term.map(|t| t.to_string()))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let saved = serde_json::from_value(r.try_get("details")?).map_err(|e| DomainError::Internal(format!("marks.saved entry: {e}")))?;
        Ok(SavedEntry { at: r.try_get("at")?, actor: r.try_get("actor_id")?, saved })
    })
    .collect()
}

/// Who may write a sheet: its allocated teacher, or an approver or amender (whose writes
/// outside their allocation the scoring job flags). `Forbidden` otherwise.
pub(super) fn may_write(allocated: bool, w: Writer<'_>) -> Result<(), DomainError> {
    if allocated || w.may_decide || w.may_amend {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Whether the sheet takes writes in its status: open (draft, returned), or approved and
/// published with the amend permission (field `status` otherwise).
pub(super) fn status_allows(status: SheetStatus, w: Writer<'_>) -> Result<(), DomainError> {
    if status.locked() && !w.may_amend {
        return Err(ValidationError::new("status", "results-error-sheet-locked").into());
    }
    if !status.locked() && !status.open_for_entry() {
        return Err(ValidationError::new("status", "results-error-sheet-submitted").into());
    }
    Ok(())
}

/// Saves `cells` of the sheet of `subject` for `stream` in `term`. With any conflict the
/// report says which and nothing is written (not even the sheet's first row); a cell that
/// cannot be saved (bad mark, unknown assessment, a student not in the stream) refuses the
/// whole save with one field error per cell ([`cell_field`]).
/// Refused: another school's or unknown ids (`NotFound`); not the writer's allocation and no
/// approver (`Forbidden`); a submitted sheet, or an approved one without the amend
/// permission (`status`); approved marks without a reason (`reason`).
pub async fn save_marks(
    tx: &mut TenantTx,
    term: Uuid,
    stream: Uuid,
    subject: Uuid,
    cells: &[CellSave],
    reason: Option<&str>,
    w: Writer<'_>,
) -> Result<SaveReport, DomainError> {
    save_marks_from(tx, (term, stream, subject), cells, reason, w, None).await
}

/// [`save_marks`] of the sheet (term, stream, subject), naming in its audit entry where the
/// cells came from (`upload`: an uploaded file's id and name).
pub(super) async fn save_marks_from(
    tx: &mut TenantTx,
    sheet: (Uuid, Uuid, Uuid),
    cells: &[CellSave],
    reason: Option<&str>,
    w: Writer<'_>,
    origin: Option<serde_json::Value>,
) -> Result<SaveReport, DomainError> {
    if cells.len() > MAX_CELLS_PER_SAVE {
        return Err(ValidationError::new("marks", "results-error-too-many-cells").into());
    }
    savepoint(tx).await?;
    let result = save_inner(tx, sheet, cells, reason, w, origin).await;
    keep_savepoint(tx, matches!(&result, Ok(r) if r.is_clean())).await?;
    result
}

async fn save_inner(
    tx: &mut TenantTx,
    (term, stream, subject): (Uuid, Uuid, Uuid),
    cells: &[CellSave],
    reason: Option<&str>,
    w: Writer<'_>,
    origin: Option<serde_json::Value>,
) -> Result<SaveReport, DomainError> {
    let place = place(tx, term, stream).await?;
    let (subject_en, _) = subject_names(tx, subject).await?;
    let allocated = is_allocated(tx, &place, subject, w.user).await?;
    may_write(allocated, w)?;
    // Every writer of a sheet locks its row first, so the revisions read below stay true
    // until commit. The row is made on the first save (undone with the rest if refused).
    let tenant = tx.tenant();
    sqlx::query(
        "INSERT INTO mark_sheets (tenant_id, term_id, stream_id, subject_id, status_changed_at, status_changed_by)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, term_id, stream_id, subject_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(term)
    .bind(stream)
    .bind(subject)
    .bind(w.by.at)
    .bind(w.user)
    .execute(&mut **tx)
    .await?;
    let (sheet, status, _) = sheet_row(tx, term, stream, subject, true).await?.ok_or(DomainError::NotFound)?;
    status_allows(status, w)?;
    let after_approval = status.locked();
    let reason = if after_approval {
        Some(check_reason(reason.unwrap_or(""))?)
    } else {
        reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned)
    };
    // The level's assessments cannot change under this save (see `schemes::lock_setup`).
    super::schemes::lock_setup(tx, term, place.level_id, super::schemes::SetupLock::Shared).await?;
    let setup = term_setup(tx, term, place.level_id, place.band, place.year).await?;
    let students: HashSet<Uuid> = stream_students(tx, stream).await?.into_iter().map(|s| s.0).collect();
    let current = current_entries(tx, sheet).await?;

    let mut report = SaveReport::default();
    let mut errors: Vec<ValidationError> = Vec::new();
    let mut seen = HashSet::new();
    // (student, assessment, new mark or None to clear, old text, new revision)
    let mut writes: Vec<(Uuid, String, Option<Mark>, String, i32)> = Vec::new();
    for cell in cells {
        let err = |message: &str| ValidationError { field: cell_field(cell.student, &cell.assessment), message: message.to_owned() };
        let Some(index) = setup.assessments.position(&cell.assessment) else {
            errors.push(err("results-error-assessment-unknown"));
            continue;
        };
        if !students.contains(&cell.student) {
            errors.push(err("results-error-student-not-in-stream"));
            continue;
        }
        if !seen.insert((cell.student, cell.assessment.clone())) {
            errors.push(err("results-error-duplicate-cell"));
            continue;
        }
        let mark = match check_cell(&setup.assessments, index, &cell.value) {
            Ok(m) => m,
            Err(e) => {
                errors.push(err(&e.message));
                continue;
            }
        };
        let new_text = mark.map(Mark::to_sheet_string).unwrap_or_default();
        let now = current.get(&(cell.student, cell.assessment.clone()));
        let (old_text, revision) = now.map_or((String::new(), 0), |(e, _)| (e.text.clone(), e.revision));
        if new_text == old_text {
            // Already so (a retry whose answer was lost, or the same value typed twice).
            report.saved.push(SavedCell { student: cell.student, assessment: cell.assessment.clone(), revision });
            continue;
        }
        if cell.base_revision != revision {
            report.conflicts.push(CellConflict {
                student: cell.student,
                assessment: cell.assessment.clone(),
                current: old_text,
                revision,
                by: now.map(|(_, by)| by.clone()).unwrap_or_default(),
            });
            continue;
        }
        let new_revision = if mark.is_some() { revision + 1 } else { 0 };
        writes.push((cell.student, cell.assessment.clone(), mark, old_text, new_revision));
    }
    if !errors.is_empty() {
        return Err(DomainError::InvalidFields(errors));
    }
    if !report.is_clean() {
        report.saved.clear();
        return Ok(report);
    }
    if writes.is_empty() {
        return Ok(report);
    }
    if !setup.stored {
        // The first save of the level's term writes what grades it.
        store_term_setup(tx, term, place.level_id, &setup).await?;
    }

    let (mut up_students, mut up_keys, mut up_scores, mut up_special, mut up_revisions) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut del_students, mut del_keys) = (vec![], vec![]);
    for (student, key, mark, _, revision) in &writes {
        match mark {
            Some(m) => {
                let (score, special) = stored_form(*m);
                up_students.push(*student);
                up_keys.push(key.clone());
                up_scores.push(score);
                up_special.push(special.map(str::to_owned));
                up_revisions.push(*revision);
            }
            None => {
                del_students.push(*student);
                del_keys.push(key.clone());
            }
        }
    }
    if !up_students.is_empty() {
        sqlx::query(
            "INSERT INTO marks (tenant_id, sheet_id, student_id, assessment, score_hundredths, special, revision, written_by, written_at)
             SELECT $1, $2, u.student, u.assessment, u.score, u.special, u.revision, $8, $9
               FROM unnest($3::uuid[], $4::text[], $5::int[], $6::text[], $7::int[]) AS u(student, assessment, score, special, revision)
             ON CONFLICT (tenant_id, sheet_id, student_id, assessment) DO UPDATE
               SET score_hundredths = EXCLUDED.score_hundredths, special = EXCLUDED.special, revision = EXCLUDED.revision,
                   written_by = EXCLUDED.written_by, written_at = EXCLUDED.written_at",
        )
        .bind(tenant.0)
        .bind(sheet)
        .bind(&up_students)
        .bind(&up_keys)
        .bind(&up_scores)
        .bind(&up_special)
        .bind(&up_revisions)
        .bind(w.user)
        .bind(w.by.at)
        .execute(&mut **tx)
        .await?;
    }
    if !del_students.is_empty() {
        sqlx::query(
            "DELETE FROM marks m USING unnest($2::uuid[], $3::text[]) AS d(student, assessment)
              WHERE m.sheet_id = $1 AND m.student_id = d.student AND m.assessment = d.assessment",
        )
        .bind(sheet)
        .bind(&del_students)
        .bind(&del_keys)
        .execute(&mut **tx)
        .await?;
    }
    let saved = SavedMarks {
        sheet,
        term,
        stream,
        subject,
        subject_name: subject_en.clone(),
        status: status.code().to_owned(),
        after_approval,
        within_allocation: allocated,
        reason: reason.clone(),
        cells: writes
            .iter()
            .map(|(student, key, mark, old, revision)| AuditedCell {
                student: *student,
                assessment: key.clone(),
                old: old.clone(),
                new: mark.map(Mark::to_sheet_string).unwrap_or_default(),
                revision: *revision,
            })
            .collect(),
        upload: origin,
    };
    let details = serde_json::to_value(&saved).map_err(|e| DomainError::Internal(e.to_string()))?;
    let seq = audit::append(tx, w.by.at, w.by.actor, actions::MARKS_SAVED, &sheet.to_string(), details).await?;
    if after_approval {
        for (student, key, mark, old, _) in &writes {
            raise(
                tx,
                NewFlag {
                    term,
                    kind: FlagKind::ChangedAfterApproval,
                    fingerprint: format!("{seq}:{student}:{key}"),
                    sheet: Some(sheet),
                    student: Some(*student),
                    writer: Some(w.user),
                    evidence: json!({
                        "audit_seq": seq, "subject": subject_en, "assessment": key, "old": old,
                        "new": mark.map(Mark::to_sheet_string).unwrap_or_default(), "reason": reason,
                        "status": status.code(),
                    }),
                    at: w.by.at,
                },
            )
            .await?;
        }
    }
    report.changed_approved = after_approval;
    report.saved.extend(writes.into_iter().map(|(student, assessment, _, _, revision)| SavedCell { student, assessment, revision }));
    Ok(report)
}

/// A mark whose stored value is not what the audit log last recorded for it: a row edited
/// behind the application's back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkMismatch {
    pub sheet: Uuid,
    pub student: Uuid,
    pub assessment: String,
    /// What the audit log says ("" = cleared or never written).
    pub audited: String,
    /// What the table holds ("" = no row).
    pub stored: String,
}

/// Compares every mark with the last audited value of its cell (`kilele audit verify`).
pub async fn verify_marks(tx: &mut TenantTx) -> Result<Vec<MarkMismatch>, DomainError> {
    let mut audited: HashMap<(Uuid, Uuid, String), (String, i32)> = HashMap::new();
    for entry in saved_marks(tx, None).await? {
        for cell in entry.saved.cells {
            audited.insert((entry.saved.sheet, cell.student, cell.assessment), (cell.new, cell.revision));
        }
    }
    let mut mismatches = Vec::new();
    for r in sqlx::query(
        "SELECT sheet_id, student_id, assessment, score_hundredths, special, revision FROM marks ORDER BY sheet_id, student_id, assessment",
    )
    .fetch_all(&mut **tx)
    .await?
    {
        let key: (Uuid, Uuid, String) = (r.try_get("sheet_id")?, r.try_get("student_id")?, r.try_get("assessment")?);
        let special: Option<String> = r.try_get("special")?;
        let stored = stored_mark(r.try_get("score_hundredths")?, special.as_deref()).map(Mark::to_sheet_string).unwrap_or_default();
        let revision: i32 = r.try_get("revision")?;
        let (expected, expected_revision) = audited.remove(&key).unwrap_or_default();
        if expected != stored || expected_revision != revision {
            mismatches.push(MarkMismatch { sheet: key.0, student: key.1, assessment: key.2, audited: expected, stored });
        }
    }
    // Audited entries without a row: deleted behind the app's back.
    let mut missing: Vec<_> = audited.into_iter().filter(|(_, (new, _))| !new.is_empty()).collect();
    missing.sort();
    for ((sheet, student, assessment), (new, _)) in missing {
        mismatches.push(MarkMismatch { sheet, student, assessment, audited: new, stored: String::new() });
    }
    Ok(mismatches)
}
