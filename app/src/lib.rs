//! Kilele's web UI: pages render on the server; only the small interactive parts are
//! islands (see `islands`). Server functions live in `api` and stay thin: authenticate →
//! resolve tenant → check permission → call the domain → map errors (in `errors`).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![recursion_limit = "256"]

pub mod api;
pub mod ctx;
pub mod errors;
pub mod i18n;
pub mod islands;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

#[cfg(feature = "ssr")]
pub use ctx::Deps;
pub use ctx::RequestCtx;

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = ctx::request_ctx().lang.code();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#0f5132"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="kilele" href="/pkg/kilele.css"/>
        <Title text="Kilele"/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/owner") view=pages::owner::OwnerPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=pages::admin::AdminPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/calendar") view=pages::calendar::CalendarPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/students") view=pages::students::StudentsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/students/:id") view=pages::students::StudentPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/classes") view=pages::classes::ClassesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/subjects") view=pages::subjects::SubjectsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/import") view=pages::import::ImportPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/promotion") view=pages::promotion::PromotionPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/staff") view=pages::staff::StaffPage ssr=SsrMode::Async/>
                <Route path=path!("/invite") view=pages::staff::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/teacher") view=pages::teacher::TeacherPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant") view=pages::accountant::AccountantPage ssr=SsrMode::Async/>
                <Route path=path!("/portal") view=pages::family::FamilyPage ssr=SsrMode::Async/>
                <Route path=path!("/no-portal") view=pages::NoPortal ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
