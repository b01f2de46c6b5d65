//! Stored images in and out: one file out of a multipart form (a student's photo, the
//! school's logo), read whole up to a limit, or why not; and a stored image as the answer.

use crate::state::AppState;
use axum::extract::{Multipart, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why no file came out of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a multipart form, or no (or an empty) field of that name.
    Missing,
    /// Over the limit (or cut off on the way).
    TooLarge,
}

/// The bytes of the form's field `field`, at most `max` of them.
pub async fn one_file(req: Request, st: &AppState, field: &str, max: usize) -> Result<Vec<u8>, Refused> {
    let mut multipart = <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, st).await.map_err(|_| Refused::Missing)?;
    let mut bytes = None;
    while let Some(f) = multipart.next_field().await.map_err(|_| Refused::TooLarge)? {
        if f.name() == Some(field) {
            bytes = Some(f.bytes().await.map_err(|_| Refused::TooLarge)?.to_vec());
        }
    }
    let bytes = bytes.filter(|b| !b.is_empty()).ok_or(Refused::Missing)?;
    if bytes.len() > max {
        return Err(Refused::TooLarge);
    }
    Ok(bytes)
}

/// The stored image under `key` (found through a tenant-scoped query), typed by its key's
/// extension; 404 when the storage has lost it.
pub async fn image(st: &AppState, key: &str, cache: &'static str, lang: kilele::Language) -> Response {
    let kind = key.rsplit('.').next().and_then(kilele::storage::ImageKind::from_ext);
    match (st.storage.get(key).await, kind) {
        (Ok(Some(bytes)), Some(kind)) => ([(header::CONTENT_TYPE, kind.mime()), (header::CACHE_CONTROL, cache)], bytes).into_response(),
        (Ok(_), _) => StatusCode::NOT_FOUND.into_response(),
        (Err(e), _) => crate::pages::internal(lang, e),
    }
}
