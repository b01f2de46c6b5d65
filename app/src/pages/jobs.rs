//! `/admin/jobs`: the school's background work that went wrong (invitation emails that could
//! not be sent, report-card batches that stopped, audit checks that failed), what the last
//! try said, when the next one is, and a button to try again now.

use super::{admin::AdminTabs, layout::Shell, ErrorBox, FormErrors};
use crate::api::jobs::{troubled_jobs, RetryJob};
use crate::ctx::{request_ctx, RequestCtx};
use kilele::jobs::{JobKind, TroubledJob};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

fn job_row(t: &RequestCtx, j: TroubledJob) -> impl IntoView {
    let kind = match JobKind::parse(&j.kind) {
        Some(kind) => t.t(kind.label_key()),
        None => crate::i18n::t_args(t.lang, "jobs-kind-unknown", &[("code", j.kind.clone())]),
    };
    let state = if j.gave_up {
        t.t("jobs-gave-up")
    } else {
        crate::i18n::t_args(t.lang, "jobs-next-try", &[("at", kilele::clock::school_time(j.next_try))])
    };
    let tries = crate::i18n::t_args(t.lang, "jobs-tries", &[("n", j.attempts.to_string()), ("max", j.max_attempts.to_string())]);
    view! {
        <tr data-job=j.id.to_string() data-gave-up=j.gave_up.to_string()>
            <td>{kind}<br/><small>{kilele::clock::school_time(j.queued_at)}</small></td>
            <td>{state}<br/><small>{tries}</small></td>
            <td><code class="job-error">{j.last_error.clone()}</code></td>
            <td>
                <form method="post" action=RetryJob::url() class="inline" data-testid="retry-job">
                    <input type="hidden" name="job" value=j.id.to_string()/>
                    <button type="submit" class="btn btn-chip">{t.t("jobs-retry")}</button>
                </form>
            </td>
        </tr>
    }
}

/// `/admin/jobs`.
#[component]
pub fn JobsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("jobs-title")>
            <AdminTabs/>
            <FormErrors/>
            <h2>{ctx.t("jobs-title")}</h2>
            <p class="hint">{ctx.t("jobs-hint")}</p>
            <Await future=troubled_jobs() let:jobs>
                {match jobs.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(jobs) if jobs.is_empty() => view! { <p class="empty-state" data-testid="no-failed-jobs">{t.t("jobs-none")}</p> }.into_any(),
                    Ok(jobs) => {
                        let rows = jobs.into_iter().map(|j| job_row(&t, j)).collect_view();
                        view! {
                            <table class="table" data-testid="failed-jobs">
                                <thead><tr><th>{t.t("jobs-what")}</th><th>{t.t("jobs-state")}</th><th>{t.t("jobs-last-error")}</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
