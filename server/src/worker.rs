//! Background worker: durable jobs in PostgreSQL. Jobs are leased across schools through the
//! `claim_jobs` function (the only cross-tenant step) and run inside a transaction scoped to
//! the job's school. Failed jobs are retried with backoff, up to `max_attempts`.

use crate::mail::Outbox;
use kilele::audit::pii::KeyRing;
use kilele::db::{tenant_tx, TenantTx};
use kilele::tenancy::TenantId;
use sqlx::{PgPool, Row};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What jobs need: the database (as the worker role, `kilele_worker`: the only role that may
/// claim jobs), the personal-data keys (payloads may be sealed), the audit key (to verify
/// chains) and the outbox.
#[derive(Clone)]
pub struct Worker {
    pub pool: PgPool,
    pub pii: Arc<KeyRing>,
    pub audit_key: Arc<kilele::audit::AuditKey>,
    pub outbox: Arc<Outbox>,
}

/// Kinds of job the worker knows.
pub const AUDIT_VERIFY: &str = "audit.verify";

const LEASE_SECONDS: i32 = 300;
const BATCH: i32 = 5;

/// Queues a job for the tenant of `tx`.
pub async fn enqueue(tx: &mut TenantTx, tenant: TenantId, kind: &str, payload: serde_json::Value) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO jobs (tenant_id, kind, payload) VALUES ($1, $2, $3) RETURNING id")
        .bind(tenant.0)
        .bind(kind)
        .bind(payload)
        .fetch_one(&mut **tx)
        .await
}

#[derive(Debug)]
struct Claimed {
    tenant: TenantId,
    id: Uuid,
    kind: String,
    payload: serde_json::Value,
    attempts: i32,
    max_attempts: i32,
}

async fn execute(w: &Worker, job: &Claimed) -> anyhow::Result<()> {
    match job.kind.as_str() {
        kilele::notifications::INVITATION_EMAIL => {
            let m = kilele::notifications::queue::open_invitation_email(&w.pii, job.tenant, &job.payload)?;
            let (subject, body) = kilele::notifications::invitation_email(&m.school, &m.link);
            w.outbox.send(&m.to, &subject, body).await?;
            tracing::info!(tenant = %job.tenant, job = %job.id, "invitation email sent");
            Ok(())
        }
        AUDIT_VERIFY => {
            let (entries, breaks) = kilele::audit::verify_tenant(&w.pool, job.tenant, &w.audit_key).await?;
            if breaks.is_empty() {
                tracing::info!(tenant = %job.tenant, entries, "audit chain intact");
                Ok(())
            } else {
                tracing::error!(tenant = %job.tenant, ?breaks, "AUDIT CHAIN BROKEN");
                anyhow::bail!("audit chain broken: {breaks:?}")
            }
        }
        other => anyhow::bail!("unknown job kind {other}"),
    }
}

/// Claims and runs one batch. Returns how many jobs ran.
pub async fn run_once(w: &Worker) -> anyhow::Result<usize> {
    let pool = &w.pool;
    let claimed: Vec<Claimed> = sqlx::query("SELECT tenant_id, id, kind, payload, attempts, max_attempts FROM claim_jobs($1, $2)")
        .bind(BATCH)
        .bind(LEASE_SECONDS)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Claimed {
                tenant: TenantId(r.try_get("tenant_id")?),
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    for job in &claimed {
        let result = execute(w, job).await;
        let mut tx = tenant_tx(pool, job.tenant).await?;
        match &result {
            Ok(()) => {
                // A finished job keeps no payload (it may hold a link or an address).
                sqlx::query(
                    "UPDATE jobs SET status = 'done', finished_at = now(), locked_until = NULL, last_error = NULL, payload = '{}' WHERE id = $1",
                )
                    .bind(job.id)
                    .execute(&mut *tx)
                    .await?;
            }
            Err(e) => {
                let give_up = job.attempts >= job.max_attempts;
                let backoff = 30 * 2_i32.saturating_pow(job.attempts.clamp(0, 10) as u32);
                sqlx::query(
                    "UPDATE jobs SET status = $2, last_error = $3, locked_until = NULL,
                            run_at = now() + make_interval(secs => $4), finished_at = CASE WHEN $2 = 'failed' THEN now() END
                      WHERE id = $1",
                )
                .bind(job.id)
                .bind(if give_up { "failed" } else { "queued" })
                .bind(e.to_string())
                .bind(backoff)
                .execute(&mut *tx)
                .await?;
                tracing::warn!(job = %job.id, kind = %job.kind, error = %e, give_up, "job failed");
            }
        }
        tx.commit().await?;
    }
    Ok(claimed.len())
}

/// Queues a nightly-style audit verification for every active school that has none queued.
pub async fn schedule_audit_verification(pool: &PgPool) -> anyhow::Result<usize> {
    let mut queued = 0;
    for tenant in kilele::tenancy::store::list_all(pool).await? {
        let mut tx = tenant_tx(pool, tenant.id).await?;
        let pending: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND status IN ('queued', 'running'))")
            .bind(AUDIT_VERIFY)
            .fetch_one(&mut *tx)
            .await?;
        if !pending {
            enqueue(&mut tx, tenant.id, AUDIT_VERIFY, serde_json::json!({})).await?;
            queued += 1;
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// Forgets old sign-in throttle rows (their last failure is over a day old and they lock
/// nothing). `now` comes from the caller's clock so tests can move time.
pub async fn purge_login_throttles(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<u64> {
    Ok(kilele::identity::store::purge_throttles(pool, now).await?)
}

/// The worker loop: poll for jobs every couple of seconds, schedule audit checks every six
/// hours, purge old sign-in throttle rows hourly, stop on Ctrl-C / SIGTERM.
pub async fn run(w: Worker, shutdown: impl std::future::Future<Output = ()>) {
    let pool = w.pool.clone();
    tokio::pin!(shutdown);
    let mut poll = tokio::time::interval(Duration::from_secs(2));
    let mut schedule = tokio::time::interval(Duration::from_secs(6 * 3600));
    let mut purge = tokio::time::interval(Duration::from_secs(3600));
    tracing::info!("worker started");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = schedule.tick() => {
                if let Err(e) = schedule_audit_verification(&pool).await {
                    tracing::error!(error = %e, "scheduling failed");
                }
            }
            _ = purge.tick() => {
                use kilele::clock::Clock;
                match purge_login_throttles(&pool, kilele::clock::SystemClock.now()).await {
                    Ok(n) => tracing::info!(purged = n, "old sign-in throttle rows purged"),
                    Err(e) => tracing::error!(error = %e, "throttle purge failed"),
                }
            }
            _ = poll.tick() => {
                loop {
                    match run_once(&w).await {
                        Ok(0) => break,
                        Ok(_) => continue,
                        Err(e) => {
                            tracing::error!(error = %e, "worker batch failed");
                            break;
                        }
                    }
                }
            }
        }
    }
    tracing::info!("worker stopped");
}
