use super::{layout::Shell, ErrorBox};
use crate::api::family_view;
use crate::ctx::{request_ctx, RequestCtx};
use kilele::academic::ChildSummary;
use leptos::prelude::*;

/// Parent/student portal: a guardian sees their children, a student their own record.
#[component]
pub fn FamilyPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("family-title")>
            <Await future=family_view() let:view_data>
                {match view_data.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => {
                        let is_guardian = t.can(kilele::identity::Permission::PortalChildrenRead);
                        let children = is_guardian.then(|| {
                            if v.children.is_empty() {
                                view! { <p class="empty-state">{t.t("family-no-children")}</p> }.into_any()
                            } else {
                                let cards = v.children.iter().map(|c| child_card(&t, c)).collect_view();
                                view! {
                                    <h2>{t.t("family-my-children")}</h2>
                                    <ul class="cards" data-testid="my-children">{cards}</ul>
                                }.into_any()
                            }
                        });
                        let me = v.me.as_ref().map(|c| view! {
                            <h2>{t.t("family-my-record")}</h2>
                            <ul class="cards" data-testid="my-record">{child_card(&t, c)}</ul>
                        });
                        view! { {children} {me} }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

fn child_card(t: &RequestCtx, c: &ChildSummary) -> impl IntoView {
    let class = c.class_name.clone().unwrap_or_else(|| "—".into());
    view! {
        <li class="card child">
            <strong>{c.full_name.clone()}</strong>
            <span>{t.t("admission-no")}": " <code>{c.admission_no.clone()}</code></span>
            <span>{t.t("class")}": " {class}</span>
            <a href=format!("/portal/results/{}", c.student_id) data-testid="child-results">{t.t("results-see")}</a>
        </li>
    }
}
