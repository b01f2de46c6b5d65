//! The accountant's workspace (`/accountant`): the dashboard, fee structures and invoicing,
//! students' accounts (record a payment, print its receipt, corrections), the defaulters.
//! Plain forms and links: everything works without JavaScript; only the invoicing progress
//! bar is an island.

use super::{count, layout::Shell, ErrorBox, FormErrors, OnceToken};
use crate::api::finance::{
    account_of, bank_statements, defaulters, fees_page, finance_dashboard, gepg_bills, payment_channels, payment_inbox, payments_list,
    reconciliation, search_accounts, suspense_list, AssignPayment, CancelInvoices, ClosePaymentChannel, GrantDiscount, IssueCreditNote,
    LinkWaitingPayment, OpenPaymentChannel, RecordPayment, Refund, RefundWaitingPayment, RequestGepgBill, RequestInvoices, SaveFeeSettings,
    SaveFeeStructure, SetChannelAddresses, SetFeeOptions, SplitPayment, TakeStatementLine, WaiveFine, WriteOff,
};
use crate::batch_progress::{BatchProgress, Progress, ProgressLabels};
use crate::ctx::{request_ctx, RequestCtx};
use crate::i18n::t_args;
use kilele::finance::charts::{bars_svg, Bar};
use kilele::finance::ledger::Channel;
use kilele::finance::views::{FeeClass, FeeStructureView, InvoiceRunView, StudentAccount};
use kilele::finance::{Currency, Money};
use kilele::identity::Permission;
use kilele::payments::RecOutcome;
use kilele::reporting::BatchStatus;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_params_map, use_query_map};

/// "TZS 150,000".
pub fn tzs(minor: i64) -> String {
    Money::from_minor(minor, Currency::Tzs).to_string()
}

/// An amount as typed back into a form ("150000").
fn plain_amount(minor: i64) -> String {
    let m = Money::from_minor(minor, Currency::Tzs);
    m.to_string().trim_start_matches("TZS ").replace(',', "")
}

fn percent(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        (bp / 100).to_string()
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
    }
}

/// The workspace's sections, as far as the reader may open them.
#[component]
pub fn AccountantTabs() -> impl IntoView {
    let ctx = request_ctx();
    let tabs = vec![
        ("/accountant", "finance-tab-dashboard", true),
        ("/accountant/fees", "finance-tab-fees", ctx.can(Permission::FinanceFeesManage)),
        ("/accountant/accounts", "finance-tab-accounts", true),
        ("/accountant/defaulters", "finance-tab-defaulters", true),
        ("/accountant/payments", "finance-tab-payments", true),
        ("/accountant/suspense", "finance-tab-suspense", true),
        ("/accountant/inbox", "finance-tab-inbox", true),
        ("/accountant/reconciliation", "finance-tab-reconciliation", true),
        ("/accountant/channels", "finance-tab-channels", true),
    ];
    super::admin::section_tabs(&ctx, "finance-sections", tabs)
}

fn channel_rows(t: &RequestCtx, totals: &[kilele::finance::views::ChannelTotal], testid: &'static str) -> AnyView {
    if totals.is_empty() {
        return view! { <p class="hint" data-testid=testid>{t.t("finance-nothing-collected")}</p> }.into_any();
    }
    let rows = totals
        .iter()
        .map(|c| view! { <tr><td>{t.t(c.channel.label_key())}</td><td class="num">{count(i64::from(c.count))}</td><td class="num">{tzs(c.amount_minor)}</td></tr> })
        .collect_view();
    view! {
        <table class="table" data-testid=testid>
            <thead><tr><th>{t.t("finance-channel")}</th><th class="num">{t.t("finance-payments")}</th><th class="num">{t.t("finance-amount")}</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// `/accountant`: the dashboard.
#[component]
pub fn AccountantPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("accountant-title")>
            <AccountantTabs/>
            <Await future=finance_dashboard() let:dashboard>
                {match dashboard.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(d) => {
                        let rate = if d.billed_minor > 0 { (d.collected_minor.min(d.billed_minor) * 100) / d.billed_minor } else { 0 };
                        let classes_chart = bars_svg(
                            &t.t("finance-collection-by-class"),
                            &d.classes
                                .iter()
                                .map(|c| Bar { label: c.class_name.clone(), value: c.billed_minor, inner: Some(c.collected_minor), text: format!("{}%", c.rate_percent()) })
                                .collect::<Vec<_>>(),
                        );
                        let ageing_chart = bars_svg(
                            &t.t("finance-ageing"),
                            &[
                                ("finance-ageing-0-30", d.ageing.days_0_30),
                                ("finance-ageing-31-60", d.ageing.days_31_60),
                                ("finance-ageing-61-90", d.ageing.days_61_90),
                                ("finance-ageing-over-90", d.ageing.days_over_90),
                            ]
                            .iter()
                            .map(|(k, v)| Bar { label: t.t(k), value: *v, inner: None, text: tzs(*v) })
                            .collect::<Vec<_>>(),
                        );
                        let term = if d.term_label.is_empty() { t.t("results-no-current-term") } else { d.term_label.clone() };
                        view! {
                            <h2 data-testid="finance-term">{format!("{} · {}", t.t("accountant-title"), term)}</h2>
                            <section class="stats">
                                <div class="stat"><span class="value" data-testid="stat-billed">{tzs(d.billed_minor)}</span><span class="label">{t.t("finance-billed")}</span></div>
                                <div class="stat"><span class="value" data-testid="stat-collected">{tzs(d.collected_minor)}</span><span class="label">{t.t("finance-collected")}</span></div>
                                {(d.written_off_minor > 0).then(|| view! { <div class="stat"><span class="value" data-testid="stat-written-off">{tzs(d.written_off_minor)}</span><span class="label">{t.t("finance-written-off-term")}</span></div> })}
                                <div class="stat"><span class="value" data-testid="stat-rate">{format!("{rate}%")}</span><span class="label">{t.t("finance-collection-rate")}</span></div>
                                <div class="stat"><span class="value" data-testid="stat-invoiced">{format!("{} / {}", count(i64::from(d.invoiced_students)), count(i64::from(d.active_students)))}</span><span class="label">{t.t("finance-invoiced-students")}</span></div>
                                <div class="stat"><span class="value" data-testid="stat-arrears">{tzs(d.ageing.total())}</span><span class="label">{t.t("finance-arrears")}</span></div>
                            </section>
                            <div class="grid-2">
                                <section class="card"><h3>{t.t("finance-today")}</h3>{channel_rows(&t, &d.today, "collected-today")}</section>
                                <section class="card"><h3>{t.t("finance-this-week")}</h3>{channel_rows(&t, &d.week, "collected-week")}</section>
                            </div>
                            <section class="card"><h3>{t.t("finance-collection-by-class")}</h3><div class="chart" data-testid="class-chart" inner_html=classes_chart></div></section>
                            <section class="card"><h3>{t.t("finance-ageing")}</h3><div class="chart" data-testid="ageing-chart" inner_html=ageing_chart></div></section>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

fn run_labels(t: &RequestCtx) -> ProgressLabels {
    ProgressLabels {
        counts: t_args(
            t.lang,
            "finance-run-counts",
            &[("done", "{done}".into()), ("total", "{total}".into()), ("failed", "{failed}".into())],
        ),
        statuses: BatchStatus::ALL.iter().map(|s| (s.code().to_owned(), t.t(s.label_key()))).collect(),
    }
}

fn run_row(t: &RequestCtx, r: InvoiceRunView, labels: ProgressLabels) -> impl IntoView {
    let cancel = r.status.is_open().then(|| {
        view! {
            <form method="post" action=CancelInvoices::url() class="inline" data-testid="cancel-invoices">
                <input type="hidden" name="run" value=r.id.to_string()/>
                <button type="submit" class="btn btn-chip">{t.t("cards-cancel")}</button>
            </form>
        }
    });
    let problems = (!r.problems.is_empty()).then(|| {
        let items = r.problems.iter().map(|p| view! { <li>{format!("{}: {}", p.student, t.t(&p.reason))}</li> }).collect_view();
        view! { <details><summary>{t.t("finance-run-problems")}</summary><ul data-testid="run-problems">{items}</ul></details> }
    });
    let class_name = if r.class_name.is_empty() { t.t("finance-whole-school") } else { r.class_name.clone() };
    let skipped = (r.skipped > 0)
        .then(|| view! { <small class="hint">{t_args(t.lang, "finance-run-skipped", &[("count", r.skipped.to_string())])}</small> });
    view! {
        <tr data-run=r.id.to_string()>
            <td>{class_name}</td>
            <td><small>{format!("{} · {}", r.requested_by, kilele::clock::school_time(r.requested_at))}</small></td>
            <td><BatchProgress progress=Progress::from(&r) events=format!("/accountant/invoices/runs/{}/events", r.id) labels=labels/>{skipped}{problems}</td>
            <td>{cancel}</td>
        </tr>
    }
}

const ITEM_ROWS: usize = 8;
const INSTALMENT_ROWS: usize = 4;

/// The form of one class's structure: its current lines (or empty rows) and instalments.
fn structure_form(
    t: &RequestCtx,
    term: uuid::Uuid,
    class: &FeeClass,
    existing: Option<&FeeStructureView>,
    stream: Option<(uuid::Uuid, String)>,
) -> impl IntoView {
    let title = match &stream {
        Some((_, name)) => format!("{} {}", class.level_name, name),
        None => class.level_name.clone(),
    };
    let locked = existing.is_some_and(|s| s.invoiced > 0);
    let item_rows = (0..ITEM_ROWS)
        .map(|i| {
            let line = existing.and_then(|s| s.lines.get(i));
            let name = line.map(|l| l.name.clone()).unwrap_or_default();
            let amount = line.map(|l| plain_amount(l.amount_minor)).unwrap_or_default();
            let compulsory = line.is_none_or(|l| l.compulsory);
            view! {
                <tr>
                    <td><input name=format!("items[{i}][name]") value=name aria-label=t.t("finance-item") maxlength="80" list="fee-item-names"/></td>
                    <td><input name=format!("items[{i}][amount]") value=amount aria-label=t.t("finance-amount") inputmode="numeric" class="short"/></td>
                    <td><select name=format!("items[{i}][compulsory]") aria-label=t.t("finance-compulsory")>
                        <option value="true" selected=compulsory>{t.t("finance-compulsory")}</option>
                        <option value="false" selected=!compulsory>{t.t("finance-optional")}</option>
                    </select></td>
                </tr>
            }
        })
        .collect_view();
    let instalment_rows = (0..INSTALMENT_ROWS)
        .map(|i| {
            let inst = existing.and_then(|s| s.instalments.get(i));
            view! {
                <tr>
                    <td>{(i + 1).to_string()}</td>
                    <td><input name=format!("instalments[{i}][percent]") value=inst.map(|x| percent(x.share_bp)).unwrap_or_default() aria-label=t.t("finance-share") inputmode="decimal" class="short"/>" %"</td>
                    <td><input type="date" name=format!("instalments[{i}][due_on]") value=inst.map(|x| x.due_on.to_string()).unwrap_or_default() aria-label=t.t("finance-due-on")/></td>
                </tr>
            }
        })
        .collect_view();
    let total = existing.map(|s| tzs(s.compulsory_total()));
    let heading = title.clone();
    view! {
        <details class="card" data-testid="fee-structure" data-class=title open=existing.is_none()>
            <summary>
                <strong>{heading}</strong>" "
                {match total {
                    Some(total) => view! { <span class="hint" data-testid="structure-total">{t_args(t.lang, "finance-structure-total", &[("total", total)])}</span> }.into_any(),
                    None => view! { <span class="hint">{t.t("finance-no-structure")}</span> }.into_any(),
                }}
            </summary>
            {locked.then(|| view! { <p class="notice">{t.t("finance-structure-locked")}</p> })}
            <form method="post" action=SaveFeeStructure::url() data-testid="structure-form">
                <input type="hidden" name="term" value=term.to_string()/>
                <input type="hidden" name="level" value=class.level_id.to_string()/>
                <input type="hidden" name="stream" value=stream.as_ref().map(|s| s.0.to_string()).unwrap_or_default()/>
                <table class="table">
                    <thead><tr><th>{t.t("finance-item")}</th><th>{t.t("finance-amount-tzs")}</th><th>{t.t("finance-who-pays")}</th></tr></thead>
                    <tbody>{item_rows}</tbody>
                </table>
                <h4>{t.t("finance-instalments")}</h4>
                <table class="table">
                    <thead><tr><th>"#"</th><th>{t.t("finance-share")}</th><th>{t.t("finance-due-on")}</th></tr></thead>
                    <tbody>{instalment_rows}</tbody>
                </table>
                <button type="submit" class="btn" disabled=locked>{t.t("save")}</button>
            </form>
        </details>
    }
}

/// `/accountant/fees`: the term's fee structures, the rules, invoicing.
#[component]
pub fn FeesPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("finance-fees-title")>
            <AccountantTabs/>
            <FormErrors/>
            <Await future=fees_page() let:overview>
                {match overview.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(o) => {
                        let Some(term) = o.term_id else {
                            return view! { <p class="empty-state">{t.t("results-no-current-term")}</p> }.into_any();
                        };
                        let names = o.structures.iter().flat_map(|s| s.lines.iter().map(|l| l.name.clone())).collect::<std::collections::BTreeSet<_>>();
                        let datalist = names.into_iter().map(|n| view! { <option value=n></option> }).collect_view();
                        let forms = o.classes.iter().map(|c| {
                            let level = o.structures.iter().find(|s| s.level_id == c.level_id && s.stream_id.is_none());
                            let streams = o.structures.iter().filter(|s| s.level_id == c.level_id && s.stream_id.is_some()).map(|s| {
                                let name = c.streams.iter().find(|x| Some(x.0) == s.stream_id).map(|x| x.1.clone()).unwrap_or_default();
                                structure_form(&t, term, c, Some(s), s.stream_id.map(|id| (id, name)))
                            }).collect_view();
                            view! { {structure_form(&t, term, c, level, None)} {streams} }
                        }).collect_view();
                        let level_options = o.classes.iter().map(|c| view! { <option value=c.level_id.to_string()>{c.level_name.clone()}</option> }).collect_view();
                        let labels = run_labels(&t);
                        let runs = (!o.runs.is_empty()).then(|| {
                            let rows = o.runs.into_iter().map(|r| run_row(&t, r, labels.clone())).collect_view();
                            view! {
                                <table class="table" data-testid="invoice-runs">
                                    <thead><tr><th>{t.t("class")}</th><th>{t.t("cards-requested")}</th><th>{t.t("cards-progress")}</th><th></th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }
                        });
                        let st = o.settings.clone();
                        view! {
                            <h2 data-testid="fees-term">{format!("{} · {}", t.t("finance-fees-title"), o.term_label)}</h2>
                            <p class="hint">{t.t("finance-fees-hint")}</p>
                            <datalist id="fee-item-names">{datalist}</datalist>
                            {forms}
                            <section class="card" data-testid="invoicing">
                                <h2>{t.t("finance-invoicing")}</h2>
                                <p class="hint">{t.t("finance-invoicing-hint")}</p>
                                <form method="post" action=RequestInvoices::url() class="inline" data-testid="request-invoices">
                                    <label for="invoice-level">{t.t("cards-which")}</label>" "
                                    <select id="invoice-level" name="level">
                                        <option value="">{t.t("finance-whole-school")}</option>
                                        {level_options}
                                    </select>" "
                                    <button type="submit" class="btn">{t.t("finance-invoice-term")}</button>
                                </form>
                                {runs}
                            </section>
                            <section class="card settings" data-testid="fee-settings">
                                <h2>{t.t("finance-rules")}</h2>
                                <p>{t.t("finance-control-prefix")}": "<code data-testid="control-prefix">{st.control_prefix.clone()}</code></p>
                                <form method="post" action=SaveFeeSettings::url()>
                                    <p><label for="sibling-second">{t.t("finance-sibling-second")}</label><br/>
                                       <input id="sibling-second" name="sibling_second" value=percent(st.sibling_second_bp) inputmode="decimal" class="short"/>" %"</p>
                                    <p><label for="sibling-third">{t.t("finance-sibling-third")}</label><br/>
                                       <input id="sibling-third" name="sibling_third" value=percent(st.sibling_third_bp) inputmode="decimal" class="short"/>" %"</p>
                                    <p><label for="allocation">{t.t("finance-allocation")}</label><br/>
                                       <select id="allocation" name="allocation">
                                           <option value="oldest_first" selected=st.allocation == kilele::finance::ledger::Allocation::OldestFirst>{t.t("finance-allocation-oldest")}</option>
                                           <option value="current_term_first" selected=st.allocation == kilele::finance::ledger::Allocation::CurrentTermFirst>{t.t("finance-allocation-current")}</option>
                                       </select></p>
                                    <p><label for="pro-rata">{t.t("finance-joiners")}</label><br/>
                                       <select id="pro-rata" name="pro_rata">
                                           <option value="false" selected=!st.pro_rata>{t.t("finance-joiners-full")}</option>
                                           <option value="true" selected=st.pro_rata>{t.t("finance-joiners-pro-rata")}</option>
                                       </select></p>
                                    <p><label for="late-fine">{t.t("finance-late-fine")}</label><br/>
                                       <input id="late-fine" name="late_fine" value=plain_amount(st.late_fine_minor) inputmode="numeric" class="short"/></p>
                                    <p><label for="grace-days">{t.t("finance-grace-days")}</label><br/>
                                       <input id="grace-days" name="grace_days" value=st.late_fine_grace_days.to_string() inputmode="numeric" class="short"/></p>
                                    <button type="submit" class="btn">{t.t("save")}</button>
                                </form>
                            </section>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// `/accountant/accounts`: find a student's account.
#[component]
pub fn AccountsPage() -> impl IntoView {
    let ctx = request_ctx();
    let q = use_query_map().with_untracked(|m| m.get("q")).unwrap_or_default();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("finance-accounts-title")>
            <AccountantTabs/>
            <form method="get" action="/accountant/accounts" class="inline search" role="search">
                <label for="q">{ctx.t("finance-accounts-search")}</label>
                <input id="q" name="q" type="search" value=q.clone() placeholder=ctx.t("finance-accounts-search-hint")/>
                <button type="submit" class="btn">{ctx.t("students-search-button")}</button>
            </form>
            <Await future=search_accounts(q) let:found>
                {match found.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">{t.t("students-no-match")}</p> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|a| view! {
                            <tr>
                                <td><a href=format!("/accountant/accounts/{}", a.student_id)>{a.name}</a></td>
                                <td><code>{a.admission_no}</code></td>
                                <td>{a.class_name}</td>
                                <td class="num">{tzs(a.balance_minor)}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="accounts">
                                <thead><tr><th>{t.t("students-name")}</th><th>{t.t("admission-no")}</th><th>{t.t("class")}</th><th class="num">{t.t("finance-balance")}</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

fn channel_options(t: &RequestCtx) -> impl IntoView {
    Channel::ALL.iter().map(|c| view! { <option value=c.code()>{t.t(c.label_key())}</option> }).collect_view()
}

/// The account's summary, invoices, payments and statement: shared by the bursar's page and
/// the family's.
pub fn account_body(t: &RequestCtx, a: &StudentAccount, receipt_base: &str) -> impl IntoView {
    let invoices = a
        .invoices
        .iter()
        .map(|i| {
            let lines = i
                .lines
                .iter()
                .map(|l| view! { <tr><td>{l.description.clone()}</td><td class="num">{tzs(l.gross_minor)}</td><td class="num">{tzs(l.discount_minor)}</td><td class="num">{tzs(l.gross_minor - l.discount_minor)}</td></tr> })
                .collect_view();
            let dues = i
                .instalments
                .iter()
                .map(|d| view! { <tr><td>{d.seq.to_string()}</td><td>{d.due_on.to_string()}</td><td class="num">{tzs(d.amount_minor)}</td><td class="num" data-testid="instalment-unpaid">{tzs(d.unpaid_minor)}</td></tr> })
                .collect_view();
            view! {
                <section class="card" data-testid="invoice" data-number=i.number.to_string() data-cancelled=i.cancelled.to_string()>
                    <h3>{format!("{} #{} · {}", t.t("finance-invoice"), i.number, i.term_label)}
                        {i.cancelled.then(|| view! { " " <span class="badge">{t.t("finance-cancelled")}</span> })}</h3>
                    <table class="table">
                        <thead><tr><th>{t.t("finance-item")}</th><th class="num">{t.t("finance-amount")}</th><th class="num">{t.t("finance-discount")}</th><th class="num">{t.t("finance-net")}</th></tr></thead>
                        <tbody>{lines}</tbody>
                        <tfoot><tr><th>{t.t("finance-total")}</th><th class="num">{tzs(i.gross_minor)}</th><th class="num">{tzs(i.discount_minor)}</th><th class="num">{tzs(i.net_minor)}</th></tr></tfoot>
                    </table>
                    <table class="table">
                        <thead><tr><th>"#"</th><th>{t.t("finance-due-on")}</th><th class="num">{t.t("finance-amount")}</th><th class="num">{t.t("finance-unpaid")}</th></tr></thead>
                        <tbody>{dues}</tbody>
                    </table>
                </section>
            }
        })
        .collect_view();
    let payments = a
        .payments
        .iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{p.paid_on.to_string()}</td>
                    <td>{t.t(p.channel.label_key())}</td>
                    <td><code>{p.reference.clone().unwrap_or_default()}</code></td>
                    <td class="num">{tzs(p.amount_minor)}</td>
                    <td><a href=format!("{receipt_base}/{}/receipt.pdf", p.id) data-testid="receipt-link" download>{format!("{} {}", t.t("finance-receipt"), p.receipt_no)}</a></td>
                </tr>
            }
        })
        .collect_view();
    let statement = a
        .statement
        .iter()
        .map(|r| {
            let (debit, credit) = if r.amount_minor > 0 { (tzs(r.amount_minor), String::new()) } else { (String::new(), tzs(-r.amount_minor)) };
            view! { <tr><td>{r.on.to_string()}</td><td>{t.t(r.kind.label_key())}" "<small>{r.memo.clone()}</small></td><td class="num">{debit}</td><td class="num">{credit}</td><td class="num">{tzs(r.balance_minor)}</td></tr> }
        })
        .collect_view();
    let balance_label = if a.balance_minor < 0 { t.t("finance-in-credit") } else { t.t("finance-balance") };
    view! {
        <section class="stats">
            <div class="stat"><span class="value" data-testid="account-balance">{tzs(a.balance_minor.abs())}</span><span class="label">{balance_label}</span></div>
            <div class="stat"><span class="value" data-testid="control-number">{kilele::finance::control::ControlNumber::parse(&a.control_number).map(|c| c.grouped()).unwrap_or_else(|_| a.control_number.clone())}</span><span class="label">{t.t("finance-control-number")}</span></div>
            {a.next_due.map(|(on, amount)| view! { <div class="stat"><span class="value" data-testid="next-due">{tzs(amount)}</span><span class="label">{t_args(t.lang, "finance-next-due", &[("date", on.to_string())])}</span></div> })}
        </section>
        {invoices}
        <section class="card">
            <h3>{t.t("finance-payments")}</h3>
            {if a.payments.is_empty() {
                view! { <p class="hint">{t.t("finance-no-payments")}</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="payments">
                        <thead><tr><th>{t.t("finance-paid-on")}</th><th>{t.t("finance-channel")}</th><th>{t.t("finance-reference")}</th><th class="num">{t.t("finance-amount")}</th><th></th></tr></thead>
                        <tbody>{payments}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="card">
            <h3>{t.t("finance-statement")}</h3>
            <table class="table" data-testid="statement">
                <thead><tr><th>{t.t("finance-date")}</th><th>{t.t("finance-description")}</th><th class="num">{t.t("finance-debit")}</th><th class="num">{t.t("finance-credit")}</th><th class="num">{t.t("finance-balance")}</th></tr></thead>
                <tbody>{statement}</tbody>
            </table>
        </section>
    }
}

/// The statement as a PDF for a period (the last twelve months unless chosen): a plain GET
/// form to the statement's route.
pub fn statement_form(t: &RequestCtx, action: String) -> impl IntoView {
    let today = kilele::clock::school_date(chrono::Utc::now());
    let from = (today - chrono::Duration::days(365)).to_string();
    view! {
        <form method="get" action=action class="inline" data-testid="statement-pdf">
            <strong>{t.t("finance-statement-pdf")}</strong>" "
            <label>{t.t("finance-from")}" "<input type="date" name="from" value=from/></label>" "
            <label>{t.t("finance-to")}" "<input type="date" name="to" value=today.to_string()/></label>" "
            <button type="submit" class="btn btn-chip">{t.t("finance-download")}</button>
        </form>
    }
}

/// `/accountant/accounts/:id`: one student's account with the bursar's forms.
#[component]
pub fn AccountPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    view! {
        <Shell title=ctx.t("finance-account-title")>
            <AccountantTabs/>
            <FormErrors/>
            <Await future=account_of(id.clone()) let:account>
                {match account.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(a) => {
                        let student = a.student_id.to_string();
                        let today = kilele::clock::school_date(chrono::Utc::now()).to_string();
                        let record = t.can(Permission::FinancePaymentsRecord).then(|| view! {
                            <section class="card" data-testid="record-payment">
                                <h3>{t.t("finance-record-payment")}</h3>
                                <form method="post" action=RecordPayment::url()>
                                    <OnceToken/>
                                    <input type="hidden" name="student" value=student.clone()/>
                                    <p><label for="pay-amount">{t.t("finance-amount-tzs")}</label><br/><input id="pay-amount" name="amount" inputmode="numeric" required/></p>
                                    <p><label for="pay-channel">{t.t("finance-channel")}</label><br/><select id="pay-channel" name="channel">{channel_options(&t)}</select></p>
                                    <p><label for="pay-reference">{t.t("finance-reference")}</label><br/><input id="pay-reference" name="reference" maxlength="60"/><br/><small class="hint">{t.t("finance-reference-hint")}</small></p>
                                    <p><label for="pay-date">{t.t("finance-paid-on")}</label><br/><input id="pay-date" type="date" name="paid_on" value=today.clone() max=today.clone() required/></p>
                                    <button type="submit" class="btn">{t.t("finance-record")}</button>
                                </form>
                            </section>
                        });
                        // A government school bills through GePG: its control numbers, and asking for one.
                        let can_bill = t.can(Permission::FinancePaymentsRecord);
                        let gepg = {
                            let (t, student) = (t.clone(), student.clone());
                            view! {
                                <Await future=gepg_bills(student.clone()) let:bills>
                                    {match bills.clone() {
                                        Ok(b) if b.open || !b.bills.is_empty() => {
                                            let rows = b.bills.iter().map(|bill| view! {
                                                <tr data-status=bill.status.clone()>
                                                    <td><code>{bill.control_number.clone().unwrap_or_default()}</code></td>
                                                    <td class="num">{tzs(bill.amount_minor)}</td>
                                                    <td>{t.t(&format!("payments-gepg-status-{}", bill.status))}{bill.code.clone().map(|c| format!(" ({c})")).unwrap_or_default()}</td>
                                                    <td>{kilele::clock::school_date(bill.expires_at).to_string()}</td>
                                                </tr>
                                            }).collect_view();
                                            let ask = (can_bill && b.open).then(|| view! {
                                                <form method="post" action=RequestGepgBill::url() data-testid="gepg-request">
                                                    <OnceToken/>
                                                    <input type="hidden" name="student" value=student.clone()/>
                                                    <button type="submit" class="btn btn-chip">{t.t("payments-gepg-request")}</button>
                                                </form>
                                            });
                                            view! {
                                                <section class="card" data-testid="gepg">
                                                    <h3>{t.t("payments-gepg-title")}</h3>
                                                    <p class="hint">{t.t("payments-gepg-hint")}</p>
                                                    <table class="table">
                                                        <thead><tr><th>{t.t("payments-gepg-control-number")}</th><th class="num">{t.t("finance-amount")}</th><th>{t.t("payments-channel-state")}</th><th>{t.t("payments-gepg-expires")}</th></tr></thead>
                                                        <tbody>{rows}</tbody>
                                                    </table>
                                                    {ask}
                                                </section>
                                            }.into_any()
                                        }
                                        _ => ().into_any(),
                                    }}
                                </Await>
                            }
                        };
                        let open_invoices: Vec<(uuid::Uuid, String)> = a.invoices.iter().filter(|i| !i.cancelled).map(|i| (i.id, format!("#{} · {}", i.number, i.term_label))).collect();
                        let adjust = (t.can(Permission::FinanceAdjust)).then(|| {
                            let invoice_options = open_invoices.iter().map(|(id, label)| view! { <option value=id.to_string()>{label.clone()}</option> }).collect_view();
                            let fines = a.fines.iter().filter(|f| !f.waived).map(|f| view! {
                                <li>{format!("{} · {} #{} / {}", tzs(f.amount_minor), t.t("finance-invoice"), f.invoice_number, f.seq)}
                                    <form method="post" action=WaiveFine::url() class="inline">
                                        <input type="hidden" name="fine" value=f.id.to_string()/>
                                        <input name="reason" placeholder=t.t("finance-reason") aria-label=t.t("finance-reason") required minlength="3"/>
                                        <button type="submit" class="btn btn-chip">{t.t("finance-waive")}</button>
                                    </form>
                                </li>
                            }).collect_view();
                            view! {
                                <details class="card" data-testid="corrections">
                                    <summary>{t.t("finance-corrections")}</summary>
                                    <h4>{t.t("finance-credit-note")}</h4>
                                    <form method="post" action=IssueCreditNote::url() data-testid="credit-note">
                                        <OnceToken/>
                                        <input type="hidden" name="student" value=student.clone()/>
                                        <p><select name="invoice" aria-label=t.t("finance-invoice")>{invoice_options}</select></p>
                                        <p><label for="cn-amount">{t.t("finance-credit-amount")}</label><br/><input id="cn-amount" name="amount" inputmode="numeric"/></p>
                                        <p><label for="cn-reason">{t.t("finance-reason")}</label><br/><input id="cn-reason" name="reason" required minlength="3"/></p>
                                        <button type="submit" class="btn">{t.t("finance-issue-credit-note")}</button>
                                    </form>
                                    <h4>{t.t("finance-refund")}</h4>
                                    <form method="post" action=Refund::url() data-testid="refund">
                                        <OnceToken/>
                                        <input type="hidden" name="student" value=student.clone()/>
                                        <p><input name="amount" inputmode="numeric" placeholder=t.t("finance-amount-tzs") aria-label=t.t("finance-amount-tzs") required/>" "
                                           <select name="channel" aria-label=t.t("finance-channel")>{channel_options(&t)}</select>" "
                                           <input name="reference" placeholder=t.t("finance-reference") aria-label=t.t("finance-reference")/></p>
                                        <p><input name="reason" placeholder=t.t("finance-reason") aria-label=t.t("finance-reason") required minlength="3"/></p>
                                        <button type="submit" class="btn">{t.t("finance-refund")}</button>
                                    </form>
                                    <h4>{t.t("finance-write-off")}</h4>
                                    <form method="post" action=WriteOff::url() data-testid="write-off">
                                        <OnceToken/>
                                        <input type="hidden" name="student" value=student.clone()/>
                                        <p><input name="amount" inputmode="numeric" placeholder=t.t("finance-amount-tzs") aria-label=t.t("finance-amount-tzs") required/>" "
                                           <input name="reason" placeholder=t.t("finance-reason") aria-label=t.t("finance-reason") required minlength="3"/></p>
                                        <button type="submit" class="btn">{t.t("finance-write-off")}</button>
                                    </form>
                                    {(!a.fines.is_empty()).then(|| view! { <h4>{t.t("finance-fines")}</h4><ul>{fines}</ul> })}
                                </details>
                            }
                        });
                        let discount = t.can(Permission::FinanceFeesManage).then(|| view! {
                            <details class="card" data-testid="discount">
                                <summary>{t.t("finance-discount-title")}</summary>
                                <p class="hint">{t.t("finance-discount-hint")}</p>
                                <form method="post" action=GrantDiscount::url()>
                                    <OnceToken/>
                                    <input type="hidden" name="student" value=student.clone()/>
                                    <p><select name="kind" aria-label=t.t("finance-discount-kind")>
                                        <option value="bursary">{t.t("finance-discount-bursary")}</option>
                                        <option value="scholarship">{t.t("finance-discount-scholarship")}</option>
                                        <option value="staff_child">{t.t("finance-discount-staff-child")}</option>
                                        <option value="other">{t.t("finance-discount-other")}</option>
                                    </select>" "
                                    <select name="percent" aria-label=t.t("finance-discount-type")>
                                        <option value="true">"%"</option>
                                        <option value="false">"TZS"</option>
                                    </select>" "
                                    <input name="value" inputmode="decimal" class="short" aria-label=t.t("finance-amount") required/></p>
                                    <p><input name="reason" placeholder=t.t("finance-reason") aria-label=t.t("finance-reason") required minlength="3"/></p>
                                    <button type="submit" class="btn">{t.t("finance-grant")}</button>
                                </form>
                            </details>
                        });
                        let options = (t.can(Permission::FinanceFeesManage) && !a.optional_items.is_empty()).then(|| {
                            let boxes = a.optional_items.iter().enumerate().map(|(i, o)| view! {
                                <label class="check"><input type="checkbox" name=format!("items[{i}]") value=o.item.to_string() checked=o.taken/>" "{format!("{} ({})", o.name, tzs(o.amount_minor))}</label>
                            }).collect_view();
                            view! {
                                <section class="card" data-testid="fee-options">
                                    <h3>{t.t("finance-options")}</h3>
                                    <p class="hint">{t.t("finance-options-hint")}</p>
                                    <form method="post" action=SetFeeOptions::url()>
                                        <input type="hidden" name="student" value=student.clone()/>
                                        {boxes}
                                        <button type="submit" class="btn">{t.t("save")}</button>
                                    </form>
                                </section>
                            }
                        });
                        let statement_pdf = statement_form(&t, format!("/accountant/accounts/{}/statement.pdf", a.student_id));
                        view! {
                            <h2 data-testid="account-name">{format!("{} · {} · {}", a.name, a.admission_no, a.class_name)}</h2>
                            {account_body(&t, &a, "/accountant/receipts")}
                            {statement_pdf}
                            {record}
                            {gepg}
                            {discount}
                            {adjust}
                            {options}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// `/accountant/defaulters`: who is behind, most overdue first, and whom to call.
#[component]
pub fn DefaultersPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("finance-defaulters-title")>
            <AccountantTabs/>
            <p>
                <a href="/accountant/defaulters.csv" data-testid="defaulters-csv" download>{ctx.t("finance-export-csv")}</a>" · "
                <a href="/accountant/defaulters.xlsx" data-testid="defaulters-xlsx" download>{ctx.t("finance-export-xlsx")}</a>
            </p>
            <Await future=defaulters() let:list>
                {match list.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="no-defaulters">{t.t("finance-no-defaulters")}</p> }.into_any(),
                    Ok(list) => {
                        let capped = (list.len() >= crate::api::finance::DEFAULTERS_SHOWN)
                            .then(|| view! { <p class="hint">{t_args(t.lang, "finance-defaulters-capped", &[("count", crate::api::finance::DEFAULTERS_SHOWN.to_string())])}</p> });
                        let rows = list.into_iter().map(|d| view! {
                            <tr>
                                <td><a href=format!("/accountant/accounts/{}", d.student_id)>{d.name}</a><br/><small><code>{d.admission_no}</code></small></td>
                                <td>{d.class_name}</td>
                                <td class="num">{tzs(d.overdue_minor)}</td>
                                <td>{d.oldest_due.map(|x| x.to_string()).unwrap_or_default()}</td>
                                <td>{d.guardian}<br/><small>{d.guardian_phone.unwrap_or_else(|| "—".into())}</small></td>
                            </tr>
                        }).collect_view();
                        view! {
                            {capped}
                            <table class="table" data-testid="defaulters">
                                <thead><tr><th>{t.t("students-name")}</th><th>{t.t("class")}</th><th class="num">{t.t("finance-overdue")}</th><th>{t.t("finance-oldest-due")}</th><th>{t.t("finance-guardian")}</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// `/accountant/suspense`: providers' payments nobody matched, each with why, and forms to
/// assign it to a student by control number or admission number, split it between children,
/// or record that it was sent back to the payer.
#[component]
pub fn SuspensePage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let can_assign = ctx.can(Permission::FinancePaymentsRecord);
    let can_refund = ctx.can(Permission::FinanceAdjust);
    view! {
        <Shell title=ctx.t("payments-suspense-title")>
            <AccountantTabs/>
            <FormErrors/>
            <p class="hint">{ctx.t("payments-suspense-hint")}</p>
            <Await future=suspense_list() let:list>
                {match list.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="no-suspense">{t.t("payments-suspense-none")}</p> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|item| {
                            let p = item.event;
                            let assign = can_assign.then(|| view! {
                                <form method="post" action=AssignPayment::url() class="inline" data-testid="assign-payment">
                                    <input type="hidden" name="item" value=item.id.to_string()/>
                                    <OnceToken/>
                                    <input name="student" required aria-label=t.t("payments-assign-to") placeholder=t.t("payments-assign-to")/>
                                    <button type="submit" class="btn btn-chip">{t.t("payments-assign")}</button>
                                </form>
                                <details class="inline-more">
                                    <summary>{t.t("payments-split")}</summary>
                                    <form method="post" action=SplitPayment::url() data-testid="split-payment">
                                        <input type="hidden" name="item" value=item.id.to_string()/>
                                        <OnceToken/>
                                        {(0..3).map(|i| { let needed = i < 2; view! {
                                            <div class="row">
                                                <input name=format!("parts[{i}][student]") aria-label=t.t("payments-assign-to")
                                                    placeholder=t.t("payments-assign-to") required=needed/>
                                                <input name=format!("parts[{i}][amount]") inputmode="numeric" aria-label=t.t("finance-amount")
                                                    placeholder=t.t("finance-amount") required=needed/>
                                            </div>
                                        }}).collect_view()}
                                        <button type="submit" class="btn btn-chip">{t.t("payments-split-do")}</button>
                                    </form>
                                </details>
                            });
                            // The notification of a slip the bursar recorded by hand: one click says so.
                            let link = (can_assign && item.reason == "payments-suspense-recorded-by-hand").then(|| view! {
                                <form method="post" action=LinkWaitingPayment::url() class="inline" data-testid="link-payment">
                                    <input type="hidden" name="item" value=item.id.to_string()/>
                                    <OnceToken/>
                                    <button type="submit" class="btn btn-chip">{t.t("payments-link")}</button>
                                </form>
                            });
                            let refund = can_refund.then(|| view! {
                                <details class="inline-more">
                                    <summary>{t.t("payments-refund")}</summary>
                                    <form method="post" action=RefundWaitingPayment::url() data-testid="refund-payment">
                                        <input type="hidden" name="item" value=item.id.to_string()/>
                                        <OnceToken/>
                                        <input name="reference" required maxlength="60" aria-label=t.t("payments-refund-reference")
                                            placeholder=t.t("payments-refund-reference")/>
                                        <input name="reason" required maxlength="200" aria-label=t.t("payments-refund-reason")
                                            placeholder=t.t("payments-refund-reason")/>
                                        <button type="submit" class="btn btn-chip">{t.t("payments-refund-do")}</button>
                                    </form>
                                </details>
                            });
                            view! {
                                <tr data-item=item.id.to_string()>
                                    <td>{t.t(p.provider.channel().label_key())}<br/><small><code>{p.transaction_id}</code></small></td>
                                    <td><code>{p.reference}</code></td>
                                    <td>{p.payer_name.unwrap_or_default()}<br/><small>{p.payer_phone.unwrap_or_default()}</small></td>
                                    <td class="num">{tzs(p.amount_minor)}</td>
                                    <td>{kilele::clock::school_time(p.paid_at)}</td>
                                    <td>{t.t(&item.reason)}</td>
                                    <td>{link}{assign}{refund}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="suspense">
                                <thead><tr>
                                    <th>{t.t("finance-channel")}</th><th>{t.t("payments-quoted")}</th><th>{t.t("payments-payer")}</th>
                                    <th class="num">{t.t("finance-amount")}</th><th>{t.t("finance-paid-on")}</th><th>{t.t("payments-why")}</th><th></th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// `/accountant/payments`: the payments of a period (the last seven days by default), every
/// channel or one, newest first, with their count and total; each with its receipt.
#[component]
pub fn PaymentsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let q = use_query_map();
    let (from, to, channel) =
        q.with_untracked(|m| (m.get("from").unwrap_or_default(), m.get("to").unwrap_or_default(), m.get("channel").unwrap_or_default()));
    view! {
        <Shell title=ctx.t("payments-list-title")>
            <AccountantTabs/>
            <Await future=payments_list(from.clone(), to.clone(), channel.clone()) let:list>
                {match list.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) => {
                        let options = Channel::ALL.iter().map(|c| {
                            let selected = list.channel == Some(*c);
                            view! { <option value=c.code() selected=selected>{t.t(c.label_key())}</option> }
                        }).collect_view();
                        let rows = list.rows.iter().map(|p| view! {
                            <tr>
                                <td>{p.paid_on.to_string()}</td>
                                <td><a href=format!("/accountant/receipts/{}/receipt.pdf", p.id)>{format!("#{}", p.receipt_no)}</a></td>
                                <td><a href=format!("/accountant/accounts/{}", p.student_id)>{p.student_name.clone()}</a><br/><small><code>{p.admission_no.clone()}</code></small></td>
                                <td>{t.t(p.channel.label_key())}</td>
                                <td><code>{p.reference.clone().unwrap_or_default()}</code></td>
                                <td class="num">{tzs(p.amount_minor)}</td>
                            </tr>
                        }).collect_view();
                        let summary = t_args(t.lang, "payments-list-summary", &[("count", count(list.count)), ("total", tzs(list.total_minor))]);
                        let capped = (list.count > kilele::payments::PaymentList::SHOWN)
                            .then(|| view! { <p class="hint">{t_args(t.lang, "payments-list-capped", &[("count", kilele::payments::PaymentList::SHOWN.to_string())])}</p> });
                        view! {
                            <form method="get" action="/accountant/payments" class="filters" data-testid="payments-filter">
                                <label>{t.t("payments-from")}" "<input type="date" name="from" value=list.from.to_string()/></label>" "
                                <label>{t.t("payments-to")}" "<input type="date" name="to" value=list.to.to_string()/></label>" "
                                <label>{t.t("finance-channel")}" "<select name="channel"><option value="">{t.t("payments-every-channel")}</option>{options}</select></label>" "
                                <button type="submit" class="btn btn-chip">{t.t("payments-show")}</button>
                            </form>
                            <p data-testid="payments-summary">{summary}</p>
                            {capped}
                            <table class="table" data-testid="payments">
                                <thead><tr>
                                    <th>{t.t("finance-paid-on")}</th><th>{t.t("payments-receipt")}</th><th>{t.t("students-name")}</th>
                                    <th>{t.t("finance-channel")}</th><th>{t.t("finance-reference")}</th><th class="num">{t.t("finance-amount")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// `/accountant/inbox`: every payment delivery the providers sent (the latest 200), with what
/// was decided and why: the bursar sees a bank with a wrong key, a forged result, a payment
/// that waits for a human.
#[component]
pub fn InboxPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let outcome = use_query_map().with_untracked(|m| m.get("outcome")).unwrap_or_default();
    let chosen = outcome.clone();
    view! {
        <Shell title=ctx.t("payments-inbox-title")>
            <AccountantTabs/>
            <p class="hint">{ctx.t("payments-inbox-hint")}</p>
            <form method="get" action="/accountant/inbox" class="filters">
                <label>{ctx.t("payments-outcome")}" "<select name="outcome">
                    <option value="">{ctx.t("payments-every-outcome")}</option>
                    {kilele::payments::INBOX_OUTCOMES.iter().map(|o| view! {
                        <option value=*o selected=chosen == *o>{ctx.t(&format!("payments-outcome-{o}"))}</option>
                    }).collect_view()}
                </select></label>" "
                <button type="submit" class="btn btn-chip">{ctx.t("payments-show")}</button>
            </form>
            <Await future=payment_inbox(outcome.clone()) let:rows>
                {match rows.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="empty-state" data-testid="no-deliveries">{t.t("payments-inbox-empty")}</p> }.into_any(),
                    Ok(rows) => {
                        let rows = rows.into_iter().map(|d| view! {
                            <tr data-outcome=d.outcome.clone()>
                                <td>{kilele::clock::school_time(d.received_at)}</td>
                                <td>{t.t(d.provider.channel().label_key())}<br/><small>{t.t(&format!("payments-kind-{}", d.kind))}</small></td>
                                <td><code>{d.transaction_id.unwrap_or_default()}</code></td>
                                <td>{t.t(&format!("payments-outcome-{}", d.outcome))}</td>
                                <td>{d.reason.map(|r| t.t(&r)).unwrap_or_default()}</td>
                                <td><small>{d.source_ip.unwrap_or_default()}</small></td>
                                <td class="num">{d.body_bytes}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="inbox">
                                <thead><tr>
                                    <th>{t.t("payments-received-at")}</th><th>{t.t("payments-provider")}</th><th>{t.t("payments-transaction")}</th>
                                    <th>{t.t("payments-outcome")}</th><th>{t.t("payments-why")}</th><th>{t.t("payments-address")}</th><th class="num">{t.t("payments-bytes")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// `/accountant/reconciliation`: the bank statements imported (the latest 20), the upload of
/// another (every line checked, every error said), and, for the one chosen (`?statement=`),
/// its reconciliation against the bank's notifications: matched, another amount, missing on
/// our side, missing on the bank's; with the CSV for the bursar's files.
#[component]
pub fn ReconciliationPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let can_import = ctx.can(Permission::FinancePaymentsRecord);
    let chosen = use_query_map().with_untracked(|m| m.get("statement").unwrap_or_default());
    let upload = can_import.then(|| {
        let providers = kilele::payments::Provider::ALL
            .iter()
            .map(|b| view! { <option value=b.code()>{t.t(b.channel().label_key())}</option> })
            .collect_view();
        view! {
            <form method="post" action="/accountant/reconciliation/upload" enctype="multipart/form-data" class="filters" data-testid="statement-upload">
                <label>{t.t("payments-statement-bank")}" "<select name="provider" required>{providers}</select></label>" "
                <label>{t.t("payments-statement-file")}" "<input type="file" name="file" accept=".csv,.xlsx" required/></label>" "
                <button type="submit" class="btn btn-chip">{t.t("payments-statement-import")}</button>
            </form>
            <p class="hint">{t.t("payments-statement-hint")}</p>
        }
    });
    let report = (!chosen.is_empty()).then(|| {
        let t = t.clone();
        view! {
            <Await future=reconciliation(chosen.clone()) let:r>
                {match r.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(r) => {
                        let counts = RecOutcome::ALL.iter().map(|o| view! {
                            <li>{t.t(&format!("payments-rec-{}", o.code()))}": "<strong>{r.count(*o)}</strong></li>
                        }).collect_view();
                        let statement = r.statement.id.to_string();
                        let rows = r.lines.iter().map(|l| {
                            // A line the provider never notified: the bursar may take it in.
                            let take = (can_import && l.outcome == RecOutcome::MissingHere).then(|| view! {
                                <form method="post" action=TakeStatementLine::url() class="inline" data-testid="take-line">
                                    <input type="hidden" name="statement" value=statement.clone()/>
                                    <input type="hidden" name="line" value=l.transaction_id.clone()/>
                                    <OnceToken/>
                                    <button type="submit" class="btn btn-chip">{t.t("payments-rec-take")}</button>
                                </form>
                            });
                            view! {
                                <tr data-outcome=l.outcome.code()>
                                    <td>{t.t(&format!("payments-rec-{}", l.outcome.code()))}</td>
                                    <td>{l.day.to_string()}</td>
                                    <td><code>{l.transaction_id.clone()}</code></td>
                                    <td class="num">{l.statement_minor.map(tzs).unwrap_or_default()}</td>
                                    <td class="num">{l.ours_minor.map(tzs).unwrap_or_default()}</td>
                                    <td>{l.our_status.as_ref().map(|s| t.t(&format!("payments-rec-status-{s}"))).unwrap_or_default()}{take}</td>
                                </tr>
                            }
                        }).collect_view();
                        let s = &r.statement;
                        view! {
                            <h2>{format!("{} · {} – {} · {}", t.t(s.provider.channel().label_key()), s.first_day, s.last_day, s.file_name)}</h2>
                            <ul class="inline" data-testid="reconciliation-counts">{counts}</ul>
                            <p><a href=format!("/accountant/reconciliation/{}/report.csv", s.id) data-testid="reconciliation-csv">{t.t("payments-rec-download")}</a></p>
                            <table class="table" data-testid="reconciliation">
                                <thead><tr>
                                    <th>{t.t("payments-outcome")}</th><th>{t.t("finance-paid-on")}</th><th>{t.t("payments-quoted")}</th>
                                    <th class="num">{t.t("payments-rec-statement")}</th><th class="num">{t.t("payments-rec-notified")}</th><th>{t.t("payments-rec-here")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        }
    });
    view! {
        <Shell title=ctx.t("payments-rec-title")>
            <AccountantTabs/>
            <FormErrors/>
            {upload}
            <Await future=bank_statements() let:list>
                {match list.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="no-statements">{t.t("payments-statement-none")}</p> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|s| view! {
                            <tr>
                                <td><a href=format!("/accountant/reconciliation?statement={}", s.id)>{s.file_name.clone()}</a></td>
                                <td>{t.t(s.provider.channel().label_key())}</td>
                                <td>{format!("{} – {}", s.first_day, s.last_day)}</td>
                                <td class="num">{s.lines}</td>
                                <td class="num">{tzs(s.total_minor)}</td>
                                <td>{kilele::clock::school_time(s.imported_at)}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="statements">
                                <thead><tr>
                                    <th>{t.t("payments-statement-file")}</th><th>{t.t("payments-statement-bank")}</th><th>{t.t("payments-statement-days")}</th>
                                    <th class="num">{t.t("payments-statement-lines")}</th><th class="num">{t.t("finance-amount")}</th><th>{t.t("payments-received-at")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
            {report}
        </Shell>
    }
}

/// `/accountant/channels`: the school's seven payment channels — set up (by the operator) or not,
/// open or closed, the addresses each provider may call from, the last delivery and the day's
/// refusals — with, for those who manage channels, close/open and the addresses.
#[component]
pub fn ChannelsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let can_manage = ctx.can(Permission::FinanceChannelsManage);
    view! {
        <Shell title=ctx.t("payments-channels-title")>
            <AccountantTabs/>
            <FormErrors/>
            <p class="hint">{ctx.t("payments-channels-hint")}</p>
            <Await future=payment_channels() let:list>
                {match list.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|c| {
                            let code = c.provider.code();
                            let state = match (c.set_up, c.enabled) {
                                (false, _) => t.t("payments-channel-not-set-up"),
                                (true, true) => t.t("payments-channel-open"),
                                (true, false) if c.closed_by_operator => t.t("payments-channel-closed-by-operator"),
                                (true, false) => t.t("payments-channel-closed"),
                            };
                            let toggle = (can_manage && c.set_up && (c.enabled || !c.closed_by_operator)).then(|| match c.enabled {
                                true => view! {
                                    <form method="post" action=ClosePaymentChannel::url() class="inline">
                                        <input type="hidden" name="provider" value=code/>
                                        <button type="submit" class="btn btn-chip">{t.t("payments-channel-close")}</button>
                                    </form>
                                }.into_any(),
                                false => view! {
                                    <form method="post" action=OpenPaymentChannel::url() class="inline">
                                        <input type="hidden" name="provider" value=code/>
                                        <button type="submit" class="btn btn-chip">{t.t("payments-channel-open-again")}</button>
                                    </form>
                                }.into_any(),
                            });
                            let addresses = c.allowed_ips.join(", ");
                            // A wallet's addresses stay with the operator (Tigo's are its only proof of origin).
                            let edit = (can_manage && c.set_up && c.provider.is_bank()).then(|| view! {
                                <form method="post" action=SetChannelAddresses::url() class="inline">
                                    <input type="hidden" name="provider" value=code/>
                                    <input name="addresses" value=addresses.clone() aria-label=t.t("payments-channel-addresses")
                                        placeholder=t.t("payments-channel-any-address")/>
                                    <button type="submit" class="btn btn-chip">{t.t("payments-channel-save")}</button>
                                </form>
                            });
                            let shown = if addresses.is_empty() { t.t("payments-channel-any-address") } else { addresses.clone() };
                            view! {
                                <tr data-channel=code>
                                    <td>{t.t(c.provider.channel().label_key())}</td>
                                    <td>{state}" "{toggle}</td>
                                    <td><code>{shown}</code>{edit}</td>
                                    <td>{c.last_delivery.map(kilele::clock::school_time).unwrap_or_default()}</td>
                                    <td class="num">{c.refused_last_day}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="channels">
                                <thead><tr>
                                    <th>{t.t("finance-channel")}</th><th>{t.t("payments-channel-state")}</th><th>{t.t("payments-channel-addresses")}</th>
                                    <th>{t.t("payments-channel-last")}</th><th class="num">{t.t("payments-channel-refused")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
