//! The student list: search by name, admission number or guardian phone, page through the
//! school's students, add a student. Plain forms: works without JavaScript.

use super::{guardian_fields, list_href};
use crate::api::students::{load_student_form, search_students, AddStudent, SetAdmissionFormat};
use crate::ctx::{request_ctx, RequestCtx};
use crate::i18n::t_args;
use crate::pages::{admin::AdminTabs, count, layout::Shell, ErrorBox};
use kilele::academic::students::{status_label_key, StudentFormOptions, StudentListItem, StudentPage};
use kilele::identity::Permission;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

/// School admin: find a student by name, admission number or guardian phone; page through
/// the school's students; add a student. Plain forms: works without JavaScript.
#[component]
pub fn StudentsPage() -> impl IntoView {
    let ctx = request_ctx();
    let query = use_query_map();
    let q = query.with_untracked(|m| m.get("q")).unwrap_or_default();
    let page = query.with_untracked(|m| m.get("page")).unwrap_or_default();
    let t = ctx.clone();
    let searched = q.clone();
    view! {
        <Shell title=ctx.t("students-title")>
            <AdminTabs/>
            <crate::pages::FormErrors/>
            <form method="get" action="/admin/students" class="inline search" role="search">
                <label for="q">{ctx.t("students-search")}</label>
                <input id="q" name="q" type="search" value=q.clone() placeholder=ctx.t("students-search-hint")/>
                <button type="submit" class="btn">{ctx.t("students-search-button")}</button>
            </form>
            <Await future=search_students(q, page) let:found>
                {match found.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(p) if p.items.is_empty() && searched.trim().is_empty() => {
                        view! { <p class="empty-state" data-testid="students-empty">{t.t("students-empty")}</p> }.into_any()
                    }
                    Ok(p) if p.items.is_empty() => {
                        view! { <p class="empty-state" data-testid="students-no-match">{t.t("students-no-match")}</p> }.into_any()
                    }
                    Ok(p) => results(&t, &searched, p).into_any(),
                }}
            </Await>
            {ctx.can(Permission::StudentsManage).then(|| view! { <AddStudentForm/> })}
        </Shell>
    }
}

fn student_rows(t: &RequestCtx, items: Vec<StudentListItem>) -> impl IntoView {
    items
        .into_iter()
        .map(|s| {
            let href = format!("/admin/students/{}", s.id);
            view! {
                <tr data-testid="student-row">
                    <td data-label=t.t("admission-no")>{s.admission_no}</td>
                    <td data-label=t.t("students-name")><a href=href>{s.full_name}</a></td>
                    <td data-label=t.t("class")>{s.class_name.unwrap_or_else(|| "—".into())}</td>
                    <td data-label=t.t("status")>{t.t(status_label_key(&s.status))}</td>
                </tr>
            }
        })
        .collect_view()
}

pub(super) fn students_table(t: &RequestCtx, items: Vec<StudentListItem>, testid: &'static str) -> impl IntoView {
    view! {
        <table class="table" data-testid=testid>
            <thead>
                <tr><th>{t.t("admission-no")}</th><th>{t.t("students-name")}</th><th>{t.t("class")}</th><th>{t.t("status")}</th></tr>
            </thead>
            <tbody>{student_rows(t, items)}</tbody>
        </table>
    }
}

fn results(t: &RequestCtx, q: &str, p: StudentPage) -> impl IntoView {
    let summary = t_args(t.lang, "students-found", &[("count", count(p.total))]);
    let position = t_args(t.lang, "students-page-of", &[("page", p.page.to_string()), ("pages", p.pages.to_string())]);
    let prev =
        (p.page > 1).then(|| view! { <a href=list_href(q, p.page - 1) rel="prev" class="btn btn-chip">{t.t("students-previous")}</a> });
    let next =
        (p.page < p.pages).then(|| view! { <a href=list_href(q, p.page + 1) rel="next" class="btn btn-chip">{t.t("students-next")}</a> });
    view! {
        <p data-testid="students-total">{summary}</p>
        {students_table(t, p.items, "students")}
        <nav class="pager" aria-label=t.t("students-pages")>
            {prev}
            " "<span data-testid="page-of">{position}</span>" "
            {next}
        </nav>
    }
}

/// Adding a student with their first guardian; the next free admission number is filled in.
#[component]
fn AddStudentForm() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let settings = ctx.can(Permission::SchoolSettingsManage);
    view! {
        <section class="card" data-testid="add-student">
            <h2>{ctx.t("students-add")}</h2>
            <Await future=load_student_form() let:options>
                {match options.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(o) => view! { {admission_format_form(&t, &o, settings)} {add_student_form(&t, o)} }.into_any(),
                }}
            </Await>
        </section>
    }
}

fn class_options(t: &RequestCtx, o: &StudentFormOptions) -> impl IntoView {
    let classes = o.classes.iter().map(|c| view! { <option value=c.id.to_string()>{c.class_name.clone()}</option> }).collect_view();
    view! { <option value="">{t.t("students-no-class")}</option>{classes} }
}

/// The school's admission-number pattern, for those who manage school settings.
fn admission_format_form(t: &RequestCtx, o: &StudentFormOptions, allowed: bool) -> impl IntoView {
    allowed.then(|| {
        view! {
            <details class="admission-format">
                <summary>{t.t("students-admission-format")}</summary>
                <p>{t.t("students-admission-format-help")}</p>
                <form method="post" action=SetAdmissionFormat::url() class="inline">
                    <label for="admission_prefix">{t.t("students-admission-prefix")}</label>
                    <input id="admission_prefix" name="admission_prefix" value=o.admission_prefix.clone() required maxlength="10"/>
                    <label for="admission_format">{t.t("students-admission-pattern")}</label>
                    <input id="admission_format" name="admission_format" value=o.admission_format.clone() required maxlength="40"/>
                    <button type="submit" class="btn btn-chip">{t.t("save")}</button>
                </form>
            </details>
        }
    })
}

fn add_student_form(t: &RequestCtx, o: StudentFormOptions) -> impl IntoView {
    view! {
        <form method="post" action=AddStudent::url() class="stack">
            <div class="field">
                <label for="admission_no">{t.t("admission-no")}</label>
                <input id="admission_no" name="admission_no" value=o.next_admission_no.clone() required maxlength="32" data-testid="next-admission-no"/>
            </div>
            <div class="field">
                <label for="first_name">{t.t("students-first-name")}</label>
                <input id="first_name" name="first_name" required maxlength="60"/>
            </div>
            <div class="field">
                <label for="middle_name">{t.t("students-middle-name")}</label>
                <input id="middle_name" name="middle_name" maxlength="60"/>
            </div>
            <div class="field">
                <label for="last_name">{t.t("students-last-name")}</label>
                <input id="last_name" name="last_name" required maxlength="60"/>
            </div>
            <div class="field">
                <label for="sex">{t.t("students-sex")}</label>
                <select id="sex" name="sex" required>
                    <option value="F">{t.t("students-sex-f")}</option>
                    <option value="M">{t.t("students-sex-m")}</option>
                </select>
            </div>
            <div class="field">
                <label for="date_of_birth">{t.t("students-date-of-birth")}</label>
                <input id="date_of_birth" name="date_of_birth" type="date"/>
            </div>
            <div class="field">
                <label for="stream">{t.t("class")}</label>
                <select id="stream" name="stream">{class_options(t, &o)}</select>
            </div>
            <div class="field">
                <label for="national_id">{t.t("students-national-id")}</label>
                <input id="national_id" name="national_id" maxlength="40" autocomplete="off"/>
            </div>
            <div class="field">
                <label for="medical_notes">{t.t("students-medical-notes")}</label>
                <textarea id="medical_notes" name="medical_notes" maxlength="2000" rows="2"></textarea>
            </div>
            <h3>{t.t("students-first-guardian")}</h3>
            {guardian_fields(t, ["guardian_name", "guardian_relationship", "guardian_phone", "guardian_email"])}
            <button type="submit" class="btn">{t.t("students-add")}</button>
        </form>
    }
}
