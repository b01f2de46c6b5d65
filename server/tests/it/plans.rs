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
/// the app. `{student}` and `{level}` are replaced with one of the school's ids; `{term}`,
/// `{stream}`, `{subject}` with the teacher's first sheet of the current term, `{child}` and
/// `{results_level}` with the demo parent's child and its class, whose results are published
/// (every student of the school has marks in every subject: see `results_for_the_plans`),
/// `{teacher_upload}` and `{admin_upload}` with a marks file each uploaded for that sheet. The table
/// proves the page's own queries were captured, not only the request context's.
const PAGES: &[(&str, Option<&str>, &str, Option<&str>)] = &[
    ("/login", None, "/login", None),
    ("/invite", None, "/invite", None),
    ("/no-portal", None, "/no-portal", None),
    ("/login/code", None, "/login/code", None),
    ("/account/two-factor", Some("bursar"), "/account/two-factor", Some("user_second_factors")),
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
    ("/accountant", Some("bursar"), "/accountant", Some("journal_lines")),
    ("/accountant/fees", Some("bursar"), "/accountant/fees", Some("fee_structure_items")),
    ("/accountant/accounts", Some("bursar"), "/accountant/accounts", Some("ledger_accounts")),
    ("/accountant/accounts", Some("bursar"), "/accountant/accounts?q=mushi", Some("search_first")),
    ("/accountant/accounts/{id}", Some("bursar"), "/accountant/accounts/{child}", Some("invoice_instalments")),
    ("/accountant/defaulters", Some("bursar"), "/accountant/defaulters", Some("invoice_instalments")),
    ("/accountant/suspense", Some("bursar"), "/accountant/suspense", Some("provider_payments")),
    ("/accountant/payments", Some("bursar"), "/accountant/payments?from=2020-01-01&to=2030-12-31", Some("FROM payments")),
    ("/accountant/inbox", Some("bursar"), "/accountant/inbox", Some("payment_inbox")),
    ("/accountant/channels", Some("bursar"), "/accountant/channels", Some("payment_channels")),
    ("/accountant/reconciliation", Some("bursar"), "/accountant/reconciliation", Some("bank_statements")),
    ("/accountant/reconciliation", Some("bursar"), "/accountant/reconciliation?statement={statement}", Some("bank_statement_lines")),
    ("/portal/fees/{student}", Some("parent"), "/portal/fees/{child}", Some("journal_entries")),
    ("/portal/fees/{student}/pay/{push}", Some("parent"), "/portal/fees/{child}/pay/{push}", Some("payment_pushes")),
    ("/portal", Some("parent"), "/portal", Some("guardians")),
    ("/portal", Some("student"), "/portal", Some("students")),
    ("/teacher/marks", Some("teacher"), "/teacher/marks", Some("mark_sheets")),
    ("/teacher/marks/{term}/{stream}/{subject}", Some("teacher"), "/teacher/marks/{term}/{stream}/{subject}", Some("FROM marks")),
    ("/admin/results", Some("admin"), "/admin/results", Some("mark_sheets")),
    ("/admin/results/flags", Some("admin"), "/admin/results/flags", Some("result_flags")),
    ("/admin/results/sheet/{term}/{stream}/{subject}", Some("admin"), "/admin/results/sheet/{term}/{stream}/{subject}", Some("FROM marks")),
    (
        "/teacher/marks/{term}/{stream}/{subject}/upload/{upload}",
        Some("teacher"),
        "/teacher/marks/{term}/{stream}/{subject}/upload/{teacher_upload}",
        Some("mark_uploads"),
    ),
    (
        "/admin/results/sheet/{term}/{stream}/{subject}/upload/{upload}",
        Some("admin"),
        "/admin/results/sheet/{term}/{stream}/{subject}/upload/{admin_upload}",
        Some("mark_uploads"),
    ),
    ("/admin/results/{term}/{level}", Some("admin"), "/admin/results/{term}/{results_level}", Some("FROM marks")),
    ("/admin/grading/class/{term}/{level}", Some("admin"), "/admin/grading/class/{term}/{results_level}", Some("FROM marks")),
    ("/admin/grading/schemes", Some("admin"), "/admin/grading/schemes", Some("grading_schemes")),
    ("/admin/grading/schemes/{id}", Some("admin"), "/admin/grading/schemes/{scheme}", Some("grading_schemes")),
    ("/portal/results/{student}", Some("parent"), "/portal/results/{child}", Some("published_results")),
    ("/admin/cards", Some("admin"), "/admin/cards", Some("published_results")),
    ("/admin/jobs", Some("admin"), "/admin/jobs", Some("FROM jobs")),
    ("/admin/cards/remarks/{term}/{stream}", Some("admin"), "/admin/cards/remarks/{term}/{stream}", Some("report_card_remarks")),
    ("/teacher/remarks/{term}/{stream}", Some("teacher"), "/teacher/remarks/{term}/{stream}", Some("report_card_remarks")),
    ("/verify/{code}", None, "/verify/ABCDE-FGHJK", None),
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

/// A bank statement of the school, one line, imported by its bursar.
async fn statement_for(app: &TestApp, tenant: uuid::Uuid) -> uuid::Uuid {
    let (id, email): (uuid::Uuid, String) = sqlx::query_as("SELECT id, email FROM users WHERE tenant_id = $1 AND email LIKE 'bursar@%'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let actor = kilele::audit::Actor::user(id, &email);
    let at = kilele::clock::Clock::now(&*app.clock);
    let line = kilele::payments::statements::StatementLine {
        line: 2,
        transaction_id: "PLAN-1".into(),
        amount_minor: 100_000,
        value_date: kilele::clock::school_date(at),
        narration: String::new(),
    };
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let by = kilele::identity::store::ChangedBy { actor: &actor, at };
    let statement = kilele::payments::reconcile::save(&mut tx, kilele::payments::Provider::Nmb, "plan.csv", &[line], by).await.unwrap();
    tx.commit().await.unwrap();
    statement
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

    let r = results_for_the_plans(&app, khss.id.0).await;
    fees_for_the_plans(&app, khss.id.0).await;
    let push = push_for(&app, khss.id.0, r.child).await;
    let statement = statement_for(&app, khss.id.0).await;

    // The server runs on this (current-thread) runtime, so a subscriber set for this thread
    // sees exactly this test's notices.
    let notices = Notices::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(notices.clone()));

    let mut failures = Vec::new();
    // One sign-in per account (more would meet the sign-in rate limit).
    let mut signed_in: std::collections::HashMap<&str, Browser> = std::collections::HashMap::new();
    for (route, who, path, reads) in PAGES {
        let fresh;
        let browser = match who {
            Some(role) => {
                if !signed_in.contains_key(role) {
                    let b = if *role == "owner" { app.login_as(None, "owner").await } else { app.login_as(Some(KHSS), role).await };
                    signed_in.insert(role, b);
                }
                &signed_in[role]
            }
            None => {
                fresh = app.browser();
                &fresh
            }
        };
        notices.take();
        let path = path
            .replace("{student}", &student.to_string())
            .replace("{level}", &level.to_string())
            .replace("{term}", &r.term.to_string())
            .replace("{stream}", &r.stream.to_string())
            .replace("{subject}", &r.subject.to_string())
            .replace("{child}", &r.child.to_string())
            .replace("{teacher_upload}", &r.teacher_upload.to_string())
            .replace("{admin_upload}", &r.admin_upload.to_string())
            .replace("{results_level}", &r.level.to_string())
            .replace("{scheme}", &r.scheme.to_string())
            .replace("{push}", &push.to_string())
            .replace("{statement}", &statement.to_string());
        let (status, _) = browser.get_text(&path).await;
        let plans = read_plans(&notices.take());
        println!("{path} as {}: {status}, {} statements", who.unwrap_or("nobody"), plans.len());
        if who.is_some() {
            assert_eq!(status, 200, "{path} as {who:?}");
            // A page with no query of its own may run none at all (the principal is cached).
            assert!(reads.is_none() || !plans.is_empty(), "{path}: no plans captured (is auto_explain loading?)");
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

struct ResultsIds {
    term: uuid::Uuid,
    stream: uuid::Uuid,
    subject: uuid::Uuid,
    child: uuid::Uuid,
    level: uuid::Uuid,
    teacher_upload: uuid::Uuid,
    admin_upload: uuid::Uuid,
    scheme: uuid::Uuid,
}

/// Uploads a marks file for the sheet (its first student's exam) through `page`'s upload
/// route and returns the upload's id.
async fn upload_marks(app: &TestApp, role: &str, page: &str, stream: uuid::Uuid) -> uuid::Uuid {
    let admission_no: String = sqlx::query_scalar("SELECT admission_no FROM students WHERE stream_id = $1 AND status = 'active' LIMIT 1")
        .bind(stream)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let b = app.login_as(Some(KHSS), role).await;
    let part = reqwest::multipart::Part::bytes(format!("admission_no,exam\n{admission_no},60\n").into_bytes()).file_name("marks.csv");
    let r = b
        .client
        .post(format!("{}{page}/upload", b.base))
        .header("origin", &b.origin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let to = redirect_target(&r).unwrap_or_default();
    assert!(to.starts_with(&format!("{page}/upload/")), "upload as {role}: {} {to}", r.status());
    to.rsplit('/').next().unwrap().parse().unwrap()
}

/// Marks for every student in every subject of the current term (written as the owner: the
/// plans, not the entry, are under test here), approved; the parent's child's class published
/// through the app; one tamper flag.
async fn results_for_the_plans(app: &TestApp, tenant: uuid::Uuid) -> ResultsIds {
    let db = &app.owner_pool;
    let teacher: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(format!("teacher@{KHSS}.test")).fetch_one(db).await.unwrap();
    // A marks file for the teacher's first sheet from each of its pages, while it is a draft.
    let (term, stream, subject): (uuid::Uuid, uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT t.id, ta.stream_id, ta.subject_id FROM teacher_allocations ta
           JOIN terms t ON t.tenant_id = ta.tenant_id AND t.academic_year_id = ta.academic_year_id AND t.is_current
          WHERE ta.tenant_id = $1 AND ta.teacher_id = $2 ORDER BY ta.stream_id, ta.subject_id LIMIT 1",
    )
    .bind(tenant)
    .bind(teacher)
    .fetch_one(db)
    .await
    .unwrap();
    // The teacher is the stream's class teacher (its remarks page).
    sqlx::query("UPDATE streams SET class_teacher_id = $1 WHERE id = $2").bind(teacher).bind(stream).execute(db).await.unwrap();
    let teacher_upload = upload_marks(app, "teacher", &format!("/teacher/marks/{term}/{stream}/{subject}"), stream).await;
    let admin_upload = upload_marks(app, "admin", &format!("/admin/results/sheet/{term}/{stream}/{subject}"), stream).await;
    sqlx::query(
        "INSERT INTO mark_sheets (tenant_id, term_id, stream_id, subject_id, status)
         SELECT ta.tenant_id, t.id, ta.stream_id, ta.subject_id, 'approved'
           FROM teacher_allocations ta JOIN terms t ON t.tenant_id = ta.tenant_id AND t.academic_year_id = ta.academic_year_id AND t.is_current
          WHERE ta.tenant_id = $1",
    )
    .bind(tenant)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO marks (tenant_id, sheet_id, student_id, assessment, score_hundredths, revision, written_by, written_at)
         SELECT ms.tenant_id, ms.id, st.id, a.key, ((hashtext(st.id::text || a.key || ms.id::text) & 8191) % 10001), 1, $2, now()
           FROM mark_sheets ms
           JOIN students st ON st.tenant_id = ms.tenant_id AND st.stream_id = ms.stream_id AND st.status = 'active'
          CROSS JOIN unnest(ARRAY['mt1', 'midterm', 'mt2', 'exam']) AS a(key)
          WHERE ms.tenant_id = $1",
    )
    .bind(tenant)
    .bind(teacher)
    .execute(db)
    .await
    .unwrap();
    sqlx::raw_sql("ANALYZE marks; ANALYZE mark_sheets").execute(db).await.unwrap();
    let (child, level): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT st.id, s.level_id FROM students st
           JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
           JOIN student_guardians sg ON sg.tenant_id = st.tenant_id AND sg.student_id = st.id
           JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
           JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
          WHERE u.email = $1 ORDER BY st.admission_no LIMIT 1",
    )
    .bind(format!("parent@{KHSS}.test"))
    .fetch_one(db)
    .await
    .unwrap();
    let admin = app.login_as(Some(KHSS), "admin").await;
    let r = admin.server_fn("admin/results/publish", &[("term", &term.to_string()), ("level", &level.to_string())]).await;
    assert_eq!(r.status().as_u16(), 200, "publish: {}", r.text().await.unwrap());
    sqlx::query(
        "INSERT INTO result_flags (tenant_id, term_id, kind, fingerprint, sheet_id, student_id, writer_id, evidence, raised_at)
         SELECT tenant_id, term_id, 'burst', 'plans', id, NULL, $2, '{}', now() FROM mark_sheets WHERE tenant_id = $1 LIMIT 1",
    )
    .bind(tenant)
    .bind(teacher)
    .execute(db)
    .await
    .unwrap();
    // The published class's scheme (stored, frozen): the scheme page reads it.
    let scheme: uuid::Uuid = sqlx::query_scalar("SELECT scheme_id FROM result_publications WHERE tenant_id = $1 LIMIT 1")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    ResultsIds { term, stream, subject, child, level, teacher_upload, admin_upload, scheme }
}

/// The whole school invoiced for the current term (three instalments, every class), a
/// payment from every fourth student, late fines on what is overdue: the finance pages then
/// read a school's term of money.
async fn fees_for_the_plans(app: &TestApp, tenant: uuid::Uuid) {
    use kilele::finance::billing::{InstalmentForm, ItemForm};
    use kilele::finance::db::payments;
    let school = kilele::tenancy::TenantId(tenant);
    let bursar: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(format!("bursar@{KHSS}.test"))
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let actor = kilele::audit::Actor::user(bursar, "bursar");
    let now = chrono::Utc::now();
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: now };
    let fees = server::seed::TermFees {
        items: vec![
            ItemForm { name: "Tuition".into(), amount: "450,000".into(), compulsory: true },
            ItemForm { name: "Examination".into(), amount: "30,000".into(), compulsory: true },
            ItemForm { name: "Transport".into(), amount: "120,000".into(), compulsory: false },
        ],
        instalments: vec![
            InstalmentForm { percent: "40".into(), due_on: "2026-07-15".into() },
            InstalmentForm { percent: "30".into(), due_on: "2026-09-01".into() },
            InstalmentForm { percent: "30".into(), due_on: "2027-01-15".into() },
        ],
        rules: server::seed::TermFees::rules("10", "15", "5,000", "7"),
        level: None,
    };
    let pii = kilele::audit::pii::KeyRing::development();
    server::seed::bill_term(&app.pool, &app.worker().pool, &pii, school, by, &fees).await.unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
    let payers: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT student_id FROM invoices ORDER BY number").fetch_all(&mut *tx).await.unwrap();
    for (n, student) in payers.iter().enumerate().filter(|(n, _)| n % 4 == 0) {
        let paid_on = now.date_naive() - chrono::Duration::days(i64::try_from(n % 60).unwrap());
        let payment =
            payments::NewPayment { amount_minor: 20_000_000, channel: kilele::finance::ledger::Channel::Cash, reference: None, paid_on };
        payments::record_payment(&mut tx, *student, &payment, by).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Fines are the worker's (only its role may write them).
    let mut tx = kilele::db::tenant_tx(&app.worker().pool, school).await.unwrap();
    let later = now + chrono::Duration::days(120);
    payments::apply_late_fines(&mut tx, later.date_naive(), later).await.unwrap();
    tx.commit().await.unwrap();
    sqlx::raw_sql("ANALYZE invoices; ANALYZE invoice_instalments; ANALYZE journal_entries; ANALYZE journal_lines; ANALYZE ledger_accounts; ANALYZE payments; ANALYZE late_fines; ANALYZE student_accounts")
        .execute(&app.owner_pool)
        .await
        .unwrap();
}
