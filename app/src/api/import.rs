//! Student import (preview and all-or-nothing commit). The upload itself is a multipart
//! form handled by the server (`/admin/import/upload`); exports are plain downloads.

use crate::errors::AppError;
use kilele::academic::ImportPreview;
use leptos::prelude::*;

/// Reads and checks an uploaded file; writes nothing.
#[server(endpoint = "admin/import/preview")]
pub async fn preview_import(upload_id: String) -> Result<ImportPreview, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let id = super::parse_uuid("upload", &upload_id)?;
    let today = s.deps.clock.now().date_naive();
    let preview = kilele::academic::import_store::preview(&mut s.tx, &s.deps.pii, id, today).await?;
    s.end_read(preview)
}

/// Imports every row of a clean upload in one transaction. Returns how many students.
#[server(endpoint = "admin/import/commit")]
pub async fn commit_import(upload_id: String) -> Result<usize, AppError> {
    use kilele::academic::import_store::{self, CommitRefused};
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let id = super::parse_uuid("upload", &upload_id)?;
    let refused = |key: &str| AppError::Invalid { field: "file".into(), message: key.into() };
    match import_store::commit(&mut s.tx, &s.deps.pii, id, s.change.by()).await {
        Ok(n) => s.commit(n).await,
        Err(CommitRefused::HasErrors) => Err(refused("import-error-has-errors")),
        Err(CommitRefused::AlreadyImported) => Err(refused("import-error-already-imported")),
        Err(CommitRefused::NoCurrentYear) => Err(refused("import-error-no-current-year")),
        Err(CommitRefused::Domain(e)) => Err(e.into()),
    }
}
