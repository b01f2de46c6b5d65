use super::{layout::Shell, ErrorBox, FormErrors, OnceToken};
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
        // GePG is paid with GePG's own control number (the bursar gives it), not this one.
        .filter(|c| !matches!(c, Channel::Cash | Channel::Gepg))
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
            <FormErrors/>
            <Await future=crate::api::finance::child_fees(id.clone()) let:account>
                {match account.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(a) => {
                        let grouped = kilele::finance::control::ControlNumber::parse(&a.control_number).map(|c| c.grouped()).unwrap_or_else(|_| a.control_number.clone());
                        view! {
                            <h2 data-testid="account-name">{format!("{} · {}", a.name, a.class_name)}</h2>
                            {super::accountant::account_body(&t, &a, "/portal/receipts")}
                            {t.can(kilele::identity::Permission::PortalFeesPay).then(|| pay_now(&t, a.student_id, a.balance_minor))}
                            {gepg_number(&t, a.student_id)}
                            {how_to_pay(&t, &grouped)}
                            {super::accountant::statement_form(&t, format!("/portal/fees/{}/statement.pdf", a.student_id))}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// A government school's GePG control number for the child, when one is issued: paid at any
/// bank, agent or wallet under "Government payments (GePG)". Nothing otherwise.
fn gepg_number(t: &RequestCtx, student: uuid::Uuid) -> impl IntoView {
    let t = t.clone();
    view! {
        <Await future=crate::api::finance::child_gepg(student.to_string()) let:bill>
            {match bill.clone() {
                Ok(Some(b)) => {
                    let args = [
                        ("number", b.control_number.clone().unwrap_or_default()),
                        ("amount", super::accountant::tzs(b.amount_minor)),
                        ("until", kilele::clock::school_date(b.expires_at).to_string()),
                    ];
                    view! {
                        <section class="card" data-testid="gepg-number">
                            <h3>{t.t("payments-gepg-family-title")}</h3>
                            <p class="stat"><span class="value">{b.control_number.clone().unwrap_or_default()}</span></p>
                            <p>{crate::i18n::t_args(t.lang, "payments-gepg-family-howto", &args)}</p>
                        </section>
                    }.into_any()
                }
                _ => ().into_any(),
            }}
        </Await>
    }
}

/// "Pay now": the wallets this school takes pushes for, the phone to push to and the amount
/// (what is owed, by default). Nothing is shown when no wallet is open.
fn pay_now(t: &RequestCtx, student: uuid::Uuid, owed_minor: i64) -> impl IntoView {
    use crate::api::payments::{wallets_for, PayNow};
    use leptos::server_fn::ServerFn;
    let t = t.clone();
    let amount = if owed_minor > 0 { (owed_minor / 100).to_string() } else { String::new() };
    view! {
        <Await future=wallets_for(student.to_string()) let:wallets>
            {match wallets.clone() {
                Ok(w) if !w.is_empty() => {
                    let options = w.iter().map(|p| view! { <option value=p.code()>{t.t(p.channel().label_key())}</option> }).collect_view();
                    Some(view! {
                        <section class="card" data-testid="pay-now">
                            <h3>{t.t("payments-pay-now")}</h3>
                            <p class="hint">{t.t("payments-pay-now-hint")}</p>
                            <form method="post" action=PayNow::url()>
                                <OnceToken/>
                                <input type="hidden" name="student" value=student.to_string()/>
                                <p><label for="push-provider">{t.t("payments-pay-with")}</label><br/><select id="push-provider" name="provider">{options}</select></p>
                                <p><label for="push-phone">{t.t("payments-push-phone")}</label><br/><input id="push-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" placeholder="07XX XXX XXX" required/></p>
                                <p><label for="push-amount">{t.t("finance-amount-tzs")}</label><br/><input id="push-amount" name="amount" inputmode="numeric" value=amount.clone() required/></p>
                                <crate::islands::SubmitOnce label=t.t("payments-pay-send") busy_label=t.t("payments-pay-sending")/>
                            </form>
                        </section>
                    })
                }
                _ => None,
            }}
        </Await>
    }
}

/// `/portal/fees/:student/pay/:push`: a push's page. The status changes live (the push's
/// events) from "confirm on your phone" to the receipt, or says why not.
#[component]
pub fn FamilyPushPage() -> impl IntoView {
    use kilele::payments::PushStatus;
    let ctx = request_ctx();
    let t = ctx.clone();
    let (student, push) = leptos_router::hooks::use_params_map()
        .with_untracked(|p| (p.get("student").unwrap_or_default(), p.get("push").unwrap_or_default()));
    let labels: Vec<(String, String)> = PushStatus::ALL
        .iter()
        .map(|s| s.code())
        .chain(PUSH_REASONS.iter().copied())
        .map(|k| (k.to_owned(), t.t(&push_label_key(k))))
        .collect();
    view! {
        <Shell title=ctx.t("payments-pay-now")>
            <p><a href=format!("/portal/fees/{student}")>{ctx.t("payments-back-fees")}</a></p>
            <Await future=crate::api::payments::push_state(push.clone()) let:view>
                {match view.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => view! {
                        // Without JavaScript, a waiting push's page reloads itself.
                        {v.status.is_open().then(|| view! { <noscript><meta http-equiv="refresh" content="5"/></noscript> })}
                        <section class="card" data-testid="push">
                            <p>{format!("{} · {}", t.t(v.provider.channel().label_key()), super::accountant::tzs(v.amount_minor))}</p>
                            <crate::islands::PushLive line=v.line() events=format!("/portal/pushes/{}/events", v.id) labels=labels.clone() receipt_label=t.t("payments-push-receipt")/>
                        </section>
                    }.into_any(),
                }}
            </Await>
        </Shell>
    }
}

/// Every reason a push may fail or wait with (their sentences go to the page).
const PUSH_REASONS: [&str; 10] = [
    "payments-push-insufficient",
    "payments-push-cancelled",
    "payments-push-timeout",
    "payments-push-limit",
    "payments-push-bad-phone",
    "payments-push-declined",
    "payments-push-unavailable",
    "payments-push-unanswered",
    "payments-push-held",
    "payments-push-reversed",
];

/// A status code's sentence key (`payments-push-status-waiting`), or a reason's own key.
fn push_label_key(k: &str) -> String {
    if k.starts_with("payments-") {
        k.to_owned()
    } else {
        format!("payments-push-status-{k}")
    }
}
