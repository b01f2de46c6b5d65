//! Kilele's web UI: pages render on the server; only the small interactive parts are
//! islands (see `islands`). Server functions live in `api` and stay thin: authenticate →
//! resolve tenant → check permission → call the domain → map errors (in `errors`).
#![recursion_limit = "256"]
// A server function's browser stub takes one argument per form field, however many.
#![cfg_attr(feature = "hydrate", allow(clippy::too_many_arguments))]

pub mod api;
pub mod batch_progress;
pub mod ctx;
pub mod errors;
pub mod i18n;
pub mod islands;
pub mod marks_grid;
pub mod pages;
pub mod security;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

#[cfg(feature = "ssr")]
pub use ctx::Deps;
pub use ctx::RequestCtx;

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let ctx = ctx::request_ctx();
    let lang = ctx.lang.code();
    #[cfg(feature = "ssr")]
    page_nonce();
    let scripts = islands_bundle(&options, &ctx.path);
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#0f5132"/>
                <HashedStylesheet options=options.clone() id="kilele"/>
                <HydrationScripts options=scripts islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The staff portals' pages, whose islands (the marks grid …) live in a bundle of their own.
pub const STAFF_PORTALS: [&str; 4] = ["/owner", "/admin", "/teacher", "/accountant"];

/// Which WASM bundle a page loads. Parents and students on 3G get `kilele`, with only the
/// islands every page needs; the staff portals get `kilele-staff`, with every island
/// (scripts/build-site builds both, each with its hash file). Without hashed files (a
/// development build) there is one bundle, with every island.
fn islands_bundle(options: &LeptosOptions, path: &str) -> LeptosOptions {
    let staff = STAFF_PORTALS.iter().any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')));
    if !(staff && options.hash_files) {
        return options.clone();
    }
    let mut staff_options = options.clone();
    staff_options.output_name = format!("{}-staff", options.output_name).into();
    staff_options.hash_file = match options.hash_file.strip_suffix(".txt") {
        Some(stem) => format!("{stem}-staff.txt"),
        None => format!("{}-staff", options.hash_file),
    }
    .into();
    staff_options
}

/// A fresh nonce for this page's inline script, and the page's CSP naming it.
#[cfg(feature = "ssr")]
fn page_nonce() {
    leptos::nonce::provide_nonce();
    let (Some(nonce), Some(resp)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else { return };
    if let Ok(value) = http::HeaderValue::from_str(&security::page_csp(&nonce)) {
        resp.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Kilele"/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/login/code") view=pages::login::CodePage ssr=SsrMode::Async/>
                <Route path=path!("/account/two-factor") view=pages::account::TwoFactorPage ssr=SsrMode::Async/>
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
                <Route path=path!("/teacher/marks") view=pages::results::TeacherMarksPage ssr=SsrMode::Async/>
                <Route path=path!("/teacher/marks/:term/:stream/:subject") view=pages::results::SheetPage ssr=SsrMode::Async/>
                <Route path=path!("/teacher/marks/:term/:stream/:subject/upload/:upload") view=pages::results::UploadPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/results") view=pages::results::ResultsAdminPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/results/flags") view=pages::results::FlagsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/results/sheet/:term/:stream/:subject") view=pages::results::SheetPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/results/sheet/:term/:stream/:subject/upload/:upload") view=pages::results::UploadPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/results/:term/:level") view=pages::results::BroadsheetPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/grading/class/:term/:level") view=pages::grading::ClassGradingPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/cards") view=pages::cards::CardsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/jobs") view=pages::jobs::JobsPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/cards/remarks/:term/:stream") view=pages::remarks::RemarksPage ssr=SsrMode::Async/>
                <Route path=path!("/teacher/remarks/:term/:stream") view=pages::remarks::RemarksPage ssr=SsrMode::Async/>
                <Route path=path!("/verify/:code") view=pages::cards::VerifyPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/grading/schemes") view=pages::grading::SchemesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/grading/schemes/:id") view=pages::grading::SchemePage ssr=SsrMode::Async/>
                <Route path=path!("/portal/results/:student") view=pages::results::ChildResultsPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant") view=pages::accountant::AccountantPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/fees") view=pages::accountant::FeesPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/accounts") view=pages::accountant::AccountsPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/accounts/:id") view=pages::accountant::AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/defaulters") view=pages::accountant::DefaultersPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/suspense") view=pages::accountant::SuspensePage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/payments") view=pages::accountant::PaymentsPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/reconciliation") view=pages::accountant::ReconciliationPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/channels") view=pages::accountant::ChannelsPage ssr=SsrMode::Async/>
                <Route path=path!("/accountant/inbox") view=pages::accountant::InboxPage ssr=SsrMode::Async/>
                <Route path=path!("/portal/fees/:student") view=pages::family::FamilyFeesPage ssr=SsrMode::Async/>
                <Route path=path!("/portal/fees/:student/pay/:push") view=pages::family::FamilyPushPage ssr=SsrMode::Async/>
                <Route path=path!("/portal") view=pages::family::FamilyPage ssr=SsrMode::Async/>
                <Route path=path!("/no-portal") view=pages::NoPortal ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
