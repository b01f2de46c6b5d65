//! The platform's own audit chain: what platform staff do (onboarding, suspending and
//! resuming schools). The same links as a school's chain ([`super::entry_mac`], keyed with the
//! audit key the database never sees), with the nil id in the school's place, in
//! `platform_audit_log` under one head row (migration 0033).

use super::actions::Action;
use super::{entry_mac, installed_key, normalise_time, verify_chain, Actor, AuditKey, ChainBreak, StoredChain, GENESIS};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

/// Appends one entry in the caller's transaction (it commits or rolls back with the change it
/// describes); appends are serialised by locking the head row.
pub async fn append(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &Actor,
    action: Action,
    subject: &str,
    details: Value,
) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO platform_audit_head (only_row, seq, hash) VALUES (true, 0, $1) ON CONFLICT (only_row) DO NOTHING")
        .bind(GENESIS.as_slice())
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM platform_audit_head FOR UPDATE").fetch_one(&mut *conn).await?;
    let prev_seq: i64 = head.try_get("seq")?;
    let prev_hash: Vec<u8> = head.try_get("hash")?;
    let seq = prev_seq + 1;
    let at = normalise_time(at);
    let key = installed_key().map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    let hash = entry_mac(key, Uuid::nil(), seq, at, actor.id, &actor.label, action.as_str(), subject, &details, &prev_hash)
        .map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO platform_audit_log (seq, at, actor_id, actor, action, subject, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(at)
    .bind(actor.id)
    .bind(&actor.label)
    .bind(action.as_str())
    .bind(subject)
    .bind(&details)
    .bind(prev_hash.as_slice())
    .bind(hash.as_slice())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE platform_audit_head SET seq = $1, hash = $2").bind(seq).bind(hash.as_slice()).execute(&mut *conn).await?;
    Ok(seq)
}

/// Verifies the platform's chain with the audit key: (entries checked, breaks found).
pub async fn verify(pool: &PgPool, key: &AuditKey) -> Result<(usize, Vec<ChainBreak>), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // One snapshot for the entries and the head: an append committing in between is not a break.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
    let (entries, head) = super::store::read_chain(&mut tx, "platform_audit_log", "platform_audit_head").await?;
    tx.commit().await?;
    let chain = StoredChain { entries, head, unkeyed_until: 0 };
    let breaks = verify_chain(key, Uuid::nil(), &chain).map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
    Ok((chain.entries.len(), breaks))
}
