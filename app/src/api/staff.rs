//! Staff (invite by link, deactivate) and accepting an invitation.

use crate::errors::AppError;
use kilele::identity::StaffMember;
use leptos::prelude::*;

#[server(endpoint = "admin/staff")]
pub async fn load_staff() -> Result<Vec<StaffMember>, AppError> {
    use kilele::identity::Permission;
    let (deps, _, tenant) = super::guard::school(Permission::SchoolUsersManage)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let staff = kilele::identity::invitations::staff(&mut tx).await?;
    tx.commit().await?;
    Ok(staff)
}

/// Adds a staff member and sends the admin back to the staff page with the one-time link.
#[server(endpoint = "admin/staff/invite")]
pub async fn invite_staff_member(name: String, email: String, role: String) -> Result<(), AppError> {
    use kilele::identity::{Permission, Role};
    let (deps, me, tenant) = super::guard::school(Permission::SchoolUsersManage)?;
    let role = Role::parse(&role).ok_or_else(|| AppError::Invalid { field: "role".into(), message: "error-role-invalid".into() })?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    let (_, token) = kilele::identity::invitations::invite_staff(&mut tx, tenant.id, &email, &name, &[role], by).await?;
    queue_invitation_email(&mut tx, &deps, &tenant, email.trim(), &token).await?;
    tx.commit().await?;
    leptos_axum::redirect(&format!("/admin/staff?school={}&invite={token}", tenant.slug));
    Ok(())
}

/// Queues the invitation email (sent by the worker) in the same transaction as the
/// invitation: both happen or neither.
#[cfg(feature = "ssr")]
async fn queue_invitation_email(
    tx: &mut kilele::db::TenantTx,
    deps: &crate::ctx::Deps,
    tenant: &kilele::tenancy::Tenant,
    to: &str,
    token: &str,
) -> Result<(), AppError> {
    let link = format!("{}/invite?school={}&token={token}", crate::ctx::request_ctx().origin, tenant.slug);
    let message = kilele::notifications::queue::InvitationEmail { to: to.to_lowercase(), school: tenant.name.clone(), link };
    kilele::notifications::queue::invitation_email(tx, tenant.id, &deps.pii, &message).await?;
    Ok(())
}

/// Deactivates (keeps history) or reactivates a staff member.
#[server(endpoint = "admin/staff/active")]
pub async fn set_staff_active(user_id: String, active: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::SchoolUsersManage)?;
    let user = super::parse_uuid("user", &user_id)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::identity::invitations::set_active(&mut tx, tenant.id, user, active == "true", by).await?;
    tx.commit().await?;
    Ok(())
}

/// Public: chooses a password with an invitation link, then goes to sign in.
#[server(endpoint = "invite/accept")]
pub async fn accept_invitation(school: String, token: String, password: String, password_again: String) -> Result<(), AppError> {
    let deps = use_context::<crate::ctx::Deps>().ok_or(AppError::Internal)?;
    let invalid = || AppError::Invalid { field: "token".into(), message: "error-invitation-invalid".into() };
    if password != password_again {
        return Err(AppError::Invalid { field: "password_again".into(), message: "error-passwords-differ".into() });
    }
    let slug = kilele::tenancy::TenantSlug::parse(&school).map_err(|_| invalid())?;
    let tenant = kilele::tenancy::store::find_by_slug(&deps.pool, &slug).await?.filter(|t| t.can_sign_in()).ok_or_else(invalid)?;
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    kilele::identity::invitations::accept(&mut tx, tenant.id, &token, &password, deps.clock.now()).await?;
    tx.commit().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Opens the family portal for a guardian (by email invitation link) and goes back to the
/// student's page, showing the link to send.
#[server(endpoint = "admin/students/invite-guardian")]
pub async fn invite_guardian(student: String, guardian: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let (deps, me, tenant) = super::guard::school(Permission::StudentsManage)?;
    let student = super::parse_uuid("student", &student)?;
    let guardian = super::parse_uuid("guardian", &guardian)?;
    let change = super::changed_by(&deps, &me);
    let by = change.by();
    let mut tx = kilele::db::tenant_tx(&deps.pool, tenant.id).await?;
    // Only a guardian of this student, in this school.
    let Some(email) = kilele::academic::students::db::linked_guardian_email(&mut tx, student, guardian).await? else {
        return Err(AppError::NotFound);
    };
    let token = kilele::identity::invitations::invite_guardian(&mut tx, tenant.id, guardian, by).await?;
    if let Some(token) = &token {
        queue_invitation_email(&mut tx, &deps, &tenant, email.as_deref().unwrap_or_default(), token).await?;
    }
    tx.commit().await?;
    match token {
        Some(token) => leptos_axum::redirect(&format!("/admin/students/{student}?school={}&invite={token}", tenant.slug)),
        None => leptos_axum::redirect(&format!("/admin/students/{student}?portal=opened")),
    }
    Ok(())
}
