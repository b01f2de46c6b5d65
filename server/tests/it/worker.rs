//! The background worker runs durable jobs per school.

use crate::harness::*;
use kilele::tenancy::{store as tenants, TenantSlug};

#[tokio::test]
async fn worker_runs_queued_jobs_and_reports_broken_chains() {
    let app = spawn_app().await;
    let worker = app.worker();
    let queued = server::worker::schedule_audit_verification(&worker.pool).await.unwrap();
    assert_eq!(queued, 2, "one audit check per school");
    assert_eq!(server::worker::schedule_audit_verification(&worker.pool).await.unwrap(), 0, "not twice");
    assert_eq!(server::worker::run_once(&worker).await.unwrap(), 2);
    let tenant = tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    // The web process's role cannot read jobs back; the worker's can.
    let mut tx = kilele::db::tenant_tx(&worker.pool, tenant).await.unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM jobs").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(status, "done");
    drop(tx);

    // Break the chain: the next check fails and is queued for a retry with the reason.
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&app.owner_pool).await.unwrap();
    sqlx::query("UPDATE audit_log SET action = 'x' WHERE tenant_id = $1 AND seq = 1")
        .bind(tenant.0)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    server::worker::schedule_audit_verification(&worker.pool).await.unwrap();
    server::worker::run_once(&worker).await.unwrap();
    let mut tx = kilele::db::tenant_tx(&worker.pool, tenant).await.unwrap();
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM jobs WHERE status <> 'done'").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(status, "queued");
    assert!(error.unwrap_or_default().contains("HashMismatch"));
}
