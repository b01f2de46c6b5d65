//! Server-rendered pages. Each portal page reads its data through a server function so that
//! the permission check is the same whether the page or a script asks.

pub mod account;
pub mod accountant;
pub mod admin;
pub mod calendar;
pub mod cards;
pub mod classes;
pub mod family;
pub mod grading;
pub mod import;
pub mod jobs;
pub mod layout;
pub mod login;
pub mod owner;
pub mod promotion;
pub mod remarks;
pub mod results;
pub mod staff;
pub mod students;
pub mod subjects;
pub mod teacher;

use crate::ctx::request_ctx;
use crate::errors::AppError;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    let ctx = request_ctx();
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="centered">
            <h1>{ctx.t("not-found-title")}</h1>
            <p><a href="/">{ctx.t("go-home")}</a></p>
        </main>
    }
}

/// Signed in, but no portal is open to this account (no role yet, or the plan lacks it).
#[component]
pub fn NoPortal() -> impl IntoView {
    let ctx = request_ctx();
    view! {
        <layout::Shell title=ctx.t("no-portal-title")>
            <section class="empty-state" data-testid="no-portal">
                <p>{ctx.t("no-portal-body")}</p>
            </section>
        </layout::Shell>
    }
}

/// The messages of a failed form post (a server function posted as a plain form redirects
/// back with its error), shown above the forms.
#[component]
pub fn FormErrors() -> impl IntoView {
    let ctx = request_ctx();
    let errors = ctx.form_errors();
    (!errors.is_empty()).then(|| {
        let items = errors
            .into_iter()
            .map(|(field, m)| {
                // A table form's field names its row (`bands.2.min`): say which row, counted from 1.
                let row = field.split('.').nth(1).and_then(|n| n.parse::<usize>().ok());
                let text = match row {
                    Some(n) => format!("{}: {m}", crate::i18n::t_args(ctx.lang, "form-row", &[("n", (n + 1).to_string())])),
                    None => m,
                };
                view! { <li>{text}</li> }
            })
            .collect_view();
        view! { <div class="alert" role="alert" data-testid="form-errors"><ul>{items}</ul></div> }
    })
}

/// The hidden token that makes a form which creates a document (a payment, a discount…)
/// count once however often it is sent (see `crate::api::scope::Scope::once`). Fresh on every
/// render, so a new form is a new submission.
#[component]
pub fn OnceToken() -> impl IntoView {
    view! { <input type="hidden" name="once" value=uuid::Uuid::new_v4().to_string()/> }
}

/// A failed load, said in the reader's language. The page answers with the error's status
/// (a student of another school is a 404, not a 200 saying "not found").
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    let ctx = request_ctx();
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(error.status());
    }
    view! { <p class="alert" role="alert">{ctx.t(error.i18n_key())}</p> }
}

/// Formats a count with thousands separators the same way in both languages.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped() {
        assert_eq!(super::count(0), "0");
        assert_eq!(super::count(412), "412");
        assert_eq!(super::count(12345), "12,345");
        assert_eq!(super::count(-1000), "-1,000");
    }
}
