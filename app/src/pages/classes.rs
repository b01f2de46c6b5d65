use super::{admin::AdminTabs, count, layout::Shell, ErrorBox};
use crate::api::classes::{load_classes, AddCombination, AddLevel, AddStream, RemoveCombination, SetClassTeacher};
use crate::ctx::{request_ctx, RequestCtx};
use kilele::academic::classes::{ClassesView, LevelView, TeacherOption};
use kilele::academic::Band;
use kilele::Language;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The i18n key of a band's label.
pub fn band_key(band: Band) -> &'static str {
    match band {
        Band::Primary => "classes-band-primary",
        Band::OLevel => "classes-band-o-level",
        Band::ALevel => "classes-band-a-level",
    }
}

/// School admin: levels (Standard I–VII, Form 1–6), their streams and class teachers, and
/// the A-level combinations the school offers. Plain forms posted to server functions.
#[component]
pub fn ClassesPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let bands = [Band::Primary, Band::OLevel, Band::ALevel]
        .into_iter()
        .map(|b| view! { <option value=b.code()>{ctx.t(band_key(b))}</option> })
        .collect_view();
    let ordinals = (1..=7).map(|n| view! { <option value=n.to_string()>{n}</option> }).collect_view();
    view! {
        <Shell title=ctx.t("classes-title")>
            <AdminTabs/>
            <super::FormErrors/>
            <Await future=load_classes() let:view>
                {match view.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => classes_body(&t, v).into_any(),
                }}
            </Await>
            <section class="card">
                <h2>{ctx.t("classes-add-level")}</h2>
                <p class="hint">{ctx.t("classes-add-level-hint")}</p>
                <form method="post" action=AddLevel::url() class="inline">
                    <label for="band">{ctx.t("classes-band")}</label>
                    <select id="band" name="band">{bands}</select>
                    <label for="ordinal">{ctx.t("classes-ordinal")}</label>
                    <select id="ordinal" name="ordinal">{ordinals}</select>
                    <button type="submit" class="btn">{ctx.t("classes-add-level")}</button>
                </form>
            </section>
        </Shell>
    }
}

fn classes_body(t: &RequestCtx, v: ClassesView) -> impl IntoView {
    let has_a_level = v.has_a_level();
    let levels = if v.levels.is_empty() {
        view! { <p class="empty-state" data-testid="classes-empty">{t.t("classes-empty")}</p> }.into_any()
    } else {
        v.levels.into_iter().map(|l| level_card(t, l, &v.teachers)).collect_view().into_any()
    };
    view! {
        {levels}
        {combinations(t, has_a_level, v.combinations, v.available_combinations)}
    }
}

fn teacher_options(teachers: &[TeacherOption], selected: Option<uuid::Uuid>, none_label: String) -> impl IntoView {
    let options = teachers
        .iter()
        .map(|tr| view! { <option value=tr.id.to_string() selected=Some(tr.id) == selected>{tr.name.clone()}</option> })
        .collect_view();
    view! {
        <option value="" selected=selected.is_none()>{none_label}</option>
        {options}
    }
}

fn level_card(t: &RequestCtx, l: LevelView, teachers: &[TeacherOption]) -> impl IntoView {
    let used: Vec<String> = l.streams.iter().map(|s| s.name.clone()).collect();
    let streams = if l.streams.is_empty() {
        view! { <p class="empty-state">{t.t("classes-no-streams")}</p> }.into_any()
    } else {
        let rows = l
            .streams
            .into_iter()
            .map(|s| {
                let options = teacher_options(teachers, s.class_teacher_id, t.t("classes-no-class-teacher"));
                view! {
                    <tr data-testid=format!("stream-{}", s.class_name)>
                        <td data-label=t.t("class")>{s.class_name.clone()}</td>
                        <td data-label=t.t("students") class="num">{count(s.students)}</td>
                        <td data-label=t.t("class-teacher")>
                            <form method="post" action=SetClassTeacher::url() class="inline">
                                <input type="hidden" name="stream_id" value=s.id.to_string()/>
                                <select name="teacher_id" aria-label=format!("{}: {}", t.t("class-teacher"), s.class_name)>{options}</select>
                                <button type="submit" class="btn btn-chip">{t.t("save")}</button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="table">
                <thead><tr><th>{t.t("class")}</th><th class="num">{t.t("students")}</th><th>{t.t("class-teacher")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let letters = ('A'..='Z')
        .map(|c| c.to_string())
        .filter(|c| !used.contains(c))
        .map(|c| view! { <option value=c.clone()>{c.clone()}</option> })
        .collect_view();
    let field = format!("stream-name-{}", l.id);
    view! {
        <section class="card level" data-testid=format!("level-{}", l.code)>
            <h2>{l.name.clone()}" "<span class="badge">{t.t(band_key(l.band))}</span></h2>
            {streams}
            <form method="post" action=AddStream::url() class="inline">
                <input type="hidden" name="level_id" value=l.id.to_string()/>
                <label for=field.clone()>{t.t("classes-stream-name")}</label>
                <select id=field name="name">{letters}</select>
                <button type="submit" class="btn btn-chip">{t.t("classes-add-stream")}</button>
            </form>
        </section>
    }
}

fn combinations(
    t: &RequestCtx,
    has_a_level: bool,
    offered: Vec<kilele::academic::classes::CombinationView>,
    available: Vec<kilele::academic::classes::MasterCombination>,
) -> impl IntoView {
    let sw = t.lang == Language::Sw;
    let body = if !has_a_level {
        view! { <p class="empty-state" data-testid="combinations-no-a-level">{t.t("classes-combinations-need-a-level")}</p> }.into_any()
    } else {
        let list = if offered.is_empty() {
            view! { <p class="empty-state" data-testid="combinations-empty">{t.t("classes-combinations-empty")}</p> }.into_any()
        } else {
            let rows = offered
                .into_iter()
                .map(|c| {
                    let names =
                        c.subjects.iter().map(|s| if sw { s.name_sw.clone() } else { s.name_en.clone() }).collect::<Vec<_>>().join(", ");
                    view! {
                        <tr data-testid=format!("combination-{}", c.code)>
                            <td data-label=t.t("classes-combination")><strong>{c.code.clone()}</strong></td>
                            <td data-label=t.t("classes-combination-subjects")>{names}</td>
                            <td data-label=t.t("students") class="num">{count(c.students)}</td>
                            <td>
                                <form method="post" action=RemoveCombination::url()>
                                    <input type="hidden" name="combination_id" value=c.id.to_string()/>
                                    <button type="submit" class="btn btn-chip">{t.t("classes-combination-remove")}</button>
                                </form>
                            </td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="table" data-testid="combinations">
                    <thead><tr>
                        <th>{t.t("classes-combination")}</th><th>{t.t("classes-combination-subjects")}</th>
                        <th class="num">{t.t("students")}</th><th></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        };
        let add = (!available.is_empty()).then(|| {
            let options = available
                .into_iter()
                .map(|m| {
                    let label = format!("{} — {}", m.code, if sw { m.name_sw } else { m.name_en });
                    view! { <option value=m.code>{label}</option> }
                })
                .collect_view();
            view! {
                <form method="post" action=AddCombination::url() class="inline">
                    <label for="combination-code">{t.t("classes-combination-add")}</label>
                    <select id="combination-code" name="code">{options}</select>
                    <button type="submit" class="btn btn-chip">{t.t("classes-combination-add")}</button>
                </form>
            }
        });
        view! { {list}{add} }.into_any()
    };
    view! {
        <section class="card">
            <h2>{t.t("classes-combinations")}</h2>
            {body}
        </section>
    }
}
