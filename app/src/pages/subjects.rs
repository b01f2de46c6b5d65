use super::{admin::AdminTabs, layout::Shell, ErrorBox};
use crate::api::classes::{load_subjects, AddCustomSubject, AddMasterSubject, AllocateTeacher, RemoveAllocation, SetLevelSubject};
use crate::ctx::{request_ctx, RequestCtx};
use crate::i18n::t_args;
use kilele::academic::classes::TeacherOption;
use kilele::academic::subjects::{LevelSubjects, MasterSubject, StreamAllocations, SubjectMode, SubjectView, SubjectsView};
use kilele::Language;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The i18n key of a master-list band code (`primary`, `o_level`, `a_level`).
fn band_code_key(code: &str) -> &'static str {
    match code {
        "primary" => "classes-band-primary",
        "o_level" => "classes-band-o-level",
        _ => "classes-band-a-level",
    }
}

/// School admin: the school's subjects, which subjects each level takes, and who teaches
/// each subject in each stream this year.
#[component]
pub fn SubjectsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    // One level at a time (`?level=<id>`, the first level by default): the page stays small
    // enough for a phone on 3G.
    let chosen = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("level"));
    view! {
        <Shell title=ctx.t("subjects-title")>
            <AdminTabs/>
            <super::FormErrors/>
            <Await future=load_subjects() let:view>
                {match view.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => subjects_body(&t, v, chosen.as_deref()).into_any(),
                }}
            </Await>
        </Shell>
    }
}

fn name_in(t: &RequestCtx, en: &str, sw: &str) -> String {
    if t.lang == Language::Sw {
        sw.to_owned()
    } else {
        en.to_owned()
    }
}

fn subjects_body(t: &RequestCtx, v: SubjectsView, chosen: Option<&str>) -> impl IntoView {
    let level = chosen.and_then(|c| v.levels.iter().find(|l| l.level_id.to_string() == c)).or(v.levels.first()).map(|l| l.level_id);
    let chooser = (v.levels.len() > 1).then(|| {
        let links = v
            .levels
            .iter()
            .map(|l| {
                let active = Some(l.level_id) == level;
                view! {
                    <a href=format!("/admin/subjects?level={}", l.level_id) class:active=active aria-current=active.then_some("page")>
                        {l.level_name.clone()}
                    </a>
                }
            })
            .collect_view();
        view! { <nav class="tabs" aria-label=t.t("subjects-choose-level") data-testid="level-chooser">{links}</nav> }
    });
    let levels: Vec<LevelSubjects> = v.levels.into_iter().filter(|l| Some(l.level_id) == level).collect();
    let streams: Vec<StreamAllocations> = v.streams.into_iter().filter(|s| Some(s.level_id) == level).collect();
    view! {
        {school_subjects(t, &v.subjects)}
        {add_subject_forms(t, v.master_available)}
        {chooser}
        {level_matrix(t, &v.subjects, levels)}
        {allocations(t, v.current_year, streams, &v.teachers)}
    }
}

fn school_subjects(t: &RequestCtx, subjects: &[SubjectView]) -> impl IntoView {
    let body = if subjects.is_empty() {
        view! { <p class="empty-state" data-testid="subjects-empty">{t.t("subjects-empty")}</p> }.into_any()
    } else {
        let rows = subjects
            .iter()
            .map(|s| {
                let source = if s.master_code.is_some() { t.t("subjects-source-master") } else { t.t("subjects-source-custom") };
                view! {
                    <tr data-testid=format!("subject-{}", s.code)>
                        <td data-label=t.t("subjects-code")>{s.code.clone()}</td>
                        <td data-label=t.t("subjects-name-en")>{s.name_en.clone()}</td>
                        <td data-label=t.t("subjects-name-sw")>{s.name_sw.clone()}</td>
                        <td data-label=t.t("subjects-source")><span class="badge">{source}</span></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="table" data-testid="school-subjects">
                <thead><tr>
                    <th>{t.t("subjects-code")}</th><th>{t.t("subjects-name-en")}</th>
                    <th>{t.t("subjects-name-sw")}</th><th>{t.t("subjects-source")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="card">
            <h2>{t.t("subjects-school")}</h2>
            {body}
        </section>
    }
}

fn add_subject_forms(t: &RequestCtx, master: Vec<MasterSubject>) -> impl IntoView {
    let from_master = if master.is_empty() {
        view! { <p class="empty-state">{t.t("subjects-master-none-left")}</p> }.into_any()
    } else {
        let options = master
            .iter()
            .map(|m| {
                let necta = m.necta_code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default();
                let label = format!("{} — {}{} · {}", m.code, name_in(t, &m.name_en, &m.name_sw), necta, t.t(band_code_key(&m.band)));
                view! { <option value=m.code.clone()>{label}</option> }
            })
            .collect_view();
        view! {
            <form method="post" action=AddMasterSubject::url() class="inline">
                <label for="master-code">{t.t("subjects-master")}</label>
                <select id="master-code" name="code">{options}</select>
                <button type="submit" class="btn">{t.t("subjects-add")}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <section class="card">
            <h2>{t.t("subjects-add-from-master")}</h2>
            {from_master}
            <h2>{t.t("subjects-add-custom")}</h2>
            <form method="post" action=AddCustomSubject::url() class="inline">
                <label for="custom-code">{t.t("subjects-code")}</label>
                <input id="custom-code" name="code" maxlength="10" required/>
                <label for="custom-name-en">{t.t("subjects-name-en")}</label>
                <input id="custom-name-en" name="name_en" maxlength="60" required/>
                <label for="custom-name-sw">{t.t("subjects-name-sw")}</label>
                <input id="custom-name-sw" name="name_sw" maxlength="60" required/>
                <button type="submit" class="btn">{t.t("subjects-add")}</button>
            </form>
        </section>
    }
}

fn mode_key(mode: Option<SubjectMode>) -> &'static str {
    match mode {
        Some(SubjectMode::Compulsory) => "subjects-compulsory",
        Some(SubjectMode::Optional) => "subjects-optional",
        None => "subjects-not-taken",
    }
}

fn level_matrix(t: &RequestCtx, subjects: &[SubjectView], levels: Vec<LevelSubjects>) -> impl IntoView {
    let body = if levels.is_empty() {
        view! { <p class="empty-state">{t.t("subjects-no-levels")}</p> }.into_any()
    } else if subjects.is_empty() {
        view! { <p class="empty-state">{t.t("subjects-empty")}</p> }.into_any()
    } else {
        levels
            .into_iter()
            .map(|l| {
                let rows = l
                    .modes
                    .iter()
                    .filter_map(|(sid, mode)| subjects.iter().find(|s| s.id == *sid).map(|s| (s, *mode)))
                    .map(|(s, mode)| {
                        let buttons = [("compulsory", Some(SubjectMode::Compulsory)), ("optional", Some(SubjectMode::Optional)), ("none", None)]
                            .into_iter()
                            .map(|(value, m)| {
                                let active = m == mode;
                                view! {
                                    <button type="submit" name="mode" value=value class="btn btn-chip" class:active=active
                                        aria-pressed=if active { "true" } else { "false" }>{t.t(mode_key(m))}</button>
                                }
                            })
                            .collect_view();
                        view! {
                            <tr data-testid=format!("level-subject-{}-{}", l.level_name, s.code)>
                                <td data-label=t.t("subject")>{name_in(t, &s.name_en, &s.name_sw)}" "<small>{s.code.clone()}</small></td>
                                <td data-label=t.t("subjects-mode") data-mode=mode.map(SubjectMode::code).unwrap_or("none")>{t.t(mode_key(mode))}</td>
                                <td>
                                    <form method="post" action=SetLevelSubject::url() class="inline">
                                        <input type="hidden" name="level_id" value=l.level_id.to_string()/>
                                        <input type="hidden" name="subject_id" value=s.id.to_string()/>
                                        {buttons}
                                    </form>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <h3>{l.level_name.clone()}</h3>
                    <table class="table">
                        <thead><tr><th>{t.t("subject")}</th><th>{t.t("subjects-mode")}</th><th>{t.t("subjects-change")}</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="card">
            <h2>{t.t("subjects-by-level")}</h2>
            {body}
        </section>
    }
}

fn allocations(t: &RequestCtx, year: Option<i32>, streams: Vec<StreamAllocations>, teachers: &[TeacherOption]) -> impl IntoView {
    let heading = match year {
        Some(y) => t_args(t.lang, "subjects-allocations-year", &[("year", y.to_string())]),
        None => t.t("subjects-allocations"),
    };
    let body = if year.is_none() {
        view! { <p class="alert" role="alert">{t.t("error-no-current-year")}</p> }.into_any()
    } else if streams.is_empty() {
        view! { <p class="empty-state">{t.t("subjects-no-streams")}</p> }.into_any()
    } else {
        streams
            .into_iter()
            .map(|s| {
                let table = if s.rows.is_empty() {
                    view! { <p class="empty-state">{t.t("subjects-allocations-empty")}</p> }.into_any()
                } else {
                    let rows = s
                        .rows
                        .iter()
                        .map(|r| {
                            let options = teachers
                                .iter()
                                .map(|tr| view! { <option value=tr.id.to_string() selected=Some(tr.id) == r.teacher_id>{tr.name.clone()}</option> })
                                .collect_view();
                            let label = format!("{}: {} {}", t.t("subjects-teacher"), s.class_name, name_in(t, &r.name_en, &r.name_sw));
                            let remove = r.teacher_id.is_some().then(|| {
                                view! {
                                    <form method="post" action=RemoveAllocation::url()>
                                        <input type="hidden" name="stream_id" value=s.stream_id.to_string()/>
                                        <input type="hidden" name="subject_id" value=r.subject_id.to_string()/>
                                        <button type="submit" class="btn btn-chip">{t.t("subjects-unallocate")}</button>
                                    </form>
                                }
                            });
                            view! {
                                <tr data-testid=format!("allocation-{}-{}", s.class_name, r.code)>
                                    <td data-label=t.t("subject")>{name_in(t, &r.name_en, &r.name_sw)}</td>
                                    <td data-label=t.t("subjects-teacher")>
                                        <form method="post" action=AllocateTeacher::url() class="inline">
                                            <input type="hidden" name="stream_id" value=s.stream_id.to_string()/>
                                            <input type="hidden" name="subject_id" value=r.subject_id.to_string()/>
                                            <select name="teacher_id" aria-label=label required>
                                                <option value="" selected=r.teacher_id.is_none()>{t.t("subjects-choose-teacher")}</option>
                                                {options}
                                            </select>
                                            <button type="submit" class="btn btn-chip">{t.t("save")}</button>
                                        </form>
                                    </td>
                                    <td>{remove}</td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <table class="table">
                            <thead><tr><th>{t.t("subject")}</th><th>{t.t("subjects-teacher")}</th><th></th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }
                    .into_any()
                };
                view! {
                    <h3>{s.class_name.clone()}</h3>
                    {table}
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="card" data-testid="allocations">
            <h2>{heading}</h2>
            {body}
        </section>
    }
}
