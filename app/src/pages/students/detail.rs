//! One student: details, protected data (when permitted), status, enrolment history,
//! guardians and siblings.

use super::guardian_fields;
use super::list::students_table;
use crate::api::students::{
    load_student, load_student_form, ChangeStudentStatus, EnrolStudent, LinkGuardian, SetGuardianSms, UnlinkGuardian, UpdateStudent,
};
use crate::ctx::{request_ctx, RequestCtx};
use crate::pages::{admin::AdminTabs, layout::Shell, ErrorBox};
use kilele::academic::students::{relationship_label_key, status_label_key, Pii, StudentDetail, StudentFormOptions, StudentStatus};
use kilele::identity::Permission;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_params_map;

/// School admin: one student — details, protected data (when permitted), status, enrolment
/// history, guardians and siblings.
#[component]
pub fn StudentPage() -> impl IntoView {
    let ctx = request_ctx();
    let id = use_params_map().with_untracked(|p| p.get("id")).unwrap_or_default();
    let t = ctx.clone();
    let manage = ctx.can(Permission::StudentsManage);
    // After opening the family portal for a guardian: shown once, from the session (never
    // from the URL): the link to send them, or that their own account gets the portal.
    let notice = ctx.notice.clone();
    let link = notice.as_ref().filter(|n| n.kind == crate::ctx::Notice::INVITE_LINK).and_then(|n| n.link.clone());
    let opened = notice.as_ref().filter(|n| n.kind != crate::ctx::Notice::INVITE_LINK).map(|n| {
        if n.kind == crate::ctx::Notice::PORTAL_PENDING {
            t.t("students-portal-pending")
        } else {
            t.t("students-portal-opened")
        }
    });
    view! {
        <Shell title=ctx.t("students-student")>
            <AdminTabs/>
            <p><a href="/admin/students">{ctx.t("students-back")}</a></p>
            <crate::pages::FormErrors/>
            {link.map(|l| view! {
                <section class="card success" data-testid="invite-link">
                    <p>{t.t("students-invite-link-help")}</p>
                    <p><code>{l}</code></p>
                </section>
            })}
            {opened.map(|text| view! { <p class="card success" data-testid="portal-opened">{text}</p> })}
            <Await future=load_student(id) let:detail>
                {match detail.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(d) => student_view(&t, d, manage).into_any(),
                }}
            </Await>
        </Shell>
    }
}

fn pii_text(t: &RequestCtx, value: &Pii) -> AnyView {
    match value {
        Pii::NotSet => view! { <span>"—"</span> }.into_any(),
        Pii::Hidden => view! { <span class="muted" data-testid="pii-hidden">{t.t("students-pii-hidden")}</span> }.into_any(),
        Pii::Shown(v) => view! { <span data-testid="pii-shown">{v.clone()}</span> }.into_any(),
    }
}

fn student_view(t: &RequestCtx, d: StudentDetail, manage: bool) -> impl IntoView {
    let id = d.id.to_string();
    let sex = t.t(if d.sex == "F" { "students-sex-f" } else { "students-sex-m" });
    let status = t.t(status_label_key(&d.status));
    let reason = d.status_reason.clone().map(|r| view! { " (" <span data-testid="status-reason">{r}</span> ")" });
    let photo_src = format!("/admin/students/{id}/photo");
    let photo = d.has_photo.then(|| view! { <img class="photo" src=photo_src.clone() alt=d.full_name() width="120" data-testid="photo"/> });
    let photo_form = manage.then(|| {
        view! {
            <form method="post" action=photo_src.clone() enctype="multipart/form-data" class="inline">
                <label for="photo">{t.t("students-photo")}</label>
                <input id="photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" required/>
                <button type="submit" class="btn btn-chip">{t.t("students-photo-upload")}</button>
            </form>
        }
    });
    view! {
        <section class="card" data-testid="student">
            {photo}
            <h2>{d.full_name()}</h2>
            {photo_form}
            <dl class="details">
                <dt>{t.t("admission-no")}</dt><dd data-testid="admission-no">{d.admission_no.clone()}</dd>
                <dt>{t.t("students-sex")}</dt><dd>{sex}</dd>
                <dt>{t.t("students-date-of-birth")}</dt><dd>{d.date_of_birth.map_or_else(|| "—".to_owned(), |b| b.to_string())}</dd>
                <dt>{t.t("class")}</dt><dd data-testid="class">{d.class_name.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>{t.t("status")}</dt><dd data-testid="status">{status}{reason}</dd>
                <dt>{t.t("students-national-id")}</dt><dd data-testid="national-id">{pii_text(t, &d.national_id)}</dd>
                <dt>{t.t("students-medical-notes")}</dt><dd data-testid="medical-notes">{pii_text(t, &d.medical_notes)}</dd>
            </dl>
            {manage.then(|| status_form(t, &id, &d.status))}
            {manage.then(|| edit_form(t, &d))}
        </section>
        <section class="card" data-testid="enrolments">
            <h2>{t.t("students-enrolments")}</h2>
            {enrolments(t, &d)}
            {manage.then(|| {
                let t = t.clone();
                let id = id.clone();
                view! {
                    <Await future=load_student_form() let:options>
                        {match options.clone() {
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                            Ok(o) => enrol_form(&t, &id, o).into_any(),
                        }}
                    </Await>
                }
            })}
        </section>
        <section class="card" data-testid="guardians">
            <h2>{t.t("guardians")}</h2>
            {guardians(t, &d, manage)}
            {manage.then(|| link_form(t, &id))}
        </section>
        <section class="card" data-testid="siblings">
            <h2>{t.t("students-siblings")}</h2>
            {if d.siblings.is_empty() {
                view! { <p class="empty-state" data-testid="no-siblings">{t.t("students-no-siblings")}</p> }.into_any()
            } else {
                students_table(t, d.siblings.clone(), "sibling-list").into_any()
            }}
        </section>
    }
}

/// Correcting the details; protected fields only appear when the reader may see them.
fn edit_form(t: &RequestCtx, d: &StudentDetail) -> impl IntoView {
    let shown = |p: &Pii| match p {
        Pii::Shown(v) => Some(v.clone()),
        Pii::NotSet => Some(String::new()),
        Pii::Hidden => None,
    };
    let national_id = shown(&d.national_id).map(|v| {
        view! {
            <div class="field">
                <label for="edit-national-id">{t.t("students-national-id")}</label>
                <input id="edit-national-id" name="national_id" value=v maxlength="40" autocomplete="off"/>
            </div>
        }
    });
    let medical_notes = shown(&d.medical_notes).map(|v| {
        view! {
            <div class="field">
                <label for="edit-medical-notes">{t.t("students-medical-notes")}</label>
                <textarea id="edit-medical-notes" name="medical_notes" maxlength="2000" rows="2">{v}</textarea>
            </div>
        }
    });
    view! {
        <details class="edit-student">
            <summary>{t.t("students-edit")}</summary>
            <form method="post" action=UpdateStudent::url() class="stack">
                <input type="hidden" name="student" value=d.id.to_string()/>
                <div class="field">
                    <label for="edit-admission-no">{t.t("admission-no")}</label>
                    <input id="edit-admission-no" name="admission_no" value=d.admission_no.clone() required maxlength="32"/>
                </div>
                <div class="field">
                    <label for="edit-first-name">{t.t("students-first-name")}</label>
                    <input id="edit-first-name" name="first_name" value=d.first_name.clone() required maxlength="60"/>
                </div>
                <div class="field">
                    <label for="edit-middle-name">{t.t("students-middle-name")}</label>
                    <input id="edit-middle-name" name="middle_name" value=d.middle_name.clone().unwrap_or_default() maxlength="60"/>
                </div>
                <div class="field">
                    <label for="edit-last-name">{t.t("students-last-name")}</label>
                    <input id="edit-last-name" name="last_name" value=d.last_name.clone() required maxlength="60"/>
                </div>
                <div class="field">
                    <label for="edit-sex">{t.t("students-sex")}</label>
                    <select id="edit-sex" name="sex">
                        <option value="F" selected=d.sex == "F">{t.t("students-sex-f")}</option>
                        <option value="M" selected=d.sex == "M">{t.t("students-sex-m")}</option>
                    </select>
                </div>
                <div class="field">
                    <label for="edit-date-of-birth">{t.t("students-date-of-birth")}</label>
                    <input id="edit-date-of-birth" name="date_of_birth" type="date" value=d.date_of_birth.map(|b| b.to_string()).unwrap_or_default()/>
                </div>
                {national_id}
                {medical_notes}
                <button type="submit" class="btn">{t.t("save")}</button>
            </form>
        </details>
    }
}

fn status_form(t: &RequestCtx, id: &str, current: &str) -> impl IntoView {
    let options = StudentStatus::ALL
        .into_iter()
        .map(|s| view! { <option value=s.code() selected=s.code() == current>{t.t(s.label_key())}</option> })
        .collect_view();
    view! {
        <form method="post" action=ChangeStudentStatus::url() class="inline">
            <input type="hidden" name="student" value=id.to_owned()/>
            <label for="status">{t.t("students-change-status")}</label>
            <select id="status" name="status">{options}</select>
            <label for="reason">{t.t("students-reason")}</label>
            <input id="reason" name="reason" maxlength="300" placeholder=t.t("students-reason-hint")/>
            <button type="submit" class="btn btn-chip">{t.t("save")}</button>
        </form>
    }
}

fn enrolments(t: &RequestCtx, d: &StudentDetail) -> AnyView {
    if d.enrolments.is_empty() {
        return view! { <p class="empty-state" data-testid="no-enrolments">{t.t("students-no-enrolments")}</p> }.into_any();
    }
    let rows = d
        .enrolments
        .iter()
        .map(|e| {
            let outcome = e.outcome.as_deref().map(|o| t.t(&format!("students-outcome-{o}"))).unwrap_or_else(|| "—".into());
            view! {
                <tr>
                    <td data-label=t.t("calendar-year")>{e.year}</td>
                    <td data-label=t.t("class")>{e.class_name.clone()}</td>
                    <td data-label=t.t("students-outcome")>{outcome}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr><th>{t.t("calendar-year")}</th><th>{t.t("class")}</th><th>{t.t("students-outcome")}</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn enrol_form(t: &RequestCtx, id: &str, o: StudentFormOptions) -> AnyView {
    if o.years.is_empty() || o.classes.is_empty() {
        return ().into_any();
    }
    let years = o.years.iter().map(|y| view! { <option value=y.id.to_string() selected=y.is_current>{y.year}</option> }).collect_view();
    let classes = o.classes.iter().map(|c| view! { <option value=c.id.to_string()>{c.class_name.clone()}</option> }).collect_view();
    view! {
        <form method="post" action=EnrolStudent::url() class="inline">
            <input type="hidden" name="student" value=id.to_owned()/>
            <label for="enrol-year">{t.t("calendar-year")}</label>
            <select id="enrol-year" name="year">{years}</select>
            <label for="enrol-stream">{t.t("class")}</label>
            <select id="enrol-stream" name="stream">{classes}</select>
            <button type="submit" class="btn btn-chip">{t.t("students-enrol")}</button>
        </form>
    }
    .into_any()
}

fn guardians(t: &RequestCtx, d: &StudentDetail, manage: bool) -> AnyView {
    // Inviting creates an account: the users permission, not the students one.
    let invite_users = t.can(Permission::SchoolUsersManage);
    if d.guardians.is_empty() {
        return view! { <p class="empty-state" data-testid="no-guardians">{t.t("students-no-guardians")}</p> }.into_any();
    }
    let student = d.id.to_string();
    let rows = d
        .guardians
        .iter()
        .map(|g| {
            let guardian = g.id.to_string();
            let sms = if g.receives_sms { t.t("students-sms-yes") } else { t.t("students-sms-no") };
            let actions = manage.then(|| {
                let toggle = if g.receives_sms { ("false", t.t("students-sms-stop")) } else { ("true", t.t("students-sms-start")) };
                view! {
                    <form method="post" action=SetGuardianSms::url()>
                        <input type="hidden" name="student" value=student.clone()/>
                        <input type="hidden" name="guardian" value=guardian.clone()/>
                        <input type="hidden" name="receives_sms" value=toggle.0/>
                        <button type="submit" class="btn btn-chip">{toggle.1}</button>
                    </form>
                    {(invite_users && g.email.is_some()).then(|| view! {
                        <form method="post" action=crate::api::staff::InviteGuardian::url()>
                            <input type="hidden" name="student" value=student.clone()/>
                            <input type="hidden" name="guardian" value=guardian.clone()/>
                            <button type="submit" class="btn btn-chip">{t.t("students-invite-guardian")}</button>
                        </form>
                    })}
                    <form method="post" action=UnlinkGuardian::url()>
                        <input type="hidden" name="student" value=student.clone()/>
                        <input type="hidden" name="guardian" value=guardian.clone()/>
                        <button type="submit" class="btn btn-chip">{t.t("students-unlink")}</button>
                    </form>
                }
            });
            view! {
                <tr data-testid="guardian-row">
                    <td data-label=t.t("students-guardian-name")>{g.full_name.clone()}</td>
                    <td data-label=t.t("students-relationship")>{t.t(relationship_label_key(&g.relationship))}</td>
                    <td data-label=t.t("students-phone")>{pii_text(t, &g.phone)}</td>
                    <td data-label=t.t("email")>{g.email.clone().unwrap_or_else(|| "—".into())}</td>
                    <td data-label=t.t("students-sms")>{sms}</td>
                    <td>{actions}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th>{t.t("students-guardian-name")}</th><th>{t.t("students-relationship")}</th><th>{t.t("students-phone")}</th>
                    <th>{t.t("email")}</th><th>{t.t("students-sms")}</th><th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn link_form(t: &RequestCtx, id: &str) -> impl IntoView {
    view! {
        <h3>{t.t("students-link-guardian")}</h3>
        <p>{t.t("students-link-help")}</p>
        <form method="post" action=LinkGuardian::url() class="stack">
            <input type="hidden" name="student" value=id.to_owned()/>
            {guardian_fields(t, ["link-name", "link-relationship", "link-phone", "link-email"])}
            <label><input type="checkbox" name="receives_sms" value="true"/>" "{t.t("students-receives-sms")}</label>
            <button type="submit" class="btn">{t.t("students-link-guardian")}</button>
        </form>
    }
}
