//! Invitations by link: a new staff member or parent sets their own password. The token is
//! random (256 bits), shown once (through the inviter's session, never in a URL of ours),
//! stored only as a SHA-256 hash, single use, and expires after 48 hours.
//!
//! A token is only ever issued for an account this module has just created (or created
//! earlier and never used): an invitation can never hand someone a way into an account that
//! already exists. A guardian whose email already has an account gets a *pending* link
//! instead, which takes effect when that person signs in with their own password.

use super::store::{self as users, ChangedBy};
use super::{check_new_password, password, Email, Role, StaffMember};
use crate::audit;
use crate::db::TenantTx;
use crate::{DomainError, ValidationError};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const VALID_FOR: Duration = Duration::hours(48);

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates an invitation for an existing user; returns the token for the link.
pub async fn invite(tx: &mut TenantTx, user: Uuid, by: ChangedBy<'_>) -> Result<String, DomainError> {
    let tenant = tx.tenant();
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    // A new invitation replaces any earlier one that was not used.
    sqlx::query("DELETE FROM invitations WHERE user_id = $1 AND accepted_at IS NULL").bind(user).execute(&mut **tx).await?;
    sqlx::query("INSERT INTO invitations (tenant_id, user_id, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(tenant.0)
        .bind(user)
        .bind(token_hash(&token))
        .bind(by.actor.id)
        .bind(by.at + VALID_FOR)
        .execute(&mut **tx)
        .await?;
    audit::append(tx, by.at, by.actor, crate::audit::actions::USER_INVITED, &user.to_string(), serde_json::json!({})).await?;
    Ok(token)
}

/// Adds a staff member (no password yet) with `roles`, and invites them.
pub async fn invite_staff(
    tx: &mut TenantTx,
    email: &str,
    display_name: &str,
    roles: &[Role],
    by: ChangedBy<'_>,
) -> Result<(Uuid, String), DomainError> {
    let email = Email::parse(email)?;
    let name = display_name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::new("name", "error-name-required").into());
    }
    if roles.is_empty() || roles.iter().any(|r| !matches!(r, Role::SchoolAdmin | Role::Teacher | Role::Accountant)) {
        return Err(ValidationError::new("role", "error-role-invalid").into());
    }
    crate::db::savepoint(tx).await?;
    let created = users::create_school_user(tx, &email, &name, None, roles, by).await.map_err(crate::db::map_constraint);
    let user = crate::db::end_savepoint(tx, created).await?;
    let token = invite(tx, user, by).await?;
    Ok((user, token))
}

/// Accepts an invitation: sets the password, once. Refused (same answer) for an unknown,
/// used or expired token.
pub async fn accept(tx: &mut TenantTx, token: &str, new_password: &str, now: DateTime<Utc>) -> Result<Uuid, DomainError> {
    check_new_password(new_password)?;
    let row: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT id, user_id FROM invitations WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > $2 FOR UPDATE")
            .bind(token_hash(token.trim()))
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
    let (invitation, user) = row.ok_or_else(|| ValidationError::new("token", "error-invitation-invalid"))?;
    let hash = password::hash(new_password)?;
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1 AND status = 'active'").bind(user).bind(hash).execute(&mut **tx).await?;
    sqlx::query("UPDATE invitations SET accepted_at = $2 WHERE id = $1").bind(invitation).bind(now).execute(&mut **tx).await?;
    let actor = audit::Actor::user(user, "invitation");
    audit::append(tx, now, &actor, crate::audit::actions::USER_INVITATION_ACCEPTED, &user.to_string(), serde_json::json!({})).await?;
    Ok(user)
}

/// Deactivates or reactivates a school user. Deactivated users keep their history; their
/// sessions end on their next request.
pub async fn set_active(tx: &mut TenantTx, user: Uuid, active: bool, by: ChangedBy<'_>) -> Result<(), DomainError> {
    if by.actor.id == Some(user) && !active {
        return Err(ValidationError::new("user", "error-cannot-deactivate-self").into());
    }
    let changed = sqlx::query("UPDATE users SET status = $2 WHERE id = $1 AND status <> $2")
        .bind(user)
        .bind(if active { "active" } else { "deactivated" })
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)").bind(user).fetch_one(&mut **tx).await?;
        return if exists { Ok(()) } else { Err(DomainError::NotFound) };
    }
    let action = if active { crate::audit::actions::USER_REACTIVATED } else { crate::audit::actions::USER_DEACTIVATED };
    audit::append(tx, by.at, by.actor, action, &user.to_string(), serde_json::json!({})).await?;
    Ok(())
}

pub async fn staff(tx: &mut TenantTx) -> Result<Vec<StaffMember>, sqlx::Error> {
    // (id, name, email, status, pending, roles, two-factor)
    type StaffRow = (Uuid, String, String, String, bool, Vec<String>, bool);
    let rows: Vec<StaffRow> = sqlx::query_as(
        "SELECT u.id, u.display_name, u.email, u.status, u.password_hash IS NULL,
                array_agg(r.code ORDER BY r.code),
                EXISTS (SELECT 1 FROM user_second_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
           FROM users u
           JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
           JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
          WHERE r.code IN ('school_admin', 'teacher', 'accountant')
          GROUP BY u.tenant_id, u.id ORDER BY u.display_name",
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email, status, pending, roles, two_factor)| StaffMember {
            id,
            name,
            email,
            roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
            active: status == "active",
            pending,
            two_factor,
        })
        .collect())
}

/// What inviting a guardian to the family portal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardianInvitation {
    /// A new parent account was made (or one made so and never used): the one-time token
    /// for its link, and the address to send it to.
    Invited { user: Uuid, token: String, email: String },
    /// The email already has an account: no token; the parent role and the link to the
    /// children follow when that person next signs in with their own password.
    PendingSignIn { user: Uuid },
    /// The guardian already has a family-portal account that is in use.
    AlreadyOpen,
}

/// Opens the family portal for a guardian: a new parent account and an invitation when the
/// email is new, otherwise a pending link for the existing account (see [`GuardianInvitation`]).
pub async fn invite_guardian(tx: &mut TenantTx, guardian: Uuid, by: ChangedBy<'_>) -> Result<GuardianInvitation, DomainError> {
    let tenant = tx.tenant();
    let (name, email, linked): (String, Option<String>, Option<Uuid>) =
        sqlx::query_as("SELECT full_name, email, user_id FROM guardians WHERE id = $1 FOR UPDATE")
            .bind(guardian)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(DomainError::NotFound)?;
    let email =
        Email::parse(email.as_deref().unwrap_or_default()).map_err(|_| ValidationError::new("email", "error-guardian-email-required"))?;
    if let Some(user) = linked {
        // Linked before: a new link only for a parent-only account nobody has used yet
        // (this flow made it); anything else is someone's own account.
        let (has_password, other_roles): (bool, bool) = sqlx::query_as(
            "SELECT u.password_hash IS NOT NULL,
                    EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
                             WHERE ur.user_id = u.id AND r.code <> 'parent')
               FROM users u WHERE u.id = $1",
        )
        .bind(user)
        .fetch_one(&mut **tx)
        .await?;
        if has_password || other_roles {
            return Ok(GuardianInvitation::AlreadyOpen);
        }
        let token = invite(tx, user, by).await?;
        return Ok(GuardianInvitation::Invited { user, token, email: email.as_str().to_owned() });
    }
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email.as_str()).fetch_optional(&mut **tx).await?;
    if let Some(user) = existing {
        sqlx::query(
            "INSERT INTO pending_parent_links (tenant_id, guardian_id, user_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, guardian_id) DO UPDATE SET user_id = EXCLUDED.user_id, created_by = EXCLUDED.created_by,
                    created_at = EXCLUDED.created_at",
        )
        .bind(tenant.0)
        .bind(guardian)
        .bind(user)
        .bind(by.actor.id)
        .bind(by.at)
        .execute(&mut **tx)
        .await?;
        audit::append(
            tx,
            by.at,
            by.actor,
            crate::audit::actions::GUARDIAN_PORTAL_PENDING,
            &guardian.to_string(),
            serde_json::json!({ "user": user }),
        )
        .await?;
        return Ok(GuardianInvitation::PendingSignIn { user });
    }
    let user = users::create_school_user(tx, &email, &name, None, &[Role::Parent], by).await?;
    sqlx::query("UPDATE guardians SET user_id = $2 WHERE id = $1").bind(guardian).bind(user).execute(&mut **tx).await?;
    audit::append(
        tx,
        by.at,
        by.actor,
        crate::audit::actions::GUARDIAN_PORTAL_OPENED,
        &guardian.to_string(),
        serde_json::json!({ "user": user }),
    )
    .await?;
    let token = invite(tx, user, by).await?;
    Ok(GuardianInvitation::Invited { user, token, email: email.as_str().to_owned() })
}

/// [`invite_guardian`] for a guardian of `student` (not found when they are not linked).
pub async fn invite_guardian_of_student(
    tx: &mut TenantTx,
    student: Uuid,
    guardian: Uuid,
    by: ChangedBy<'_>,
) -> Result<GuardianInvitation, DomainError> {
    let linked: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM student_guardians WHERE student_id = $1 AND guardian_id = $2)")
        .bind(student)
        .bind(guardian)
        .fetch_one(&mut **tx)
        .await?;
    if !linked {
        return Err(DomainError::NotFound);
    }
    invite_guardian(tx, guardian, by).await
}

/// Applies the family-portal links waiting for `user` (called when they have just signed
/// in with their own password): links each guardian still unlinked and grants the parent
/// role. Returns how many guardians were linked.
pub async fn apply_pending_parent_links(tx: &mut TenantTx, user: Uuid, by: ChangedBy<'_>) -> Result<usize, sqlx::Error> {
    let guardians: Vec<Uuid> = sqlx::query_scalar("DELETE FROM pending_parent_links WHERE user_id = $1 RETURNING guardian_id")
        .bind(user)
        .fetch_all(&mut **tx)
        .await?;
    let mut linked = 0;
    for guardian in guardians {
        let done = sqlx::query("UPDATE guardians SET user_id = $2 WHERE id = $1 AND user_id IS NULL")
            .bind(guardian)
            .bind(user)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if done == 1 {
            users::grant_role(tx, user, Role::Parent, by).await?;
            let details = serde_json::json!({ "user": user, "on": "sign-in" });
            audit::append(tx, by.at, by.actor, crate::audit::actions::GUARDIAN_PORTAL_OPENED, &guardian.to_string(), details).await?;
            linked += 1;
        }
    }
    Ok(linked)
}
