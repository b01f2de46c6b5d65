//! The audit log is append-only and any change to it is detected — also by `kilele audit verify`.

use crate::harness::*;
use kilele::audit::{verify_tenant, AuditKey, ChainBreak};
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
    let (entries, breaks) = verify_tenant(&app.pool, tenant, &AuditKey::development()).await.unwrap();
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
    let (_, breaks) = verify_tenant(&app.pool, tenant, &AuditKey::development()).await.unwrap();
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
    let (_, breaks) = verify_tenant(&app.pool, tenant, &AuditKey::development()).await.unwrap();
    assert!(breaks.contains(&ChainBreak::HeadMismatch { head_seq: last, last_seq: last - 1 }), "{breaks:?}");
    // Deleting one in the middle breaks the links.
    sqlx::query("DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 4").bind(tenant.0).execute(&app.owner_pool).await.unwrap();
    let (_, breaks) = verify_tenant(&app.pool, tenant, &AuditKey::development()).await.unwrap();
    assert!(breaks.contains(&ChainBreak::Gap { expected: 4, found: 5 }), "{breaks:?}");
}

/// The application role may INSERT into audit_log (appends run as it), and anyone can compute
/// the old unkeyed SHA-256 link. A row forged that way, with a correct link and head, no
/// longer verifies: the link must be the HMAC under AUDIT_KEY, which the database never sees.
#[tokio::test]
async fn a_row_inserted_with_sql_by_the_app_role_is_detected() {
    let app = spawn_app().await;
    let tenant = khss(&app).await;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, hash FROM audit_heads FOR UPDATE").fetch_one(&mut *tx).await.unwrap();
    let seq = head_seq + 1;
    let at = kilele::audit::normalise_time(chrono::Utc::now());
    let details = serde_json::json!({ "role": "school_admin" });
    let forged = kilele::audit::entry_hash(tenant.0, seq, at, None, "system:forger", "role.granted", "forged-user", &details, &head_hash);
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, seq, at, actor_id, actor, action, subject, details, prev_hash, hash)
         VALUES ($1, $2, $3, NULL, 'system:forger', 'role.granted', 'forged-user', $4, $5, $6)",
    )
    .bind(tenant.0)
    .bind(seq)
    .bind(at)
    .bind(&details)
    .bind(&head_hash)
    .bind(forged.as_slice())
    .execute(&mut *tx)
    .await
    .expect("the app role can insert (that is what appends do)");
    sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2").bind(seq).bind(forged.as_slice()).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    // Nor can it declare the forged row part of the old unkeyed prefix.
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let err = sqlx::query("INSERT INTO audit_unkeyed_prefix (tenant_id, last_seq) VALUES ($1, $2)")
        .bind(tenant.0)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    drop(tx);

    let (_, breaks) = verify_tenant(&app.pool, tenant, &AuditKey::development()).await.unwrap();
    assert_eq!(breaks, vec![ChainBreak::NotKeyed { seq }]);
    let (ok, out) = audit_verify(&app);
    assert!(!ok, "audit verify must fail: {out}");
    assert!(out.contains("kilimanjaro-hills") && out.contains("CHAIN BROKEN"), "{out}");
    assert!(out.contains(&format!("NotKeyed {{ seq: {seq} }}")), "names the forged row: {out}");
    assert!(out.contains("mwanza-lakeside: ") && out.contains("chain intact"), "the other school is untouched: {out}");

    // The real append after it keeps working and is keyed, yet the forged row stays flagged.
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    kilele::audit::append(
        &mut tx,
        chrono::Utc::now(),
        &kilele::audit::Actor::system("test"),
        kilele::audit::actions::SEED_DEMO,
        "x",
        serde_json::json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (_, breaks) = verify_tenant(&app.pool, tenant, &AuditKey::development()).await.unwrap();
    assert_eq!(breaks, vec![ChainBreak::NotKeyed { seq }]);
}

/// Verification with another key fails from the first keyed entry: the key matters.
#[tokio::test]
async fn verification_needs_the_configured_key() {
    let app = spawn_app().await;
    let tenant = khss(&app).await;
    let other = AuditKey::parse(&"5a".repeat(32)).unwrap();
    let (entries, breaks) = verify_tenant(&app.pool, tenant, &other).await.unwrap();
    assert!(entries > 0);
    assert_eq!(breaks.first(), Some(&ChainBreak::HashMismatch { seq: 1 }), "{breaks:?}");
}
