//! Users, roles and sign-in against the database.

use super::backoff::{self, Throttle};
use super::password::{Busy, Verifier};
use super::two_factor::{self, Holder, Verified};
use super::{Email, Language, Permission, Principal, Role, SecondFactor};
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
    /// Too many password checks at once: nothing was checked, try again in a moment.
    #[error("too many sign-ins at once")]
    Busy,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The second factor could not be read (its key, its envelope).
    #[error(transparent)]
    Domain(#[from] crate::DomainError),
}

/// A sign-in whose password was right.
#[derive(Debug)]
pub enum SignedIn {
    Done(Principal),
    /// The account has a second factor: sign-in finishes with a code
    /// ([`second_step_school`], [`second_step_platform`]). Nothing is signed in yet and the
    /// backoff is not cleared: a right password followed by wrong codes keeps counting.
    NeedsCode {
        user_id: Uuid,
        email: Email,
    },
}

/// Creates the school's roles with their default permissions. Idempotent.
pub async fn ensure_default_roles(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
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

impl ChangedBy<'_> {
    /// Records `action` on `subject` by this actor at this time, in the caller's transaction
    /// ([`crate::audit::append`]).
    pub async fn audit(
        self,
        tx: &mut crate::db::TenantTx,
        action: crate::audit::actions::Action,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<i64, sqlx::Error> {
        crate::audit::append(tx, self.at, self.actor, action, subject, details).await
    }
}

/// Creates a school user with the given roles. `password_hash` is `None` for an invited
/// user who has not chosen a password yet.
#[allow(clippy::too_many_arguments)]
pub async fn create_school_user(
    tx: &mut TenantTx,
    email: &Email,
    display_name: &str,
    password_hash: Option<&str>,
    roles: &[Role],
    by: ChangedBy<'_>,
) -> Result<Uuid, sqlx::Error> {
    let tenant = tx.tenant();
    let id: Uuid =
        sqlx::query_scalar("INSERT INTO users (tenant_id, email, display_name, password_hash) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(tenant.0)
            .bind(email.as_str())
            .bind(display_name)
            .bind(password_hash)
            .fetch_one(&mut **tx)
            .await?;
    for role in roles {
        grant_role(tx, id, *role, by).await?;
    }
    Ok(id)
}

/// Grants a role (audited as `role.granted`; granting a role already held changes nothing).
pub async fn grant_role(tx: &mut TenantTx, user: Uuid, role: Role, by: ChangedBy<'_>) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
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
        audit::append(tx, by.at, by.actor, crate::audit::actions::ROLE_GRANTED, &user.to_string(), details).await?;
    }
    Ok(())
}

/// Takes a role away (audited as `role.revoked`). Takes effect on the user's next request.
pub async fn revoke_role(tx: &mut TenantTx, user: Uuid, role: Role, by: ChangedBy<'_>) -> Result<(), sqlx::Error> {
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
        audit::append(tx, by.at, by.actor, crate::audit::actions::ROLE_REVOKED, &user.to_string(), details).await?;
    }
    Ok(())
}

/// The signed-in school user with roles and permissions as they are now, or `None` if the
/// account no longer exists or is deactivated.
pub async fn load_school_principal(tx: &mut TenantTx, user: Uuid) -> Result<Option<Principal>, sqlx::Error> {
    let tenant = tx.tenant();
    // One round trip: this runs on every signed-in request.
    let Some(row) = sqlx::query(
        "SELECT u.email, u.display_name, u.language,
                COALESCE((SELECT array_agg(r.code ORDER BY r.code) FROM user_roles ur
                            JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
                           WHERE ur.user_id = u.id), '{}') AS roles,
                COALESCE((SELECT array_agg(DISTINCT rp.permission_code) FROM user_roles ur
                            JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
                           WHERE ur.user_id = u.id), '{}') AS perms,
                EXISTS (SELECT 1 FROM user_second_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) AS two_factor_on,
                u.two_factor_since,
                (SELECT s.two_factor_for_teachers_since FROM school_settings s) AS two_factor_for_teachers_since,
                u.sessions_valid_from
           FROM users u WHERE u.id = $1 AND u.status = 'active'",
    )
    .bind(user)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let roles: Vec<String> = row.try_get("roles")?;
    let perms: Vec<String> = row.try_get("perms")?;
    let language: Option<String> = row.try_get("language")?;
    let roles: Vec<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
    let second_factor = SecondFactor::of(
        &roles,
        row.try_get("two_factor_on")?,
        row.try_get("two_factor_for_teachers_since")?,
        row.try_get("two_factor_since")?,
    );
    Ok(Some(Principal {
        user_id: user,
        tenant_id: Some(tenant),
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        roles,
        permissions: perms.iter().filter_map(|p| Permission::parse(p)).collect(),
        language: language.as_deref().and_then(Language::parse),
        second_factor,
        sessions_valid_from: row.try_get("sessions_valid_from")?,
    }))
}

/// The school and the signed-in user's principal, read in one round trip on every signed-in
/// request (migration 0011, `school_principal`): `None` when there is no such school, a
/// principal of `None` when the account is gone or deactivated. Roles and permissions are
/// read fresh each time, so a revoked role takes effect at once.
pub async fn school_and_principal(pool: &PgPool, school: TenantId, user: Uuid) -> Result<Option<(Tenant, Option<Principal>)>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT * FROM school_principal($1, $2)").bind(school.0).bind(user).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let tenant = crate::tenancy::store::tenant_from_columns(&row, school)?;
    let Some(email) = row.try_get::<Option<String>, _>("email")? else {
        return Ok(Some((tenant, None)));
    };
    let roles: Vec<String> = row.try_get("roles")?;
    let perms: Vec<String> = row.try_get("perms")?;
    let language: Option<String> = row.try_get("language")?;
    let roles: Vec<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
    let second_factor = SecondFactor::of(
        &roles,
        row.try_get("two_factor_on")?,
        row.try_get("two_factor_for_teachers_since")?,
        row.try_get("two_factor_since")?,
    );
    let principal = Principal {
        user_id: user,
        tenant_id: Some(school),
        email,
        display_name: row.try_get("display_name")?,
        roles,
        permissions: perms.iter().filter_map(|p| Permission::parse(p)).collect(),
        language: language.as_deref().and_then(Language::parse),
        second_factor,
        sessions_valid_from: row.try_get("sessions_valid_from")?,
    };
    Ok(Some((tenant, Some(principal))))
}

pub async fn load_platform_principal(pool: &PgPool, user: Uuid) -> Result<Option<Principal>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT u.email, u.display_name, u.language, u.platform_role, u.two_factor_since, u.sessions_valid_from,
                EXISTS (SELECT 1 FROM platform_second_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) AS two_factor_on
           FROM platform_users u WHERE u.id = $1 AND u.status = 'active'",
    )
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
        second_factor: SecondFactor::of(&[role], row.try_get("two_factor_on")?, None, row.try_get("two_factor_since")?),
        sessions_valid_from: row.try_get("sessions_valid_from")?,
    }))
}

pub async fn set_school_user_language(tx: &mut TenantTx, user: Uuid, lang: Language) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET language = $2 WHERE id = $1").bind(user).bind(lang.code()).execute(&mut **tx).await?;
    Ok(())
}

/// Creates a platform owner. Needs the schema owner's pool: the application role may not
/// write `platform_users` (migration 0008).
pub async fn create_platform_owner(owner: &PgPool, email: &Email, display_name: &str, password_hash: &str) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO platform_users (email, display_name, password_hash, platform_role) VALUES ($1, $2, $3, 'owner') RETURNING id",
    )
    .bind(email.as_str())
    .bind(display_name)
    .bind(password_hash)
    .fetch_one(owner)
    .await
}

pub async fn set_platform_user_language(pool: &PgPool, user: Uuid, lang: Language) -> Result<(), sqlx::Error> {
    // The application role cannot UPDATE platform_users; this function changes only the language.
    sqlx::query("SELECT set_platform_user_language($1, $2)").bind(user).bind(lang.code()).execute(pool).await?;
    Ok(())
}

/// One sign-in attempt as typed, and the client address it came from (the key of the fast
/// per-address backoff; `"unknown"` when the server cannot tell).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub client: &'a str,
}

/// The throttle table of school sign-ins (tenant rows) or of platform sign-ins.
#[derive(Debug, Clone, Copy)]
enum ThrottleTable {
    School(TenantId),
    Platform,
}

impl ThrottleTable {
    fn ensure_sql(self) -> &'static str {
        match self {
            Self::School(_) => "INSERT INTO login_throttle (tenant_id, email, client) VALUES ($3, $1, $2) ON CONFLICT DO NOTHING",
            Self::Platform => "INSERT INTO platform_login_throttle (email, client) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        }
    }
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

/// The (per account and address, account-wide) throttle rows of an attempt, and for a code
/// also the account's wrong-codes row.
async fn read_throttles(
    conn: &mut sqlx::PgConnection,
    table: ThrottleTable,
    email: &str,
    client: &str,
    kind: Kind,
) -> Result<Vec<Throttle>, sqlx::Error> {
    let sql = match table {
        ThrottleTable::School(_) => "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE email = $1 AND client = $2",
        ThrottleTable::Platform => {
            "SELECT failures, last_failure_at, locked_until FROM platform_login_throttle WHERE email = $1 AND client = $2"
        }
    };
    let mut rows = Vec::with_capacity(3);
    for (key, _) in kind.keys(client) {
        rows.push(throttle_from_row(sqlx::query(sql).bind(email).bind(key).fetch_optional(&mut *conn).await?)?);
    }
    Ok(rows)
}

/// What an attempt proves: a password, or a second-factor code (counted also against the
/// account's wrong-codes row, [`backoff::CODES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Password,
    Code,
}

impl Kind {
    fn keys(self, client: &str) -> Vec<(&str, backoff::Policy)> {
        let mut keys = vec![(client, backoff::PER_CLIENT), (backoff::ACCOUNT_WIDE_CLIENT, backoff::ACCOUNT_WIDE)];
        if self == Kind::Code {
            keys.push((backoff::CODES_CLIENT, backoff::CODES));
        }
        keys
    }
}

/// Creates the row if needed and locks it: concurrent failures count one by one.
async fn ensure_throttle_row(conn: &mut sqlx::PgConnection, table: ThrottleTable, email: &str, client: &str) -> Result<(), sqlx::Error> {
    let q = sqlx::query(table.ensure_sql()).bind(email).bind(client);
    match table {
        ThrottleTable::School(t) => q.bind(t.0).execute(&mut *conn).await?,
        ThrottleTable::Platform => q.execute(&mut *conn).await?,
    };
    Ok(())
}

/// Counts one more failure in each row of `kind`; returns the per-address failure count.
async fn record_failure(
    conn: &mut sqlx::PgConnection,
    table: ThrottleTable,
    email: &str,
    client: &str,
    now: DateTime<Utc>,
    kind: Kind,
) -> Result<i32, sqlx::Error> {
    let (select, update) = match table {
        ThrottleTable::School(_) => (
            "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE email = $1 AND client = $2 FOR UPDATE",
            "UPDATE login_throttle SET failures = $3, last_failure_at = $4, locked_until = $5 WHERE email = $1 AND client = $2",
        ),
        ThrottleTable::Platform => (
            "SELECT failures, last_failure_at, locked_until FROM platform_login_throttle WHERE email = $1 AND client = $2 FOR UPDATE",
            "UPDATE platform_login_throttle SET failures = $3, last_failure_at = $4, locked_until = $5 WHERE email = $1 AND client = $2",
        ),
    };
    let mut pair_failures = 0;
    for (key, policy) in kind.keys(client) {
        ensure_throttle_row(conn, table, email, key).await?;
        let current = throttle_from_row(sqlx::query(select).bind(email).bind(key).fetch_optional(&mut *conn).await?)?;
        let next = current.after_failure_with(now, &policy);
        sqlx::query(update)
            .bind(email)
            .bind(key)
            .bind(next.failures)
            .bind(next.last_failure_at)
            .bind(next.locked_until)
            .execute(&mut *conn)
            .await?;
        if key == client {
            pair_failures = next.failures;
        }
    }
    Ok(pair_failures)
}

/// Counts a refused (throttled) attempt on the account-wide row. Returns `Some(count)` when
/// an aggregated entry is due (at most one per account per [`backoff::AUDIT_WINDOW`]): the
/// refusals since the last entry. The counter then starts again.
async fn record_refusal(
    conn: &mut sqlx::PgConnection,
    table: ThrottleTable,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<i32>, sqlx::Error> {
    let (bump, reset) = match table {
        ThrottleTable::School(_) => (
            "UPDATE login_throttle SET refused = refused + 1 WHERE email = $1 AND client = $2 RETURNING refused, refusals_reported_at",
            "UPDATE login_throttle SET refused = 0, refusals_reported_at = $3 WHERE email = $1 AND client = $2",
        ),
        ThrottleTable::Platform => (
            "UPDATE platform_login_throttle SET refused = refused + 1 WHERE email = $1 AND client = $2 RETURNING refused, refusals_reported_at",
            "UPDATE platform_login_throttle SET refused = 0, refusals_reported_at = $3 WHERE email = $1 AND client = $2",
        ),
    };
    let wide = backoff::ACCOUNT_WIDE_CLIENT;
    ensure_throttle_row(conn, table, email, wide).await?;
    let (refused, reported_at): (i32, Option<DateTime<Utc>>) = sqlx::query_as(bump).bind(email).bind(wide).fetch_one(&mut *conn).await?;
    if reported_at.is_some_and(|at| now - at < backoff::AUDIT_WINDOW) {
        return Ok(None);
    }
    sqlx::query(reset).bind(email).bind(wide).bind(now).execute(&mut *conn).await?;
    Ok(Some(refused))
}

/// (id, password hash, active) of the account a sign-in names, if any.
fn account(row: Option<&sqlx::postgres::PgRow>) -> Result<(Option<Uuid>, Option<String>, bool), sqlx::Error> {
    match row {
        Some(r) => Ok((Some(r.try_get("id")?), r.try_get("password_hash")?, r.try_get::<String, _>("status")? == "active")),
        None => Ok((None, None, false)),
    }
}

/// The password check between the two short transactions: no connection is held while
/// argon2 runs, and the number running at once is bounded by `verifier`.
async fn check_password(verifier: &Verifier, password_input: &str, stored: Option<String>) -> Result<bool, SignInError> {
    verifier.verify(password_input.to_owned(), stored).await.map_err(|Busy| SignInError::Busy)
}

/// Signs a school user in, in three steps: read the throttle and the account in a short
/// transaction; check the password with no connection held; record the outcome (backoff,
/// audit, pending parent links) in a second short transaction. Every outcome except a
/// malformed email or a busy server is written to the school's audit log (refusals by the
/// throttle as one aggregated entry per account per window).
pub async fn sign_in_school(
    pool: &PgPool,
    clock: &dyn Clock,
    verifier: &Verifier,
    tenant: &Tenant,
    attempt: Attempt<'_>,
) -> Result<SignedIn, SignInError> {
    if !tenant.can_sign_in() {
        return Err(SignInError::SchoolSuspended);
    }
    let Ok(email) = Email::parse(attempt.email) else {
        // Same cost as a real check, so malformed input is not a timing oracle either.
        check_password(verifier, attempt.password, None).await?;
        return Err(SignInError::Invalid);
    };
    let turn = verifier.db_turn().await.map_err(|Busy| SignInError::Busy)?;
    let now = clock.now();
    let mut tx = tenant_tx(pool, tenant.id).await?;
    if let Some(until) = school_throttled(&mut tx, &email, attempt.client, now, Kind::Password).await? {
        tx.commit().await?;
        return Err(SignInError::Throttled(until));
    }
    let user =
        sqlx::query("SELECT id, password_hash, status FROM users WHERE email = $1").bind(email.as_str()).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    drop(turn);
    let (user_id, stored_hash, active) = account(user.as_ref())?;

    let password_ok = check_password(verifier, attempt.password, stored_hash).await?;

    let _turn = verifier.db_turn_to_record().await;
    let now = clock.now();
    let mut tx = tenant_tx(pool, tenant.id).await?;
    if let (Some(user_id), true, true) = (user_id, password_ok, active) {
        if two_factor::state(&mut tx, Holder::School(tenant.id, user_id)).await?.enrolled {
            let actor = Actor::user(user_id, email.as_str());
            audit::append(&mut tx, now, &actor, crate::audit::actions::LOGIN_CODE_ASKED, email.as_str(), serde_json::json!({})).await?;
            tx.commit().await?;
            return Ok(SignedIn::NeedsCode { user_id, email });
        }
        let principal = school_signed_in(&mut tx, user_id, &email, attempt.client, now, "password").await?;
        tx.commit().await?;
        return Ok(SignedIn::Done(principal));
    }
    let failures = record_failure(&mut tx, ThrottleTable::School(tenant.id), email.as_str(), attempt.client, now, Kind::Password).await?;
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
        now,
        &actor,
        crate::audit::actions::LOGIN_FAILED,
        email.as_str(),
        serde_json::json!({ "reason": reason, "failures": failures }),
    )
    .await?;
    tx.commit().await?;
    Err(SignInError::Invalid)
}

/// Refuses an attempt (sign-in, code, re-authentication) while the backoff holds: counts it,
/// writes the aggregated audit entry when one is due, and says until when.
async fn school_throttled(
    tx: &mut TenantTx,
    email: &Email,
    client: &str,
    now: DateTime<Utc>,
    kind: Kind,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let table = ThrottleTable::School(tx.tenant());
    let throttles = read_throttles(tx, table, email.as_str(), client, kind).await?;
    let Some(until) = backoff::refused_until(&throttles, now) else {
        return Ok(None);
    };
    if let Some(refused) = record_refusal(tx, table, email.as_str(), now).await? {
        let details = serde_json::json!({ "refused": refused, "window_minutes": backoff::AUDIT_WINDOW.num_minutes() });
        audit::append(tx, now, &Actor::anonymous(email.as_str()), crate::audit::actions::LOGIN_THROTTLED, email.as_str(), details).await?;
    }
    Ok(Some(until))
}

/// The end of a school sign-in that passed: the address's backoff is cleared, family-portal
/// links made for this existing account take effect (its owner has proved who they are),
/// and the success is audited with the factor used.
async fn school_signed_in(
    tx: &mut TenantTx,
    user_id: Uuid,
    email: &Email,
    client: &str,
    now: DateTime<Utc>,
    factor: &str,
) -> Result<Principal, SignInError> {
    let table = ThrottleTable::School(tx.tenant());
    clear_throttles(tx, table, email, client).await?;
    let actor = Actor::user(user_id, email.as_str());
    super::invitations::apply_pending_parent_links(tx, user_id, ChangedBy { actor: &actor, at: now }).await?;
    let principal = load_school_principal(tx, user_id).await?.ok_or(SignInError::Invalid)?;
    let details = serde_json::json!({ "factor": factor });
    audit::append(tx, now, &actor, crate::audit::actions::LOGIN_SUCCEEDED, email.as_str(), details).await?;
    Ok(principal)
}

/// Whose code is being checked and from where (the address keys the backoff).
#[derive(Debug, Clone, Copy)]
pub struct CodeAttempt<'a> {
    pub user_id: Uuid,
    pub email: &'a Email,
    pub code: &'a str,
    pub client: &'a str,
}

/// The second step of a school sign-in: the code from the app or a recovery code. Wrong
/// codes count in the same backoff as wrong passwords (per account and address, and account
/// wide), so guessing codes is as slow as guessing passwords. Returns the principal and the
/// factor that passed.
pub async fn second_step_school(
    pool: &PgPool,
    clock: &dyn Clock,
    pii: &crate::audit::pii::KeyRing,
    verifier: &Verifier,
    tenant: &Tenant,
    attempt: CodeAttempt<'_>,
) -> Result<(Principal, Verified), SignInError> {
    if !tenant.can_sign_in() {
        return Err(SignInError::SchoolSuspended);
    }
    let _turn = verifier.db_turn().await.map_err(|Busy| SignInError::Busy)?;
    let now = clock.now();
    let email = attempt.email;
    let mut tx = tenant_tx(pool, tenant.id).await?;
    if let Some(until) = school_throttled(&mut tx, email, attempt.client, now, Kind::Code).await? {
        tx.commit().await?;
        return Err(SignInError::Throttled(until));
    }
    let active: Option<String> = sqlx::query_scalar("SELECT status FROM users WHERE id = $1 AND email = $2")
        .bind(attempt.user_id)
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let verified = match active.as_deref() {
        Some("active") => two_factor::verify(&mut tx, pii, Holder::School(tenant.id, attempt.user_id), attempt.code, now).await?,
        _ => Verified::Wrong,
    };
    if verified.ok() {
        let principal = school_signed_in(&mut tx, attempt.user_id, email, attempt.client, now, verified.factor()).await?;
        tx.commit().await?;
        return Ok((principal, verified));
    }
    let failures = record_failure(&mut tx, ThrottleTable::School(tenant.id), email.as_str(), attempt.client, now, Kind::Code).await?;
    let details = serde_json::json!({ "reason": "wrong_code", "failures": failures });
    audit::append(
        &mut tx,
        now,
        &Actor::user(attempt.user_id, email.as_str()),
        crate::audit::actions::LOGIN_FAILED,
        email.as_str(),
        details,
    )
    .await?;
    tx.commit().await?;
    Err(SignInError::Invalid)
}

/// The backoff key of re-authentication attempts (they come from a signed-in session, not
/// from a sign-in form, so they are counted apart from the person's sign-ins by address).
pub const REAUTH_CLIENT: &str = "reauthentication";

/// What a signed-in person gives to prove it is still them: their password, and a code when
/// they have a second factor (ignored otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    pub holder: Holder,
    pub email: &'a Email,
    pub password: &'a str,
    pub code: &'a str,
    /// The client address (keys the backoff).
    pub client: &'a str,
}

/// Asks a signed-in person to prove it again before a change to how they sign in (their
/// second factor): their password, and a code when they have a second factor. Throttled and
/// counted like a sign-in; a passing code is spent. Nothing is changed here: the caller makes
/// the change in its own transaction afterwards.
pub async fn reauthenticate(
    pool: &PgPool,
    clock: &dyn Clock,
    pii: &crate::audit::pii::KeyRing,
    verifier: &Verifier,
    proof: Proof<'_>,
) -> Result<(), SignInError> {
    let Proof { holder, email, password, code, client } = proof;
    let (table, user) = match holder {
        Holder::School(school, user) => (ThrottleTable::School(school), user),
        Holder::Platform(user) => (ThrottleTable::Platform, user),
    };
    let hash_sql = match table {
        ThrottleTable::School(_) => "SELECT password_hash FROM users WHERE id = $1 AND status = 'active'",
        ThrottleTable::Platform => "SELECT password_hash FROM platform_users WHERE id = $1 AND status = 'active'",
    };
    let now = clock.now();
    let stored: Option<String> = {
        let _turn = verifier.db_turn().await.map_err(|Busy| SignInError::Busy)?;
        let mut tx = SignInTx::begin(pool, holder).await?;
        if let Some(until) = throttled(&mut tx, email, client, now, Kind::Code).await? {
            tx.commit().await?;
            return Err(SignInError::Throttled(until));
        }
        let stored = sqlx::query_scalar::<_, Option<String>>(hash_sql).bind(user).fetch_optional(&mut *tx).await?.flatten();
        tx.commit().await?;
        stored
    };
    let password_ok = check_password(verifier, password, stored).await?;
    let _turn = verifier.db_turn_to_record().await;
    let now = clock.now();
    let mut tx = SignInTx::begin(pool, holder).await?;
    let passed = password_ok && {
        let state = two_factor::state(&mut tx, holder).await?;
        !state.enrolled || two_factor::verify(&mut tx, pii, holder, code, now).await?.ok()
    };
    if passed {
        clear_throttles(&mut tx, table, email, client).await?;
        tx.commit().await?;
        return Ok(());
    }
    let kind = if password_ok { Kind::Code } else { Kind::Password };
    let failures = record_failure(&mut tx, table, email.as_str(), client, now, kind).await?;
    match (table, &mut tx) {
        (ThrottleTable::School(_), SignInTx::School(tx)) => {
            let details = serde_json::json!({ "failures": failures });
            let actor = Actor::user(user, email.as_str());
            audit::append(tx, now, &actor, crate::audit::actions::TWO_FACTOR_CODE_FAILED, email.as_str(), details).await?;
        }
        _ => tracing::warn!(target: "kilele::audit", action = "platform.reauthentication.failed", failures),
    }
    tx.commit().await?;
    Err(SignInError::Invalid)
}

/// A transaction for someone's own sign-in data: their school's (under its row-level
/// security) for a school user, the platform's for platform staff.
pub enum SignInTx {
    School(TenantTx),
    Platform(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl SignInTx {
    /// The transaction `holder`'s rows live in.
    pub async fn begin(pool: &PgPool, holder: Holder) -> Result<Self, sqlx::Error> {
        Ok(match holder {
            Holder::School(school, _) => Self::School(tenant_tx(pool, school).await?),
            Holder::Platform(_) => Self::Platform(pool.begin().await?),
        })
    }

    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        self
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::School(tx) => tx.commit().await,
            Self::Platform(tx) => tx.commit().await,
        }
    }

    /// Records `action` by `actor` in the school's audit chain, or, for platform staff, in
    /// the platform's (`audit::platform`).
    pub async fn audit(
        &mut self,
        at: DateTime<Utc>,
        actor: &Actor,
        action: crate::audit::actions::Action,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        match self {
            Self::School(tx) => audit::append(tx, at, actor, action, subject, details).await?,
            Self::Platform(tx) => crate::audit::platform::append(tx, at, actor, action, subject, details).await?,
        };
        Ok(())
    }
}

impl std::ops::Deref for SignInTx {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        match self {
            Self::School(tx) => tx,
            Self::Platform(tx) => tx,
        }
    }
}

impl std::ops::DerefMut for SignInTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Self::School(tx) => tx,
            Self::Platform(tx) => tx,
        }
    }
}

/// Forgets an address's failures and the account's wrong codes once it has proved itself.
async fn clear_throttles(conn: &mut sqlx::PgConnection, table: ThrottleTable, email: &Email, client: &str) -> Result<(), sqlx::Error> {
    let sql = match table {
        ThrottleTable::School(_) => "DELETE FROM login_throttle WHERE email = $1 AND client IN ($2, $3)",
        ThrottleTable::Platform => "DELETE FROM platform_login_throttle WHERE email = $1 AND client IN ($2, $3)",
    };
    sqlx::query(sql).bind(email.as_str()).bind(client).bind(backoff::CODES_CLIENT).execute(conn).await?;
    Ok(())
}

/// [`school_throttled`] for either table (the platform's refusals go to the log).
async fn throttled(
    tx: &mut SignInTx,
    email: &Email,
    client: &str,
    now: DateTime<Utc>,
    kind: Kind,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    match tx {
        SignInTx::School(tx) => school_throttled(tx, email, client, now, kind).await,
        SignInTx::Platform(tx) => {
            let table = ThrottleTable::Platform;
            let throttles = read_throttles(tx, table, email.as_str(), client, kind).await?;
            let Some(until) = backoff::refused_until(&throttles, now) else {
                return Ok(None);
            };
            if let Some(refused) = record_refusal(tx, table, email.as_str(), now).await? {
                tracing::warn!(target: "kilele::audit", action = "platform.login.throttled", refused);
            }
            Ok(Some(until))
        }
    }
}

/// The second step of a platform sign-in (see [`second_step_school`]); outcomes go to the log.
pub async fn second_step_platform(
    pool: &PgPool,
    clock: &dyn Clock,
    pii: &crate::audit::pii::KeyRing,
    verifier: &Verifier,
    attempt: CodeAttempt<'_>,
) -> Result<(Principal, Verified), SignInError> {
    let _turn = verifier.db_turn().await.map_err(|Busy| SignInError::Busy)?;
    let now = clock.now();
    let email = attempt.email;
    let table = ThrottleTable::Platform;
    let holder = Holder::Platform(attempt.user_id);
    let mut tx = SignInTx::begin(pool, holder).await?;
    if let Some(until) = throttled(&mut tx, email, attempt.client, now, Kind::Code).await? {
        tx.commit().await?;
        return Err(SignInError::Throttled(until));
    }
    let active: Option<String> = sqlx::query_scalar("SELECT status FROM platform_users WHERE id = $1 AND email = $2")
        .bind(attempt.user_id)
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let verified = match active.as_deref() {
        Some("active") => two_factor::verify(&mut tx, pii, holder, attempt.code, now).await?,
        _ => Verified::Wrong,
    };
    if verified.ok() {
        clear_throttles(&mut tx, table, email, attempt.client).await?;
        tx.commit().await?;
        tracing::info!(target: "kilele::audit", action = "platform.login.succeeded", user = %attempt.user_id, factor = verified.factor());
        let principal = load_platform_principal(pool, attempt.user_id).await?.ok_or(SignInError::Invalid)?;
        return Ok((principal, verified));
    }
    let failures = record_failure(&mut tx, table, email.as_str(), attempt.client, now, Kind::Code).await?;
    tx.commit().await?;
    tracing::warn!(target: "kilele::audit", action = "platform.login.failed", reason = "wrong_code", failures);
    Err(SignInError::Invalid)
}

/// Sets `holder`'s new password (already hashed) and ends their sessions signed in before
/// `at` (the caller renews the current one); audited as `user.password_changed` in the
/// school's chain, or the platform's. Prove who they are first ([`reauthenticate`]).
pub async fn change_password(pool: &PgPool, holder: Holder, email: &Email, new_hash: &str, at: DateTime<Utc>) -> Result<(), SignInError> {
    // As stored (microseconds): the renewed session compares equal to it.
    let at = crate::audit::normalise_time(at);
    let mut tx = SignInTx::begin(pool, holder).await?;
    let actor = match holder {
        Holder::School(_, user) | Holder::Platform(user) => Actor::user(user, email.as_str()),
    };
    let changed = match holder {
        Holder::School(_, user) => {
            sqlx::query("UPDATE users SET password_hash = $2, sessions_valid_from = $3 WHERE id = $1 AND status = 'active'")
                .bind(user)
                .bind(new_hash)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1
        }
        Holder::Platform(user) => {
            sqlx::query_scalar("SELECT set_platform_user_password($1, $2, $3)")
                .bind(user)
                .bind(new_hash)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    if !changed {
        return Err(SignInError::Invalid);
    }
    tx.audit(at, &actor, crate::audit::actions::USER_PASSWORD_CHANGED, email.as_str(), serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Signs platform staff in (owner console). Same steps and rules, platform-wide throttle
/// table; outcomes go to the log (there is no platform audit chain yet).
pub async fn sign_in_platform(
    pool: &PgPool,
    clock: &dyn Clock,
    verifier: &Verifier,
    attempt: Attempt<'_>,
) -> Result<SignedIn, SignInError> {
    let Ok(email) = Email::parse(attempt.email) else {
        check_password(verifier, attempt.password, None).await?;
        return Err(SignInError::Invalid);
    };
    let table = ThrottleTable::Platform;
    let turn = verifier.db_turn().await.map_err(|Busy| SignInError::Busy)?;
    let now = clock.now();
    let mut tx = pool.begin().await?;
    let throttles = read_throttles(&mut tx, table, email.as_str(), attempt.client, Kind::Password).await?;
    if let Some(until) = backoff::refused_until(&throttles, now) {
        if let Some(refused) = record_refusal(&mut tx, table, email.as_str(), now).await? {
            tracing::warn!(target: "kilele::audit", action = "platform.login.throttled", refused);
        }
        tx.commit().await?;
        return Err(SignInError::Throttled(until));
    }
    let user = sqlx::query("SELECT id, password_hash, status FROM platform_users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    drop(turn);
    let (user_id, stored_hash, active) = account(user.as_ref())?;

    let password_ok = check_password(verifier, attempt.password, stored_hash).await?;

    let _turn = verifier.db_turn_to_record().await;
    let now = clock.now();
    let mut tx = pool.begin().await?;
    if let (Some(user_id), true, true) = (user_id, password_ok, active) {
        if two_factor::state(&mut tx, Holder::Platform(user_id)).await?.enrolled {
            tx.commit().await?;
            tracing::info!(target: "kilele::audit", action = "platform.login.code_asked", user = %user_id);
            return Ok(SignedIn::NeedsCode { user_id, email });
        }
        sqlx::query("DELETE FROM platform_login_throttle WHERE email = $1 AND client = $2")
            .bind(email.as_str())
            .bind(attempt.client)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(target: "kilele::audit", action = "platform.login.succeeded", user = %user_id, factor = "password");
        return load_platform_principal(pool, user_id).await?.ok_or(SignInError::Invalid).map(SignedIn::Done);
    }
    let failures = record_failure(&mut tx, table, email.as_str(), attempt.client, now, Kind::Password).await?;
    tx.commit().await?;
    tracing::warn!(target: "kilele::audit", action = "platform.login.failed", failures);
    Err(SignInError::Invalid)
}

/// Forgets throttle rows whose last failure is older than [`backoff::FORGET_AFTER`] and
/// which lock nothing any more, in every school and on the platform. Run by the worker.
/// Returns how many rows went.
pub async fn purge_throttles(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let cutoff = now - backoff::FORGET_AFTER;
    let mut purged = sqlx::query(
        "DELETE FROM platform_login_throttle
          WHERE COALESCE(last_failure_at, refusals_reported_at, '-infinity') < $1
            AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(cutoff)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    for tenant in crate::tenancy::store::list_all(pool).await? {
        let mut tx = tenant_tx(pool, tenant.id).await?;
        purged += sqlx::query(
            "DELETE FROM login_throttle
              WHERE COALESCE(last_failure_at, refusals_reported_at, '-infinity') < $1
                AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(cutoff)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
    }
    Ok(purged)
}

/// A school user's id by email (benchmarks and tools address the demo accounts by email).
pub async fn find_user_id(pool: &PgPool, school: TenantId, email: &str) -> Result<Uuid, sqlx::Error> {
    let mut tx = crate::db::tenant_tx(pool, school).await?;
    let id = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email.to_lowercase()).fetch_one(&mut *tx).await?;
    tx.rollback().await?;
    Ok(id)
}
