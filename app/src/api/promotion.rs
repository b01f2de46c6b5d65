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
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let today = s.deps.clock.now().date_naive();
    let levels = kilele::academic::promotion::db::levels_in_promotion_order(&mut s.tx).await?;
    let batches = kilele::academic::promotion::db::live_batches(&mut s.tx, today).await?;
    s.end_read(PromotionOverview { levels, batches })
}

/// What promoting a level would do; writes nothing.
#[server(endpoint = "admin/promotion/preview")]
pub async fn preview_promotion(level_id: String) -> Result<PromotionPreview, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let level = super::parse_uuid("level", &level_id)?;
    let preview = kilele::academic::promotion::db::preview(&mut s.tx, level).await?;
    s.end_read(preview)
}

/// The one confirmation: moves every student of the level.
#[server(endpoint = "admin/promotion/promote")]
pub async fn promote_level(level_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let level = super::parse_uuid("level", &level_id)?;
    kilele::academic::promotion::db::promote(&mut s.tx, level, s.change.by()).await?;
    s.commit(()).await
}

/// Puts everyone back, while the new year's first term has not started.
#[server(endpoint = "admin/promotion/undo")]
pub async fn undo_promotion(batch_id: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::StudentsManage).await?;
    let batch = super::parse_uuid("batch", &batch_id)?;
    kilele::academic::promotion::db::undo(&mut s.tx, batch, s.change.at.date_naive(), s.change.by()).await?;
    s.commit(()).await
}
