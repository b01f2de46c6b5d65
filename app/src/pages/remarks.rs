//! A stream's report-card remarks for a term (`/teacher/remarks/:term/:stream` for the class
//! teacher, `/admin/cards/remarks/:term/:stream` for those who print cards): one form, a row
//! per student — days present (of the days open, one number for the stream), conduct, the
//! class teacher's comment, and the head teacher's comment for those who may write it.

use super::{admin::AdminTabs, layout::Shell, ErrorBox, FormErrors};
use crate::api::cards::{stream_remarks, SaveRemarks};
use crate::ctx::request_ctx;
use kilele::reporting::remarks::{RemarksSheet, COMMENT_MAX, CONDUCT_MAX, DAYS_OPEN_MAX};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_params_map, use_query_map};

fn remarks_form(sheet: RemarksSheet, admin: bool) -> impl IntoView {
    let t = request_ctx();
    let head = sheet.may_write_head;
    let rows = sheet
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let name = |col: &str| format!("rows[{i}][{col}]");
            let m = r.remarks;
            let head_cell = if head {
                view! { <td><textarea name=name("head_comment") maxlength=COMMENT_MAX.to_string() rows="2" aria-label=t.t("remarks-head-comment")>{m.head_comment.unwrap_or_default()}</textarea></td> }.into_any()
            } else {
                view! { <td class="hint">{m.head_comment.unwrap_or_default()}</td> }.into_any()
            };
            view! {
                <tr data-student=r.student.to_string()>
                    <td>
                        <input type="hidden" name=name("student") value=r.student.to_string()/>
                        <strong>{r.name}</strong><br/><small>{r.admission_no}</small>
                    </td>
                    <td><input name=name("days_present") value=m.days_present.map(|d| d.to_string()).unwrap_or_default() inputmode="numeric" class="short" aria-label=t.t("remarks-days-present")/></td>
                    <td><input name=name("conduct") value=m.conduct.unwrap_or_default() maxlength=CONDUCT_MAX.to_string() class="short" aria-label=t.t("remarks-conduct")/></td>
                    <td><textarea name=name("class_comment") maxlength=COMMENT_MAX.to_string() rows="2" aria-label=t.t("remarks-class-comment")>{m.class_comment.unwrap_or_default()}</textarea></td>
                    {head_cell}
                </tr>
            }
        })
        .collect_view();
    view! {
        <form method="post" action=SaveRemarks::url() data-testid="remarks-form">
            <input type="hidden" name="term" value=sheet.term.to_string()/>
            <input type="hidden" name="stream" value=sheet.stream.to_string()/>
            <input type="hidden" name="portal" value=if admin { "admin" } else { "teacher" }/>
            <p>
                <label for="days-open">{t.t("remarks-days-open")}</label>" "
                <input id="days-open" name="days_open" value=sheet.days_open.map(|d| d.to_string()).unwrap_or_default()
                    inputmode="numeric" class="short" max=DAYS_OPEN_MAX.to_string()/>
            </p>
            <table class="table" data-testid="remarks">
                <thead><tr>
                    <th>{t.t("students")}</th><th>{t.t("remarks-days-present")}</th><th>{t.t("remarks-conduct")}</th>
                    <th>{t.t("remarks-class-comment")}</th><th>{t.t("remarks-head-comment")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <button type="submit" class="btn btn-primary">{t.t("remarks-save")}</button>
        </form>
    }
}

/// Both routes.
#[component]
pub fn RemarksPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let admin = ctx.path.starts_with("/admin");
    let (term, stream) = use_params_map().with_untracked(|p| (p.get("term").unwrap_or_default(), p.get("stream").unwrap_or_default()));
    let saved = use_query_map().with_untracked(|q| q.get("saved").is_some());
    view! {
        <Shell title=ctx.t("remarks-title")>
            {admin.then(|| view! { <AdminTabs/> })}
            <FormErrors/>
            {saved.then(|| view! { <p class="notice" role="status" data-testid="remarks-saved">{t.t("remarks-saved")}</p> })}
            <Await future=stream_remarks(term.clone(), stream.clone()) let:sheet>
                {match sheet.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(sheet) => view! {
                        <h2 data-testid="remarks-class">{format!("{} · {} · {}", t.t("remarks-title"), sheet.class_name, sheet.term_label)}</h2>
                        <p class="hint">{t.t("remarks-hint")}</p>
                        {remarks_form(sheet, admin)}
                    }.into_any(),
                }}
            </Await>
        </Shell>
    }
}

/// Links to the remarks of every stream the reader may write for the current term (nothing
/// when there is none): on the teacher's home and the admin's report-cards page.
#[component]
pub fn RemarkLinks(base: &'static str) -> impl IntoView {
    let t = request_ctx();
    view! {
        <Await future=crate::api::cards::remark_streams() let:streams>
            {match streams.clone() {
                Ok(streams) if !streams.is_empty() => {
                    let links = streams
                        .into_iter()
                        .map(|(term, stream, name)| view! { <li><a href=format!("{base}/{term}/{stream}") data-testid="remarks-link">{name}</a></li> })
                        .collect_view();
                    view! {
                        <section data-testid="remark-streams">
                            <h2>{t.t("remarks-title")}</h2>
                            <p class="hint">{t.t("remarks-links-hint")}</p>
                            <ul class="cards">{links}</ul>
                        </section>
                    }.into_any()
                }
                _ => ().into_any(),
            }}
        </Await>
    }
}
