//! The sheet workflow (submit, approve, return) and publishing a class's results.

use super::setup::{class_term, place, store_term_setup, term_setup, ClassTerm, TermSetup};
use super::sheets::{is_allocated, sheet_row, stored_mark};
use super::Writer;
use crate::academic::Band;
use crate::audit::{self, actions};
use crate::db::TenantTx;
use crate::results::entry::{check_return_comment, SheetStatus, WorkflowStep};
use crate::results::published::{ClassContext, PublishedResult, SubjectName};
use crate::results::{compute, Mark, Sheet, SheetStudent, SheetSubject};
use crate::{DomainError, ValidationError};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// Moves a sheet one step. Submit: the allocated teacher, every entry typed (`ABS`/`EX`
/// count; blanks do not). Approve and return: an approver; returning needs a comment.
pub async fn step_sheet(
    tx: &mut TenantTx,
    term: Uuid,
    stream: Uuid,
    subject: Uuid,
    step: WorkflowStep,
    comment: Option<&str>,
    w: Writer<'_>,
) -> Result<SheetStatus, DomainError> {
    let place = place(tx, term, stream).await?;
    match step {
        WorkflowStep::Submit if !is_allocated(tx, &place, subject, w.user).await? => return Err(DomainError::Forbidden),
        WorkflowStep::Approve | WorkflowStep::Return if !w.may_decide => return Err(DomainError::Forbidden),
        _ => {}
    }
    let comment = match step {
        WorkflowStep::Return => Some(check_return_comment(comment.unwrap_or(""))?),
        _ => None,
    };
    let Some((sheet, status, _)) = sheet_row(tx, term, stream, subject, true).await? else {
        // Nothing typed yet: there is nothing to submit or decide.
        return Err(ValidationError::new("status", "results-error-incomplete").into());
    };
    let to = step.apply(status)?;
    if step == WorkflowStep::Submit {
        let setup = term_setup(tx, term, place.level_id, place.band, place.year).await?;
        let missing: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM students st CROSS JOIN unnest($2::text[]) AS a(key)
              WHERE st.stream_id = $1 AND st.status = 'active'
                AND NOT EXISTS (SELECT 1 FROM marks m WHERE m.sheet_id = $3 AND m.student_id = st.id AND m.assessment = a.key)",
        )
        .bind(stream)
        .bind(setup.assessments.assessments().iter().map(|a| a.key.clone()).collect::<Vec<_>>())
        .bind(sheet)
        .fetch_one(&mut **tx)
        .await?;
        if missing > 0 {
            return Err(ValidationError::new("status", "results-error-incomplete").into());
        }
    }
    sqlx::query(
        "UPDATE mark_sheets SET status = $2, status_changed_at = $3, status_changed_by = $4,
                return_comment = CASE WHEN $2 = 'returned' THEN $5 ELSE return_comment END
          WHERE id = $1",
    )
    .bind(sheet)
    .bind(to.code())
    .bind(w.by.at)
    .bind(w.user)
    .bind(comment.as_deref())
    .execute(&mut **tx)
    .await?;
    let action = match step {
        WorkflowStep::Submit => actions::MARKS_SUBMITTED,
        WorkflowStep::Approve => actions::MARKS_APPROVED,
        WorkflowStep::Return => actions::MARKS_RETURNED,
    };
    audit::append(
        tx,
        w.by.at,
        w.by.actor,
        action,
        &sheet.to_string(),
        json!({ "sheet": sheet, "term": term, "stream": stream, "subject": subject, "from": status.code(), "to": to.code(), "comment": comment }),
    )
    .await?;
    Ok(to)
}

/// A class's (level's) marks for a term, gathered for computing: its subjects (the level's
/// allocations), students and entries, and what grades them.
pub struct ClassMarks {
    pub term_label: String,
    pub level_name: String,
    pub subjects: Vec<SubjectName>,
    pub sheet: Sheet,
    /// Per student of `sheet`: the student's id, class name and entries per subject taken.
    pub student_ids: Vec<Uuid>,
    pub class_names: Vec<String>,
    pub entries: Vec<Vec<Vec<Option<Mark>>>>,
    pub setup: TermSetup,
    pub sheet_ids: Vec<Uuid>,
    /// Every allocated sheet is approved (or published).
    pub all_approved: bool,
    pub published: bool,
}

/// Gathers a class's marks for a term (any status; `all_approved` says whether they are
/// final). `NotFound` for another school's or unknown ids.
pub async fn class_marks(tx: &mut TenantTx, term: Uuid, level: Uuid) -> Result<ClassMarks, DomainError> {
    let ClassTerm { year_id, year, term_label, band, level_name, published, .. } = class_term(tx, term, level).await?;
    // The level's allocations and their sheets, locked.
    let sheets = sqlx::query(
        "SELECT ta.stream_id, ta.subject_id, sub.code, sub.name_en, sub.name_sw, ms.id AS sheet_id, ms.status
           FROM teacher_allocations ta
           JOIN streams s ON s.tenant_id = ta.tenant_id AND s.id = ta.stream_id
           JOIN school_subjects sub ON sub.tenant_id = ta.tenant_id AND sub.id = ta.subject_id
           LEFT JOIN mark_sheets ms ON ms.tenant_id = ta.tenant_id AND ms.term_id = $1 AND ms.stream_id = ta.stream_id AND ms.subject_id = ta.subject_id
          WHERE ta.academic_year_id = $2 AND s.level_id = $3
          ORDER BY sub.code",
    )
    .bind(term)
    .bind(year_id)
    .bind(level)
    .fetch_all(&mut **tx)
    .await?;
    let mut subjects: Vec<SubjectName> = Vec::new();
    // The subjects' ids, in the order of `subjects`.
    let mut subject_ids: Vec<Uuid> = Vec::new();
    // sheet id → (stream, subject index)
    let mut sheet_of: HashMap<Uuid, (Uuid, usize)> = HashMap::new();
    let mut all_approved = !sheets.is_empty();
    for r in &sheets {
        let status = r.try_get::<Option<String>, _>("status")?.as_deref().and_then(SheetStatus::parse);
        all_approved &= matches!(status, Some(SheetStatus::Approved | SheetStatus::Published));
        let subject: Uuid = r.try_get("subject_id")?;
        let index = match subject_ids.iter().position(|s| *s == subject) {
            Some(i) => i,
            None => {
                subject_ids.push(subject);
                subjects.push(SubjectName { code: r.try_get("code")?, en: r.try_get("name_en")?, sw: r.try_get("name_sw")? });
                subject_ids.len() - 1
            }
        };
        if let Some(sheet) = r.try_get::<Option<Uuid>, _>("sheet_id")? {
            sheet_of.insert(sheet, (r.try_get("stream_id")?, index));
        }
    }
    let setup = term_setup(tx, term, level, band, year).await?;

    // Students of the level's streams, with their combination's subjects (A-level principals).
    let students = sqlx::query(
        "SELECT st.id, st.admission_no, concat_ws(' ', st.first_name, st.middle_name, st.last_name) AS name,
                s.id AS stream_id, s.name AS stream, sc.code AS combination,
                coalesce((SELECT array_agg(cs.subject_id) FROM combination_subjects cs WHERE cs.combination_id = st.combination_id), '{}') AS principals
           FROM students st
           JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
           LEFT JOIN subject_combinations sc ON sc.tenant_id = st.tenant_id AND sc.id = st.combination_id
          WHERE s.level_id = $1 AND st.status = 'active'
          ORDER BY s.name, lower(st.last_name), lower(st.first_name), st.admission_no",
    )
    .bind(level)
    .fetch_all(&mut **tx)
    .await?;
    let sheet_ids: Vec<Uuid> = sheet_of.keys().copied().collect();
    let mut marks: HashMap<(Uuid, usize), Vec<Option<Mark>>> = HashMap::new();
    for r in sqlx::query("SELECT sheet_id, student_id, assessment, score_hundredths, special FROM marks WHERE sheet_id = ANY($1)")
        .bind(&sheet_ids)
        .fetch_all(&mut **tx)
        .await?
    {
        let Some(&(_, subject)) = sheet_of.get(&r.try_get::<Uuid, _>("sheet_id")?) else { continue };
        let Some(position) = setup.assessments.position(&r.try_get::<String, _>("assessment")?) else { continue };
        let special: Option<String> = r.try_get("special")?;
        let entries = marks.entry((r.try_get("student_id")?, subject)).or_insert_with(|| vec![None; setup.assessments.len()]);
        if let Some(slot) = entries.get_mut(position) {
            *slot = stored_mark(r.try_get("score_hundredths")?, special.as_deref());
        }
    }
    // Which subjects each stream takes (its allocations).
    let mut stream_subjects: HashMap<Uuid, Vec<usize>> = HashMap::new();
    for (stream, subject) in sheet_of.values() {
        stream_subjects.entry(*stream).or_default().push(*subject);
    }
    for list in stream_subjects.values_mut() {
        list.sort_unstable();
    }
    let mut ids = Vec::new();
    let mut student_marks = Vec::new();
    let mut class_names = Vec::new();
    let mut sheet = Sheet { subjects: subjects.iter().map(|s| s.code.clone()).collect(), students: Vec::new() };
    for r in &students {
        let id: Uuid = r.try_get("id")?;
        let stream: Uuid = r.try_get("stream_id")?;
        let principals: Vec<Uuid> = r.try_get("principals")?;
        let taken = stream_subjects.get(&stream).cloned().unwrap_or_default();
        let entries: Vec<Vec<Option<Mark>>> =
            taken.iter().map(|s| marks.remove(&(id, *s)).unwrap_or_else(|| vec![None; setup.assessments.len()])).collect();
        let subjects_of: Vec<SheetSubject> = taken
            .iter()
            .zip(&entries)
            .map(|(s, e)| SheetSubject {
                subject: *s,
                principal: band == Band::ALevel && subject_ids.get(*s).is_some_and(|id| principals.contains(id)),
                marks: e.clone(),
            })
            .collect();
        let stream_name: String = r.try_get("stream")?;
        class_names.push(crate::academic::class_name(&level_name, &stream_name));
        sheet.students.push(SheetStudent {
            admission_no: r.try_get("admission_no")?,
            name: r.try_get("name")?,
            stream: stream_name,
            combination: r.try_get("combination")?,
            subjects: subjects_of,
        });
        ids.push(id);
        student_marks.push(entries);
    }
    Ok(ClassMarks {
        term_label,
        level_name,
        subjects,
        sheet,
        student_ids: ids,
        class_names,
        entries: student_marks,
        setup,
        sheet_ids,
        all_approved,
        published,
    })
}

/// Publishes a class's (level's) results for a term: every allocated subject of every stream
/// of the level approved (`level`: `results-error-not-all-approved` otherwise), computed
/// with the level's assessments and scheme, kept per student as published, the scheme
/// frozen, the sheets marked published. Returns how many students got a result.
pub async fn publish_class(tx: &mut TenantTx, term: Uuid, level: Uuid, w: Writer<'_>) -> Result<usize, DomainError> {
    // The scheme cannot change while the class is published with it.
    super::schemes::lock_setup(tx, term, level, super::schemes::SetupLock::Shared).await?;
    let class = class_marks(tx, term, level).await?;
    if class.published {
        return Err(DomainError::conflict("level", "results-error-already-published"));
    }
    if class.sheet_ids.is_empty() {
        return Err(ValidationError::new("level", "results-error-nothing-to-publish").into());
    }
    if !class.all_approved {
        return Err(ValidationError::new("level", "results-error-not-all-approved").into());
    }
    // Publishing freezes what graded the class: the defaults are written if nothing was yet.
    let ClassMarks {
        term_label, level_name, subjects, sheet, student_ids: ids, class_names, entries: student_marks, sheet_ids, setup, ..
    } = class;
    let scheme_id = match setup.scheme_id {
        Some(id) => id,
        None => store_term_setup(tx, term, level, &setup).await?,
    };
    let results = compute(&sheet, &setup.assessments, &setup.scheme)?;
    let tenant = tx.tenant();
    let publication: Uuid = sqlx::query_scalar(
        "INSERT INTO result_publications (tenant_id, term_id, level_id, scheme_id, published_at, published_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(tenant.0)
    .bind(term)
    .bind(level)
    .bind(scheme_id)
    .bind(w.by.at)
    .bind(w.user)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| crate::db::map_constraint_on(e, Some("level")))?;
    let mut values = Vec::with_capacity(ids.len());
    let class =
        ClassContext { subjects: &subjects, assessments: &setup.assessments, term_label: &term_label, scheme_name: setup.scheme.name() };
    for (i, entries) in student_marks.iter().enumerate() {
        let class_name = class_names.get(i).map(String::as_str).unwrap_or_default();
        let result = PublishedResult::of(&results, i, class, entries, class_name)
            .ok_or_else(|| DomainError::Internal("published result out of range".into()))?;
        values.push(serde_json::to_value(result).map_err(|e| DomainError::Internal(e.to_string()))?);
    }
    sqlx::query(
        "INSERT INTO published_results (tenant_id, publication_id, student_id, result)
         SELECT $1, $2, u.student, u.result FROM unnest($3::uuid[], $4::jsonb[]) AS u(student, result)",
    )
    .bind(tenant.0)
    .bind(publication)
    .bind(&ids)
    .bind(&values)
    .execute(&mut **tx)
    .await?;
    // A sheet returned meanwhile (by a concurrent approver) stops the publication.
    let moved = sqlx::query(
        "UPDATE mark_sheets SET status = 'published', status_changed_at = $2, status_changed_by = $3
          WHERE id = ANY($1) AND status = 'approved'",
    )
    .bind(&sheet_ids)
    .bind(w.by.at)
    .bind(w.user)
    .execute(&mut **tx)
    .await?;
    if usize::try_from(moved.rows_affected()).ok() != Some(sheet_ids.len()) {
        return Err(DomainError::conflict("level", "results-error-not-all-approved"));
    }
    sqlx::query("UPDATE grading_schemes SET frozen = true WHERE id = $1 AND NOT frozen").bind(scheme_id).execute(&mut **tx).await?;
    audit::append(
        tx,
        w.by.at,
        w.by.actor,
        actions::RESULTS_PUBLISHED,
        &publication.to_string(),
        json!({
            "term": term, "level": level, "class": level_name, "students": ids.len(), "sheets": sheet_ids.len(),
            "scheme": setup.scheme.key(), "scheme_version": setup.scheme.version(),
        }),
    )
    .await?;
    Ok(ids.len())
}
