//! Sample marks for `kilele bench report-cards`: every active student of a class gets a mark in
//! every assessment of every allocated subject (deterministic, from a hash of the ids), the
//! sheets approved, written straight to the tables. Not audited and not for a real school:
//! the benchmark's scratch database only (the CLI refuses production).

use super::setup::{class_term, term_setup};
use crate::db::TenantTx;
use crate::DomainError;
use uuid::Uuid;

/// Fills the class's sheets for `term` as approved with marks between 30 % and 100 % of each
/// paper; `teacher` is recorded as the writer. Returns how many marks were written.
pub async fn fill_sample_marks(tx: &mut TenantTx, term: Uuid, level: Uuid, teacher: Uuid) -> Result<u64, DomainError> {
    let class = class_term(tx, term, level).await?;
    let setup = term_setup(tx, term, level, class.band, class.year).await?;
    let tenant = tx.tenant();
    sqlx::query(
        "INSERT INTO mark_sheets (tenant_id, term_id, stream_id, subject_id, status)
         SELECT ta.tenant_id, $2, ta.stream_id, ta.subject_id, 'approved'
           FROM teacher_allocations ta JOIN streams s ON s.tenant_id = ta.tenant_id AND s.id = ta.stream_id
          WHERE ta.tenant_id = $1 AND ta.academic_year_id = $3 AND s.level_id = $4
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(term)
    .bind(class.year_id)
    .bind(level)
    .execute(&mut **tx)
    .await?;
    let mut written = 0;
    for a in setup.assessments.assessments() {
        let max_hundredths = i32::from(a.max) * 100;
        written += sqlx::query(
            "INSERT INTO marks (tenant_id, sheet_id, student_id, assessment, score_hundredths, revision, written_by, written_at)
             SELECT ms.tenant_id, ms.id, st.id, $2,
                    ($3 * 3 / 10) + (hashtext(st.id::text || $2 || ms.id::text) & 1048575) % ($3 * 7 / 10 + 1), 1, $4, now()
               FROM mark_sheets ms
               JOIN streams s ON s.tenant_id = ms.tenant_id AND s.id = ms.stream_id
               JOIN students st ON st.tenant_id = ms.tenant_id AND st.stream_id = ms.stream_id AND st.status = 'active'
              WHERE ms.tenant_id = $1 AND ms.term_id = $5 AND s.level_id = $6
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.0)
        .bind(&a.key)
        .bind(max_hundredths)
        .bind(teacher)
        .bind(term)
        .bind(level)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(written)
}
