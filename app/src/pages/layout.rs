//! The frame of every signed-in page: school name, portal switcher, language switch,
//! sign-out.

use crate::ctx::request_ctx;
use crate::islands::MenuToggle;
use kilele::Language;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Shell(title: String, children: Children) -> impl IntoView {
    let ctx = request_ctx();
    let school = ctx.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| ctx.t("platform-name"));
    let current = kilele::identity::Portal::for_path(&ctx.path);
    let nav = ctx
        .portals
        .iter()
        .map(|p| {
            let active = Some(*p) == current;
            view! {
                <a href=p.path() class:active=active aria-current=active.then_some("page")>{ctx.t(p.label_key())}</a>
            }
        })
        .collect_view();
    let who = ctx.principal.as_ref().map(|p| p.display_name.clone()).unwrap_or_default();
    let roles =
        ctx.principal.as_ref().map(|p| p.roles.iter().map(|r| ctx.t(r.label_key())).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    // Someone who must set up two-factor sign-in is reminded on every page until the date.
    let due = ctx.two_factor_due.map(|d| {
        (crate::i18n::t_args(ctx.lang, "two-factor-due", &[("date", d.format("%Y-%m-%d").to_string())]), ctx.t("two-factor-set-up"))
    });
    let security = ctx.principal.is_some().then(|| ctx.t("two-factor-link"));
    view! {
        <Title text=format!("{title} · Kilele")/>
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">"▲"</span>
                <span class="school" data-testid="school-name">{school}</span>
            </div>
            <MenuToggle label=ctx.t("menu")>
                <nav aria-label=ctx.t("portals")>{nav}</nav>
                <div class="account">
                    <span class="who">{who}<small>{roles}</small></span>
                    <LanguageSwitch/>
                    {security.map(|label| view! { <a href="/account/two-factor" class="btn btn-link">{label}</a> })}
                    <form method="post" action="/logout">
                        <button type="submit" class="btn btn-link">{ctx.t("sign-out")}</button>
                    </form>
                </div>
            </MenuToggle>
        </header>
        {due.map(|(due, set_up)| view! {
            <p class="banner-warning" role="status" data-testid="two-factor-due">
                {due}" "<a href="/account/two-factor">{set_up}</a>
            </p>
        })}
        <main class="page">
            <h1>{title}</h1>
            {children()}
        </main>
    }
}

/// Two plain submit buttons: works without JavaScript on any phone.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let ctx = request_ctx();
    let buttons = Language::ALL
        .into_iter()
        .map(|l| {
            let current = l == ctx.lang;
            view! {
                <button type="submit" name="lang" value=l.code() lang=l.code() class="btn btn-chip"
                    class:active=current aria-pressed=current.to_string()>
                    {l.autonym()}
                </button>
            }
        })
        .collect_view();
    view! {
        <form method="post" action="/language" class="lang-switch" aria-label=ctx.t("language")>
            <input type="hidden" name="next" value=ctx.path.clone()/>
            {buttons}
        </form>
    }
}
