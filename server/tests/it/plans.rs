//! Every page's queries on a 2,000-student school, as the application role under row-level
//! security, with the plans PostgreSQL really ran (auto_explain, sent to the client as
//! notices and captured here).
//!
//! Under RLS the planner cannot see which school a query is for, so it guesses one row per
//! tenant filter and may nest loops over a whole school, or scan every school's rows, to
//! answer for one family. Both show in the executed plan, and both fail this test:
//! - a plan node that runs [`LOOP_LIMIT`] times or more (a nested loop over a school);
//! - a scan that throws away [`FILTERED_LIMIT`] rows or more (other schools').
//!
//! Pages are listed in [`PAGES`]; a page the app registers without a row fails the test.

use crate::harness::*;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::SubscriberExt;

/// A node executed this many times is a nested loop over (a large part of) a school.
const LOOP_LIMIT: u64 = 1_000;
/// A scan discarding this many rows is reading other schools' data.
const FILTERED_LIMIT: u64 = 1_000;

/// (route, who asks, the path to GET, a table the page's own queries read): every page of
/// the app. `{student}` and `{level}` are replaced with one of the school's ids. The table
/// proves the page's own queries were captured, not only the request context's.
const PAGES: &[(&str, Option<&str>, &str, Option<&str>)] = &[
    ("/login", None, "/login", None),
    ("/invite", None, "/invite", None),
    ("/no-portal", None, "/no-portal", None),
    ("/owner", Some("owner"), "/owner", Some("platform_tenant_overview")),
    ("/admin", Some("admin"), "/admin", Some("students")),
    ("/admin/calendar", Some("admin"), "/admin/calendar", Some("terms")),
    ("/admin/students", Some("admin"), "/admin/students", Some("students")),
    ("/admin/students", Some("admin"), "/admin/students?q=mushi", Some("search_first")),
    ("/admin/students", Some("admin"), "/admin/students?q=0712", Some("phone_bidx")),
    ("/admin/students", Some("admin"), "/admin/students?page=20", Some("students")),
    ("/admin/students/{id}", Some("admin"), "/admin/students/{student}", Some("student_guardians")),
    ("/admin/classes", Some("admin"), "/admin/classes", Some("streams")),
    ("/admin/subjects", Some("admin"), "/admin/subjects", Some("school_subjects")),
    ("/admin/import", Some("admin"), "/admin/import", None),
    ("/admin/promotion", Some("admin"), "/admin/promotion?level={level}", Some("enrolments")),
    ("/admin/staff", Some("admin"), "/admin/staff", Some("password_hash IS NULL")),
    ("/teacher", Some("teacher"), "/teacher", Some("teacher_allocations")),
    ("/accountant", Some("bursar"), "/accountant", Some("students")),
    ("/portal", Some("parent"), "/portal", Some("guardians")),
    ("/portal", Some("student"), "/portal", Some("students")),
];

/// The notices sqlx receives (target `sqlx::postgres::notice`), kept in order.
#[derive(Clone, Default)]
struct Notices(Arc<Mutex<Vec<String>>>);

impl Notices {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct MessageField<'a>(&'a mut String);

impl tracing::field::Visit for MessageField<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Notices {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::postgres::notice" {
            let mut message = String::new();
            event.record(&mut MessageField(&mut message));
            self.0.lock().unwrap().push(message);
        }
    }
}

/// A node of an executed plan that breaks a limit, said in a line.
fn offences(node: &serde_json::Value, out: &mut Vec<String>) {
    // Counts may be printed with a decimal point (per-loop averages): read them as floats.
    let number = |key: &str| node[key].as_f64().unwrap_or(0.0);
    let loops = number("Actual Loops");
    let kind = node["Node Type"].as_str().unwrap_or("?");
    let relation = node["Relation Name"].as_str().unwrap_or("");
    // Any scan counts, not only sequential ones: an index that does not lead with
    // tenant_id can also walk other schools' rows and throw them away.
    let removed = (number("Rows Removed by Filter") + number("Rows Removed by Index Recheck")) * loops.max(1.0);
    if loops >= LOOP_LIMIT as f64 {
        out.push(format!("{kind} {relation} runs {loops} times"));
    }
    if removed >= FILTERED_LIMIT as f64 {
        out.push(format!("{kind} on {relation} discards {removed} rows"));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        offences(child, out);
    }
}

/// (query text, offences) of each auto_explain notice.
fn read_plans(notices: &[String]) -> Vec<(String, Vec<String>)> {
    notices
        .iter()
        .filter_map(|n| n.find('{').map(|i| &n[i..]))
        .filter_map(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .map(|plan| {
            let mut found = Vec::new();
            offences(&plan["Plan"], &mut found);
            let text = plan["Query Text"].as_str().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
            (text, found)
        })
        .collect()
}

#[tokio::test]
async fn every_page_reads_one_school_through_indexes_at_2000_students() {
    // Every page route has a row.
    let routes: BTreeSet<String> = leptos_axum::generate_route_list(app::App).iter().map(|r| r.path().to_owned()).collect();
    let listed: BTreeSet<String> = PAGES.iter().map(|(route, _, _, _)| (*route).to_owned()).collect();
    assert_eq!(routes, listed, "server/tests/it/plans.rs: every page needs a row in PAGES (and no stale rows)");

    let db = scaled_database(5, true).await;
    let app = spawn_app_with(Options { database: Some(db), ..Default::default() }).await;
    let khss = kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap();
    let students: i64 =
        sqlx::query_scalar("SELECT count(*) FROM students WHERE tenant_id = $1").bind(khss.id.0).fetch_one(&app.owner_pool).await.unwrap();
    assert!(students >= 2_000, "the school has {students} students");
    let student: uuid::Uuid = sqlx::query_scalar("SELECT id FROM students WHERE tenant_id = $1 ORDER BY admission_no LIMIT 1 OFFSET 1000")
        .bind(khss.id.0)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let level: uuid::Uuid = sqlx::query_scalar("SELECT id FROM levels WHERE tenant_id = $1 ORDER BY band, ordinal LIMIT 1")
        .bind(khss.id.0)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();

    // The server runs on this (current-thread) runtime, so a subscriber set for this thread
    // sees exactly this test's notices.
    let notices = Notices::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(notices.clone()));

    let mut failures = Vec::new();
    for (route, who, path, reads) in PAGES {
        let browser = match who {
            Some("owner") => app.login_as(None, "owner").await,
            Some(role) => app.login_as(Some(KHSS), role).await,
            None => app.browser(),
        };
        notices.take();
        let path = path.replace("{student}", &student.to_string()).replace("{level}", &level.to_string());
        let (status, _) = browser.get_text(&path).await;
        let plans = read_plans(&notices.take());
        println!("{path} as {}: {status}, {} statements", who.unwrap_or("nobody"), plans.len());
        if who.is_some() {
            assert_eq!(status, 200, "{path} as {who:?}");
            assert!(!plans.is_empty(), "{path}: no plans captured (is auto_explain loading?)");
        }
        if let Some(table) = reads {
            assert!(plans.iter().any(|(query, _)| query.contains(table)), "{path}: no captured query reads {table}");
        }
        for (query, found) in plans {
            for offence in found {
                failures.push(format!("{route} ({path}): {offence}\n    in: {query}"));
            }
        }
    }
    assert!(failures.is_empty(), "plans that do not scale with one school:\n{}", failures.join("\n"));
}
