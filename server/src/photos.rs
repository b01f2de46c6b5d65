//! Student photos: shown to staff who may read students, replaced by those who manage them.
//! Files go through the storage layer, keyed by school.

use crate::auth::{file_error, school_user};
use crate::state::AppState;
use app::ctx::RequestCtx;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kilele::identity::Permission;

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
    crate::uploads::image(&st, &key, "private, max-age=300", lang).await
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
    let bytes = match crate::uploads::one_file(req, &st, "photo", MAX_PHOTO_BYTES).await {
        Ok(bytes) => bytes,
        Err(crate::uploads::Refused::Missing) => return refuse("error-photo-invalid").await,
        Err(crate::uploads::Refused::TooLarge) => return refuse("error-photo-too-large").await,
    };
    let Some(kind) = kilele::storage::ImageKind::sniff(&bytes) else { return refuse("error-photo-invalid").await };
    let key = kilele::storage::Storage::new_key(tenant.id, "students", kind.ext());
    let saved = async {
        let mut tx = kilele::db::tenant_tx(&st.deps.pool, tenant.id).await?;
        let actor = kilele::audit::Actor::user(me.user_id, &me.email);
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: st.deps.clock.now() };
        let details = serde_json::json!({ "bytes": bytes.len(), "type": kind.mime() });
        let old = kilele::academic::students::db::replace_photo(&mut tx, id, &key, details, by, st.storage.put(&key, &bytes))
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
