//! One file out of a multipart form (a student's photo, the school's logo): read whole up to
//! a limit, or why not.

use crate::state::AppState;
use axum::extract::{Multipart, Request};

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
