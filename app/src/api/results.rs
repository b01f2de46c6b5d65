//! Results: the teacher's sheets, marks entry, the workflow, publishing, broadsheets, tamper
//! flags and the portal's published results. Each function: scope (principal, permission,
//! the school's transaction) → domain → commit.

use crate::errors::AppError;
use kilele::results::entry::{CellSave, SaveReport, SheetView};
use kilele::results::upload::{UploadOutcome, UploadView};
use kilele::results::views::{FlagView, PublishedTerm, SheetSummary};
use kilele::results::{ClassResults, GradingScheme};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{parse_uuid, scope::Scope};
#[cfg(feature = "ssr")]
use kilele::identity::Permission;

/// A term's sheets: (term id, term label, sheets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermSheets {
    pub term_id: Option<uuid::Uuid>,
    pub term_label: String,
    pub sheets: Vec<SheetSummary>,
}

#[cfg(feature = "ssr")]
async fn term_sheets(s: &mut Scope, mine: bool) -> Result<TermSheets, AppError> {
    let Some((term, label)) = kilele::results::db::current_term(&mut s.tx).await? else {
        return Ok(TermSheets { term_id: None, term_label: String::new(), sheets: Vec::new() });
    };
    let teacher = mine.then_some(s.me.user_id);
    let sheets = kilele::results::db::term_overview(&mut s.tx, term, teacher).await?;
    Ok(TermSheets { term_id: Some(term), term_label: label, sheets })
}

/// Queues the tamper scoring of the term's writes (in the change's transaction).
#[cfg(feature = "ssr")]
async fn queue_scoring(s: &mut Scope, term: uuid::Uuid) -> Result<(), AppError> {
    kilele::jobs::enqueue(&mut s.tx, &s.deps.pii, &kilele::jobs::Job::ResultFlags { term }).await?;
    Ok(())
}

/// Teacher: my sheets of the current term.
#[server(endpoint = "teacher/marks")]
pub async fn my_mark_sheets() -> Result<TermSheets, AppError> {
    let mut s = Scope::school(Permission::ResultsEnter).await?;
    let sheets = term_sheets(&mut s, true).await?;
    s.end_read(sheets)
}

/// Approver: every sheet of the current term, to see who has not submitted.
#[server(endpoint = "admin/results")]
pub async fn results_overview() -> Result<TermSheets, AppError> {
    let mut s = Scope::school(Permission::ResultsApprove).await?;
    let sheets = term_sheets(&mut s, false).await?;
    s.end_read(sheets)
}

/// One sheet as the grid shows it (its teacher, or an approver).
#[server(endpoint = "results/sheet")]
pub async fn mark_sheet(term: String, stream: String, subject: String) -> Result<SheetView, AppError> {
    let mut s = Scope::school_any(&[Permission::ResultsEnter, Permission::ResultsApprove]).await?;
    let (term, stream, subject) = (parse_uuid("term", &term)?, parse_uuid("stream", &stream)?, parse_uuid("subject", &subject)?);
    let view = kilele::results::db::sheet_view(&mut s.tx, term, stream, subject, kilele::results::db::Reader::of(&s.me)).await?;
    s.end_read(view)
}

/// Saves typed entries (the grid's autosave and its offline queue). All or nothing: with a
/// conflict or a bad cell the report says which, and nothing is written.
#[server(endpoint = "results/save", input = Json)]
pub async fn save_marks(
    term: uuid::Uuid,
    stream: uuid::Uuid,
    subject: uuid::Uuid,
    cells: Vec<CellSave>,
    reason: Option<String>,
) -> Result<SaveReport, AppError> {
    let mut s = Scope::school_any(&[Permission::ResultsEnter, Permission::ResultsAmend]).await?;
    let w = kilele::results::db::Writer::of(&s.me, s.change.by());
    let report = kilele::results::db::save_marks(&mut s.tx, term, stream, subject, &cells, reason.as_deref(), w).await?;
    if report.is_clean() {
        if report.changed_approved {
            // A change of approved marks: score the term again soon.
            queue_scoring(&mut s, term).await?;
        }
        s.commit(report).await
    } else {
        s.end_read(report)
    }
}

/// The preview of a marks file uploaded for a sheet (`{sheet}/upload`, a plain multipart
/// route): its uploader only; another user's, another sheet's or an expired upload is not
/// found.
#[server(endpoint = "results/upload")]
pub async fn mark_upload(term: String, stream: String, subject: String, upload: String) -> Result<UploadView, AppError> {
    let mut s = Scope::school_any(&[Permission::ResultsEnter, Permission::ResultsAmend]).await?;
    let sheet = (parse_uuid("term", &term)?, parse_uuid("stream", &stream)?, parse_uuid("subject", &subject)?);
    let id = parse_uuid("upload", &upload)?;
    let view = kilele::results::db::upload_view(&mut s.tx, id, sheet, s.me.user_id, s.change.at).await?;
    s.end_read(view)
}

/// Saves every mark of a previewed file in one save (as `results/save` would, with its rules
/// and a reason for approved marks). When someone changed a cell since the preview, nothing
/// is written and the outcome says which cells. A plain form: back to the preview.
#[server(endpoint = "results/upload/commit")]
pub async fn commit_mark_upload(upload: String, reason: Option<String>) -> Result<UploadOutcome, AppError> {
    let mut s = Scope::school_any(&[Permission::ResultsEnter, Permission::ResultsAmend]).await?;
    let id = parse_uuid("upload", &upload)?;
    let reason = reason.filter(|r| !r.trim().is_empty());
    let w = kilele::results::db::Writer::of(&s.me, s.change.by());
    let (outcome, term, changed_approved) = kilele::results::db::commit_upload(&mut s.tx, id, reason.as_deref(), w).await?;
    if changed_approved {
        // A change of approved marks: score the term again soon.
        queue_scoring(&mut s, term).await?;
    }
    // A conflict writes no mark, but the upload keeps it (its page says which cells).
    s.commit(outcome).await
}

/// Submit (teacher), approve or return (approver) a sheet. A plain form: back to the page.
#[server(endpoint = "results/step")]
pub async fn step_mark_sheet(term: String, stream: String, subject: String, step: String, comment: Option<String>) -> Result<(), AppError> {
    use kilele::results::entry::WorkflowStep;
    let step = WorkflowStep::parse(&step).ok_or_else(|| AppError::Invalid { field: "step".into(), message: "error-not-found".into() })?;
    let permission = if step == WorkflowStep::Submit { Permission::ResultsEnter } else { Permission::ResultsApprove };
    let mut s = Scope::school(permission).await?;
    let (term, stream, subject) = (parse_uuid("term", &term)?, parse_uuid("stream", &stream)?, parse_uuid("subject", &subject)?);
    let w = kilele::results::db::Writer::of(&s.me, s.change.by());
    kilele::results::db::step_sheet(&mut s.tx, term, stream, subject, step, comment.as_deref(), w).await?;
    queue_scoring(&mut s, term).await?;
    s.commit(()).await
}

/// Publishes a class's approved results for the term.
#[server(endpoint = "admin/results/publish")]
pub async fn publish_results(term: String, level: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ResultsPublish).await?;
    let (term, level) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?);
    let w = kilele::results::db::Writer::of(&s.me, s.change.by());
    kilele::results::db::publish_class(&mut s.tx, term, level, w).await?;
    queue_scoring(&mut s, term).await?;
    s.commit(()).await
}

/// A class's broadsheet: the computed results of its current marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadsheetData {
    pub term_label: String,
    pub class_name: String,
    pub subject_names: Vec<(String, String)>,
    pub all_approved: bool,
    pub published: bool,
    pub results: ClassResults,
    pub scheme: GradingScheme,
}

#[cfg(feature = "ssr")]
pub(crate) async fn load_broadsheet(
    tx: &mut kilele::db::TenantTx,
    term: uuid::Uuid,
    level: uuid::Uuid,
) -> Result<BroadsheetData, AppError> {
    let class = kilele::results::db::class_marks(tx, term, level).await?;
    let results = kilele::results::compute(&class.sheet, &class.setup.assessments, &class.setup.scheme)?;
    Ok(BroadsheetData {
        term_label: class.term_label,
        class_name: class.level_name,
        subject_names: class.subjects.iter().map(|s| (s.en.clone(), s.sw.clone())).collect(),
        all_approved: class.all_approved,
        published: class.published,
        results,
        scheme: class.setup.scheme,
    })
}

/// Approver: a class's broadsheet for a term.
#[server(endpoint = "admin/results/broadsheet")]
pub async fn broadsheet(term: String, level: String) -> Result<BroadsheetData, AppError> {
    let mut s = Scope::school(Permission::ResultsApprove).await?;
    let (term, level) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?);
    let sheet = load_broadsheet(&mut s.tx, term, level).await?;
    s.end_read(sheet)
}

/// The head teacher's tamper flags.
#[server(endpoint = "admin/results/flags")]
pub async fn result_flags() -> Result<Vec<FlagView>, AppError> {
    let mut s = Scope::school(Permission::ResultsFlags).await?;
    let flags = kilele::results::db::list_flags(&mut s.tx).await?;
    s.end_read(flags)
}

/// Resolves a flag with a comment.
#[server(endpoint = "admin/results/flags/resolve")]
pub async fn resolve_result_flag(flag: String, comment: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ResultsFlags).await?;
    let flag = parse_uuid("flag", &flag)?;
    kilele::results::db::resolve_flag(&mut s.tx, flag, &comment, s.change.by()).await?;
    s.commit(()).await
}

/// Parent or student: a child's published results, oldest term first.
/// Whose results and cards a family-portal user reads: a guardian their children, a student
/// their own.
#[cfg(feature = "ssr")]
pub fn portal_reader(me: &kilele::identity::Principal) -> kilele::results::db::PortalReader {
    use kilele::results::db::PortalReader;
    if me.can(Permission::PortalChildrenRead) {
        PortalReader::Guardian(me.user_id)
    } else {
        PortalReader::Student(me.user_id)
    }
}

#[server(endpoint = "portal/results")]
pub async fn child_results(student: String) -> Result<Vec<PublishedTerm>, AppError> {
    let mut s = Scope::school_any(&[Permission::PortalChildrenRead, Permission::PortalSelfRead]).await?;
    let student = parse_uuid("student", &student)?;
    let terms = kilele::results::db::published_results(&mut s.tx, portal_reader(&s.me), student).await?;
    s.end_read(terms)
}
