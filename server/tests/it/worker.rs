//! The background worker runs durable jobs per school.

use crate::harness::*;
use kilele::tenancy::{store as tenants, TenantSlug};

#[tokio::test]
async fn worker_runs_queued_jobs_and_reports_broken_chains() {
    let app = spawn_app().await;
    let worker = app.worker();
    let queued = server::worker::schedule_periodic(&worker.pool).await.unwrap();
    assert_eq!(queued, 4, "one audit check and one late-fines sweep per school");
    assert_eq!(server::worker::schedule_periodic(&worker.pool).await.unwrap(), 0, "not twice");
    assert_eq!(server::worker::run_once(&worker).await.unwrap(), 4);
    let tenant = tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    // Read as the worker (the web role sees only the bookkeeping columns, never payloads).
    let mut tx = kilele::db::tenant_tx(&worker.pool, tenant).await.unwrap();
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM jobs").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(statuses, ["done", "done"]);
    drop(tx);

    // Break the chain: the next check fails and is queued for a retry with the reason.
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&app.owner_pool).await.unwrap();
    sqlx::query("UPDATE audit_log SET action = 'x' WHERE tenant_id = $1 AND seq = 1")
        .bind(tenant.0)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    server::worker::schedule_periodic(&worker.pool).await.unwrap();
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

async fn job_status(app: &TestApp, job: uuid::Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1").bind(job).fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn a_queued_job_wakes_the_sleeping_worker() {
    let app = spawn_app().await;
    let tenant = tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    // A worker that would not poll again for an hour: only the notification can wake it.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pace = server::worker::Pace { slots: 2, poll: std::time::Duration::from_secs(3600) };
    let running = tokio::spawn(server::worker::run_with(app.worker(), pace, async move {
        let _ = stopped.await;
    }));
    // Wait until it listens (its connection's last statement is the LISTEN).
    let mut listening = false;
    for _ in 0..300 {
        listening = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%kilele_jobs%')",
        )
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
        if listening {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(listening, "the worker listens for queued jobs");
    // Let its start-up claims finish, then queue a job the way the web process does.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let job = kilele::jobs::enqueue(&mut tx, &kilele::audit::pii::KeyRing::development(), &kilele::jobs::Job::AuditVerify).await.unwrap();
    tx.commit().await.unwrap();
    let mut status = String::new();
    for _ in 0..600 {
        status = job_status(&app, job).await;
        if status == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "done", "run without waiting for the hourly poll");
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn the_admin_sees_failed_jobs_and_puts_one_back_in_the_queue() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let worker = app.worker();
    let tenant = tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    // A job no worker knows, with one try: it fails for good at once.
    let failed: uuid::Uuid =
        sqlx::query_scalar("INSERT INTO jobs (tenant_id, kind, max_attempts) VALUES ($1, 'fees.invoices.future', 1) RETURNING id")
            .bind(tenant.0)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    let fine: uuid::Uuid = sqlx::query_scalar("INSERT INTO jobs (tenant_id, kind) VALUES ($1, 'audit.verify') RETURNING id")
        .bind(tenant.0)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    assert_eq!(job_status(&app, failed).await, "failed");
    assert_eq!(job_status(&app, fine).await, "done");

    let admin = app.login_as(Some(KHSS), "admin").await;
    let r = admin.server_fn("admin/jobs", &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    let listed: Vec<kilele::jobs::TroubledJob> = r.json().await.unwrap();
    assert_eq!(listed.len(), 1, "only the failed one: {listed:?}");
    assert!(listed[0].id == failed && listed[0].gave_up && listed[0].last_error.contains("unknown job kind"), "{listed:?}");
    let (status, html) = admin.get_text("/admin/jobs").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"data-job="{failed}""#)) && html.contains("fees.invoices.future"), "{html}");

    // Not for a teacher; not another school's admin (not found, nothing changed).
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.server_fn("admin/jobs/retry", &[("job", &failed.to_string())]).await.status().as_u16(), 403);
    let other = app.login_as(Some(MLPS), "admin").await;
    assert_eq!(other.server_fn("admin/jobs/retry", &[("job", &failed.to_string())]).await.status().as_u16(), 404);
    let listed: Vec<kilele::jobs::TroubledJob> = other.server_fn("admin/jobs", &[]).await.json().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    assert_eq!(job_status(&app, failed).await, "failed");
    // A finished job has nothing to retry.
    let r = admin.server_fn("admin/jobs/retry", &[("job", &fine.to_string())]).await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("jobs-error-not-failed"));

    // Back in the queue, due now, with one more try; audited.
    let r = admin.server_fn("admin/jobs/retry", &[("job", &failed.to_string())]).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let (status, due, attempts, max): (String, bool, i32, i32) =
        sqlx::query_as("SELECT status, run_at <= now(), attempts, max_attempts FROM jobs WHERE id = $1")
            .bind(failed)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), due, attempts, max), ("queued", true, 1, 2));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'job.retried' AND subject = $1")
        .bind(failed.to_string())
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
    assert_eq!(server::worker::run_once(&worker).await.unwrap(), 1, "claimed again");
    assert_eq!(job_status(&app, failed).await, "failed", "still unknown to this worker: failed again, listed again");
}
