//! Users, roles and sign-in against the database.

use super::backoff::Throttle;
use super::{password, Email, Language, Permission, Principal, Role};
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::db::{tenant_tx, TenantTx};
use crate::tenancy::{Tenant, TenantId};
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown account, wrong password, deactivated account, malformed email: one answer.
    #[error("invalid credentials")]
    Invalid,
    #[error("too many failed attempts; wait until {0}")]
    Throttled(DateTime<Utc>),
    #[error("school suspended")]
    SchoolSuspended,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates the school's roles with their default permissions. Idempotent.
pub async fn ensure_default_roles(tx: &mut TenantTx, tenant: TenantId) -> Result<(), sqlx::Error> {
    for role in Role::SCHOOL {
        let role_id: Uuid = sqlx::query_scalar(
            // Insert-or-read without DO UPDATE, so the app role needs no UPDATE on roles.
            "WITH added AS (
                 INSERT INTO roles (tenant_id, code, name) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, code) DO NOTHING RETURNING id)
             SELECT id FROM added UNION ALL SELECT id FROM roles WHERE code = $2 LIMIT 1",
        )
        .bind(tenant.0)
        .bind(role.code())
        .bind(role.code().replace('_', " "))
        .fetch_one(&mut **tx)
        .await?;
        for perm in role.default_permissions() {
            sqlx::query(
                "INSERT INTO role_permissions (tenant_id, role_id, permission_code) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(tenant.0)
            .bind(role_id)
            .bind(perm.code())
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Who made a change and when: every change to roles is audited.
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    pub actor: &'a Actor,
    pub at: DateTime<Utc>,
}

/// Creates a school user with the given roles. `password_hash` is `None` for an invited
/// user who has not chosen a password yet.
#[allow(clippy::too_many_arguments)]
pub async fn create_school_user(
    tx: &mut TenantTx,
    tenant: TenantId,
    email: &Email,
    display_name: &str,
    password_hash: Option<&str>,
    roles: &[Role],
    by: ChangedBy<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id: Uuid =
        sqlx::query_scalar("INSERT INTO users (tenant_id, email, display_name, password_hash) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(tenant.0)
            .bind(email.as_str())
            .bind(display_name)
            .bind(password_hash)
            .fetch_one(&mut **tx)
            .await?;
    for role in roles {
        grant_role(tx, tenant, id, *role, by).await?;
    }
    Ok(id)
}

/// Grants a role (audited as `role.granted`; granting a role already held changes nothing).
pub async fn grant_role(tx: &mut TenantTx, tenant: TenantId, user: Uuid, role: Role, by: ChangedBy<'_>) -> Result<(), sqlx::Error> {
    let granted = sqlx::query(
        "INSERT INTO user_roles (tenant_id, user_id, role_id)
         SELECT $1, $2, r.id FROM roles r WHERE r.code = $3
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(user)
    .bind(role.code())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if granted == 1 {
        let details = serde_json::json!({ "role": role.code() });
        audit::append(tx, tenant, by.at, by.actor, "role.granted", &user.to_string(), details).await?;
    }
    Ok(())
}

/// Takes a role away (audited as `role.revoked`). Takes effect on the user's next request.
pub async fn revoke_role(tx: &mut TenantTx, tenant: TenantId, user: Uuid, role: Role, by: ChangedBy<'_>) -> Result<(), sqlx::Error> {
    let revoked = sqlx::query(
        "DELETE FROM user_roles ur USING roles r
          WHERE r.tenant_id = ur.tenant_id AND r.id = ur.role_id AND ur.user_id = $1 AND r.code = $2",
    )
    .bind(user)
    .bind(role.code())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if revoked > 0 {
        let details = serde_json::json!({ "role": role.code() });
        audit::append(tx, tenant, by.at, by.actor, "role.revoked", &user.to_string(), details).await?;
    }
    Ok(())
}

/// The signed-in school user with roles and permissions as they are now, or `None` if the
/// account no longer exists or is deactivated.
pub async fn load_school_principal(tx: &mut TenantTx, tenant: TenantId, user: Uuid) -> Result<Option<Principal>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT email, display_name, language FROM users WHERE id = $1 AND status = 'active'")
        .bind(user)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.code FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
          WHERE ur.user_id = $1 ORDER BY r.code",
    )
    .bind(user)
    .fetch_all(&mut **tx)
    .await?;
    let perms: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT rp.permission_code FROM user_roles ur
           JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
          WHERE ur.user_id = $1",
    )
    .bind(user)
    .fetch_all(&mut **tx)
    .await?;
    let language: Option<String> = row.try_get("language")?;
    Ok(Some(Principal {
        user_id: user,
        tenant_id: Some(tenant),
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
        permissions: perms.iter().filter_map(|p| Permission::parse(p)).collect(),
        language: language.as_deref().and_then(Language::parse),
    }))
}

pub async fn load_platform_principal(pool: &PgPool, user: Uuid) -> Result<Option<Principal>, sqlx::Error> {
    let Some(row) =
        sqlx::query("SELECT email, display_name, language, platform_role FROM platform_users WHERE id = $1 AND status = 'active'")
            .bind(user)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    let role_code: String = row.try_get("platform_role")?;
    let role = Role::parse(&role_code).unwrap_or(Role::PlatformSupport);
    let language: Option<String> = row.try_get("language")?;
    Ok(Some(Principal {
        user_id: user,
        tenant_id: None,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        roles: vec![role],
        permissions: role.default_permissions().to_vec(),
        language: language.as_deref().and_then(Language::parse),
    }))
}

pub async fn set_school_user_language(tx: &mut TenantTx, user: Uuid, lang: Language) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET language = $2 WHERE id = $1").bind(user).bind(lang.code()).execute(&mut **tx).await?;
    Ok(())
}

pub async fn set_platform_user_language(pool: &PgPool, user: Uuid, lang: Language) -> Result<(), sqlx::Error> {
    // The application role cannot UPDATE platform_users; this function changes only the language.
    sqlx::query("SELECT set_platform_user_language($1, $2)").bind(user).bind(lang.code()).execute(pool).await?;
    Ok(())
}

fn throttle_from_row(row: Option<sqlx::postgres::PgRow>) -> Result<Throttle, sqlx::Error> {
    match row {
        None => Ok(Throttle::default()),
        Some(r) => Ok(Throttle {
            failures: r.try_get("failures")?,
            last_failure_at: r.try_get("last_failure_at")?,
            locked_until: r.try_get("locked_until")?,
        }),
    }
}

/// (id, password hash, active) of the account a sign-in names, if any.
fn account(row: Option<&sqlx::postgres::PgRow>) -> Result<(Option<Uuid>, Option<String>, bool), sqlx::Error> {
    match row {
        Some(r) => Ok((Some(r.try_get("id")?), r.try_get("password_hash")?, r.try_get::<String, _>("status")? == "active")),
        None => Ok((None, None, false)),
    }
}

/// Signs a school user in. Every outcome except a malformed email is written to the
/// school's audit log.
pub async fn sign_in_school(
    pool: &PgPool,
    clock: &dyn Clock,
    tenant: &Tenant,
    email_input: &str,
    password_input: &str,
) -> Result<Principal, SignInError> {
    if !tenant.can_sign_in() {
        return Err(SignInError::SchoolSuspended);
    }
    let Ok(email) = Email::parse(email_input) else {
        // Same cost as a real check, so malformed input is not a timing oracle either.
        let _ = password::verify_off_thread(password_input.to_owned(), None).await;
        return Err(SignInError::Invalid);
    };
    let now = clock.now();
    let mut tx = tenant_tx(pool, tenant.id).await?;
    let throttle = throttle_from_row(
        sqlx::query("SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE email = $1 FOR UPDATE")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?,
    )?;
    if let Some(until) = throttle.refused_until(now) {
        audit::append(&mut tx, tenant.id, now, &Actor::anonymous(email.as_str()), "login.throttled", email.as_str(), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        return Err(SignInError::Throttled(until));
    }
    let user =
        sqlx::query("SELECT id, password_hash, status FROM users WHERE email = $1").bind(email.as_str()).fetch_optional(&mut *tx).await?;
    let (user_id, stored_hash, active) = account(user.as_ref())?;
    let password_ok = password::verify_off_thread(password_input.to_owned(), stored_hash).await;
    if let (Some(user_id), true, true) = (user_id, password_ok, active) {
        sqlx::query("DELETE FROM login_throttle WHERE email = $1").bind(email.as_str()).execute(&mut *tx).await?;
        let principal = load_school_principal(&mut tx, tenant.id, user_id).await?.ok_or(SignInError::Invalid)?;
        let actor = Actor::user(user_id, email.as_str());
        audit::append(&mut tx, tenant.id, now, &actor, "login.succeeded", email.as_str(), serde_json::json!({})).await?;
        tx.commit().await?;
        return Ok(principal);
    }
    let next = throttle.after_failure(now);
    sqlx::query(
        "INSERT INTO login_throttle (tenant_id, email, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, email) DO UPDATE
            SET failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at, locked_until = EXCLUDED.locked_until",
    )
    .bind(tenant.id.0)
    .bind(email.as_str())
    .bind(next.failures)
    .bind(next.last_failure_at)
    .bind(next.locked_until)
    .execute(&mut *tx)
    .await?;
    let reason = match (user_id, active) {
        (None, _) => "unknown_account",
        (Some(_), false) => "deactivated",
        (Some(_), true) => "wrong_password",
    };
    let actor = match user_id {
        Some(id) => Actor::user(id, email.as_str()),
        None => Actor::anonymous(email.as_str()),
    };
    audit::append(
        &mut tx,
        tenant.id,
        now,
        &actor,
        "login.failed",
        email.as_str(),
        serde_json::json!({ "reason": reason, "failures": next.failures }),
    )
    .await?;
    tx.commit().await?;
    Err(SignInError::Invalid)
}

/// Signs platform staff in (owner console). Same rules, platform-wide throttle table.
pub async fn sign_in_platform(pool: &PgPool, clock: &dyn Clock, email_input: &str, password_input: &str) -> Result<Principal, SignInError> {
    let Ok(email) = Email::parse(email_input) else {
        let _ = password::verify_off_thread(password_input.to_owned(), None).await;
        return Err(SignInError::Invalid);
    };
    let now = clock.now();
    let mut tx = pool.begin().await?;
    let throttle = throttle_from_row(
        sqlx::query("SELECT failures, last_failure_at, locked_until FROM platform_login_throttle WHERE email = $1 FOR UPDATE")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?,
    )?;
    if let Some(until) = throttle.refused_until(now) {
        tracing::warn!(target: "kilele::audit", action = "platform.login.throttled");
        return Err(SignInError::Throttled(until));
    }
    let user = sqlx::query("SELECT id, password_hash, status FROM platform_users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let (user_id, stored_hash, active) = account(user.as_ref())?;
    let password_ok = password::verify_off_thread(password_input.to_owned(), stored_hash).await;
    if let (Some(user_id), true, true) = (user_id, password_ok, active) {
        sqlx::query("DELETE FROM platform_login_throttle WHERE email = $1").bind(email.as_str()).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(target: "kilele::audit", action = "platform.login.succeeded", user = %user_id);
        return load_platform_principal(pool, user_id).await?.ok_or(SignInError::Invalid);
    }
    let next = throttle.after_failure(now);
    sqlx::query(
        "INSERT INTO platform_login_throttle (email, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO UPDATE
            SET failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at, locked_until = EXCLUDED.locked_until",
    )
    .bind(email.as_str())
    .bind(next.failures)
    .bind(next.last_failure_at)
    .bind(next.locked_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::warn!(target: "kilele::audit", action = "platform.login.failed", failures = next.failures);
    Err(SignInError::Invalid)
}
