//! The server boundary as a type. Every school server function starts with
//! [`Scope::school`] and ends with [`Scope::commit`]:
//!
//! 1. the signed-in principal (none → 401),
//! 2. of the school this request is for, holding the permission (otherwise 403),
//! 3. a transaction scoped to that school ([`TenantTx`] knows its tenant, so the domain
//!    takes the school from it),
//! 4. who is changing things, and when (every write the domain audits carries it),
//! 5. committed in one place; dropping a scope without committing rolls everything back,
//!    so an early `?` never keeps half a change.
//!
//! Errors leave as [`AppError`], mapped in `errors.rs`.

use crate::ctx::{request_ctx, Deps};
use crate::errors::AppError;
use kilele::audit::Actor;
use kilele::db::TenantTx;
use kilele::identity::store::ChangedBy;
use kilele::identity::{Permission, Principal};
use kilele::tenancy::Tenant;
use leptos::prelude::use_context;

/// Who is making a change and when.
pub struct Change {
    pub actor: Actor,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Change {
    pub fn by(&self) -> ChangedBy<'_> {
        ChangedBy { actor: &self.actor, at: self.at }
    }
}

/// A school user's unit of work (see the module docs). Fields are public so that a call can
/// borrow the transaction mutably and the rest immutably at once:
/// `db::enrol(&mut s.tx, &s.deps.pii, …, s.change.by())`.
pub struct Scope {
    pub deps: Deps,
    pub me: Principal,
    pub tenant: Tenant,
    pub tx: TenantTx,
    pub change: Change,
}

/// The signed-in school user holding `permission`, their school and the dependencies;
/// checked before any connection is taken.
fn school_principal(permissions: &[Permission]) -> Result<(Deps, Principal, Tenant), AppError> {
    let deps = use_context::<Deps>().ok_or(AppError::Internal)?;
    let ctx = request_ctx();
    let principal = ctx.principal.ok_or(AppError::Unauthenticated)?;
    let tenant = ctx.tenant.ok_or(AppError::Forbidden)?;
    if principal.tenant_id != Some(tenant.id) || !permissions.iter().any(|p| principal.can(*p)) {
        return Err(AppError::Forbidden);
    }
    Ok((deps, principal, tenant))
}

impl Scope {
    /// Opens the unit of work of a signed-in user of this request's school who holds
    /// `permission`.
    pub async fn school(permission: Permission) -> Result<Self, AppError> {
        Self::school_any(&[permission]).await
    }

    /// [`Scope::school`] for a user holding any of `permissions` (a sheet is read by its
    /// teacher and by approvers); the domain then asks which one they hold.
    pub async fn school_any(permissions: &[Permission]) -> Result<Self, AppError> {
        let (deps, me, tenant) = school_principal(permissions)?;
        let tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
        let change = Change { actor: Actor::user(me.user_id, &me.email), at: deps.clock.now() };
        Ok(Self { deps, me, tenant, tx, change })
    }

    /// [`Scope::school_any`] for the finance pages: also needs the school's plan to include
    /// finance (checked before a connection is taken, like the permission).
    pub async fn finance(permissions: &[Permission]) -> Result<Self, AppError> {
        let (deps, me, tenant) = school_principal(permissions)?;
        if !tenant.has_feature(kilele::tenancy::Feature::Finance) {
            return Err(AppError::Forbidden);
        }
        let tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
        let change = Change { actor: Actor::user(me.user_id, &me.email), at: deps.clock.now() };
        Ok(Self { deps, me, tenant, tx, change })
    }

    /// A form that makes a document, sent with its `once` token (see `kilele::db::once`):
    /// `Ok(None)` the first time (make it, then [`Scope::done`]); `Ok(Some(result))` when this
    /// form was sent before, answered with what the first submission made.
    /// `fields`: what the form said (a repeat must say the same).
    pub async fn once(&mut self, token: &str, action: &str, fields: &[&str]) -> Result<Option<Option<uuid::Uuid>>, AppError> {
        use kilele::db::once::{claim, fingerprint, parse_token, Submission};
        let token = parse_token(token)?;
        match claim(&mut self.tx, token, action, self.me.user_id, &fingerprint(fields), self.change.at).await? {
            Submission::First => Ok(None),
            Submission::Repeat(result) => Ok(Some(result)),
        }
    }

    /// Records what a first submission made (see [`Scope::once`]).
    pub async fn done(&mut self, token: &str, result: uuid::Uuid) -> Result<(), AppError> {
        let token = kilele::db::once::parse_token(token)?;
        kilele::db::once::done(&mut self.tx, token, result).await?;
        Ok(())
    }

    /// Commits the unit of work and answers `value`.
    pub async fn commit<T>(self, value: T) -> Result<T, AppError> {
        self.tx.commit().await?;
        Ok(value)
    }

    /// Commits a change of who someone is (an account's status or roles, the school's
    /// settings) and drops the school's cached principals at once: the notification of the
    /// change reaches every process too, but the next page of this one must not race it.
    pub async fn commit_people<T>(self, value: T) -> Result<T, AppError> {
        let (principals, school) = (self.deps.principals.clone(), self.tenant.id);
        self.tx.commit().await?;
        principals.forget(&school.0.to_string());
        Ok(value)
    }

    /// The student `student` names, when the signed-in family member may read them (their
    /// child, or themselves): another's, or another school's, is not found.
    pub async fn portal_student(&mut self, student: &str) -> Result<uuid::Uuid, AppError> {
        let student = super::parse_uuid("student", student)?;
        if !kilele::results::db::may_read(&mut self.tx, super::results::portal_reader(&self.me), student).await? {
            return Err(AppError::NotFound);
        }
        Ok(student)
    }

    /// Answers `value` from a unit of work that only read. Nothing is committed: the
    /// transaction is rolled back, and sqlx sends that rollback together with the check it
    /// makes when the connection goes back to the pool, so a page's read costs one round
    /// trip less than a commit. Anything written here would be undone: writers commit.
    pub fn end_read<T>(self, value: T) -> Result<T, AppError> {
        drop(self.tx);
        Ok(value)
    }
}

/// Platform staff (the owner console) holding `permission`. Platform reads go through the
/// global registry, not a school's transaction.
pub struct Platform {
    pub deps: Deps,
    pub me: Principal,
}

impl Platform {
    pub fn staff(permission: Permission) -> Result<Self, AppError> {
        let deps = use_context::<Deps>().ok_or(AppError::Internal)?;
        let me = request_ctx().principal.ok_or(AppError::Unauthenticated)?;
        if !me.is_platform() || !me.can(permission) {
            return Err(AppError::Forbidden);
        }
        Ok(Self { deps, me })
    }

    /// Who writes the audit entries of this call.
    pub fn actor(&self) -> Actor {
        Actor::user(self.me.user_id, &self.me.email)
    }
}
