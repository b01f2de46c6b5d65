//! Bulk upload of a mark sheet: the file checked when it is uploaded ([`save_upload`]) and
//! kept, checked, in `mark_uploads` (migration 0014) for its uploader only, never in a URL or
//! the browser; its preview ([`upload_view`]); the commit ([`commit_upload`]), which saves every
//! cell of the file in one [`save_marks`](super::save_marks) — one audit entry, all or
//! nothing, and a conflict for any cell someone changed since the preview. The file format
//! and the row checks are in [`crate::results::upload`].

use super::marks::{may_write, save_marks_from, status_allows};
use super::setup::{place, term_setup};
use super::sheets::{current_entries, is_allocated, sheet_row, stream_students, subject_names};
use super::Writer;
use crate::db::TenantTx;
use crate::results::entry::SheetStatus;
use crate::results::upload::{self, CheckedUpload, UploadConflict, UploadOutcome, UploadView, UPLOAD_TTL_HOURS};
use crate::{DomainError, ValidationError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use std::collections::HashSet;
use uuid::Uuid;

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

/// Checks an uploaded file for the sheet of `subject` for `stream` in `term` against the
/// stream's students and the marks stored now, and keeps the result (errors and all) for its
/// preview. Returns the upload's id. Refused: another school's or unknown ids (`NotFound`),
/// a writer who may not write the sheet ([`save_marks`](super::save_marks)'s rules), a file
/// that is not a spreadsheet, too large, empty or too long (field `file`). Expired uploads of
/// the school are deleted on the way.
pub async fn save_upload(
    tx: &mut TenantTx,
    term: Uuid,
    stream: Uuid,
    subject: Uuid,
    file_name: &str,
    bytes: &[u8],
    w: Writer<'_>,
) -> Result<Uuid, DomainError> {
    let place = place(tx, term, stream).await?;
    subject_names(tx, subject).await?;
    let sheet = sheet_row(tx, term, stream, subject, false).await?;
    // save_marks' rules, checked before a file is kept.
    may_write(is_allocated(tx, &place, subject, w.user).await?, w)?;
    status_allows(sheet.as_ref().map_or(SheetStatus::Draft, |s| s.1), w)?;
    let rows = upload::read_file(file_name, bytes)?;
    let setup = term_setup(tx, term, place.level_id, place.band, place.year).await?;
    let roster = stream_students(tx, stream).await?;
    let current = match &sheet {
        Some((id, _, _)) => current_entries(tx, *id).await?.into_iter().map(|(key, (entry, _))| (key, entry)).collect(),
        None => Default::default(),
    };
    let checked = upload::check_rows(rows, &setup.assessments, &roster, &current);

    sqlx::query("DELETE FROM mark_uploads WHERE expires_at <= $1").bind(w.by.at).execute(&mut **tx).await?;
    let name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = if name.trim().is_empty() { "upload".to_owned() } else { name };
    Ok(sqlx::query_scalar(
        "INSERT INTO mark_uploads (tenant_id, term_id, stream_id, subject_id, uploaded_by, file_name, checked, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tx.tenant().0)
    .bind(term)
    .bind(stream)
    .bind(subject)
    .bind(w.user)
    .bind(name)
    .bind(serde_json::to_value(&checked).map_err(internal)?)
    .bind(w.by.at)
    .bind(w.by.at + chrono::Duration::hours(UPLOAD_TTL_HOURS))
    .fetch_one(&mut **tx)
    .await?)
}

struct Stored {
    term: Uuid,
    stream: Uuid,
    subject: Uuid,
    file_name: String,
    checked: Option<CheckedUpload>,
    outcome: Option<UploadOutcome>,
    committed: bool,
}

fn stored(r: &sqlx::postgres::PgRow) -> Result<Stored, DomainError> {
    let checked: Option<serde_json::Value> = r.try_get("checked")?;
    let outcome: Option<serde_json::Value> = r.try_get("outcome")?;
    let committed_at: Option<DateTime<Utc>> = r.try_get("committed_at")?;
    Ok(Stored {
        term: r.try_get("term_id")?,
        stream: r.try_get("stream_id")?,
        subject: r.try_get("subject_id")?,
        file_name: r.try_get("file_name")?,
        checked: checked.map(serde_json::from_value).transpose().map_err(internal)?,
        outcome: outcome.map(serde_json::from_value).transpose().map_err(internal)?,
        committed: committed_at.is_some(),
    })
}

/// The preview of an upload of `user` for the sheet of (`term`, `stream`, `subject`), not
/// expired at `now`. Another user's upload, another sheet's, another school's or an expired
/// one is `NotFound`.
pub async fn upload_view(
    tx: &mut TenantTx,
    id: Uuid,
    (term, stream, subject): (Uuid, Uuid, Uuid),
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<UploadView, DomainError> {
    let row = sqlx::query(
        "SELECT term_id, stream_id, subject_id, file_name, checked, outcome, committed_at FROM mark_uploads
          WHERE id = $1 AND uploaded_by = $2 AND term_id = $3 AND stream_id = $4 AND subject_id = $5 AND expires_at > $6",
    )
    .bind(id)
    .bind(user)
    .bind(term)
    .bind(stream)
    .bind(subject)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let s = stored(&row)?;
    let place = place(tx, term, stream).await?;
    let (subject_en, subject_sw) = subject_names(tx, subject).await?;
    let setup = term_setup(tx, term, place.level_id, place.band, place.year).await?;
    let status = sheet_row(tx, term, stream, subject, false).await?.map_or(SheetStatus::Draft, |r| r.1);
    let checked = s.checked.unwrap_or_default();
    let in_file: HashSet<Uuid> = checked.rows.iter().map(|r| r.student).collect();
    let students_not_in_file = stream_students(tx, stream).await?.iter().filter(|r| !in_file.contains(&r.0)).count();
    let assessments = checked
        .assessments
        .iter()
        .map(|key| {
            let name = setup.assessments.assessments().iter().find(|a| &a.key == key).map_or_else(|| key.clone(), |a| a.name.clone());
            (key.clone(), name)
        })
        .collect();
    Ok(UploadView {
        id,
        term_id: term,
        stream_id: stream,
        subject_id: subject,
        file_name: s.file_name,
        term_label: place.term_label(),
        class_name: place.class_name(),
        subject_en,
        subject_sw,
        assessments,
        checked,
        students_not_in_file,
        needs_reason: status.locked(),
        committed: s.committed,
        outcome: s.outcome,
    })
}

/// Confirms an upload of the writer: every filled cell of the file is saved over the revision
/// its preview showed, in one [`save_marks`](super::save_marks) (one audit entry naming the
/// upload). When someone changed a cell since, nothing is written and the outcome lists
/// those cells; either outcome is kept with the upload (a saved upload's marks are wiped).
/// Returns the outcome, the upload's term and whether approved marks were changed. Refused: not the writer's upload, another
/// school's or expired (`NotFound`); already saved, stopped by a conflict before, or with
/// errors (field `upload`); anything [`save_marks`](super::save_marks) refuses.
pub async fn commit_upload(
    tx: &mut TenantTx,
    id: Uuid,
    reason: Option<&str>,
    w: Writer<'_>,
) -> Result<(UploadOutcome, Uuid, bool), DomainError> {
    // Locked, so a double click cannot save twice.
    let row = sqlx::query(
        "SELECT term_id, stream_id, subject_id, file_name, checked, outcome, committed_at FROM mark_uploads
          WHERE id = $1 AND uploaded_by = $2 AND expires_at > $3 FOR UPDATE",
    )
    .bind(id)
    .bind(w.user)
    .bind(w.by.at)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DomainError::NotFound)?;
    let s = stored(&row)?;
    let refuse = |key: &str| -> DomainError { ValidationError::new("upload", key).into() };
    if s.committed {
        return Err(refuse("results-upload-already-saved"));
    }
    if s.outcome.is_some() {
        return Err(refuse("results-upload-stale"));
    }
    let checked = s.checked.unwrap_or_default();
    if !checked.is_clean() {
        return Err(refuse("results-upload-has-errors"));
    }
    let origin = json!({ "id": id, "file": s.file_name });
    let report = save_marks_from(tx, (s.term, s.stream, s.subject), &checked.cells(), reason, w, Some(origin)).await?;
    let outcome = if report.is_clean() {
        UploadOutcome::Saved { changed: checked.changes() }
    } else {
        let cells = report
            .conflicts
            .iter()
            .map(|c| {
                let row = checked.rows.iter().find(|r| r.student == c.student);
                let cell = row.and_then(|r| r.cells.iter().find(|x| x.assessment == c.assessment));
                UploadConflict {
                    admission_no: row.map(|r| r.admission_no.clone()).unwrap_or_default(),
                    name: row.map(|r| r.name.clone()).unwrap_or_default(),
                    assessment: c.assessment.clone(),
                    previewed: cell.map(|x| x.old.clone()).unwrap_or_default(),
                    new: cell.map(|x| x.new.clone()).unwrap_or_default(),
                    current: c.current.clone(),
                    by: c.by.clone(),
                }
            })
            .collect();
        UploadOutcome::Conflicts { cells }
    };
    let saved = matches!(outcome, UploadOutcome::Saved { .. });
    sqlx::query(
        "UPDATE mark_uploads SET outcome = $2,
                committed_at = CASE WHEN $3::boolean THEN $4::timestamptz END,
                checked = CASE WHEN $3::boolean THEN NULL ELSE checked END
          WHERE id = $1",
    )
    .bind(id)
    .bind(serde_json::to_value(&outcome).map_err(internal)?)
    .bind(saved)
    .bind(w.by.at)
    .execute(&mut **tx)
    .await?;
    Ok((outcome, s.term, report.changed_approved))
}
