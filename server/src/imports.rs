//! File transfers of the admin console: the import upload (multipart) and the exports.
//! (Preview and commit are server functions in `app::api::import`.)

use crate::state::AppState;
use app::ctx::RequestCtx;
use axum::extract::{Multipart, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kilele::academic::{import, import_store};
use kilele::identity::Permission;

/// `POST /admin/import/upload` (multipart, field `file`): keeps the file and sends the user
/// to its preview. Nothing is imported yet.
pub async fn upload(State(st): State<AppState>, req: Request) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match crate::auth::school_user(ctx.as_ref(), &[Permission::StudentsManage]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let refuse = |key: &str| crate::auth::flash_form_error(session.as_ref(), "/admin/import", crate::auth::file_error(key));
    let (name, bytes) = match file_field(req, &st, "file").await {
        Ok(file) => file,
        Err(FileFieldError::Unreadable) => return refuse("import-error-not-a-spreadsheet").await,
        Err(FileFieldError::TooLarge) => return refuse("import-error-too-large").await,
        Err(FileFieldError::Missing) => return refuse("import-error-empty").await,
    };
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let id = import_store::save_upload(&mut tx, &st.deps.pii, me.user_id, &name, &bytes).await?;
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

/// Why a multipart form gave no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFieldError {
    /// Not a multipart form.
    Unreadable,
    /// Over the route's body limit.
    TooLarge,
    /// No such field, or an empty file.
    Missing,
}

/// The file of the multipart field `field`: (file name, bytes). The route's body limit
/// bounds its size.
pub async fn file_field(req: Request, st: &AppState, field: &str) -> Result<(String, Vec<u8>), FileFieldError> {
    let mut multipart =
        <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, st).await.map_err(|_| FileFieldError::Unreadable)?;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(part)) if part.name() == Some(field) => {
                let name = part.file_name().unwrap_or("upload").to_owned();
                let bytes = part.bytes().await.map_err(|_| FileFieldError::TooLarge)?;
                file = Some((name, bytes.to_vec()));
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return Err(FileFieldError::TooLarge),
        }
    }
    file.filter(|(_, b)| !b.is_empty()).ok_or(FileFieldError::Missing)
}

/// `GET /admin/students/export.{csv,xlsx}`: every active student with guardians, in the
/// import format. Guardian phones are personal data: needs `students.pii.read`.
pub async fn export(State(st): State<AppState>, req: Request) -> Response {
    let xlsx = req.uri().path().ends_with(".xlsx");
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let (me, tenant) = match crate::auth::school_user(ctx.as_ref(), &[Permission::StudentsRead, Permission::StudentsPiiRead]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let rows = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let rows = import_store::export_rows(&mut tx, &st.deps.pii).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let details = serde_json::json!({ "students": rows.len(), "format": if xlsx { "xlsx" } else { "csv" } });
        kilele::audit::append(
            &mut tx,
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
    if let Err(r) = crate::auth::school_user(ctx.as_ref(), &[Permission::StudentsManage]) {
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
