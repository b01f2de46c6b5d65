//! Staff (invite by link, deactivate) and accepting an invitation.

use crate::errors::AppError;
use kilele::identity::StaffMember;
use leptos::prelude::*;

#[server(endpoint = "admin/staff")]
pub async fn load_staff() -> Result<Vec<StaffMember>, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    let staff = kilele::identity::invitations::staff(&mut s.tx).await?;
    s.end_read(staff)
}

/// Adds a staff member and sends the admin back to the staff page, which shows the one-time
/// link once (through the session: the token never travels in a URL of ours).
#[server(endpoint = "admin/staff/invite")]
pub async fn invite_staff_member(name: String, email: String, role: String) -> Result<(), AppError> {
    use kilele::identity::{Permission, Role};
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    let role = Role::parse(&role).ok_or_else(|| AppError::Invalid { field: "role".into(), message: "error-role-invalid".into() })?;
    let (_, token) = kilele::identity::invitations::invite_staff(&mut s.tx, &email, &name, &[role], s.change.by()).await?;
    let link = invitation_link(&s.tenant.slug, &token);
    queue_invitation_email(&mut s.tx, &s.deps, &s.tenant.name, email.trim(), &link).await?;
    s.commit(()).await?;
    show_once("/admin/staff", crate::ctx::Notice::INVITE_LINK, Some(link));
    leptos_axum::redirect("/admin/staff");
    Ok(())
}

/// The link an invited person opens to choose a password.
#[cfg(feature = "ssr")]
pub(crate) fn invitation_link(school: &kilele::tenancy::TenantSlug, token: &str) -> String {
    format!("{}/invite?school={school}&token={token}", crate::ctx::request_ctx().origin)
}

/// Leaves a one-time notice for `path` (shown on its next GET, then gone).
#[cfg(feature = "ssr")]
pub(crate) fn show_once(path: &str, kind: &str, link: Option<String>) {
    if !crate::ctx::set_notice(crate::ctx::Notice { path: path.to_owned(), kind: kind.to_owned(), link }) {
        tracing::warn!("no notice slot: the one-time notice is not shown");
    }
}

/// Queues the invitation email (sent by the worker) in the same transaction as the
/// invitation: both happen or neither.
#[cfg(feature = "ssr")]
pub(crate) async fn queue_invitation_email(
    tx: &mut kilele::db::TenantTx,
    deps: &crate::ctx::Deps,
    school: &str,
    to: &str,
    link: &str,
) -> Result<(), AppError> {
    let link = link.to_owned();
    let message = kilele::notifications::InvitationEmail { to: to.to_lowercase(), school: school.to_owned(), link };
    kilele::jobs::enqueue(tx, &deps.pii, &kilele::jobs::Job::InvitationEmail(message)).await?;
    Ok(())
}

/// Deactivates (keeps history) or reactivates a staff member.
#[server(endpoint = "admin/staff/active")]
pub async fn set_staff_active(user_id: String, active: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    let user = super::parse_uuid("user", &user_id)?;
    kilele::identity::invitations::set_active(&mut s.tx, user, active == "true", s.change.by()).await?;
    s.commit_people(()).await
}

/// Removes a staff member's second factor (a lost phone); they set it up again at their
/// next sign-in. Audited.
///
/// The admin proves who they are first (their password, and their code): a session left
/// open must not be able to strip a colleague's second factor and sign in as them.
#[server(endpoint = "admin/staff/two-factor-reset")]
pub async fn reset_staff_two_factor(user_id: String, password: String, code: String) -> Result<(), AppError> {
    use kilele::identity::two_factor;
    use kilele::identity::Permission;
    // Who, and whether there is anything to reset, before any password is hashed: a teacher,
    // an unknown or another school's person is refused at once.
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    let user = super::parse_uuid("user", &user_id)?;
    two_factor::may_reset(&mut s.tx, user, s.change.by()).await?;
    drop(s);
    super::account::own::prove(&password, &code).await?;
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    two_factor::reset(&mut s.tx, user, s.change.by()).await?;
    s.commit_people(()).await
}

/// Whether the school asks its teachers for a second factor (the staff page shows it).
#[server(endpoint = "admin/staff/two-factor-policy")]
pub async fn load_two_factor_for_teachers() -> Result<bool, AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    let on = kilele::identity::two_factor::for_teachers(&mut s.tx).await?;
    s.end_read(on)
}

/// Whether teachers need a second factor too (admins and accountants always do).
#[server(endpoint = "admin/staff/two-factor-teachers")]
pub async fn set_two_factor_for_teachers(on: String) -> Result<(), AppError> {
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolSettingsManage).await?;
    kilele::identity::two_factor::set_for_teachers(&mut s.tx, on == "true", s.change.by()).await?;
    s.commit_people(()).await
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
    kilele::identity::invitations::accept(&mut tx, &token, &password, deps.clock.now()).await?;
    tx.commit().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Opens the family portal for a guardian and goes back to the student's page. A new
/// account gets an invitation (emailed, and shown once to the admin); an email that already
/// has an account gets no link at all: the portal opens when its owner next signs in with
/// their own password. Needs the users permission: it creates accounts.
#[server(endpoint = "admin/students/invite-guardian")]
pub async fn invite_guardian(student: String, guardian: String) -> Result<(), AppError> {
    use kilele::identity::invitations::GuardianInvitation;
    use kilele::identity::Permission;
    let mut s = super::scope::Scope::school(Permission::SchoolUsersManage).await?;
    let student = super::parse_uuid("student", &student)?;
    let guardian = super::parse_uuid("guardian", &guardian)?;
    let outcome = kilele::identity::invitations::invite_guardian_of_student(&mut s.tx, student, guardian, s.change.by()).await?;
    let page = format!("/admin/students/{student}");
    let (kind, link) = match &outcome {
        GuardianInvitation::Invited { token, email, .. } => {
            let link = invitation_link(&s.tenant.slug, token);
            queue_invitation_email(&mut s.tx, &s.deps, &s.tenant.name, email, &link).await?;
            (crate::ctx::Notice::INVITE_LINK, Some(link))
        }
        GuardianInvitation::PendingSignIn { .. } => (crate::ctx::Notice::PORTAL_PENDING, None),
        GuardianInvitation::AlreadyOpen => (crate::ctx::Notice::PORTAL_OPEN, None),
    };
    s.commit(()).await?;
    show_once(&page, kind, link);
    leptos_axum::redirect(&page);
    Ok(())
}
