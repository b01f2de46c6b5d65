use super::{count, layout::Shell, ErrorBox};
use crate::api::{admin_overview, SetSchoolLanguage};
use crate::ctx::request_ctx;
use kilele::identity::Permission;
use kilele::Language;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// School admin console: the school at a glance.
#[component]
pub fn AdminPage() -> impl IntoView {
    let ctx = request_ctx();
    let title = ctx.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    let t = ctx.clone();
    let can_settings = ctx.can(Permission::SchoolSettingsManage);
    view! {
        <Shell title=title>
            <AdminTabs/>
            <Await future=admin_overview() let:overview>
                {match overview.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(o) => {
                        let class_count = o.streams.len() as i64;
                        let streams = if o.streams.is_empty() {
                            view! { <p class="empty-state">{t.t("admin-no-classes")}</p> }.into_any()
                        } else {
                            let rows = o.streams.into_iter().map(|s| view! {
                                <tr>
                                    <td data-label=t.t("class")>{s.class_name}</td>
                                    <td data-label=t.t("class-teacher")>{s.class_teacher.unwrap_or_else(|| "—".into())}</td>
                                    <td data-label=t.t("students") class="num">{count(s.students)}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="table" data-testid="classes">
                                    <thead><tr><th>{t.t("class")}</th><th>{t.t("class-teacher")}</th><th class="num">{t.t("students")}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        };
                        view! {
                            <section class="stats">
                                <div class="stat"><span class="value" data-testid="stat-students">{count(o.students)}</span><span class="label">{t.t("students")}</span></div>
                                <div class="stat"><span class="value" data-testid="stat-staff">{count(o.staff)}</span><span class="label">{t.t("staff")}</span></div>
                                <div class="stat"><span class="value" data-testid="stat-guardians">{count(o.guardians)}</span><span class="label">{t.t("guardians")}</span></div>
                                <div class="stat"><span class="value" data-testid="stat-classes">{count(class_count)}</span><span class="label">{t.t("classes")}</span></div>
                            </section>
                            <h2>{t.t("classes")}</h2>
                            {streams}
                        }.into_any()
                    }
                }}
            </Await>
            {can_settings.then(|| view! { <SchoolLanguageSetting/> })}
        </Shell>
    }
}

/// The school's default language, posted straight to its server function (no JavaScript
/// needed: the server redirects back after a plain form post).
#[component]
fn SchoolLanguageSetting() -> impl IntoView {
    let ctx = request_ctx();
    let current = ctx.tenant.as_ref().map(|t| t.default_language).unwrap_or_default();
    let options =
        Language::ALL.into_iter().map(|l| view! { <option value=l.code() selected=l == current>{l.autonym()}</option> }).collect_view();
    view! {
        <section class="card settings">
            <h2>{ctx.t("school-settings")}</h2>
            <form method="post" action=SetSchoolLanguage::url() class="inline">
                <label for="school-lang">{ctx.t("school-default-language")}</label>
                <select id="school-lang" name="lang">{options}</select>
                <button type="submit" class="btn">{ctx.t("save")}</button>
            </form>
        </section>
    }
}

/// The admin console's sections.
#[component]
pub fn AdminTabs() -> impl IntoView {
    let ctx = request_ctx();
    let can = |p: Permission| ctx.principal.as_ref().is_some_and(|me| me.can(p));
    let tabs: Vec<(&str, &str, bool)> = vec![
        ("/admin", "admin-tab-overview", true),
        ("/admin/calendar", "admin-tab-calendar", can(Permission::SchoolAcademicsManage)),
        ("/admin/students", "admin-tab-students", can(Permission::StudentsRead)),
        ("/admin/classes", "admin-tab-classes", can(Permission::SchoolAcademicsManage)),
        ("/admin/subjects", "admin-tab-subjects", can(Permission::SchoolAcademicsManage)),
        ("/admin/import", "admin-tab-import", can(Permission::StudentsManage)),
        ("/admin/promotion", "admin-tab-promotion", can(Permission::StudentsManage)),
        ("/admin/staff", "admin-tab-staff", can(Permission::SchoolUsersManage)),
        ("/admin/results", "admin-tab-results", can(Permission::ResultsApprove)),
        ("/admin/cards", "admin-tab-cards", can(Permission::ReportCardsManage)),
        ("/admin/jobs", "admin-tab-jobs", can(Permission::SchoolSettingsManage)),
    ];
    section_tabs(&ctx, "admin-sections", tabs)
}

/// A portal's sections as tabs: `(path, label key, allowed)`, the ones the reader may open,
/// the current one marked.
pub fn section_tabs(ctx: &crate::ctx::RequestCtx, label_key: &str, tabs: Vec<(&'static str, &'static str, bool)>) -> impl IntoView {
    let links = tabs
        .into_iter()
        .filter(|(_, _, allowed)| *allowed)
        .map(|(href, key, _)| {
            let active = ctx.path == href;
            view! { <a href=href class:active=active aria-current=active.then_some("page")>{ctx.t(key)}</a> }
        })
        .collect_view();
    view! { <nav class="tabs" aria-label=ctx.t(label_key)>{links}</nav> }
}
