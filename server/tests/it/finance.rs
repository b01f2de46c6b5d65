//! Fees (issue 9): the bursar sets fee structures, invoices a term through the worker, records
//! payments with receipts; the family sees the balance; the ledger stays balanced and
//! `ledger check` notices a row changed behind the app's back.

use crate::harness::*;
use kilele::clock::Clock as _;
use kilele::finance::ledger::Channel;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

async fn school_id(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(slug).fetch_one(&app.owner_pool).await.unwrap()
}

async fn current_term(app: &TestApp, tenant: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT id FROM terms WHERE tenant_id = $1 AND is_current").bind(tenant).fetch_one(&app.owner_pool).await.unwrap()
}

async fn levels(app: &TestApp, tenant: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM levels WHERE tenant_id = $1 ORDER BY ordinal").bind(tenant).fetch_all(&app.owner_pool).await.unwrap()
}

async fn count(app: &TestApp, sql: &str, tenant: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(tenant).fetch_one(&app.owner_pool).await.unwrap()
}

/// The fee structure form of one class: tuition (compulsory), transport (optional), three
/// instalments of 40/30/30 %.
fn structure_form(term: Uuid, level: Uuid, shares: [&'static str; 3]) -> Vec<(String, String)> {
    vec![
        ("term".into(), term.to_string()),
        ("level".into(), level.to_string()),
        ("items[0][name]".into(), "Tuition".into()),
        ("items[0][amount]".into(), "450,000".into()),
        ("items[0][compulsory]".into(), "true".into()),
        ("items[1][name]".into(), "Transport".into()),
        ("items[1][amount]".into(), "120000".into()),
        ("items[1][compulsory]".into(), "false".into()),
        ("items[2][name]".into(), "Examination".into()),
        ("items[2][amount]".into(), "30000".into()),
        ("items[2][compulsory]".into(), "true".into()),
        ("instalments[0][percent]".into(), shares[0].into()),
        ("instalments[0][due_on]".into(), "2026-07-15".into()),
        ("instalments[1][percent]".into(), shares[1].into()),
        ("instalments[1][due_on]".into(), "2026-09-01".into()),
        ("instalments[2][percent]".into(), shares[2].into()),
        ("instalments[2][due_on]".into(), "2026-11-01".into()),
    ]
}

async fn post(b: &Browser, endpoint: &str, form: &[(String, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.server_fn(endpoint, &pairs).await
}

/// Runs the worker until no job is left.
async fn drain(app: &TestApp) {
    let worker = app.worker();
    for _ in 0..20 {
        if server::worker::run_once(&worker).await.unwrap() == 0 {
            return;
        }
    }
    panic!("jobs keep coming");
}

async fn ledger_sound(app: &TestApp, slug: &str) -> (bool, String) {
    let mut out = Vec::new();
    let sound = server::cli::ledger_check(&app.pool, slug, &mut out).await.unwrap();
    (sound, String::from_utf8(out).unwrap())
}

/// Sets every class's structure and invoices the whole school; returns the term.
pub(crate) async fn bill_school(app: &TestApp, bursar: &Browser, slug: &str) -> Uuid {
    let tenant = school_id(app, slug).await;
    let term = current_term(app, tenant).await;
    for level in levels(app, tenant).await {
        let r = post(bursar, "accountant/fees/structure", &structure_form(term, level, ["40", "30", "30"])).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let r = bursar.server_fn("accountant/invoices/request", &[("level", "")]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    drain(app).await;
    term
}

#[tokio::test]
async fn the_bursar_bills_a_term_records_a_payment_and_the_family_sees_it() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let term = current_term(&app, tenant).await;
    let level = levels(&app, tenant).await[0];
    let bursar = app.login_as(Some(KHSS), "bursar").await;

    // Bad input: every mistake at once, nothing written.
    let mut bad = structure_form(term, level, ["40", "30", "20"]);
    bad[3].1 = "-5".into();
    let r = post(&bursar, "accountant/fees/structure", &bad).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("finance-error-fee-amount") && body.contains("finance-error-shares-sum"), "{body}");
    assert_eq!(count(&app, "SELECT count(*) FROM fee_structures WHERE tenant_id = $1", tenant).await, 0);

    // The rules: the second child of a family pays 10 % less.
    let r = bursar
        .server_fn(
            "accountant/fees/settings",
            &[
                ("allocation", "oldest_first"),
                ("sibling_second", "10"),
                ("sibling_third", "15"),
                ("late_fine", "5,000"),
                ("grace_days", "7"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = bursar
        .server_fn(
            "accountant/fees/settings",
            &[("allocation", "x"), ("sibling_second", "120"), ("grace_days", "-1"), ("late_fine", "50,000,000")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("finance-error-fine-too-large"));

    bill_school(&app, &bursar, KHSS).await;
    let active = count(&app, "SELECT count(*) FROM students WHERE tenant_id = $1 AND status = 'active'", tenant).await;
    assert_eq!(count(&app, "SELECT count(*) FROM invoices WHERE tenant_id = $1", tenant).await, active);
    assert_eq!(
        count(&app, "SELECT count(*) FROM invoice_runs WHERE tenant_id = $1 AND status = 'done' AND done = total AND failed = 0", tenant)
            .await,
        1
    );
    // Siblings got their discount; instalments sum to each invoice.
    assert!(count(&app, "SELECT count(*) FROM invoices WHERE tenant_id = $1 AND discount_minor = 4800000", tenant).await > 0);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM invoices i WHERE tenant_id = $1
               AND net_minor <> (SELECT sum(amount_minor) FROM invoice_instalments ii WHERE ii.tenant_id = i.tenant_id AND ii.invoice_id = i.id)",
            tenant
        )
        .await,
        0
    );
    // Invoicing again bills nobody twice.
    let r = bursar.server_fn("accountant/invoices/request", &[("level", "")]).await;
    assert_eq!(r.status(), 200);
    drain(&app).await;
    assert_eq!(count(&app, "SELECT count(*) FROM invoices WHERE tenant_id = $1", tenant).await, active);
    // (The test's clock stands still: both runs were asked for at the same instant.)
    let skipped: i32 = sqlx::query_scalar("SELECT max(skipped) FROM invoice_runs WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(i64::from(skipped), active);
    // A structure someone was billed with is not changed behind their invoice.
    let r = post(&bursar, "accountant/fees/structure", &structure_form(term, level, ["50", "25", "25"])).await;
    assert_eq!(r.status(), 409);

    // The parent's child.
    let child: Uuid = sqlx::query_scalar(
        "SELECT sg.student_id FROM student_guardians sg JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
           JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
          WHERE u.tenant_id = $1 AND u.email LIKE 'parent@%' ORDER BY sg.student_id LIMIT 1",
    )
    .bind(tenant)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let c = child.to_string();
    let net: i64 =
        sqlx::query_scalar("SELECT net_minor FROM invoices WHERE student_id = $1").bind(child).fetch_one(&app.owner_pool).await.unwrap();
    // A discount decided after the invoice would change nothing on it: refused, with the way.
    let r = bursar
        .server_fn(
            "accountant/discount",
            &[("student", &c), ("kind", "bursary"), ("percent", "true"), ("value", "10"), ("reason", "Late bursary"), ("once", &once())],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("finance-error-already-invoiced"));

    // A payment with every field wrong: each one said, nothing written.
    let r = bursar
        .server_fn("accountant/payments/record", &[("student", &c), ("amount", "abc"), ("channel", "bitcoin"), ("paid_on", "2099-01-01")])
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    for key in ["finance-error-fee-amount", "error-choose-one", "finance-error-paid-in-future"] {
        assert!(body.contains(key), "{key}: {body}");
    }
    let r = bursar
        .server_fn("accountant/payments/record", &[("student", &c), ("amount", "100"), ("channel", "cash"), ("paid_on", "2019-01-01")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("finance-error-paid-too-long-ago"), "a date years ago is a typo");
    let r = bursar
        .server_fn("accountant/payments/record", &[("student", &c), ("amount", "100"), ("channel", "crdb"), ("paid_on", "2026-12-01")])
        .await;
    assert_eq!(r.status(), 422, "a bank payment needs its slip's reference");
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 0);

    // A form without its token (not ours, or out of date): refused, nothing written.
    let cash = [("student", c.as_str()), ("amount", "200,000"), ("channel", "cash"), ("paid_on", "2026-12-01")];
    let r = bursar.server_fn("accountant/payments/record", &cash).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("form-error-expired"));
    // A double click (the same form sent twice at once) records one payment; both answers
    // name it.
    let token = once();
    let sent = [cash.as_slice(), &[("once", token.as_str())]].concat();
    let (r1, r2) =
        tokio::join!(bursar.server_fn("accountant/payments/record", &sent), bursar.server_fn("accountant/payments/record", &sent));
    assert_eq!((r1.status().as_u16(), r2.status().as_u16()), (200, 200));
    let recorded: serde_json::Value = r1.json().await.unwrap();
    assert_eq!(recorded, r2.json::<serde_json::Value>().await.unwrap(), "the repeat answers with the first payment");
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 1);
    let payment = recorded["payment"].as_str().unwrap().to_owned();
    // The token is good for that form and that bursar only.
    let r =
        bursar.server_fn("accountant/write-off", &[("student", &c), ("amount", "100"), ("reason", "Reused token"), ("once", &token)]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("form-error-resubmitted"));
    // A page kept from before, filled in again with another amount: refused, not answered with
    // the first payment (nor recorded).
    let changed = [&cash[..1], &[("amount", "150,000")], &cash[2..], &[("once", token.as_str())]].concat();
    let r = bursar.server_fn("accountant/payments/record", &changed).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("form-error-changed-after-sending"));
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 1);
    // Tokens are forgotten after two days, by the worker.
    let later = app.clock.now() + chrono::Duration::days(3);
    assert!(server::worker::purge_form_tokens(&app.worker().pool, app.clock.now()).await.unwrap() == 0, "kept for two days");
    assert!(server::worker::purge_form_tokens(&app.worker().pool, later).await.unwrap() >= 1);
    let r = bursar
        .server_fn(
            "accountant/payments/record",
            &[
                ("student", &c),
                ("amount", "50000"),
                ("channel", "nmb"),
                ("reference", "NMB-778812"),
                ("paid_on", "2026-12-02"),
                ("once", &once()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = bursar
        .server_fn(
            "accountant/payments/record",
            &[
                ("student", &c),
                ("amount", "50000"),
                ("channel", "nmb"),
                ("reference", "nmb-778812"),
                ("paid_on", "2026-12-02"),
                ("once", &once()),
            ],
        )
        .await;
    assert_eq!(r.status(), 409, "the same slip twice");
    assert_eq!(audited(&app, KHSS, "finance.payment.recorded").await, 2);

    // The receipt: a PDF, kept, the same bytes the second time.
    let r = bursar.get(&format!("/accountant/receipts/{payment}/receipt.pdf")).await;
    assert_eq!(r.status(), 200);
    let first = r.bytes().await.unwrap();
    assert!(first.starts_with(b"%PDF"));
    let again = bursar.get(&format!("/accountant/receipts/{payment}/receipt.pdf")).await.bytes().await.unwrap();
    assert_eq!(first, again);
    // Anyone holding the printed receipt can check its code.
    let code = recorded["verify_code"].as_str().unwrap().to_owned();
    let (status, html) = app.browser().get_text(&format!("/verify/{code}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="verified-receipt""#) && html.contains("TZS 200,000"), "the receipt's code checks out");
    let (_, html) = app.browser().get_text("/verify/ABCDE-FGHJK").await;
    assert!(html.contains(r#"data-testid="verify-unknown""#));
    let r = bursar.get(&format!("/accountant/accounts/{c}/statement.pdf?from=2026-01-01&to=2026-12-31")).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
    assert_eq!(bursar.get(&format!("/accountant/accounts/{c}/statement.pdf?from=2026-13-01")).await.status(), 400);

    // The bursar's account page and the family's.
    let (status, html) = bursar.get_text(&format!("/accountant/accounts/{c}")).await;
    assert_eq!(status, 200);
    let balance = kilele::finance::Money::from_minor(net - 25_000_000, kilele::finance::Currency::Tzs).to_string();
    assert!(html.contains(&balance), "{balance} on the bursar's page");
    let parent = app.login_as(Some(KHSS), "parent").await;
    let (status, html) = parent.get_text(&format!("/portal/fees/{c}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&balance) && html.contains(r#"data-testid="how-to-pay""#), "the parent sees the balance and how to pay");
    let r = parent.get(&format!("/portal/receipts/{payment}/receipt.pdf")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), first);
    // Another family's child: not found, for the page, the function and the files.
    let other: Uuid =
        sqlx::query_scalar("SELECT id FROM students WHERE tenant_id = $1 AND id NOT IN (SELECT sg.student_id FROM student_guardians sg JOIN guardians g ON g.id = sg.guardian_id WHERE g.user_id IS NOT NULL) LIMIT 1")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(parent.server_fn("portal/fees", &[("student", &other.to_string())]).await.status(), 404);
    assert_eq!(parent.get(&format!("/portal/fees/{other}/statement.pdf")).await.status(), 404);

    // Dashboard and defaulters answer with this school's numbers.
    // Months later (nobody is late on the day they are billed: due dates before the invoice
    // are moved to its date), signed in again.
    app.clock.advance(chrono::Duration::days(120));
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let r = bursar.server_fn("accountant/dashboard", &[]).await;
    let d: kilele::finance::views::Dashboard = r.json().await.unwrap();
    assert_eq!(d.collected_minor, 25_000_000);
    assert_eq!(i64::from(d.invoiced_students), active);
    assert!(d.ageing.total() > 0, "the instalments are overdue by now");
    assert_eq!(d.today.len() + d.week.len(), 0, "the payments were made months ago");
    assert_eq!(d.written_off_minor, 0);
    // A write-off settles debt but brings no money: written off, not collected; and the
    // dashboard kept from the last view shows it at once (the posting moved the ledger on).
    let r =
        bursar.server_fn("accountant/write-off", &[("student", &c), ("amount", "10,000"), ("reason", "Hardship"), ("once", &once())]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let d: kilele::finance::views::Dashboard = bursar.server_fn("accountant/dashboard", &[]).await.json().await.unwrap();
    assert_eq!((d.collected_minor, d.written_off_minor), (25_000_000, 1_000_000));
    let html = bursar.get_text("/accountant").await.1;
    assert!(html.contains(r#"data-testid="stat-written-off""#) && html.contains("TZS 10,000"), "{html}");
    let today = kilele::clock::school_date(app.clock.now()).to_string();
    let r = bursar
        .server_fn(
            "accountant/payments/record",
            &[("student", &c), ("amount", "5000"), ("channel", "cash"), ("paid_on", &today), ("once", &once())],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let d: kilele::finance::views::Dashboard = bursar.server_fn("accountant/dashboard", &[]).await.json().await.unwrap();
    assert_eq!((d.collected_minor, d.written_off_minor), (25_500_000, 1_000_000), "the payment shows at once");
    assert_eq!(d.today.iter().map(|c| c.amount_minor).sum::<i64>(), 500_000);
    // The dashboard is kept while nothing is posted: an invoice changed behind the app's back
    // (no posting) does not show until the ledger moves on.
    sqlx::query("UPDATE invoices SET gross_minor = gross_minor + 100, net_minor = net_minor + 100 WHERE student_id = $1")
        .bind(child)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let kept: kilele::finance::views::Dashboard = bursar.server_fn("accountant/dashboard", &[]).await.json().await.unwrap();
    assert_eq!(kept.billed_minor, d.billed_minor, "reused, not computed again");
    let r = bursar
        .server_fn(
            "accountant/payments/record",
            &[("student", &c), ("amount", "1000"), ("channel", "cash"), ("paid_on", &today), ("once", &once())],
        )
        .await;
    assert_eq!(r.status(), 200);
    let moved: kilele::finance::views::Dashboard = bursar.server_fn("accountant/dashboard", &[]).await.json().await.unwrap();
    assert_eq!(moved.billed_minor, d.billed_minor + 100, "computed again after a posting");
    sqlx::query("UPDATE invoices SET gross_minor = gross_minor - 100, net_minor = net_minor - 100 WHERE student_id = $1")
        .bind(child)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let r = bursar.get("/accountant/defaulters.csv").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().lines().count() > 10);

    // The ledger is sound; a line changed behind the app's back is caught.
    let (sound, report) = ledger_sound(&app, KHSS).await;
    assert!(sound, "{report}");
    sqlx::query("ALTER TABLE journal_lines DISABLE TRIGGER journal_lines_append_only").execute(&app.owner_pool).await.unwrap();
    sqlx::query(
        "UPDATE journal_lines SET amount_minor = amount_minor - 100
          WHERE (tenant_id, entry_id, line_no) = (SELECT tenant_id, entry_id, line_no FROM journal_lines WHERE tenant_id = $1 AND amount_minor < -1000 LIMIT 1)",
    )
    .bind(tenant)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE journal_lines ENABLE TRIGGER journal_lines_append_only").execute(&app.owner_pool).await.unwrap();
    let (sound, report) = ledger_sound(&app, KHSS).await;
    assert!(!sound && report.contains("entry-balances"), "{report}");
    // An invoice marked cancelled without its credit note is caught too.
    sqlx::query("UPDATE invoices SET cancelled = true WHERE student_id = $1").bind(child).execute(&app.owner_pool).await.unwrap();
    let (_, report) = ledger_sound(&app, KHSS).await;
    assert!(report.contains("cancelled-by-credit-note"), "{report}");
}

#[tokio::test]
async fn a_mid_term_joiner_is_billed_pro_rata_but_a_school_moving_onto_kilele_mid_term_is_not() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let term = current_term(&app, tenant).await;
    let (starts_on, ends_on): (chrono::NaiveDate, chrono::NaiveDate) =
        sqlx::query_as("SELECT starts_on, ends_on FROM terms WHERE id = $1").bind(term).fetch_one(&app.owner_pool).await.unwrap();
    let at = |d: chrono::NaiveDate| d.and_hms_opt(6, 0, 0).unwrap().and_utc();
    // The school moves onto Kilele a month into the term: its students are typed in that day,
    // and the bursar bills the term the next morning, with pro rata on.
    let moved_in = at(starts_on + chrono::Duration::days(30));
    sqlx::query("UPDATE students SET created_at = $2 WHERE tenant_id = $1")
        .bind(tenant)
        .bind(moved_in)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    app.clock.set(moved_in + chrono::Duration::days(1));
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let r = bursar.server_fn("accountant/fees/settings", &[("allocation", "oldest_first"), ("pro_rata", "true"), ("late_fine", "0")]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    bill_school(&app, &bursar, KHSS).await;
    // Tuition and examination (transport is optional): everyone in full.
    let full = 48_000_000_i64;
    assert_eq!(count(&app, "SELECT count(*) FROM invoices WHERE tenant_id = $1 AND gross_minor <> 48000000", tenant).await, 0);

    // A student who joins ten days before the term ends pays for those ten days.
    let joins = at(ends_on - chrono::Duration::days(9));
    let joiner: Uuid = sqlx::query_scalar(
        "INSERT INTO students (tenant_id, admission_no, first_name, last_name, sex, stream_id, created_at)
         SELECT tenant_id, 'KHSS/JOIN/1', 'Neema', 'Mgeni', 'F', stream_id, $2 FROM students WHERE tenant_id = $1 AND stream_id IS NOT NULL LIMIT 1
         RETURNING id",
    )
    .bind(tenant)
    .bind(joins)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    app.clock.set(joins + chrono::Duration::hours(2));
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let r = bursar.server_fn("accountant/invoices/request", &[("level", "")]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    drain(&app).await;
    let gross: i64 =
        sqlx::query_scalar("SELECT gross_minor FROM invoices WHERE student_id = $1").bind(joiner).fetch_one(&app.owner_pool).await.unwrap();
    let term_days = (ends_on - starts_on).num_days() + 1;
    let expected = full * 10 / term_days;
    assert!((gross - expected).abs() <= 200, "ten days of {term_days}: {gross} against {expected}");
}

#[tokio::test]
async fn an_invoicing_run_whose_job_gives_up_says_so_and_carries_on_when_put_back() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let term = current_term(&app, tenant).await;
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    for level in levels(&app, tenant).await {
        let r = post(&bursar, "accountant/fees/structure", &structure_form(term, level, ["40", "30", "30"])).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    // A fault outside the app: the database refuses invoices for a while.
    for sql in [
        "CREATE FUNCTION test_refuse_invoices() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$",
        "CREATE TRIGGER test_refuse_invoices BEFORE INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION test_refuse_invoices()",
    ] {
        sqlx::query(sql).execute(&app.owner_pool).await.unwrap();
    }
    let r = bursar.server_fn("accountant/invoices/request", &[("level", "")]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    sqlx::query("UPDATE jobs SET max_attempts = 1 WHERE tenant_id = $1 AND kind = 'finance.invoices'")
        .bind(tenant)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    drain(&app).await;
    let run_status = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM invoice_runs WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap()
    };
    // The run says it failed (not "running" for ever), on the bursar's page too.
    assert_eq!(run_status().await, "failed");
    let overview: serde_json::Value = bursar.server_fn("accountant/fees", &[]).await.json().await.unwrap();
    assert_eq!(overview["runs"][0]["status"], "Failed", "{overview}");

    // Mended, and put back by the admin: the run carries on and bills everyone.
    sqlx::query("DROP TRIGGER test_refuse_invoices ON invoices").execute(&app.owner_pool).await.unwrap();
    let job: Uuid = sqlx::query_scalar("SELECT id FROM jobs WHERE tenant_id = $1 AND kind = 'finance.invoices'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let admin = app.login_as(Some(KHSS), "admin").await;
    let r = admin.server_fn("admin/jobs/retry", &[("job", &job.to_string())]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    drain(&app).await;
    assert_eq!(run_status().await, "done", "the run carried on when its job ran again");
    let active = count(&app, "SELECT count(*) FROM students WHERE tenant_id = $1 AND status = 'active'", tenant).await;
    assert_eq!(count(&app, "SELECT count(*) FROM invoices WHERE tenant_id = $1", tenant).await, active);
}

#[tokio::test]
async fn the_ledger_refuses_unbalanced_and_changed_entries_even_from_the_app() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let account: Uuid = sqlx::query_scalar("INSERT INTO ledger_accounts (tenant_id, kind) VALUES ($1, 'suspense') RETURNING id")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let entry: Uuid = sqlx::query_scalar(
        "INSERT INTO journal_entries (tenant_id, kind, source_id, memo, posted_on, posted_at) VALUES ($1, 'payment', gen_random_uuid(), 'x', current_date, now()) RETURNING id",
    )
    .bind(tenant)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO journal_lines (tenant_id, entry_id, line_no, account_id, amount_minor) VALUES ($1, $2, 1, $3, 500)")
        .bind(tenant)
        .bind(entry)
        .bind(account)
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused = tx.commit().await.unwrap_err().to_string();
    assert!(refused.contains("does not balance"), "{refused}");
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let refused = sqlx::query("UPDATE journal_lines SET amount_minor = 1").execute(&mut *tx).await.unwrap_err().to_string();
    assert!(refused.contains("permission denied"), "{refused}");
}

#[tokio::test]
async fn control_numbers_differ_between_schools_and_check_their_digits() {
    let app = spawn_app().await;
    let mut numbers = Vec::new();
    for slug in [KHSS, MLPS] {
        let tenant = school_id(&app, slug).await;
        let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
        let students: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM students LIMIT 30").fetch_all(&mut *tx).await.unwrap();
        kilele::finance::db::accounts::ensure(&mut tx, &students).await.unwrap();
        let mine: Vec<String> = sqlx::query_scalar("SELECT control_number FROM student_accounts").fetch_all(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(mine.len(), 30);
        numbers.extend(mine);
    }
    let distinct: std::collections::HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 60);
    let prefixes: std::collections::HashSet<&str> = numbers.iter().map(|n| &n[..4]).collect();
    assert_eq!(prefixes.len(), 2, "one prefix per school");
    assert!(numbers.iter().all(|n| kilele::finance::control::ControlNumber::parse(n).is_ok()));
}

/// The issue's property test, through the real database: random sequences of invoices,
/// discounts, payments, credit notes, fines and waivers, refunds and write-offs; after every
/// step each entry balances and `ledger check` passes. Refused steps (a refund above what was
/// paid, a write-off above the debt) write nothing.
#[tokio::test]
async fn random_money_movements_keep_the_ledger_sound() {
    use kilele::finance::db::{invoicing, payments, structures};
    let app = spawn_app().await;
    let tenant = school_id(&app, MLPS).await;
    let school = kilele::tenancy::TenantId(tenant);
    let term = current_term(&app, tenant).await;
    let bursar = app.login_as(Some(MLPS), "bursar").await;
    let bursar_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email LIKE 'bursar@%'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let actor = kilele::audit::Actor::user(bursar_id, "bursar");
    let at = chrono::Utc::now();
    let by = kilele::identity::store::ChangedBy { actor: &actor, at };
    let level = levels(&app, tenant).await[0];
    let r = post(&bursar, "accountant/fees/structure", &structure_form(term, level, ["40", "30", "30"])).await;
    assert_eq!(r.status(), 200);
    let students: Vec<Uuid> = sqlx::query_scalar(
        "SELECT s.id FROM students s JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id WHERE s.tenant_id = $1 AND st.level_id = $2 ORDER BY s.admission_no LIMIT 6",
    )
    .bind(tenant)
    .bind(level)
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    // Discounts before billing: a bursary on tuition, a fixed amount off the whole invoice.
    {
        let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
        let tuition: Uuid = sqlx::query_scalar("SELECT id FROM fee_items WHERE name = 'Tuition'").fetch_one(&mut *tx).await.unwrap();
        let bursary = structures::DiscountForm {
            kind: "bursary".into(),
            item: tuition.to_string(),
            percent: true,
            value: "50".into(),
            reason: "Needs-based bursary".into(),
        };
        structures::grant_discount(&mut tx, students[0], term, &bursary, by).await.unwrap();
        let fixed = structures::DiscountForm {
            kind: "staff_child".into(),
            item: String::new(),
            percent: false,
            value: "25,000".into(),
            reason: "Staff child".into(),
        };
        structures::grant_discount(&mut tx, students[1], term, &fixed, by).await.unwrap();
        let over = structures::DiscountForm {
            kind: "other".into(),
            item: String::new(),
            percent: true,
            value: "101".into(),
            reason: "Too much".into(),
        };
        assert!(structures::grant_discount(&mut tx, students[1], term, &over, by).await.is_err());
        tx.commit().await.unwrap();
    }
    let pii = kilele::audit::pii::KeyRing::development();
    let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
    invoicing::request(&mut tx, &pii, Some(level), by).await.unwrap();
    tx.commit().await.unwrap();
    drain(&app).await;
    let (sound, report) = ledger_sound(&app, MLPS).await;
    assert!(sound, "{report}");

    // Late fines of TZS 2,000 from the day after an instalment's due date.
    {
        let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
        let rules = kilele::finance::db::accounts::SettingsForm {
            allocation: "oldest_first".into(),
            sibling_second: "0".into(),
            sibling_third: "0".into(),
            pro_rata: false,
            late_fine: "2000".into(),
            grace_days: "0".into(),
        };
        kilele::finance::db::accounts::save_settings(&mut tx, &rules, by).await.unwrap();
        tx.commit().await.unwrap();
    }
    let worker = app.worker();
    let mut fined = 0;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_207);
    let mut refused = 0;
    let mut applied = 0;
    for step in 0..60 {
        let student = students[rng.gen_range(0..students.len())];
        let amount = format!("{}", rng.gen_range(1..400) * 1000);
        let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
        let before: i64 = sqlx::query_scalar("SELECT count(*) FROM journal_entries").fetch_one(&mut *tx).await.unwrap();
        let outcome: Result<(), kilele::DomainError> = match rng.gen_range(0..7) {
            0 | 1 => {
                let channel = Channel::ALL[rng.gen_range(0..Channel::ALL.len())];
                let form = payments::PaymentForm {
                    amount: amount.clone(),
                    channel: channel.code().into(),
                    reference: format!("REF{step}"),
                    paid_on: "2026-11-30".into(),
                };
                let p = payments::NewPayment::parse(&form, chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()).unwrap();
                payments::record_payment(&mut tx, student, &p, by).await.map(|_| ())
            }
            2 => {
                let invoice: Option<Uuid> = sqlx::query_scalar("SELECT id FROM invoices WHERE student_id = $1 AND NOT cancelled")
                    .bind(student)
                    .fetch_optional(&mut *tx)
                    .await
                    .unwrap();
                match invoice {
                    Some(invoice) => {
                        let whole = rng.gen_bool(0.3);
                        let form = payments::CreditNoteForm {
                            invoice: invoice.to_string(),
                            amount: if whole { String::new() } else { amount.clone() },
                            reason: "Correction".into(),
                        };
                        payments::credit_note(&mut tx, student, &form, by).await.map(|_| ())
                    }
                    None => Ok(()),
                }
            }
            3 => {
                let channel = if rng.gen_bool(0.5) { "cash" } else { "mpesa" };
                let form = payments::AdjustmentForm {
                    amount: amount.clone(),
                    channel: channel.into(),
                    reference: format!("RF{step}"),
                    reason: "Paid twice".into(),
                };
                payments::refund(&mut tx, student, &form, by).await.map(|_| ())
            }
            4 => {
                let form = payments::AdjustmentForm { amount: amount.clone(), reason: "Family left the area".into(), ..Default::default() };
                payments::write_off(&mut tx, student, &form, by).await.map(|_| ())
            }
            5 => {
                // Fines are the worker's (only its role may write them).
                let mut fines = kilele::db::tenant_tx(&worker.pool, school).await.unwrap();
                // Weeks after billing: the first instalments are overdue.
                let later = chrono::Utc::now() + chrono::Duration::days(100);
                let applied = payments::apply_late_fines(&mut fines, later.date_naive(), later).await;
                fines.commit().await.unwrap();
                applied.map(|n| fined += n)
            }
            _ => {
                let fine: Option<Uuid> =
                    sqlx::query_scalar("SELECT id FROM late_fines WHERE waived_at IS NULL LIMIT 1").fetch_optional(&mut *tx).await.unwrap();
                match fine {
                    Some(fine) => payments::waive_fine(&mut tx, fine, "First time late", by).await,
                    None => Ok(()),
                }
            }
        };
        match outcome {
            Ok(()) => {
                tx.commit().await.unwrap();
                applied += 1;
            }
            Err(e) => {
                assert!(matches!(e, kilele::DomainError::Invalid(_) | kilele::DomainError::Conflict { .. }), "step {step}: {e:?}");
                tx.rollback().await.unwrap();
                refused += 1;
                let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
                let after: i64 = sqlx::query_scalar("SELECT count(*) FROM journal_entries").fetch_one(&mut *tx).await.unwrap();
                assert_eq!(before, after, "a refused step wrote nothing");
            }
        }
        // A cancelled invoice frees the term: billing again makes a corrected one.
        if step % 20 == 19 {
            let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
            invoicing::request(&mut tx, &pii, Some(level), by).await.unwrap();
            tx.commit().await.unwrap();
            drain(&app).await;
        }
        let (sound, report) = ledger_sound(&app, MLPS).await;
        assert!(sound, "after step {step}: {report}");
    }
    assert!(applied > 20 && refused > 0 && fined > 0, "applied {applied}, refused {refused}, fined {fined}");
}
