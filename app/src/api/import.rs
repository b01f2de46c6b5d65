//! Student import (preview and all-or-nothing commit). The upload itself is a multipart
//! form handled by the server (`/admin/import/upload`); exports are plain downloads.

use crate::errors::AppError;
use kilele::academic::ImportPreview;
use leptos::prelude::*;

/// Reads and checks an uploaded file; writes nothing.
#[server(endpoint = "admin/import/preview")]
pub async fn preview_import(upload_id: String) -> Result<ImportPreview, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = super::guard::school(Permission::StudentsManage)?;
    let id = super::parse_uuid("upload", &upload_id)?;
    let today = deps.clock.now().date_naive();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let preview = kilele::academic::import_store::preview(&mut tx, tenant.id, &deps.pii, id, today).await?;
    tx.commit().await?;
    Ok(preview)
}

/// Imports every row of a clean upload in one transaction. Returns how many students.
#[server(endpoint = "admin/import/commit")]
pub async fn commit_import(upload_id: String) -> Result<usize, AppError> {
    use kilele::academic::import_store::{self, CommitRefused};
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::StudentsManage)?;
    let id = super::parse_uuid("upload", &upload_id)?;
    let change = super::changed_by(&deps, &me);
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let refused = |key: &str| AppError::Invalid { field: "file".into(), message: key.into() };
    match import_store::commit(&mut tx, tenant.id, &deps.pii, id, change.by()).await {
        Ok(n) => {
            tx.commit().await?;
            Ok(n)
        }
        Err(CommitRefused::HasErrors) => Err(refused("import-error-has-errors")),
        Err(CommitRefused::AlreadyImported) => Err(refused("import-error-already-imported")),
        Err(CommitRefused::NoCurrentYear) => Err(refused("import-error-no-current-year")),
        Err(CommitRefused::Domain(e)) => Err(e.into()),
    }
}
