use super::{admin::AdminTabs, layout::Shell, ErrorBox};
use crate::api::{calendar_years, CreateAcademicYear, SetCurrentTerm, UpdateTerm};
use crate::ctx::{request_ctx, RequestCtx};
use crate::i18n::t_args;
use kilele::academic::calendar::YearView;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// School admin: academic years and terms. Plain forms posted to server functions: works
/// on any phone without JavaScript.
#[component]
pub fn CalendarPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let next_year = chrono::Datelike::year(&chrono::Utc::now().date_naive()) + 1;
    view! {
        <Shell title=ctx.t("calendar-title")>
            <AdminTabs/>
            <super::FormErrors/>
            <Await future=calendar_years() let:years>
                {match years.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(ys) if ys.is_empty() => view! { <p class="empty-state" data-testid="calendar-empty">{t.t("calendar-empty")}</p> }.into_any(),
                    Ok(ys) => ys.into_iter().map(|y| year_card(&t, y)).collect_view().into_any(),
                }}
            </Await>
            <section class="card">
                <h2>{ctx.t("calendar-add-year")}</h2>
                <form method="post" action=CreateAcademicYear::url() class="inline">
                    <label for="year">{ctx.t("calendar-year")}</label>
                    <input id="year" name="year" type="number" min="2000" max="2200" value=next_year.to_string() required/>
                    <label for="terms_per_year">{ctx.t("calendar-terms-per-year")}</label>
                    <select id="terms_per_year" name="terms_per_year">
                        <option value="2" selected>"2"</option>
                        <option value="3">"3"</option>
                    </select>
                    <button type="submit" class="btn">{ctx.t("calendar-add-year")}</button>
                </form>
            </section>
        </Shell>
    }
}

fn year_card(t: &RequestCtx, y: YearView) -> impl IntoView {
    let rows = y
        .terms
        .into_iter()
        .map(|term| {
            let id = term.id.to_string();
            let label = t_args(t.lang, "calendar-term-n", &[("number", term.number.to_string())]);
            let current = term.is_current.then(|| view! { " " <span class="badge" data-testid="current-term">{t.t("calendar-current")}</span> });
            let make_current = (!term.is_current).then(|| {
                view! {
                    <form method="post" action=SetCurrentTerm::url()>
                        <input type="hidden" name="term_id" value=id.clone()/>
                        <button type="submit" class="btn btn-chip">{t.t("calendar-make-current")}</button>
                    </form>
                }
            });
            view! {
                <tr>
                    <td data-label=t.t("calendar-term")>{label}{current}</td>
                    <td colspan="2">
                        <form method="post" action=UpdateTerm::url() class="inline">
                            <input type="hidden" name="term_id" value=id.clone()/>
                            <label>{t.t("calendar-starts")}" "<input type="date" name="starts_on" value=term.starts_on.to_string() required/></label>
                            <label>{t.t("calendar-ends")}" "<input type="date" name="ends_on" value=term.ends_on.to_string() required/></label>
                            <button type="submit" class="btn btn-chip">{t.t("save")}</button>
                        </form>
                    </td>
                    <td>{make_current}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card year" data-testid=format!("year-{}", y.year)>
            <h2>{y.year}{y.is_current.then(|| view! { " " <span class="badge">{t.t("calendar-current")}</span> })}</h2>
            <table class="table"><tbody>{rows}</tbody></table>
        </section>
    }
}
