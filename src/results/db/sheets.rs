//! A sheet as the marks grid shows it, and the overview of who has submitted what.

use super::setup::{place, term_setup, SheetPlace};
use crate::academic::classes::db::LEVEL_ORDER;
use crate::db::TenantTx;
use crate::results::entry::{Entry, SheetRow, SheetStatus, SheetView};
pub use crate::results::views::SheetSummary;
use crate::results::{Hundredths, Mark};
use crate::DomainError;
use sqlx::Row;
use uuid::Uuid;

/// Who reads a sheet and what they may do.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub user: Uuid,
    pub may_decide: bool,
    pub may_amend: bool,
}

/// Whether `teacher` teaches `subject` in `stream` in the year of the place.
pub async fn is_allocated(tx: &mut TenantTx, place: &SheetPlace, subject: Uuid, teacher: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM teacher_allocations
                         WHERE academic_year_id = $1 AND stream_id = $2 AND subject_id = $3 AND teacher_id = $4)",
    )
    .bind(place.year_id)
    .bind(place.stream_id)
    .bind(subject)
    .bind(teacher)
    .fetch_one(&mut **tx)
    .await
}

/// The sheet's row, if it was started: (id, status, return comment).
pub(super) async fn sheet_row(
    tx: &mut TenantTx,
    term: Uuid,
    stream: Uuid,
    subject: Uuid,
    lock: bool,
) -> Result<Option<(Uuid, SheetStatus, Option<String>)>, DomainError> {
    let sql = if lock {
        "SELECT id, status, return_comment FROM mark_sheets WHERE term_id = $1 AND stream_id = $2 AND subject_id = $3 FOR UPDATE"
    } else {
        "SELECT id, status, return_comment FROM mark_sheets WHERE term_id = $1 AND stream_id = $2 AND subject_id = $3"
    };
    let row = sqlx::query(sql).bind(term).bind(stream).bind(subject).fetch_optional(&mut **tx).await?;
    row.map(|r| {
        let status: String = r.try_get("status")?;
        Ok((r.try_get("id")?, SheetStatus::parse(&status).ok_or_else(|| DomainError::Internal(status))?, r.try_get("return_comment")?))
    })
    .transpose()
}

/// The active students of the stream, by name: (id, admission number, name).
pub(super) async fn stream_students(tx: &mut TenantTx, stream: Uuid) -> Result<Vec<(Uuid, String, String)>, sqlx::Error> {
    sqlx::query(
        "SELECT id, admission_no, concat_ws(' ', first_name, middle_name, last_name) AS name
           FROM students WHERE stream_id = $1 AND status = 'active'
          ORDER BY lower(last_name), lower(first_name), admission_no",
    )
    .bind(stream)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("admission_no")?, r.try_get("name")?)))
    .collect()
}

/// A stored entry back as a [`Mark`].
pub(super) fn stored_mark(score: Option<i32>, special: Option<&str>) -> Option<Mark> {
    match (score, special) {
        (Some(s), _) => u32::try_from(s).ok().map(|h| Mark::Score(Hundredths(h))),
        (None, Some("ABS")) => Some(Mark::Absent),
        (None, Some("EX")) => Some(Mark::Exempt),
        _ => None,
    }
}

/// The sheet's stored entries by (student, assessment), with who wrote each (the grid,
/// a save's revision checks and an upload's preview all read them here).
pub(super) async fn current_entries(
    tx: &mut TenantTx,
    sheet: Uuid,
) -> Result<std::collections::HashMap<(Uuid, String), (Entry, String)>, DomainError> {
    let mut stored = std::collections::HashMap::new();
    for r in sqlx::query(
        "SELECT m.student_id, m.assessment, m.score_hundredths, m.special, m.revision, u.display_name
           FROM marks m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.written_by
          WHERE m.sheet_id = $1",
    )
    .bind(sheet)
    .fetch_all(&mut **tx)
    .await?
    {
        let special: Option<String> = r.try_get("special")?;
        if let Some(mark) = stored_mark(r.try_get("score_hundredths")?, special.as_deref()) {
            stored.insert(
                (r.try_get("student_id")?, r.try_get("assessment")?),
                (Entry { text: mark.to_sheet_string(), revision: r.try_get("revision")? }, r.try_get("display_name")?),
            );
        }
    }
    Ok(stored)
}

/// The subject's names: (English, Kiswahili), or `NotFound`.
pub(super) async fn subject_names(tx: &mut TenantTx, subject: Uuid) -> Result<(String, String), DomainError> {
    let row = sqlx::query("SELECT name_en, name_sw FROM school_subjects WHERE id = $1")
        .bind(subject)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok((row.try_get("name_en")?, row.try_get("name_sw")?))
}

/// The sheet of `subject` for `stream` in `term`, as the grid shows it. A teacher reads only
/// their allocations; approvers read every sheet (`Forbidden` otherwise).
pub async fn sheet_view(tx: &mut TenantTx, term: Uuid, stream: Uuid, subject: Uuid, reader: Reader) -> Result<SheetView, DomainError> {
    let place = place(tx, term, stream).await?;
    let (subject_en, subject_sw) = subject_names(tx, subject).await?;
    let allocated = is_allocated(tx, &place, subject, reader.user).await?;
    if !allocated && !reader.may_decide {
        return Err(DomainError::Forbidden);
    }
    let setup = term_setup(tx, term, place.level_id, place.band, place.year).await?;
    let sheet = sheet_row(tx, term, stream, subject, false).await?;
    let status = sheet.as_ref().map_or(SheetStatus::Draft, |s| s.1);
    let students = stream_students(tx, stream).await?;
    let mut stored = match &sheet {
        Some((id, _, _)) => current_entries(tx, *id).await?,
        None => std::collections::HashMap::new(),
    };
    let rows = students
        .into_iter()
        .map(|(id, admission_no, name)| SheetRow {
            student_id: id,
            admission_no,
            name,
            entries: setup.assessments.assessments().iter().map(|a| stored.remove(&(id, a.key.clone())).map(|e| e.0)).collect(),
        })
        .collect();
    let open = status.open_for_entry();
    Ok(SheetView {
        term_id: term,
        stream_id: stream,
        subject_id: subject,
        term_label: place.term_label(),
        class_name: place.class_name(),
        subject_en,
        subject_sw,
        status,
        return_comment: sheet.and_then(|s| s.2),
        assessments: setup.assessments,
        scheme: setup.scheme,
        rows,
        can_edit: (open && allocated) || (status.locked() && reader.may_amend),
        needs_reason: status.locked(),
        can_submit: open && allocated,
        can_decide: reader.may_decide && status == SheetStatus::Submitted,
    })
}

/// Every allocation of the term's year with its sheet (`teacher`: only theirs), in level,
/// stream and subject order.
pub async fn term_overview(tx: &mut TenantTx, term: Uuid, teacher: Option<Uuid>) -> Result<Vec<SheetSummary>, DomainError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH counts AS (
             SELECT m.sheet_id, count(*) AS n FROM marks m
               JOIN mark_sheets ms ON ms.tenant_id = m.tenant_id AND ms.id = m.sheet_id
              WHERE ms.term_id = $1 GROUP BY m.sheet_id),
         sizes AS (
             SELECT stream_id, count(*) AS n FROM students WHERE status = 'active' AND stream_id IS NOT NULL GROUP BY stream_id)
         SELECT s.id AS stream_id, l.id AS level_id, l.name AS level, s.name AS stream, sub.id AS subject_id,
                sub.name_en, sub.name_sw, u.display_name AS teacher, ms.status, ms.return_comment,
                coalesce(c.n, 0) AS entries, coalesce(z.n, 0) AS students,
                EXISTS (SELECT 1 FROM result_publications rp WHERE rp.term_id = t.id AND rp.level_id = l.id) AS published
           FROM terms t
           JOIN teacher_allocations ta ON ta.tenant_id = t.tenant_id AND ta.academic_year_id = t.academic_year_id
           JOIN streams s ON s.tenant_id = ta.tenant_id AND s.id = ta.stream_id
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id
           JOIN school_subjects sub ON sub.tenant_id = ta.tenant_id AND sub.id = ta.subject_id
           JOIN users u ON u.tenant_id = ta.tenant_id AND u.id = ta.teacher_id
           LEFT JOIN mark_sheets ms ON ms.tenant_id = t.tenant_id AND ms.term_id = t.id AND ms.stream_id = s.id AND ms.subject_id = sub.id
           LEFT JOIN counts c ON c.sheet_id = ms.id
           LEFT JOIN sizes z ON z.stream_id = s.id
          WHERE t.id = $1 AND ($2::uuid IS NULL OR ta.teacher_id = $2)
          ORDER BY {LEVEL_ORDER}, s.name, sub.code"
    )))
    .bind(term)
    .bind(teacher)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let status: Option<String> = r.try_get("status")?;
            Ok(SheetSummary {
                term_id: term,
                stream_id: r.try_get("stream_id")?,
                subject_id: r.try_get("subject_id")?,
                level_id: r.try_get("level_id")?,
                class_name: crate::academic::class_name(&r.try_get::<String, _>("level")?, &r.try_get::<String, _>("stream")?),
                level_name: r.try_get("level")?,
                subject_en: r.try_get("name_en")?,
                subject_sw: r.try_get("name_sw")?,
                teacher: r.try_get("teacher")?,
                status: status.as_deref().and_then(SheetStatus::parse),
                return_comment: r.try_get("return_comment")?,
                entries: r.try_get("entries")?,
                students: r.try_get("students")?,
                published: r.try_get("published")?,
            })
        })
        .collect()
}
