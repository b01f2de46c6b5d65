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
        return Err(Box::new(crate::pages::message(StatusCode::FORBIDDEN, ctx.lang, "error-forbidden", ("/", "go-home"))));
    }
    Ok((me, tenant))
}

/// A refused file, said on the `file` field of the page's form errors.
fn file_error(key: &str) -> app::errors::AppError {
    app::errors::AppError::Invalid { field: "file".into(), message: key.to_owned() }
}

/// `POST /admin/import/upload` (multipart, field `file`): keeps the file and sends the user
/// to its preview. Nothing is imported yet.
pub async fn upload(State(st): State<AppState>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match school_user(ctx.as_ref(), &[Permission::StudentsManage]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let refuse = |key: &str| crate::auth::flash_form_error(session.as_ref(), "/admin/import", file_error(key));
    let mut multipart = match <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &st).await {
        Ok(m) => m,
        Err(_) => return refuse("import-error-not-a-spreadsheet").await,
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(_) => return refuse("import-error-too-large").await,
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return refuse("import-error-too-large").await,
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return refuse("import-error-empty").await;
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
        Err(kilele::DomainError::Invalid(v)) => refuse(&v.message).await,
        Err(e) => crate::pages::internal(lang, e),
    }
}

/// `GET /admin/students/export.{csv,xlsx}`: every active student with guardians, in the
/// import format. Guardian phones are personal data: needs `students.pii.read`.
pub async fn export(State(st): State<AppState>, req: Request) -> Response {
    let xlsx = req.uri().path().ends_with(".xlsx");
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match school_user(ctx.as_ref(), &[Permission::StudentsRead, Permission::StudentsPiiRead]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let rows = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let rows = import_store::export_rows(&mut tx, tenant.id, &st.deps.pii).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let details = serde_json::json!({ "students": rows.len(), "format": if xlsx { "xlsx" } else { "csv" } });
        kilele::audit::append(
            &mut tx,
            tenant.id,
            st.deps.clock.now(),
            &actor,
            kilele::audit::actions::STUDENTS_EXPORTED,
            tenant.slug.as_str(),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, kilele::DomainError>(rows)
    }
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return crate::pages::internal(lang, e),
    };
    let (body, mime, ext) = if xlsx {
        match import::write_xlsx(&rows) {
            Ok(b) => (b, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            Err(e) => return crate::pages::internal(lang, e),
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

/// Largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

fn student_id(req: &Request) -> Option<uuid::Uuid> {
    // /admin/students/<id>/photo
    req.uri().path().split('/').nth(3).and_then(|s| s.parse().ok())
}

/// `GET /admin/students/<id>/photo`: the student's photo, to staff who may read students.
pub async fn photo(State(st): State<AppState>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (_, tenant) = match school_user(ctx.as_ref(), &[Permission::StudentsRead]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(id) = student_id(&req) else { return StatusCode::NOT_FOUND.into_response() };
    let key: Option<String> = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let key = kilele::academic::students::db::photo_key(&mut tx, id).await?.flatten();
        tx.commit().await?;
        Ok::<_, kilele::db::DbError>(key)
    }
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "photo lookup failed");
        None
    });
    let Some(key) = key else { return StatusCode::NOT_FOUND.into_response() };
    let kind = key.rsplit('.').next().and_then(kilele::storage::ImageKind::from_ext);
    match (st.storage.get(&key).await, kind) {
        (Ok(Some(bytes)), Some(kind)) => {
            ([(header::CONTENT_TYPE, kind.mime()), (header::CACHE_CONTROL, "private, max-age=300")], bytes).into_response()
        }
        (Ok(_), _) => StatusCode::NOT_FOUND.into_response(),
        (Err(e), _) => crate::pages::internal(lang, e),
    }
}

/// `POST /admin/students/<id>/photo` (multipart, field `photo`): replaces the photo.
pub async fn upload_photo(State(st): State<AppState>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match school_user(ctx.as_ref(), &[Permission::StudentsManage]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(id) = student_id(&req) else { return StatusCode::NOT_FOUND.into_response() };
    let back = format!("/admin/students/{id}");
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let refuse = |key: &str| crate::auth::flash_form_error(session.as_ref(), &back, file_error(key));
    let mut multipart = match <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, &st).await {
        Ok(m) => m,
        Err(_) => return refuse("error-photo-invalid").await,
    };
    let mut bytes = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("photo") => match field.bytes().await {
                Ok(b) => bytes = Some(b.to_vec()),
                Err(_) => return refuse("error-photo-too-large").await,
            },
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return refuse("error-photo-too-large").await,
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else { return refuse("error-photo-invalid").await };
    if bytes.len() > MAX_PHOTO_BYTES {
        return refuse("error-photo-too-large").await;
    }
    let Some(kind) = kilele::storage::ImageKind::sniff(&bytes) else { return refuse("error-photo-invalid").await };
    let key = kilele::storage::FileStore::new_key(tenant.id, "students", kind.ext());
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: st.deps.clock.now() };
        let details = serde_json::json!({ "bytes": bytes.len(), "type": kind.mime() });
        let old = kilele::academic::students::db::replace_photo(&mut tx, tenant.id, id, &key, details, by, st.storage.put(&key, &bytes))
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if old.is_some() {
            tx.commit().await?;
        }
        Ok::<_, anyhow::Error>(old)
    }
    .await;
    match saved {
        Ok(Some(old)) => {
            if let Some(old) = old {
                if let Err(e) = st.storage.delete(&old).await {
                    tracing::warn!(error = %e, "old photo not removed");
                }
            }
            Redirect::to(&back).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            let _ = st.storage.delete(&key).await;
            crate::pages::internal(lang, e)
        }
    }
}
