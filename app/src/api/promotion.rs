//! Year-end promotion: preview, confirm, undo.

use crate::errors::AppError;
use kilele::academic::promotion::{PromotionBatchView, PromotionPreview};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionOverview {
    /// (level id, name), in school order.
    pub levels: Vec<(uuid::Uuid, String)>,
    pub batches: Vec<PromotionBatchView>,
}

#[server(endpoint = "admin/promotion")]
pub async fn load_promotions() -> Result<PromotionOverview, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = super::guard::school(Permission::StudentsManage)?;
    let today = deps.clock.now().date_naive();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let levels = kilele::academic::promotion::db::levels_in_promotion_order(&mut tx).await?;
    let batches = kilele::academic::promotion::db::live_batches(&mut tx, today).await?;
    tx.commit().await?;
    Ok(PromotionOverview { levels, batches })
}

/// What promoting a level would do; writes nothing.
#[server(endpoint = "admin/promotion/preview")]
pub async fn preview_promotion(level_id: String) -> Result<PromotionPreview, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = super::guard::school(Permission::StudentsManage)?;
    let level = super::parse_uuid("level", &level_id)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let preview = kilele::academic::promotion::db::preview(&mut tx, level).await?;
    tx.commit().await?;
    Ok(preview)
}

/// The one confirmation: moves every student of the level.
#[server(endpoint = "admin/promotion/promote")]
pub async fn promote_level(level_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::StudentsManage)?;
    let level = super::parse_uuid("level", &level_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::promotion::db::promote(&mut tx, tenant.id, level, by).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts everyone back, while the new year's first term has not started.
#[server(endpoint = "admin/promotion/undo")]
pub async fn undo_promotion(batch_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::StudentsManage)?;
    let batch = super::parse_uuid("batch", &batch_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::academic::promotion::db::undo(&mut tx, tenant.id, batch, change.at.date_naive(), by).await?;
    tx.commit().await?;
    Ok(())
}
