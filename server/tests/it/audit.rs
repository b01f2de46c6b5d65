//! The audit log is append-only and any change to it is detected — also by `kilele audit verify`.

use crate::harness::*;
use kilele::audit::{verify_tenant, ChainBreak};
use kilele::tenancy::{store as tenants, TenantSlug};
use std::process::Command;

async fn khss(app: &TestApp) -> kilele::tenancy::TenantId {
    tenants::find_by_slug(&app.pool, &TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id
}

fn audit_verify(app: &TestApp) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kilele"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.owner_url)
        .env("KILELE_ENV", "development")
        .env_remove("APP_DATABASE_URL")
        .output()
        .expect("run kilele audit verify");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn logins_are_audited_and_the_chain_verifies() {
    let app = spawn_app().await;
    let b = app.browser();
    b.login(KHSS, "admin@kilimanjaro-hills.test", "wrong-password-1").await;
    b.login(KHSS, "admin@kilimanjaro-hills.test", PASSWORD).await;
    let tenant = khss(&app).await;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq").fetch_all(&mut *tx).await.unwrap();
    drop(tx);
    assert!(actions.contains(&"role.granted".to_owned()));
    let tail: Vec<&str> = actions.iter().rev().take(2).map(String::as_str).collect();
    assert_eq!(tail, ["login.succeeded", "login.failed"]);
    let (entries, breaks) = verify_tenant(&app.pool, tenant).await.unwrap();
    assert!(entries >= 6);
    assert!(breaks.is_empty(), "{breaks:?}");
    let (ok, out) = audit_verify(&app);
    assert!(ok, "{out}");
    assert!(out.contains("kilimanjaro-hills") && out.contains("chain intact"));
}

#[tokio::test]
async fn the_app_cannot_rewrite_history() {
    let app = spawn_app().await;
    let tenant = khss(&app).await;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let err = sqlx::query("UPDATE audit_log SET actor = 'someone else'").execute(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    drop(tx);
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    assert!(sqlx::query("DELETE FROM audit_log").execute(&mut *tx).await.is_err());
}

#[tokio::test]
async fn modified_or_deleted_entries_are_detected() {
    let app = spawn_app().await;
    let b = app.browser();
    for _ in 0..3 {
        b.login(KHSS, "admin@kilimanjaro-hills.test", PASSWORD).await;
    }
    let tenant = khss(&app).await;
    // Tamper as the database owner (the only one able to), bypassing the append-only trigger.
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&app.owner_pool).await.unwrap();
    sqlx::query("UPDATE audit_log SET subject = 'nobody' WHERE tenant_id = $1 AND seq = 2")
        .bind(tenant.0)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let (_, breaks) = verify_tenant(&app.pool, tenant).await.unwrap();
    assert_eq!(breaks, vec![ChainBreak::HashMismatch { seq: 2 }]);
    let (ok, out) = audit_verify(&app);
    assert!(!ok, "audit verify must fail: {out}");
    assert!(out.contains("CHAIN BROKEN") && out.contains("mwanza-lakeside: ") && out.contains("HashMismatch"));

    // Deleting the newest entry is caught by the head.
    let last: i64 =
        sqlx::query_scalar("SELECT max(seq) FROM audit_log WHERE tenant_id = $1").bind(tenant.0).fetch_one(&app.owner_pool).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE tenant_id = $1 AND seq = $2")
        .bind(tenant.0)
        .bind(last)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let (_, breaks) = verify_tenant(&app.pool, tenant).await.unwrap();
    assert!(breaks.contains(&ChainBreak::HeadMismatch { head_seq: last, last_seq: last - 1 }), "{breaks:?}");
    // Deleting one in the middle breaks the links.
    sqlx::query("DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 4").bind(tenant.0).execute(&app.owner_pool).await.unwrap();
    let (_, breaks) = verify_tenant(&app.pool, tenant).await.unwrap();
    assert!(breaks.contains(&ChainBreak::Gap { expected: 4, found: 5 }), "{breaks:?}");
}
