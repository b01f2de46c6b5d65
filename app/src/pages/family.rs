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
            {t.has_feature(kilele::tenancy::Feature::Finance).then(|| view! {
                <a href=format!("/portal/fees/{}", c.student_id) data-testid="child-fees">{t.t("finance-family-see")}</a>
            })}
        </li>
    }
}

/// The steps to pay with the control number at each bank and wallet, in the reader's
/// language.
fn how_to_pay(t: &RequestCtx, control_number: &str) -> impl IntoView {
    use kilele::finance::ledger::Channel;
    let items = Channel::ALL
        .iter()
        .filter(|c| **c != Channel::Cash)
        .map(|c| {
            let key = format!("finance-howto-{}", c.code());
            view! {
                <details data-channel=c.code()>
                    <summary>{t.t(c.label_key())}</summary>
                    <p>{crate::i18n::t_args(t.lang, &key, &[("number", control_number.to_owned())])}</p>
                </details>
            }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="how-to-pay">
            <h3>{t.t("finance-how-to-pay")}</h3>
            <p class="hint">{t.t("finance-how-to-pay-hint")}</p>
            {items}
        </section>
    }
}

/// `/portal/fees/:student`: a child's (or the student's own) fees: balance, control number
/// and how to pay, invoices, receipts, statement.
#[component]
pub fn FamilyFeesPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let id = leptos_router::hooks::use_params_map().with_untracked(|p| p.get("student").unwrap_or_default());
    view! {
        <Shell title=ctx.t("finance-family-title")>
            <p><a href="/portal">{ctx.t("finance-back-portal")}</a></p>
            <Await future=crate::api::finance::child_fees(id.clone()) let:account>
                {match account.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(a) => {
                        let grouped = kilele::finance::control::ControlNumber::parse(&a.control_number).map(|c| c.grouped()).unwrap_or_else(|_| a.control_number.clone());
                        view! {
                            <h2 data-testid="account-name">{format!("{} · {}", a.name, a.class_name)}</h2>
                            {super::accountant::account_body(&t, &a, "/portal/receipts")}
                            {how_to_pay(&t, &grouped)}
                            {super::accountant::statement_form(&t, format!("/portal/fees/{}/statement.pdf", a.student_id))}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
