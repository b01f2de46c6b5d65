use super::{admin::AdminTabs, count, layout::Shell, ErrorBox};
use crate::api::promotion::{load_promotions, preview_promotion, PromoteLevel, UndoPromotion};
use crate::ctx::{request_ctx, RequestCtx};
use crate::i18n::t_args;
use kilele::academic::promotion::PromotionPreview;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

/// School admin: year-end promotion of a level, with a preview, one confirmation, and undo.
#[component]
pub fn PromotionPage() -> impl IntoView {
    let ctx = request_ctx();
    let level = use_query_map().with_untracked(|q| q.get("level"));
    let t = ctx.clone();
    let t2 = ctx.clone();
    let chosen = level.clone().unwrap_or_default();
    view! {
        <Shell title=ctx.t("promotion-title")>
            <AdminTabs/>
            <super::FormErrors/>
            <p>{ctx.t("promotion-help")}</p>
            <Await future=load_promotions() let:overview>
                {match overview.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(o) => {
                        let options = o.levels.iter().map(|(id, name)| {
                            let id = id.to_string();
                            let selected = id == chosen;
                            view! { <option value=id selected=selected>{name.clone()}</option> }
                        }).collect_view();
                        let batches = if o.batches.is_empty() {
                            view! { <p class="empty-state">{t.t("promotion-none-yet")}</p> }.into_any()
                        } else {
                            o.batches.iter().map(|b| {
                                let id = b.id.to_string();
                                let label = t_args(t.lang, "promotion-batch", &[("level", b.level_name.clone()), ("from", b.from_year.to_string()), ("to", b.to_year.to_string()), ("count", b.students.to_string())]);
                                view! {
                                    <li data-testid="promotion-batch">{label}" "
                                        {b.undoable.then(|| view! {
                                            <form method="post" action=UndoPromotion::url() class="inline">
                                                <input type="hidden" name="batch_id" value=id.clone()/>
                                                <button type="submit" class="btn btn-chip">{t.t("promotion-undo")}</button>
                                            </form>
                                        })}
                                    </li>
                                }
                            }).collect_view().into_any()
                        };
                        view! {
                            <section class="card">
                                <form method="get" action="/admin/promotion" class="inline">
                                    <label for="level">{t.t("promotion-level")}</label>
                                    <select id="level" name="level">{options}</select>
                                    <button type="submit" class="btn">{t.t("promotion-preview")}</button>
                                </form>
                            </section>
                            <h2>{t.t("promotion-done-title")}</h2>
                            <ul class="cards">{batches}</ul>
                        }.into_any()
                    }
                }}
            </Await>
            {level.map(move |id| {
                let t = t2.clone();
                view! {
                    <Await future=preview_promotion(id) let:preview>
                        {match preview.clone() {
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                            Ok(p) => preview_view(&t, p).into_any(),
                        }}
                    </Await>
                }
            })}
        </Shell>
    }
}

fn preview_view(t: &RequestCtx, p: PromotionPreview) -> impl IntoView {
    let total: i64 = p.moves.iter().map(|m| m.students).sum();
    let rows = p
        .moves
        .iter()
        .map(|m| {
            let to = m.to_class.clone().unwrap_or_else(|| t.t("promotion-graduates"));
            view! {
                <tr>
                    <td data-label=t.t("promotion-from")>{m.from_class.clone()}</td>
                    <td data-label=t.t("promotion-to")>{to}</td>
                    <td data-label=t.t("students") class="num">{count(m.students)}</td>
                </tr>
            }
        })
        .collect_view();
    let level_id = p.level_id.to_string();
    let action = match &p.blocked {
        Some((key, arg)) => {
            let text = t_args(t.lang, key, &[("level", arg.clone()), ("year", arg.clone()), ("class", arg.clone())]);
            view! { <p class="alert" role="alert" data-testid="promotion-blocked">{text}</p> }.into_any()
        }
        None => view! {
            <form method="post" action=PromoteLevel::url()>
                <input type="hidden" name="level_id" value=level_id/>
                <button type="submit" class="btn btn-primary">
                    {t_args(t.lang, "promotion-confirm", &[("count", total.to_string()), ("level", p.level_name.clone()), ("year", p.to_year.to_string())])}
                </button>
            </form>
        }
        .into_any(),
    };
    view! {
        <section class="card" data-testid="promotion-preview">
            <h2>{t_args(t.lang, "promotion-preview-title", &[("level", p.level_name.clone()), ("from", p.from_year.to_string()), ("to", p.to_year.to_string())])}</h2>
            <table class="table">
                <thead><tr><th>{t.t("promotion-from")}</th><th>{t.t("promotion-to")}</th><th class="num">{t.t("students")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {action}
        </section>
    }
}
