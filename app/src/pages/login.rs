use crate::ctx::request_ctx;
use crate::islands::SubmitOnce;
use crate::pages::layout::LanguageSwitch;
use leptos::prelude::*;
use leptos_meta::Title;

/// Sign in. A plain form posted to `/login`: it works on any phone, with or without
/// JavaScript. On a refusal the server redirects back here with what was typed (except the
/// password) and one generic error.
#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = request_ctx();
    let flash = ctx.login_flash.clone().unwrap_or_default();
    let school_code = if flash.school_code.is_empty() {
        ctx.tenant.as_ref().map(|t| t.slug.to_string()).unwrap_or_default()
    } else {
        flash.school_code.clone()
    };
    let error = (!flash.error.is_empty()).then(|| ctx.t(&flash.error));
    let heading = match (&ctx.tenant, ctx.tenant_from_host) {
        (Some(t), true) => t.name.clone(),
        _ => ctx.t("sign-in-title"),
    };
    let school_field = if ctx.tenant_from_host {
        view! { <input type="hidden" name="school_code" value=school_code/> }.into_any()
    } else {
        view! {
            <div class="field">
                <label for="school_code">{ctx.t("school-code")}</label>
                <input id="school_code" name="school_code" type="text" autocomplete="organization"
                    autocapitalize="none" spellcheck="false" value=school_code
                    aria-describedby="school_code_hint"/>
                <small id="school_code_hint">{ctx.t("school-code-hint")}</small>
            </div>
        }
        .into_any()
    };
    view! {
        <Title text=format!("{} · Kilele", ctx.t("sign-in"))/>
        <main class="login">
            <div class="card">
                <div class="brand"><span class="logo" aria-hidden="true">"▲"</span>" Kilele"</div>
                <h1>{heading}</h1>
                {error.map(|e| view! { <p class="alert" role="alert" data-testid="login-error">{e}</p> })}
                <form method="post" action="/login" class="stack">
                    {school_field}
                    <div class="field">
                        <label for="email">{ctx.t("email")}</label>
                        <input id="email" name="email" type="email" autocomplete="username" required value=flash.email.clone()/>
                    </div>
                    <div class="field">
                        <label for="password">{ctx.t("password")}</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" required/>
                    </div>
                    <SubmitOnce label=ctx.t("sign-in") busy_label=ctx.t("signing-in")/>
                </form>
                <LanguageSwitch/>
            </div>
        </main>
    }
}

/// The second step of signing in: the six-digit code from the authenticator app, or a
/// recovery code. A plain form (works without JavaScript); wrong codes come back here with
/// one message, and back off like wrong passwords.
#[component]
pub fn CodePage() -> impl IntoView {
    let ctx = request_ctx();
    let error = ctx.login_flash.as_ref().filter(|f| !f.error.is_empty()).map(|f| ctx.t(&f.error));
    view! {
        <Title text=format!("{} · Kilele", ctx.t("code-title"))/>
        <main class="login">
            <div class="card">
                <div class="brand"><span class="logo" aria-hidden="true">"▲"</span>" Kilele"</div>
                <h1>{ctx.t("code-title")}</h1>
                {error.map(|e| view! { <p class="alert" role="alert" data-testid="login-error">{e}</p> })}
                <p>{ctx.t("code-help")}</p>
                <form method="post" action="/login/code" class="stack">
                    <div class="field">
                        <label for="code">{ctx.t("code-label")}</label>
                        <input id="code" name="code" type="text" autocomplete="one-time-code"
                            autocapitalize="none" spellcheck="false" maxlength="20" required autofocus
                            aria-describedby="code_hint"/>
                        <small id="code_hint">{ctx.t("code-hint")}</small>
                    </div>
                    <SubmitOnce label=ctx.t("code-submit") busy_label=ctx.t("signing-in")/>
                </form>
                <p><a href="/login">{ctx.t("code-start-again")}</a></p>
                <LanguageSwitch/>
            </div>
        </main>
    }
}
