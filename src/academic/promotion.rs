//! Year-end promotion of a whole level to the next (Form 1 → Form 2 …; the last level of a
//! band — Standard VII, Form 4, Form 6 — graduates). Previewed, confirmed once, and undoable
//! until the new year's first term starts. Every move is recorded, so undo is exact.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where one stream's students go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamMove {
    pub from_class: String,
    /// `None`: they graduate.
    pub to_class: Option<String>,
    pub students: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionPreview {
    pub level_id: Uuid,
    pub level_name: String,
    pub from_year: i32,
    pub to_year: i32,
    pub moves: Vec<StreamMove>,
    /// Why it cannot run now (an i18n key), with its argument.
    pub blocked: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionBatchView {
    pub id: Uuid,
    pub level_name: String,
    pub from_year: i32,
    pub to_year: i32,
    pub students: i64,
    pub undoable: bool,
}

#[cfg(feature = "ssr")]
pub mod db {
    use super::{PromotionBatchView, PromotionPreview, StreamMove};
    use crate::academic::class_name;
    use crate::audit;
    use crate::db::TenantTx;
    use crate::identity::store::ChangedBy;

    use crate::{DomainError, ValidationError};
    use chrono::NaiveDate;
    use sqlx::Row;
    use uuid::Uuid;

    /// The school's levels, (id, name), highest band first and in order within a band: the
    /// order year-end promotion runs in.
    pub async fn levels_in_promotion_order(tx: &mut TenantTx) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
        sqlx::query_as("SELECT id, name FROM levels ORDER BY band DESC, ordinal").fetch_all(&mut **tx).await
    }

    struct Plan {
        preview: PromotionPreview,
        from_year_id: Uuid,
        to_year_id: Option<Uuid>,
        /// (student, from stream, to stream or None = graduates)
        moves: Vec<(Uuid, Uuid, Option<Uuid>)>,
    }

    async fn plan(tx: &mut TenantTx, level: Uuid) -> Result<Plan, DomainError> {
        let lvl = sqlx::query("SELECT name, band, ordinal FROM levels WHERE id = $1")
            .bind(level)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        let level_name: String = lvl.try_get("name")?;
        let band: String = lvl.try_get("band")?;
        let ordinal: i32 = lvl.try_get("ordinal")?;
        let from = sqlx::query("SELECT id, year FROM academic_years WHERE is_current")
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ValidationError::new("level", "promotion-needs-current-year"))?;
        let from_year_id: Uuid = from.try_get("id")?;
        let from_year: i32 = from.try_get("year")?;
        let to_year_id: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM academic_years WHERE year = $1").bind(from_year + 1).fetch_optional(&mut **tx).await?;
        let next_level: Option<(Uuid, String)> = sqlx::query_as("SELECT id, name FROM levels WHERE band = $1 AND ordinal = $2")
            .bind(&band)
            .bind(ordinal + 1)
            .fetch_optional(&mut **tx)
            .await?;
        // Students enrolled in this level this year, still active, not yet moved on.
        let rows = sqlx::query(
            "SELECT e.student_id, e.stream_id, s.name AS stream
               FROM enrolments e
               JOIN streams s ON s.tenant_id = e.tenant_id AND s.id = e.stream_id
               JOIN students st ON st.tenant_id = e.tenant_id AND st.id = e.student_id
              WHERE e.academic_year_id = $1 AND s.level_id = $2 AND st.status = 'active' AND e.outcome IS NULL
              ORDER BY s.name",
        )
        .bind(from_year_id)
        .bind(level)
        .fetch_all(&mut **tx)
        .await?;
        let next_streams: Vec<(Uuid, String)> = match &next_level {
            Some((id, _)) => sqlx::query_as("SELECT id, name FROM streams WHERE level_id = $1").bind(id).fetch_all(&mut **tx).await?,
            None => vec![],
        };
        let mut moves = Vec::new();
        let mut per_stream: Vec<StreamMove> = Vec::new();
        let mut blocked: Option<(String, String)> = None;
        for r in &rows {
            let student: Uuid = r.try_get("student_id")?;
            let from_stream: Uuid = r.try_get("stream_id")?;
            let stream: String = r.try_get("stream")?;
            let from_class = class_name(&level_name, &stream);
            let (to_stream, to_class) = match &next_level {
                None => (None, None),
                Some((_, next_name)) => match next_streams.iter().find(|(_, n)| *n == stream) {
                    Some((id, _)) => (Some(*id), Some(class_name(next_name, &stream))),
                    None => {
                        blocked.get_or_insert(("promotion-missing-stream".into(), class_name(next_name, &stream)));
                        (None, Some(class_name(next_name, &stream)))
                    }
                },
            };
            moves.push((student, from_stream, to_stream));
            match per_stream.iter_mut().find(|m| m.from_class == from_class) {
                Some(m) => m.students += 1,
                None => per_stream.push(StreamMove { from_class, to_class, students: 1 }),
            }
        }
        if to_year_id.is_none() {
            blocked = Some(("promotion-needs-next-year".into(), (from_year + 1).to_string()));
        }
        let live: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM promotion_batches WHERE level_id = $1 AND from_year_id = $2 AND undone_at IS NULL)",
        )
        .bind(level)
        .bind(from_year_id)
        .fetch_one(&mut **tx)
        .await?;
        if live {
            blocked = Some(("promotion-already-done".into(), level_name.clone()));
        } else if moves.is_empty() && blocked.is_none() {
            blocked = Some(("promotion-nobody".into(), level_name.clone()));
        }
        Ok(Plan {
            preview: PromotionPreview { level_id: level, level_name, from_year, to_year: from_year + 1, moves: per_stream, blocked },
            from_year_id,
            to_year_id,
            moves,
        })
    }

    /// What promoting `level` would do. Writes nothing.
    pub async fn preview(tx: &mut TenantTx, level: Uuid) -> Result<PromotionPreview, DomainError> {
        Ok(plan(tx, level).await?.preview)
    }

    /// Promotes the level (exactly what `preview` showed, checked again). Returns the batch.
    pub async fn promote(tx: &mut TenantTx, level: Uuid, by: ChangedBy<'_>) -> Result<Uuid, DomainError> {
        let tenant = tx.tenant();
        let plan = plan(tx, level).await?;
        if let Some((key, _)) = &plan.preview.blocked {
            return Err(ValidationError::new("level", key).into());
        }
        let to_year = plan.to_year_id.ok_or_else(|| ValidationError::new("level", "promotion-needs-next-year"))?;
        let user = by.actor.id.ok_or(DomainError::Forbidden)?;
        let batch: Uuid = sqlx::query_scalar(
            "INSERT INTO promotion_batches (tenant_id, level_id, from_year_id, to_year_id, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(tenant.0)
        .bind(level)
        .bind(plan.from_year_id)
        .bind(to_year)
        .bind(user)
        .fetch_one(&mut **tx)
        .await?;
        let students: Vec<Uuid> = plan.moves.iter().map(|m| m.0).collect();
        let from: Vec<Uuid> = plan.moves.iter().map(|m| m.1).collect();
        let to: Vec<Option<Uuid>> = plan.moves.iter().map(|m| m.2).collect();
        sqlx::query(
            "INSERT INTO promotion_moves (tenant_id, batch_id, student_id, from_stream_id, to_stream_id)
             SELECT $1, $2, * FROM unnest($3::uuid[], $4::uuid[], $5::uuid[])",
        )
        .bind(tenant.0)
        .bind(batch)
        .bind(&students)
        .bind(&from)
        .bind(&to)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE enrolments e SET outcome = CASE WHEN m.to_stream_id IS NULL THEN 'graduated' ELSE 'promoted' END
               FROM promotion_moves m
              WHERE m.batch_id = $1 AND e.student_id = m.student_id AND e.academic_year_id = $2",
        )
        .bind(batch)
        .bind(plan.from_year_id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO enrolments (tenant_id, student_id, academic_year_id, stream_id)
             SELECT $1, m.student_id, $3, m.to_stream_id FROM promotion_moves m WHERE m.batch_id = $2 AND m.to_stream_id IS NOT NULL",
        )
        .bind(tenant.0)
        .bind(batch)
        .bind(to_year)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE students s SET stream_id = COALESCE(m.to_stream_id, s.stream_id),
                    status = CASE WHEN m.to_stream_id IS NULL THEN 'graduated' ELSE s.status END,
                    status_reason = CASE WHEN m.to_stream_id IS NULL THEN 'graduated' ELSE s.status_reason END
               FROM promotion_moves m WHERE m.batch_id = $1 AND s.id = m.student_id",
        )
        .bind(batch)
        .execute(&mut **tx)
        .await?;
        let details = serde_json::json!({
            "level": plan.preview.level_name,
            "from_year": plan.preview.from_year,
            "to_year": plan.preview.to_year,
            "students": students.len(),
            "graduated": to.iter().filter(|t| t.is_none()).count(),
        });
        audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENTS_PROMOTED, &batch.to_string(), details).await?;
        Ok(batch)
    }

    /// When the new year's first term starts (undo is possible before that day).
    async fn new_year_starts(tx: &mut TenantTx, to_year: Uuid) -> Result<Option<NaiveDate>, sqlx::Error> {
        sqlx::query_scalar("SELECT min(starts_on) FROM terms WHERE academic_year_id = $1").bind(to_year).fetch_one(&mut **tx).await
    }

    /// Promotions that are still in force, newest first, with whether each can be undone.
    pub async fn live_batches(tx: &mut TenantTx, today: NaiveDate) -> Result<Vec<PromotionBatchView>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT b.id, l.name AS level, fy.year AS from_year, ty.year AS to_year, b.to_year_id,
                    (SELECT count(*) FROM promotion_moves m WHERE m.batch_id = b.id) AS students
               FROM promotion_batches b
               JOIN levels l ON l.tenant_id = b.tenant_id AND l.id = b.level_id
               JOIN academic_years fy ON fy.tenant_id = b.tenant_id AND fy.id = b.from_year_id
               JOIN academic_years ty ON ty.tenant_id = b.tenant_id AND ty.id = b.to_year_id
              WHERE b.undone_at IS NULL ORDER BY b.created_at DESC",
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let starts = new_year_starts(tx, r.try_get("to_year_id")?).await?;
            out.push(PromotionBatchView {
                id: r.try_get("id")?,
                level_name: r.try_get("level")?,
                from_year: r.try_get("from_year")?,
                to_year: r.try_get("to_year")?,
                students: r.try_get("students")?,
                undoable: starts.is_none_or(|s| today < s),
            });
        }
        Ok(out)
    }

    /// Puts every student back exactly where the promotion found them.
    pub async fn undo(tx: &mut TenantTx, batch: Uuid, today: NaiveDate, by: ChangedBy<'_>) -> Result<(), DomainError> {
        let row = sqlx::query("SELECT from_year_id, to_year_id, undone_at FROM promotion_batches WHERE id = $1 FOR UPDATE")
            .bind(batch)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
        if row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>("undone_at")?.is_some() {
            return Err(ValidationError::new("batch", "promotion-already-undone").into());
        }
        let from_year: Uuid = row.try_get("from_year_id")?;
        let to_year: Uuid = row.try_get("to_year_id")?;
        if new_year_starts(tx, to_year).await?.is_some_and(|s| today >= s) {
            return Err(ValidationError::new("batch", "promotion-too-late-to-undo").into());
        }
        sqlx::query(
            "UPDATE students s SET stream_id = m.from_stream_id,
                    status = CASE WHEN m.to_stream_id IS NULL THEN 'active' ELSE s.status END,
                    status_reason = CASE WHEN m.to_stream_id IS NULL THEN NULL ELSE s.status_reason END
               FROM promotion_moves m WHERE m.batch_id = $1 AND s.id = m.student_id",
        )
        .bind(batch)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM enrolments e USING promotion_moves m WHERE m.batch_id = $1 AND e.student_id = m.student_id AND e.academic_year_id = $2")
            .bind(batch)
            .bind(to_year)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE enrolments e SET outcome = NULL FROM promotion_moves m WHERE m.batch_id = $1 AND e.student_id = m.student_id AND e.academic_year_id = $2")
            .bind(batch)
            .bind(from_year)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE promotion_batches SET undone_at = $2 WHERE id = $1").bind(batch).bind(by.at).execute(&mut **tx).await?;
        audit::append(tx, by.at, by.actor, crate::audit::actions::STUDENTS_PROMOTION_UNDONE, &batch.to_string(), serde_json::json!({}))
            .await?;
        Ok(())
    }
}
