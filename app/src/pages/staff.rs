use super::{admin::AdminTabs, layout::Shell, ErrorBox};
use crate::api::staff::{
    load_staff, load_two_factor_for_teachers, AcceptInvitation, InviteStaffMember, ResetStaffTwoFactor, SetStaffActive,
    SetTwoFactorForTeachers,
};
use crate::ctx::request_ctx;
use crate::islands::SubmitOnce;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// School admin: staff, invited by link; deactivated staff keep their history.
#[component]
pub fn StaffPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let t2 = ctx.clone();
    // Shown once, right after inviting (from the session, never from the URL).
    let link = ctx.notice.as_ref().filter(|n| n.kind == crate::ctx::Notice::INVITE_LINK).and_then(|n| n.link.clone());
    view! {
        <Shell title=ctx.t("staff-title")>
            <AdminTabs/>
            <super::FormErrors/>
            {link.map(|l| view! {
                <section class="card success" data-testid="invite-link">
                    <p>{t.t("staff-invite-link-help")}</p>
                    <p><code class="select-all">{l}</code></p>
                </section>
            })}
            <Await future=load_staff() let:staff>
                {match staff.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) => {
                        // A lost phone: the admin removes the member's second factor, after
                        // proving who they are themselves.
                        let with_factor: Vec<_> = list.iter().filter(|m| m.two_factor).map(|m| (m.id.to_string(), m.name.clone())).collect();
                        let reset = (!with_factor.is_empty()).then(|| {
                            let options = with_factor.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view();
                            view! {
                                <section class="card" data-testid="two-factor-reset">
                                    <h2>{t.t("staff-two-factor-reset-title")}</h2>
                                    <p>{t.t("staff-two-factor-reset-help")}</p>
                                    <form method="post" action=ResetStaffTwoFactor::url() class="stack">
                                        <div class="field">
                                            <label for="reset-user">{t.t("staff-name")}</label>
                                            <select id="reset-user" name="user_id">{options}</select>
                                        </div>
                                        <div class="field">
                                            <label for="reset-password">{t.t("staff-two-factor-your-password")}</label>
                                            <input id="reset-password" name="password" type="password" autocomplete="current-password" required/>
                                        </div>
                                        <div class="field">
                                            <label for="reset-code">{t.t("staff-two-factor-your-code")}</label>
                                            <input id="reset-code" name="code" type="text" autocomplete="one-time-code" maxlength="20"/>
                                        </div>
                                        <button type="submit" class="btn">{t.t("staff-two-factor-reset")}</button>
                                    </form>
                                </section>
                            }
                        });
                        let rows = list.into_iter().map(|m| {
                            let id = m.id.to_string();
                            let roles = m.roles.iter().map(|r| t.t(r.label_key())).collect::<Vec<_>>().join(", ");
                            let status = if !m.active { t.t("staff-deactivated") } else if m.pending { t.t("staff-invited") } else { t.t("status-active") };
                            let (label, next) = if m.active { (t.t("staff-deactivate"), "false") } else { (t.t("staff-reactivate"), "true") };
                            let two_factor = if m.two_factor { t.t("staff-two-factor-on") } else { t.t("staff-two-factor-none") };

                            view! {
                                <tr data-testid="staff-row">
                                    <td data-label=t.t("staff-name")>{m.name}</td>
                                    <td data-label=t.t("email")>{m.email}</td>
                                    <td data-label=t.t("staff-roles")>{roles}</td>
                                    <td data-label=t.t("status")>{status}</td>
                                    <td data-label=t.t("staff-two-factor") data-testid="staff-two-factor">{two_factor}</td>
                                    <td>
                                        <form method="post" action=SetStaffActive::url()>
                                            <input type="hidden" name="user_id" value=id/>
                                            <input type="hidden" name="active" value=next/>
                                            <button type="submit" class="btn btn-chip">{label}</button>
                                        </form>
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="staff">
                                <thead><tr><th>{t.t("staff-name")}</th><th>{t.t("email")}</th><th>{t.t("staff-roles")}</th><th>{t.t("status")}</th><th>{t.t("staff-two-factor")}</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {reset}
                        }.into_any()
                    }
                }}
            </Await>
            <section class="card">
                <h2>{ctx.t("staff-two-factor")}</h2>
                <p>{ctx.t("staff-two-factor-policy")}</p>
                <form method="post" action=SetTwoFactorForTeachers::url() class="inline">
                    <Await future=load_two_factor_for_teachers() let:on>
                        {
                            let on = on.clone().unwrap_or(false);
                            view! {
                                <select name="on" aria-label=t2.t("staff-two-factor-teachers") data-testid="two-factor-teachers">
                                    <option value="false" selected=!on>{t2.t("staff-two-factor-teachers-no")}</option>
                                    <option value="true" selected=on>{t2.t("staff-two-factor-teachers-yes")}</option>
                                </select>
                            }
                        }
                    </Await>
                    <button type="submit" class="btn btn-chip">{ctx.t("save")}</button>
                </form>
            </section>
            <section class="card">
                <h2>{ctx.t("staff-invite")}</h2>
                <form method="post" action=InviteStaffMember::url() class="stack">
                    <div class="field"><label for="staff-name">{ctx.t("staff-name")}</label><input id="staff-name" name="name" required/></div>
                    <div class="field"><label for="staff-email">{ctx.t("email")}</label><input id="staff-email" name="email" type="email" required/></div>
                    <div class="field">
                        <label for="staff-role">{ctx.t("staff-role")}</label>
                        <select id="staff-role" name="role">
                            <option value="teacher">{ctx.t("role-teacher")}</option>
                            <option value="accountant">{ctx.t("role-accountant")}</option>
                            <option value="school_admin">{ctx.t("role-school-admin")}</option>
                        </select>
                    </div>
                    <button type="submit" class="btn">{ctx.t("staff-invite")}</button>
                </form>
            </section>
        </Shell>
    }
}

/// Public: choose a password with an invitation link.
#[component]
pub fn InvitePage() -> impl IntoView {
    let ctx = request_ctx();
    let query = use_query_map();
    let (school, token) = query.with_untracked(|q| (q.get("school").unwrap_or_default(), q.get("token").unwrap_or_default()));
    view! {
        <Title text=format!("{} · Kilele", ctx.t("invite-title"))/>
        <main class="login">
            <div class="card">
                <div class="brand"><span class="logo" aria-hidden="true">"▲"</span>" Kilele"</div>
                <h1>{ctx.t("invite-title")}</h1>
                <super::FormErrors/>
                <p>{ctx.t("invite-help")}</p>
                <form method="post" action=AcceptInvitation::url() class="stack">
                    <input type="hidden" name="school" value=school/>
                    <input type="hidden" name="token" value=token/>
                    <div class="field"><label for="password">{ctx.t("password")}</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required/></div>
                    <div class="field"><label for="password_again">{ctx.t("invite-password-again")}</label><input id="password_again" name="password_again" type="password" autocomplete="new-password" required/></div>
                    <SubmitOnce label=ctx.t("invite-set-password") busy_label=ctx.t("signing-in")/>
                </form>
            </div>
        </main>
    }
}
