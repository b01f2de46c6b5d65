use super::{count, layout::Shell, ErrorBox};
use crate::api::owner_schools;
use crate::ctx::request_ctx;
use leptos::prelude::*;

/// SaaS owner console: every school with its counts.
#[component]
pub fn OwnerPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("owner-title")>
            <Await future=owner_schools() let:schools>
                {match schools.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="empty-state">{t.t("owner-no-schools")}</p>
                    }.into_any(),
                    Ok(rows) => {
                        let body = rows.into_iter().map(|r| {
                            let status = if r.suspended { t.t("status-suspended") } else { t.t("status-active") };
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
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="schools">
                                <thead><tr>
                                    <th>{t.t("school")}</th><th>{t.t("school-code")}</th><th>{t.t("plan")}</th>
                                    <th>{t.t("status")}</th><th class="num">{t.t("students")}</th>
                                    <th class="num">{t.t("staff")}</th><th class="num">{t.t("guardians")}</th>
                                    <th class="num">{t.t("classes")}</th>
                                </tr></thead>
                                <tbody>{body}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
