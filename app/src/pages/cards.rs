//! Report cards in the admin console: each published class of the current term with a form
//! to print its cards (the whole class or one stream), and the term's batches with a live
//! progress bar, their failures, a cancel button while open and the ZIP once done.

use super::{admin::AdminTabs, layout::Shell, ErrorBox, FormErrors};
use crate::api::cards::{report_cards_overview, CancelCards, RequestCards, SetCardHeading};
use crate::batch_progress::{BatchProgress, Progress, ProgressLabels};
use crate::ctx::{request_ctx, RequestCtx};
use kilele::reporting::{BatchStatus, BatchView, PrintableClass};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

pub(crate) fn progress_labels(t: &RequestCtx) -> ProgressLabels {
    ProgressLabels {
        counts: crate::i18n::t_args(
            t.lang,
            "cards-counts",
            &[("done", "{done}".into()), ("total", "{total}".into()), ("failed", "{failed}".into())],
        ),
        statuses: BatchStatus::ALL.iter().map(|s| (s.code().to_owned(), t.t(s.label_key()))).collect(),
    }
}

fn class_form(t: &RequestCtx, term: uuid::Uuid, c: PrintableClass) -> impl IntoView {
    let streams = c.streams.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view();
    let select_id = format!("stream-{}", c.level_id);
    view! {
        <li data-level=c.level_id.to_string()>
            <form method="post" action=RequestCards::url() class="inline" data-testid="request-cards">
                <input type="hidden" name="term" value=term.to_string()/>
                <input type="hidden" name="level" value=c.level_id.to_string()/>
                <strong>{c.level_name.clone()}</strong>" "
                <span class="hint">{crate::i18n::t_args(t.lang, "cards-students", &[("count", c.students.to_string())])}</span>" "
                <label for=select_id.clone()>{t.t("cards-which")}</label>
                <select id=select_id name="stream">
                    <option value="">{t.t("cards-whole-class")}</option>
                    {streams}
                </select>
                <button type="submit" class="btn btn-chip">{t.t("cards-print")}</button>
            </form>
        </li>
    }
}

fn batch_row(t: &RequestCtx, b: BatchView, labels: ProgressLabels) -> impl IntoView {
    let cancel = b.status.is_open().then(|| {
        view! {
            <form method="post" action=CancelCards::url() class="inline" data-testid="cancel-cards">
                <input type="hidden" name="batch" value=b.id.to_string()/>
                <button type="submit" class="btn btn-chip">{t.t("cards-cancel")}</button>
            </form>
        }
    });
    let zip = b.bundle_ready.then(|| {
        view! { <a href=format!("/admin/cards/batches/{}/cards.zip", b.id) data-testid="cards-zip" download>{t.t("cards-download-zip")}</a> }
    });
    let failures = (!b.failures.is_empty()).then(|| {
        let items = b.failures.iter().map(|f| view! { <li>{format!("{}: {}", f.student, f.reason)}</li> }).collect_view();
        view! { <details><summary>{t.t("cards-failures")}</summary><ul data-testid="cards-failures">{items}</ul></details> }
    });
    let requested = format!("{} · {}", b.requested_by, kilele::clock::school_time(b.requested_at));
    view! {
        <tr data-batch=b.id.to_string()>
            <td>{b.class_name.clone()}</td>
            <td><small>{requested}</small></td>
            <td><BatchProgress progress=Progress::from(&b) events=format!("/admin/cards/batches/{}/events", b.id) labels=labels/>{failures}</td>
            <td>{zip}{cancel}</td>
        </tr>
    }
}

/// The card's heading under the school's name.
fn heading_form(t: &RequestCtx, motto: String, address: String, has_logo: bool) -> impl IntoView {
    view! {
        <section class="card settings" data-testid="card-heading">
            <h2>{t.t("cards-heading")}</h2>
            {has_logo.then(|| view! { <img src="/admin/cards/logo" alt=t.t("cards-logo") class="logo-preview" data-testid="card-logo"/> })}
            <form method="post" action="/admin/cards/logo" enctype="multipart/form-data">
                <label for="card-logo-file">{t.t("cards-logo")}</label>" "
                <input id="card-logo-file" type="file" name="logo" accept="image/png,image/jpeg" required/>" "
                <button type="submit" class="btn">{t.t("cards-logo-upload")}</button>
                <br/><small class="hint">{t.t("cards-logo-hint")}</small>
            </form>
            <form method="post" action=SetCardHeading::url()>
                <p><label for="card-motto">{t.t("cards-motto")}</label><br/>
                   <input id="card-motto" name="motto" value=motto maxlength="200"/></p>
                <p><label for="card-address">{t.t("cards-address")}</label><br/>
                   <input id="card-address" name="address" value=address maxlength="300" placeholder=t.t("cards-address-example")/></p>
                <button type="submit" class="btn">{t.t("save")}</button>
            </form>
        </section>
    }
}

/// `/admin/cards`.
#[component]
pub fn CardsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("cards-title")>
            <AdminTabs/>
            <FormErrors/>
            <Await future=report_cards_overview() let:overview>
                {match overview.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(o) => {
                        let Some(term) = o.term_id else {
                            return view! { <p class="empty-state">{t.t("results-no-current-term")}</p> }.into_any();
                        };
                        let classes = if o.classes.is_empty() {
                            view! { <p class="empty-state" data-testid="no-printable">{t.t("cards-none-published")}</p> }.into_any()
                        } else {
                            let items = o.classes.into_iter().map(|c| class_form(&t, term, c)).collect_view();
                            view! { <ul class="cards" data-testid="printable-classes">{items}</ul> }.into_any()
                        };
                        let labels = progress_labels(&t);
                        let batches = (!o.batches.is_empty()).then(|| {
                            let rows = o.batches.into_iter().map(|b| batch_row(&t, b, labels.clone())).collect_view();
                            view! {
                                <h2>{t.t("cards-batches")}</h2>
                                <table class="table" data-testid="card-batches">
                                    <thead><tr><th>{t.t("class")}</th><th>{t.t("cards-requested")}</th><th>{t.t("cards-progress")}</th><th></th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }
                        });
                        view! {
                            <h2 data-testid="cards-term">{format!("{} · {}", t.t("cards-title"), o.term_label)}</h2>
                            <p class="hint">{t.t("cards-hint")}</p>
                            {classes}
                            {batches}
                            <super::remarks::RemarkLinks base="/admin/cards/remarks"/>
                            {heading_form(&t, o.motto, o.address, o.has_logo)}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// What a printed code is: a report card's, a receipt's, or nobody's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Printed {
    Card(kilele::reporting::Verified),
    Receipt(kilele::finance::views::VerifiedReceipt),
    Unknown,
}

/// A card's code first, then a receipt's (one awaited future: the page renders once).
async fn look_up(code: String) -> Result<Printed, crate::errors::AppError> {
    if let Some(card) = crate::api::cards::verify_card(code.clone()).await? {
        return Ok(Printed::Card(card));
    }
    Ok(crate::api::finance::verify_receipt(code).await?.map_or(Printed::Unknown, Printed::Receipt))
}

/// `/verify/:code`: anyone holding a printed card checks it (no sign-in).
#[component]
pub fn VerifyPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let code = leptos_router::hooks::use_params_map().with_untracked(|p| p.get("code").unwrap_or_default());
    view! {
        <Shell title=ctx.t("cards-verify-title")>
            <Await future=look_up(code.clone()) let:found>
                {match found.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(Printed::Unknown) => view! { <p class="alert" role="alert" data-testid="verify-unknown">{t.t("cards-verify-unknown")}</p> }.into_any(),
                    Ok(Printed::Receipt(v)) => {
                        let row = |key: &str, value: String| view! { <dt>{t.t(key)}</dt><dd>{value}</dd> };
                        view! {
                            <p class="notice" data-testid="verify-found">{t.t("finance-verify-found")}</p>
                            <dl class="evidence" data-testid="verified-receipt">
                                {row("cards-verify-school", v.school)}
                                {row("cards-verify-student", v.student)}
                                {row("finance-receipt", v.receipt_no.to_string())}
                                {row("finance-amount", super::accountant::tzs(v.amount_minor))}
                                {row("finance-paid-on", v.paid_on.to_string())}
                                {row("finance-channel", t.t(v.channel.label_key()))}
                            </dl>
                        }.into_any()
                    }
                    Ok(Printed::Card(v)) => {
                        let row = |key: &str, value: String| view! { <dt>{t.t(key)}</dt><dd>{value}</dd> };
                        view! {
                            <p class="notice" data-testid="verify-found">{t.t("cards-verify-found")}</p>
                            <dl class="evidence" data-testid="verified">
                                {row("cards-verify-school", v.school)}
                                {row("cards-verify-student", v.student)}
                                {row("cards-verify-class", v.class_name)}
                                {row("cards-verify-term", v.term_label)}
                                {row("cards-verify-generated", kilele::clock::school_time(v.generated_at))}
                                {row("cards-verify-hash", v.pdf_sha256)}
                            </dl>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
