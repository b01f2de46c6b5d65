//! Report cards: the admin asks for a class's or a stream's cards and follows the batch; the
//! family portal lists each term's card. The files themselves are plain routes (the server's
//! `cards` module); the rendering is the worker's. Each function: scope (principal,
//! permission, the school's transaction) → domain → commit.

use crate::errors::AppError;
use kilele::reporting::remarks::{RemarkRowForm, RemarksSheet};
use kilele::reporting::{BatchView, CardLink, CardsOverview};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{parse_uuid, scope::Scope};
#[cfg(feature = "ssr")]
use kilele::identity::Permission;

/// The admin's page: the current term's printable classes and its batches.
#[server(endpoint = "admin/cards")]
pub async fn report_cards_overview() -> Result<CardsOverview, AppError> {
    let mut s = Scope::school(Permission::ReportCardsManage).await?;
    let overview = kilele::reporting::db::overview(&mut s.tx).await?;
    s.end_read(overview)
}

/// One batch with its failures (the progress bar's first state).
#[server(endpoint = "admin/cards/batch")]
pub async fn card_batch(batch: String) -> Result<BatchView, AppError> {
    let mut s = Scope::school(Permission::ReportCardsManage).await?;
    let batch = parse_uuid("batch", &batch)?;
    let view = kilele::reporting::db::batch_view(&mut s.tx, batch).await?;
    s.end_read(view)
}

/// Prints the cards of a class (`stream` empty) or of one of its streams: a batch for the
/// worker. Returns the batch's id.
#[server(endpoint = "admin/cards/request")]
pub async fn request_cards(term: String, level: String, #[server(default)] stream: String) -> Result<uuid::Uuid, AppError> {
    let mut s = Scope::school(Permission::ReportCardsManage).await?;
    let (term, level) = (parse_uuid("term", &term)?, parse_uuid("level", &level)?);
    let stream = if stream.trim().is_empty() { None } else { Some(parse_uuid("stream", &stream)?) };
    let by = s.change.by();
    let batch = kilele::reporting::db::request_batch(&mut s.tx, &s.deps.pii, term, level, stream, by).await?;
    s.commit(batch).await
}

/// What the cards print under the school's name: the motto and the address line.
#[server(endpoint = "admin/cards/heading")]
pub async fn set_card_heading(#[server(default)] motto: String, #[server(default)] address: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ReportCardsManage).await?;
    kilele::reporting::db::set_card_heading(&mut s.tx, &motto, &address, s.change.by()).await?;
    s.commit(()).await?;
    leptos_axum::redirect("/admin/cards");
    Ok(())
}

/// Stops an open batch before its next card.
#[server(endpoint = "admin/cards/cancel")]
pub async fn cancel_cards(batch: String) -> Result<(), AppError> {
    let mut s = Scope::school(Permission::ReportCardsManage).await?;
    let batch = parse_uuid("batch", &batch)?;
    kilele::reporting::db::cancel_batch(&mut s.tx, batch, s.change.by()).await?;
    s.commit(()).await
}

/// A child's (or the student's own) newest card per term: (term id, card).
#[server(endpoint = "portal/cards")]
pub async fn child_cards(student: String) -> Result<Vec<CardLink>, AppError> {
    let mut s = Scope::school_any(&[Permission::PortalChildrenRead, Permission::PortalSelfRead]).await?;
    let student = parse_uuid("student", &student)?;
    let reader = super::results::portal_reader(&s.me);
    let cards = kilele::reporting::db::student_cards(&mut s.tx, reader, student).await?;
    s.end_read(cards.into_values().collect())
}

/// Public (no principal: the code printed on the card is the authority): what a report
/// card's verification code says, or `None` for an unknown code. On a school's own address
/// only that school's cards are found.
#[server(endpoint = "verify/card")]
pub async fn verify_card(code: String) -> Result<Option<kilele::reporting::Verified>, AppError> {
    let deps = use_context::<crate::ctx::Deps>().ok_or(AppError::Internal)?;
    let ctx = crate::ctx::request_ctx();
    let Some(code) = kilele::reporting::VerifyCode::parse(&code) else { return Ok(None) };
    let found = kilele::reporting::db::verify(&deps.pool, &code).await?;
    let host_school = ctx.tenant.as_ref().filter(|_| ctx.tenant_from_host).map(|t| t.id);
    Ok(found.filter(|(school, _)| host_school.is_none_or(|h| h == *school)).map(|(_, v)| v))
}

/// Who writes remarks in this scope: those who print cards write everything; a teacher only
/// the streams they are class teacher of (the domain checks that).
#[cfg(feature = "ssr")]
fn remarks_writer(s: &Scope) -> kilele::reporting::db::RemarksWriter {
    kilele::reporting::db::RemarksWriter { user: s.me.user_id, prints_cards: s.me.can(Permission::ReportCardsManage) }
}

#[cfg(feature = "ssr")]
const REMARKS_WRITERS: [Permission; 2] = [Permission::ReportCardsManage, Permission::ResultsEnter];

/// The current term's streams whose remarks the reader may write: (term, stream, class).
#[server(endpoint = "remarks/streams")]
pub async fn remark_streams() -> Result<Vec<(uuid::Uuid, uuid::Uuid, String)>, AppError> {
    let mut s = Scope::school_any(&REMARKS_WRITERS).await?;
    let who = remarks_writer(&s);
    let streams = kilele::reporting::db::remark_streams(&mut s.tx, who).await?;
    s.end_read(streams)
}

/// A stream's remarks for a term: attendance, conduct, the comments, per active student.
#[server(endpoint = "remarks/sheet")]
pub async fn stream_remarks(term: String, stream: String) -> Result<RemarksSheet, AppError> {
    let mut s = Scope::school_any(&REMARKS_WRITERS).await?;
    let (term, stream) = (parse_uuid("term", &term)?, parse_uuid("stream", &stream)?);
    let who = remarks_writer(&s);
    let sheet = kilele::reporting::db::remarks_sheet(&mut s.tx, term, stream, who).await?;
    s.end_read(sheet)
}

/// Saves a stream's remarks (every row or none), then back to the page it came from.
#[server(endpoint = "remarks/save")]
pub async fn save_remarks(
    term: String,
    stream: String,
    #[server(default)] portal: String,
    #[server(default)] days_open: String,
    #[server(default)] rows: Vec<RemarkRowForm>,
) -> Result<usize, AppError> {
    let mut s = Scope::school_any(&REMARKS_WRITERS).await?;
    let (term, stream) = (parse_uuid("term", &term)?, parse_uuid("stream", &stream)?);
    let who = remarks_writer(&s);
    let form = kilele::reporting::remarks::RemarksForm { days_open, rows };
    let saved = kilele::reporting::db::save_remarks(&mut s.tx, term, stream, &form, who, s.change.by()).await?;
    let saved = s.commit(saved).await?;
    // Only two places to go back to: never a URL from the request.
    let base = if portal == "admin" { "/admin/cards/remarks" } else { "/teacher/remarks" };
    leptos_axum::redirect(&format!("{base}/{term}/{stream}?saved=1"));
    Ok(saved)
}
