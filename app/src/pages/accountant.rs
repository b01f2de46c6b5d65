use super::{count, layout::Shell, ErrorBox};
use crate::api::finance_overview;
use crate::ctx::request_ctx;
use crate::i18n::t_args;
use leptos::prelude::*;

/// Accountant workspace: an honest empty state until fees and payments are built.
#[component]
pub fn AccountantPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("accountant-title")>
            <Await future=finance_overview() let:overview>
                {match overview.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(o) => view! {
                        <section class="empty-state" data-testid="finance-empty">
                            <h2>{t.t("finance-empty-title")}</h2>
                            <p>{t.t("finance-empty-body")}</p>
                            <p data-testid="finance-students">{t_args(t.lang, "finance-students-to-bill", &[("count", count(o.active_students))])}</p>
                        </section>
                    }.into_any(),
                }}
            </Await>
        </Shell>
    }
}
