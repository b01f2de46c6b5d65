//! Report cards: the admin asks for a class's or a stream's cards and follows the batch; the
//! family portal lists each term's card. The files themselves are plain routes (the server's
//! `cards` module); the rendering is the worker's. Each function: scope (principal,
//! permission, the school's transaction) → domain → commit.

use crate::errors::AppError;
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
