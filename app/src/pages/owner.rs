use super::{count, layout::Shell, ErrorBox, FormErrors};
use crate::api::owner::{load_plans, OnboardSchool, SetSchoolStatus};
use crate::api::owner_schools;
use crate::ctx::request_ctx;
use kilele::identity::Permission;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// SaaS owner console: every school with its counts.
#[component]
pub fn OwnerPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let manage = ctx.principal.as_ref().is_some_and(|p| p.can(Permission::PlatformTenantsManage));
    // Shown once, right after onboarding (from the session, never from the URL).
    let link = ctx.notice.as_ref().filter(|n| n.kind == crate::ctx::Notice::INVITE_LINK).and_then(|n| n.link.clone());
    let t_link = ctx.clone();
    view! {
        <Shell title=ctx.t("owner-title")>
            <FormErrors/>
            {link.map(|l| view! {
                <section class="card success" data-testid="invite-link">
                    <p>{t_link.t("owner-invite-link-help")}</p>
                    <p><code class="select-all">{l}</code></p>
                </section>
            })}
            <Await future=owner_schools() let:schools>
                {match schools.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="empty-state">{t.t("owner-no-schools")}</p>
                    }.into_any(),
                    Ok(rows) => {
                        let body = rows.into_iter().map(|r| {
                            let status = if r.suspended { t.t("status-suspended") } else { t.t("status-active") };
                            let (label, next) = if r.suspended { (t.t("owner-resume"), "active") } else { (t.t("owner-suspend"), "suspended") };
                            let code = r.code.clone();
                            let change = manage.then(|| view! {
                                <form method="post" action=SetSchoolStatus::url()>
                                    <input type="hidden" name="code" value=code/>
                                    <input type="hidden" name="status" value=next/>
                                    <button type="submit" class="btn btn-chip">{label}</button>
                                </form>
                            });
                            view! {
                                <tr>
                                    <td data-label=t.t("school")>{r.name}</td>
                                    <td data-label=t.t("school-code")><code>{r.code}</code></td>
                                    <td data-label=t.t("plan")>{r.plan}</td>
                                    <td data-label=t.t("status")>{status}</td>
                                    <td data-label=t.t("students") class="num">{count(r.students)}</td>
                                    <td data-label=t.t("staff") class="num">{count(r.staff)}</td>
                                    <td data-label=t.t("guardians") class="num">{count(r.guardians)}</td>
                                    <td data-label=t.t("classes") class="num">{count(r.streams)}</td>
                                    <td>{change}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="schools">
                                <thead><tr>
                                    <th>{t.t("school")}</th><th>{t.t("school-code")}</th><th>{t.t("plan")}</th>
                                    <th>{t.t("status")}</th><th class="num">{t.t("students")}</th>
                                    <th class="num">{t.t("staff")}</th><th class="num">{t.t("guardians")}</th>
                                    <th class="num">{t.t("classes")}</th><th></th>
                                </tr></thead>
                                <tbody>{body}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
            {manage.then(|| view! { <OnboardForm/> })}
        </Shell>
    }
}

/// Onboarding a school: a plain form (works without JavaScript); the first admin is invited
/// by a one-time link.
#[component]
fn OnboardForm() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <section class="card" data-testid="onboard">
            <h2>{ctx.t("owner-onboard")}</h2>
            <form method="post" action=OnboardSchool::url() class="stack">
                <div class="field"><label for="school-name">{ctx.t("owner-school-name")}</label><input id="school-name" name="name" required/></div>
                <div class="field">
                    <label for="school-code">{ctx.t("school-code")}</label>
                    <input id="school-code" name="code" required autocapitalize="none" spellcheck="false" aria-describedby="school-code-hint"/>
                    <small id="school-code-hint">{ctx.t("owner-school-code-hint")}</small>
                </div>
                <div class="field">
                    <label for="school-plan">{ctx.t("plan")}</label>
                    <Await future=load_plans() let:plans>
                        {
                            let options = plans.clone().unwrap_or_default().into_iter().map(|(code, name)| view! { <option value=code>{name}</option> }).collect_view();
                            view! { <select id="school-plan" name="plan">{options}</select> }
                        }
                    </Await>
                </div>
                <div class="field">
                    <label for="school-language">{ctx.t("owner-school-language")}</label>
                    <select id="school-language" name="language">
                        {kilele::Language::ALL.map(|l| view! { <option value=l.code() selected=l == kilele::Language::default()>{l.autonym()}</option> })}
                    </select>
                </div>
                <div class="field"><label for="school-prefix">{ctx.t("students-admission-prefix")}</label><input id="school-prefix" name="admission_prefix" required maxlength="10"/></div>
                <div class="field"><label for="admin-name">{t.t("owner-admin-name")}</label><input id="admin-name" name="admin_name" required/></div>
                <div class="field"><label for="admin-email">{t.t("owner-admin-email")}</label><input id="admin-email" name="admin_email" type="email" required/></div>
                <button type="submit" class="btn">{t.t("owner-onboard")}</button>
            </form>
        </section>
    }
}
