//! File transfers of the admin console: the import upload (multipart) and the exports.
//! (Preview and commit are server functions in `app::api::import`.)

use crate::state::AppState;
use app::ctx::RequestCtx;
use axum::extract::{Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kilele::academic::{import, import_store};
use kilele::identity::{Permission, Principal};
use kilele::tenancy::Tenant;

fn school_user(ctx: Option<&RequestCtx>, needs: &[Permission]) -> Result<(Principal, Tenant), Box<Response>> {
    let ctx = ctx.ok_or_else(|| Box::new(StatusCode::UNAUTHORIZED.into_response()))?;
    let me = ctx.principal.clone().ok_or_else(|| Box::new(Redirect::to("/login").into_response()))?;
    let tenant = ctx.tenant.clone().ok_or_else(|| Box::new(StatusCode::FORBIDDEN.into_response()))?;
    if me.tenant_id != Some(tenant.id) || !needs.iter().all(|p| me.can(*p)) {
        return Err(Box::new((StatusCode::FORBIDDEN, "Forbidden").into_response()));
    }
    Ok((me, tenant))
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "file transfer failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Please try again.").into_response()
}

/// `POST /admin/import/upload` (multipart, field `file`): keeps the file and sends the user
/// to its preview. Nothing is imported yet.
pub async fn upload(State(st): State<AppState>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let (me, tenant) = match school_user(ctx.as_ref(), &[Permission::StudentsManage]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut multipart = match <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &st).await {
        Ok(m) => m,
        Err(_) => return Redirect::to("/admin/import?error=import-error-not-a-spreadsheet").into_response(),
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(_) => return Redirect::to("/admin/import?error=import-error-too-large").into_response(),
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return Redirect::to("/admin/import?error=import-error-too-large").into_response(),
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Redirect::to("/admin/import?error=import-error-empty").into_response();
    };
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let id = import_store::save_upload(&mut tx, tenant.id, &st.deps.pii, me.user_id, &name, &bytes).await?;
        tx.commit().await?;
        Ok::<_, kilele::DomainError>(id)
    }
    .await;
    match saved {
        Ok(id) => Redirect::to(&format!("/admin/import?upload={id}")).into_response(),
        Err(kilele::DomainError::Invalid(v)) => Redirect::to(&format!("/admin/import?error={}", v.message)).into_response(),
        Err(e) => internal(e),
    }
}

/// `GET /admin/students/export.{csv,xlsx}`: every active student with guardians, in the
/// import format. Guardian phones are personal data: needs `students.pii.read`.
pub async fn export(State(st): State<AppState>, req: Request) -> Response {
    let xlsx = req.uri().path().ends_with(".xlsx");
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let (me, tenant) = match school_user(ctx.as_ref(), &[Permission::StudentsRead, Permission::StudentsPiiRead]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let rows = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let rows = import_store::export_rows(&mut tx, tenant.id, &st.deps.pii).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let details = serde_json::json!({ "students": rows.len(), "format": if xlsx { "xlsx" } else { "csv" } });
        kilele::audit::append(&mut tx, tenant.id, st.deps.clock.now(), &actor, "students.exported", tenant.slug.as_str(), details).await?;
        tx.commit().await?;
        Ok::<_, kilele::DomainError>(rows)
    }
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let (body, mime, ext) = if xlsx {
        match import::write_xlsx(&rows) {
            Ok(b) => (b, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            Err(e) => return internal(e),
        }
    } else {
        (import::write_csv(&rows), "text/csv; charset=utf-8", "csv")
    };
    let file = format!("attachment; filename=\"{}-students.{ext}\"", tenant.slug);
    ([(header::CONTENT_TYPE, mime.to_owned()), (header::CONTENT_DISPOSITION, file)], body).into_response()
}

/// `GET /admin/import/template.csv`: the header row, to fill in.
pub async fn template(req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    if let Err(r) = school_user(ctx.as_ref(), &[Permission::StudentsManage]) {
        return *r;
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"kilele-students-template.csv\""),
        ],
        import::write_csv(&[]),
    )
        .into_response()
}
