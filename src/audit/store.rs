use super::actions::Action;
use super::{entry_mac, installed_key, normalise_time, verify_chain, Actor, AuditEntry, AuditKey, ChainBreak, StoredChain, GENESIS};
use crate::db::{tenant_tx, TenantTx};
use crate::tenancy::TenantId;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Row};

/// Appends one entry to the tenant's chain inside the caller's transaction, so the entry
/// commits or rolls back with the change it describes. Appends for one school are
/// serialised by locking its head row. This is the only writer of `audit_log`: the link is
/// MACed with the process's installed audit key, and without one the append fails.
pub async fn append(
    tx: &mut TenantTx,
    at: DateTime<Utc>,
    actor: &Actor,
    action: Action,
    subject: &str,
    details: Value,
) -> Result<i64, sqlx::Error> {
    let tenant = tx.tenant();
    let action = action.as_str();
    sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING")
        .bind(tenant.0)
        .bind(GENESIS.as_slice())
        .execute(&mut **tx)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE").bind(tenant.0).fetch_one(&mut **tx).await?;
    let prev_seq: i64 = head.try_get("seq")?;
    let prev_hash: Vec<u8> = head.try_get("hash")?;
    let seq = prev_seq + 1;
    let at = normalise_time(at);
    let key = installed_key().map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    let hash = entry_mac(key, tenant.0, seq, at, actor.id, &actor.label, action, subject, &details, &prev_hash)
        .map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, seq, at, actor_id, actor, action, subject, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant.0)
    .bind(seq)
    .bind(at)
    .bind(actor.id)
    .bind(&actor.label)
    .bind(action)
    .bind(subject)
    .bind(&details)
    .bind(prev_hash.as_slice())
    .bind(hash.as_slice())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(seq)
        .bind(hash.as_slice())
        .execute(&mut **tx)
        .await?;
    Ok(seq)
}

pub async fn load_chain(tx: &mut TenantTx) -> Result<StoredChain, sqlx::Error> {
    let (entries, head) = read_chain(tx, "audit_log", "audit_heads").await?;
    // Written once by migration 0008; the application roles can only read it.
    let unkeyed_until: i64 = sqlx::query_scalar("SELECT last_seq FROM audit_unkeyed_prefix").fetch_optional(&mut **tx).await?.unwrap_or(0);
    Ok(StoredChain { entries, head, unkeyed_until })
}

/// A chain's entries in order and its recorded head, from `log` and `heads` (a school's, under
/// its row-level security, or the platform's).
pub(super) async fn read_chain(
    conn: &mut sqlx::PgConnection,
    log: &'static str,
    heads: &'static str,
) -> Result<(Vec<AuditEntry>, Option<(i64, Vec<u8>)>), sqlx::Error> {
    let sql = format!("SELECT seq, at, actor_id, actor, action, subject, details, prev_hash, hash FROM {log} ORDER BY seq");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    let entries = rows
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                actor_id: r.try_get("actor_id")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                details: r.try_get("details")?,
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let head = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT seq, hash FROM {heads}")))
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("seq")?, r.try_get("hash")?)))
        .transpose()?;
    Ok((entries, head))
}

/// Verifies one school's chain with the audit key: (entries checked, breaks found).
pub async fn verify_tenant(pool: &PgPool, tenant: TenantId, key: &AuditKey) -> Result<(usize, Vec<ChainBreak>), sqlx::Error> {
    let mut tx = tenant_tx(pool, tenant).await?;
    let chain = load_chain(&mut tx).await?;
    tx.commit().await?;
    let breaks = verify_chain(key, tenant.0, &chain).map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    Ok((chain.entries.len(), breaks))
}
