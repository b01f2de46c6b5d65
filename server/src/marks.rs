//! A mark sheet's file transfers, under both of the sheet's pages (`/teacher/marks/{…}` for
//! its teacher, `/admin/results/sheet/{…}` for approvers and amenders):
//! - `POST {sheet}/upload` (multipart, field `file`, at most
//!   [`MAX_UPLOAD_BYTES`](kilele::results::upload::MAX_UPLOAD_BYTES)): checks the file and
//!   keeps it for its preview (`{sheet}/upload/{id}`); nothing is saved yet. The preview and
//!   the commit are server functions (`app::api::results`).
//! - `GET {sheet}/template.csv`: the stream's students and a blank column per assessment.

use crate::state::AppState;
use app::ctx::RequestCtx;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kilele::identity::store::ChangedBy;
use kilele::identity::Permission;
use kilele::results::db::{Reader, Writer};
use kilele::{DomainError, Language};
use uuid::Uuid;

/// The sheet's page this request was made under (teacher's or approver's).
fn sheet_page(req: &Request, (term, stream, subject): (Uuid, Uuid, Uuid)) -> String {
    let base = if req.uri().path().starts_with("/admin/") { "/admin/results/sheet" } else { "/teacher/marks" };
    format!("{base}/{term}/{stream}/{subject}")
}

fn sheet_ids((term, stream, subject): &(String, String, String)) -> Option<(Uuid, Uuid, Uuid)> {
    Some((term.parse().ok()?, stream.parse().ok()?, subject.parse().ok()?))
}

fn not_found(lang: Language) -> Response {
    crate::pages::message(StatusCode::NOT_FOUND, lang, "error-not-found", ("/", "go-home"))
}

/// `POST {sheet}/upload`: the writer's rules are [`save_marks`](kilele::results::db::save_marks)'s
/// (`results.enter` for the allocated teacher, or an approver or amender).
pub async fn upload(State(st): State<AppState>, Path(ids): Path<(String, String, String)>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match crate::auth::school_user_any(ctx.as_ref(), &[Permission::ResultsEnter, Permission::ResultsAmend]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(sheet) = sheet_ids(&ids) else {
        return not_found(lang);
    };
    let page = sheet_page(&req, sheet);
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let refuse = |key: &str| crate::auth::flash_form_error(session.as_ref(), &page, crate::auth::file_error(key));
    let (name, bytes) = match crate::imports::file_field(req, &st, "file").await {
        Ok(file) => file,
        Err(crate::imports::FileFieldError::Unreadable) => return refuse("results-upload-not-a-spreadsheet").await,
        Err(crate::imports::FileFieldError::TooLarge) => return refuse("results-upload-too-large").await,
        Err(crate::imports::FileFieldError::Missing) => return refuse("results-upload-empty").await,
    };
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let w = Writer::of(&me, ChangedBy { actor: &actor, at: st.deps.clock.now() });
        let id = kilele::results::db::save_upload(&mut tx, sheet.0, sheet.1, sheet.2, &name, &bytes, w).await?;
        tx.commit().await?;
        Ok::<_, DomainError>(id)
    }
    .await;
    match saved {
        Ok(id) => Redirect::to(&format!("{page}/upload/{id}")).into_response(),
        Err(DomainError::NotFound) => not_found(lang),
        Err(DomainError::Forbidden) => crate::pages::message(StatusCode::FORBIDDEN, lang, "error-forbidden", ("/", "go-home")),
        Err(DomainError::Invalid(v)) => refuse(&v.message).await,
        Err(e) => crate::pages::internal(lang, e),
    }
}

/// `GET {sheet}/template.csv`: whoever may read the sheet (its teacher, approvers).
pub async fn template(State(st): State<AppState>, Path(ids): Path<(String, String, String)>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match crate::auth::school_user_any(ctx.as_ref(), &[Permission::ResultsEnter, Permission::ResultsApprove]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some((term, stream, subject)) = sheet_ids(&ids) else {
        return not_found(lang);
    };
    let view = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        kilele::results::db::sheet_view(&mut tx, term, stream, subject, Reader::of(&me)).await
    }
    .await;
    match view {
        Ok(v) => {
            let name = format!("{} {} {}", v.class_name, v.subject_en, v.term_label);
            let file: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}-marks.csv\"")),
                ],
                kilele::results::upload::template_csv(&v),
            )
                .into_response()
        }
        Err(DomainError::NotFound) => not_found(lang),
        Err(DomainError::Forbidden) => crate::pages::message(StatusCode::FORBIDDEN, lang, "error-forbidden", ("/", "go-home")),
        Err(e) => crate::pages::internal(lang, e),
    }
}
