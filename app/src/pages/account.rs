//! The signed-in person's own sign-in security: two-factor sign-in with an authenticator
//! app. Plain forms throughout (works without JavaScript); every change asks for the password
//! again, and for a code once two-factor sign-in is on.

use super::{layout::Shell, ErrorBox, FormErrors};
use crate::api::account::{load_two_factor, ConfirmTwoFactor, ReplaceRecoveryCodes, StartTwoFactor, TurnOffTwoFactor};
use crate::ctx::request_ctx;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    // Shown once, right after they were made (from the session, never from the URL).
    let codes = ctx
        .notice
        .as_ref()
        .filter(|n| n.kind == crate::ctx::Notice::RECOVERY_CODES)
        .and_then(|n| n.link.clone())
        .map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>());
    let heading = ctx.t("two-factor-title");
    let changed = ctx.notice.as_ref().is_some_and(|n| n.kind == crate::ctx::Notice::PASSWORD_CHANGED).then(|| ctx.t("password-changed"));
    view! {
        <Shell title=ctx.t("two-factor-link")>
            <FormErrors/>
            {changed.map(|m| view! { <p class="card success" role="status" data-testid="password-changed">{m}</p> })}
            {codes.map(|codes| {
                let items = codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view();
                view! {
                    <section class="card success" data-testid="recovery-codes">
                        <h2>{t.t("two-factor-codes-title")}</h2>
                        <p>{t.t("two-factor-codes-help")}</p>
                        <ol class="recovery-codes select-all">{items}</ol>
                    </section>
                }
            })}
            <h2>{heading}</h2>
            <Await future=load_two_factor() let:view>
                {match view.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => {
                        let enrolled = v.enrolled;
                        view! { {two_factor_body(&t, v)} {password_card(&t, enrolled)} }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

fn password_field(ctx: &crate::ctx::RequestCtx, id: &str) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.to_owned()>{ctx.t("password")}</label>
            <input id=id.to_owned() name="password" type="password" autocomplete="current-password" required/>
        </div>
    }
}

/// The code field: the app's six digits, or (except when setting up) a recovery code, so the
/// keyboard is not limited to digits there.
fn code_field(ctx: &crate::ctx::RequestCtx, id: &str, digits_only: bool) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.to_owned()>{ctx.t("code-label")}</label>
            <input id=id.to_owned() name="code" type="text" inputmode=digits_only.then_some("numeric") autocomplete="one-time-code" maxlength="20" required/>
        </div>
    }
}

/// Changing the password: the current one (and a code when two-factor sign-in is on), the new
/// one twice. Posted to a plain route (it renews this session and ends the others).
fn password_card(ctx: &crate::ctx::RequestCtx, enrolled: bool) -> impl IntoView {
    view! {
        <section class="card" data-testid="change-password">
            <h2>{ctx.t("password-change")}</h2>
            <p>{ctx.t("password-change-help")}</p>
            <form method="post" action="/account/password" class="stack">
                <div class="field">
                    <label for="current-password">{ctx.t("password-current")}</label>
                    <input id="current-password" name="current_password" type="password" autocomplete="current-password" required/>
                </div>
                {enrolled.then(|| code_field(ctx, "password-code", false))}
                <div class="field">
                    <label for="new-password">{ctx.t("password-new")}</label>
                    <input id="new-password" name="new_password" type="password" autocomplete="new-password" minlength="10" required/>
                </div>
                <div class="field">
                    <label for="new-password-again">{ctx.t("invite-password-again")}</label>
                    <input id="new-password-again" name="new_password_again" type="password" autocomplete="new-password" required/>
                </div>
                <button type="submit" class="btn">{ctx.t("password-change")}</button>
            </form>
        </section>
    }
}

fn two_factor_body(ctx: &crate::ctx::RequestCtx, v: crate::api::account::TwoFactorView) -> impl IntoView {
    if v.enrolled {
        let left = crate::i18n::t_args(ctx.lang, "two-factor-codes-left", &[("n", v.recovery_left.to_string())]);
        let off = (!v.required).then(|| {
            view! {
                <section class="card">
                    <h2>{ctx.t("two-factor-off-title")}</h2>
                    <form method="post" action=TurnOffTwoFactor::url() class="stack">
                        {password_field(ctx, "off-password")}
                        {code_field(ctx, "off-code", false)}
                        <button type="submit" class="btn">{ctx.t("two-factor-off")}</button>
                    </form>
                </section>
            }
        });
        return view! {
            <section class="card" data-testid="two-factor-on">
                <p><strong>{ctx.t("two-factor-is-on")}</strong></p>
                <p data-testid="recovery-left">{left}</p>
            </section>
            <section class="card">
                <h2>{ctx.t("two-factor-new-codes")}</h2>
                <form method="post" action=ReplaceRecoveryCodes::url() class="stack">
                    {password_field(ctx, "codes-password")}
                    {code_field(ctx, "codes-code", false)}
                    <button type="submit" class="btn">{ctx.t("two-factor-new-codes")}</button>
                </form>
            </section>
            {off}
        }
        .into_any();
    }
    let intro = if v.required { ctx.t("two-factor-required") } else { ctx.t("two-factor-optional") };
    match v.setup {
        None => view! {
            <section class="card" data-testid="two-factor-off">
                <p>{intro}</p>
                <p>{ctx.t("two-factor-how")}</p>
                <form method="post" action=StartTwoFactor::url()>
                    <button type="submit" class="btn">{ctx.t("two-factor-set-up")}</button>
                </form>
            </section>
        }
        .into_any(),
        Some(setup) => view! {
            <section class="card" data-testid="two-factor-setup">
                <h2>{ctx.t("two-factor-scan")}</h2>
                <div class="qr" role="img" aria-label=ctx.t("two-factor-qr") inner_html=setup.qr_svg></div>
                <p>{ctx.t("two-factor-type-instead")}</p>
                <p><code class="select-all" data-testid="totp-secret">{setup.secret}</code></p>
                <form method="post" action=ConfirmTwoFactor::url() class="stack">
                    {code_field(ctx, "confirm-code", true)}
                    {password_field(ctx, "confirm-password")}
                    <button type="submit" class="btn">{ctx.t("two-factor-confirm")}</button>
                </form>
                <form method="post" action=StartTwoFactor::url()>
                    <button type="submit" class="btn btn-link">{ctx.t("two-factor-new-secret")}</button>
                </form>
            </section>
        }
        .into_any(),
    }
}
