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

#[tokio::test]
async fn a_job_of_an_unknown_kind_fails_loudly_and_stays_for_a_newer_worker() {
    let app = spawn_app().await;
    let worker = app.worker();
    let tenant = tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    sqlx::query("INSERT INTO jobs (tenant_id, kind) VALUES ($1, 'fees.invoices.future')").bind(tenant.0).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(server::worker::run_once(&worker).await.unwrap(), 1, "claimed like any job");
    let mut tx = kilele::db::tenant_tx(&worker.pool, tenant).await.unwrap();
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM jobs WHERE kind = 'fees.invoices.future'").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(status, "queued", "retried later, not dropped");
    assert!(error.unwrap_or_default().contains("unknown job kind `fees.invoices.future`"));
}

#[tokio::test]
async fn an_invitation_job_is_sealed_and_sent_through_the_outbox() {
    let app = spawn_app().await;
    let worker = app.worker();
    let tenant = tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let message = kilele::notifications::InvitationEmail {
        to: "new.teacher@example.test".into(),
        school: "Kilimanjaro Hills".into(),
        link: "https://k.test/invite?t=secret".into(),
    };
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    kilele::jobs::enqueue(&mut tx, &worker.pii, &kilele::jobs::Job::InvitationEmail(message)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = kilele::db::tenant_tx(&worker.pool, tenant).await.unwrap();
    let (kind, payload): (String, serde_json::Value) =
        sqlx::query_as("SELECT kind, payload FROM jobs WHERE status = 'queued'").fetch_one(&mut *tx).await.unwrap();
    drop(tx);
    assert_eq!(kind, "mail.invitation");
    assert!(!payload.to_string().contains("new.teacher") && !payload.to_string().contains("secret"), "{payload}");
    assert_eq!(server::worker::run_once(&worker).await.unwrap(), 1);
    let mut tx = kilele::db::tenant_tx(&worker.pool, tenant).await.unwrap();
    let (status, payload): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, payload FROM jobs").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(status, "done");
    assert_eq!(payload, serde_json::json!({}), "a finished job keeps no payload");
    let mails: Vec<String> = app.sent_emails().iter().map(|m| m.replace("=\r\n", "").replace("=3D", "=")).collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("new.teacher@example.test") && mails[0].contains("https://k.test/invite?t=secret"), "{}", mails[0]);
}
