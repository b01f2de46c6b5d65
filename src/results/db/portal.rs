//! Published results for the parent and student portal: only a student's own, or a
//! guardian's own child's, and only once their class's results are published.

use crate::db::TenantTx;
use crate::results::published::PublishedResult;
pub use crate::results::views::PublishedTerm;
use crate::DomainError;
use sqlx::Row;
use uuid::Uuid;

/// Whose results a portal user may read.
#[derive(Debug, Clone, Copy)]
pub enum PortalReader {
    /// A guardian account: their linked children.
    Guardian(Uuid),
    /// A student account: their own record.
    Student(Uuid),
}

/// Whether `reader` may read `student`'s results and report cards: a guardian their linked
/// children, a student their own record.
pub async fn may_read(tx: &mut TenantTx, reader: PortalReader, student: Uuid) -> Result<bool, sqlx::Error> {
    match reader {
        PortalReader::Guardian(user) => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM student_guardians sg
                                  JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
                                 WHERE sg.student_id = $1 AND g.user_id = $2)",
            )
            .bind(student)
            .bind(user)
            .fetch_one(&mut **tx)
            .await
        }
        PortalReader::Student(user) => {
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM students WHERE id = $1 AND user_id = $2)")
                .bind(student)
                .bind(user)
                .fetch_one(&mut **tx)
                .await
        }
    }
}

/// The student's published results, oldest term first. `NotFound` when the student is not
/// the reader's (another family's child, another school's id).
pub async fn published_results(tx: &mut TenantTx, reader: PortalReader, student: Uuid) -> Result<Vec<PublishedTerm>, DomainError> {
    let allowed = may_read(tx, reader, student).await?;
    if !allowed {
        return Err(DomainError::NotFound);
    }
    sqlx::query(
        "SELECT rp.term_id, rp.published_at, pr.result
           FROM published_results pr
           JOIN result_publications rp ON rp.tenant_id = pr.tenant_id AND rp.id = pr.publication_id
           JOIN terms t ON t.tenant_id = rp.tenant_id AND t.id = rp.term_id
          WHERE pr.student_id = $1
          ORDER BY t.starts_on",
    )
    .bind(student)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let result: PublishedResult =
            serde_json::from_value(r.try_get("result")?).map_err(|e| DomainError::Internal(format!("published result: {e}")))?;
        Ok(PublishedTerm { term_id: r.try_get("term_id")?, published_at: r.try_get("published_at")?, result })
    })
    .collect()
}
