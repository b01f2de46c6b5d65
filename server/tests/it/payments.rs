//! Bank payments through the webhooks (issue 10): a signed notification quoting a control
//! number posts once, however often the bank retries; everything forged, tampered, stale,
//! unsigned, malformed, oversized, closed, from a wrong address or for another school gets a
//! 4xx in the bank's own field names, is kept in the inbox with its reason, and posts nothing.
//! The simulator (`server::simulate::Bank`) calls the real server over HTTP.

use crate::harness::*;
use kilele::payments::Provider;
use server::simulate::{Bank, Faults};
use uuid::Uuid;

async fn school_id(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(slug).fetch_one(&app.owner_pool).await.unwrap()
}

/// A school's first active student and their control number (given on first need).
async fn student_with_control_number(app: &TestApp, slug: &str) -> (Uuid, String) {
    let tenant = school_id(app, slug).await;
    let student: Uuid =
        sqlx::query_scalar("SELECT id FROM students WHERE tenant_id = $1 AND status = 'active' ORDER BY admission_no LIMIT 1")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let control = kilele::finance::db::accounts::control_number(&mut tx, student).await.unwrap();
    tx.commit().await.unwrap();
    (student, control)
}

async fn open_channel(app: &TestApp, slug: &str, provider: &str, allow: &[std::net::IpAddr]) -> String {
    let change = server::cli::ChannelChange { allowed_ips: allow, ..Default::default() };
    server::cli::payment_channel(&app.pool, &kilele::audit::pii::KeyRing::development(), slug, provider, change).await.unwrap().unwrap()
}

async fn count(app: &TestApp, sql: &str, tenant: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(tenant).fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn a_bank_payment_posts_once_and_every_bad_delivery_posts_nothing() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let (child, control) = student_with_control_number(&app, KHSS).await;
    let (_, other_control) = student_with_control_number(&app, MLPS).await;
    let secret = open_channel(&app, KHSS, "nmb", &[]).await;
    let nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap();
    let ok = Faults::default();

    // The bank asks first: the child's name, nothing owed yet (a payment becomes credit).
    let asked = nmb.validate(&control, ok).await.unwrap();
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    assert_eq!(asked.body["statusCode"], "02", "{:?}", asked.body);
    assert!(asked.body["studentName"].as_str().is_some_and(|n| !n.is_empty()));
    let mut typo = control.clone().into_bytes();
    typo[5] = if typo[5] == b'9' { b'0' } else { typo[5] + 1 };
    let asked = nmb.validate(&String::from_utf8(typo.clone()).unwrap(), ok).await.unwrap();
    assert_eq!((asked.status, asked.body["statusCode"].as_str()), (200, Some("01")), "a mistyped number is unknown");
    assert!(asked.body.get("studentName").is_none(), "and names nobody");
    let asked = nmb.validate(&other_control, ok).await.unwrap();
    assert_eq!(asked.body["statusCode"], "01", "another school's number is unknown here");

    // The payment: posted, with a receipt number.
    let first = nmb.notify("NMB-TX-0001", &control, 5_000_000, ok).await.unwrap();
    assert_eq!((first.status, first.body["status"].as_str()), (200, Some("ACCEPTED")), "{:?}", first.body);
    let receipt = first.body["receiptNumber"].clone();
    assert!(receipt.is_string());
    // The bank retries, twice at once and once more: the same receipt, nothing posted again.
    let (a, b) = tokio::join!(nmb.notify("NMB-TX-0001", &control, 5_000_000, ok), nmb.notify("NMB-TX-0001", &control, 5_000_000, ok));
    let c = nmb.notify("NMB-TX-0001", &control, 5_000_000, ok).await.unwrap();
    for again in [a.unwrap(), b.unwrap(), c] {
        assert_eq!((again.status, again.body["status"].as_str()), (200, Some("DUPLICATE")), "{:?}", again.body);
        assert_eq!(again.body["receiptNumber"], receipt);
    }
    let paid = |app: &TestApp| {
        let app_pool = app.owner_pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i64)>("SELECT count(*), coalesce(sum(amount_minor), 0)::bigint FROM payments WHERE student_id = $1")
                .bind(child)
                .fetch_one(&app_pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(paid(&app).await, (1, 5_000_000));
    // The family's account shows it as a payment through NMB, audited as the bank.
    assert_eq!(audited(&app, KHSS, "finance.payment.received").await, 1);

    // Everything wrong: a 4xx in NMB's names, the reason kept, nothing posted.
    let cases: Vec<(&str, Faults, u16, &str)> = vec![
        ("forged", Faults { forged: true, ..ok }, 401, "payments-error-signature"),
        ("tampered", Faults { tampered: true, ..ok }, 401, "payments-error-signature"),
        ("stale", Faults { clock_skew_seconds: -400, ..ok }, 401, "payments-error-stale"),
        ("from the future", Faults { clock_skew_seconds: 400, ..ok }, 401, "payments-error-stale"),
        ("unsigned", Faults { unsigned: true, ..ok }, 401, "payments-error-unsigned"),
    ];
    for (what, faults, status, reason) in cases {
        let r = nmb.notify(&format!("NMB-BAD-{what}"), &control, 9_900_000, faults).await.unwrap();
        assert_eq!((r.status, r.body["status"].as_str(), r.body["message"].as_str()), (status, Some("REJECTED"), Some(reason)), "{what}");
    }
    let r = nmb.send_raw(b"{not json", ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (400, Some("payments-error-not-json")));
    let r = nmb
        .send_raw(
            br#"{"transactionRef":"NMB-X","controlNumber":"1","amount":5000,"currency":"TZS","paidAt":"2026-12-07T09:00:00+03:00"}"#,
            ok,
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (400, Some("payments-error-amount")), "a JSON number is not an amount");
    let r = nmb.send_raw(&vec![b' '; 20 * 1024], ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (413, Some("payments-error-too-large")));
    let r = nmb.notify("NMB-TX-LONG-".repeat(6).as_str(), &control, 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (400, Some("payments-error-transaction-ref")), "longer than a slip reference");
    // The same transaction again saying another amount: refused, the first one stands.
    let r = nmb.notify("NMB-TX-0001", &control, 9_000_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("payments-error-conflicting-repeat")));
    // Paid into this school's account quoting another school's child: the money is here, so it
    // waits for the bursar.
    let r = nmb.notify("NMB-TX-WRONG", &other_control, 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("SUSPENSE")), "{:?}", r.body);
    // A bank this school has not opened (nothing kept of what is sent there; a validation is
    // told so in the contract's words), and a school or provider that does not exist.
    let crdb = Bank::new(&app.base, Provider::Crdb, KHSS, &secret).unwrap();
    let r = crdb.notify("CRDB-1", &control, 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (403, Some("payments-error-channel-closed")));
    let r = crdb.validate(&control, ok).await.unwrap();
    assert_eq!((r.status, r.body["status_code"].as_str()), (200, Some("03")), "{:?}", r.body);
    let nowhere = Bank::new(&app.base, Provider::Nmb, "no-such-school", &secret).unwrap();
    assert_eq!(nowhere.notify("NMB-2", &control, 100_000, ok).await.unwrap().status, 404);
    let r = app.browser().client.post(format!("{}/api/v1/webhooks/paypal/{KHSS}", app.base)).body("{}").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // One school's secret is nothing at another school.
    open_channel(&app, MLPS, "nmb", &[]).await;
    let borrowed = Bank::new(&app.base, Provider::Nmb, MLPS, &secret).unwrap();
    let r = borrowed.notify("NMB-TX-0002", &other_control, 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (401, Some("payments-error-signature")));
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", school_id(&app, MLPS).await).await, 0);

    // A number of this school that nobody holds: the money has moved, so it is kept for the
    // bursar (suspense), posted to nobody.
    let unissued = kilele::finance::control::ControlNumber::issue(&control[..4], 999_999).unwrap();
    let r = nmb.notify("NMB-TX-0003", unissued.as_str(), 2_000_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("SUSPENSE")), "{:?}", r.body);
    assert_eq!(paid(&app).await, (1, 5_000_000), "nothing more posted to the child");
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 1);
    let suspense: Vec<String> =
        sqlx::query_scalar("SELECT reason FROM provider_payments WHERE tenant_id = $1 AND status = 'suspense' ORDER BY created_at")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(suspense, ["payments-suspense-other-school", "payments-suspense-unknown-control-number"]);

    // A slip the bursar already typed in by hand (in lower case) is not posted a second time.
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let today = kilele::clock::school_date(chrono::Utc::now()).to_string();
    let child_id = child.to_string();
    let once_token = once();
    let slip = [
        ("student", child_id.as_str()),
        ("amount", "700"),
        ("channel", "nmb"),
        ("reference", "nmb-slip-77"),
        ("paid_on", today.as_str()),
        ("once", once_token.as_str()),
    ];
    let r = bursar.server_fn("accountant/payments/record", &slip).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let r = nmb.notify("nmb-slip-77", &control, 70_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("SUSPENSE")), "{:?}", r.body);
    assert_eq!(paid(&app).await, (2, 5_070_000), "the bursar's one, not the bank's again");
    // The bank's payments show on the bursar's dashboard at once (the ledger moved on).
    let nmb_today = |d: &kilele::finance::views::Dashboard| -> i64 {
        d.today.iter().filter(|c| c.channel == kilele::finance::ledger::Channel::Nmb).map(|c| c.amount_minor).sum()
    };
    let d: kilele::finance::views::Dashboard = bursar.server_fn("accountant/dashboard", &[]).await.json().await.unwrap();
    assert_eq!(nmb_today(&d), 5_070_000, "{:?}", d.today);
    let r = nmb.notify("NMB-TX-0005", &control, 30_000, ok).await.unwrap();
    assert_eq!(r.body["status"], "ACCEPTED");
    let d: kilele::finance::views::Dashboard = bursar.server_fn("accountant/dashboard", &[]).await.json().await.unwrap();
    assert_eq!(nmb_today(&d), 5_100_000, "a webhook's posting shows on a dashboard viewed before it");

    // Every delivery is in the inbox with what was decided.
    let outcomes: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT outcome, reason FROM payment_inbox WHERE tenant_id = $1 AND kind = 'notification' ORDER BY received_at")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    let with = |outcome: &str| outcomes.iter().filter(|(o, _)| o == outcome).count();
    assert_eq!((with("posted"), with("duplicate"), with("suspense")), (2, 3, 3), "{outcomes:?}");
    assert_eq!(with("refused"), 10, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(o, r)| (o == "refused") == r.as_deref().is_some_and(|r| r.starts_with("payments-error-")) || o == "suspense"),
        "{outcomes:?}"
    );
    assert_eq!(with("received"), 0, "nothing left undecided");

    // Addresses: once the school names the bank's, a delivery from anywhere else is refused.
    let rekeyed = open_channel(&app, KHSS, "nmb", &["203.0.113.9".parse().unwrap()]).await;
    let nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &rekeyed).unwrap();
    let r = nmb.notify("NMB-TX-0004", &control, 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (403, Some("payments-error-address")));
    assert_eq!(paid(&app).await, (3, 5_100_000));
    // The payer's name and phone, and the delivery's body, are sealed at rest.
    let (payer, body): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT pp.payer_sealed, i.body_sealed FROM provider_payments pp JOIN payment_inbox i ON i.tenant_id = pp.tenant_id AND i.id = pp.inbox_id
          WHERE pp.tenant_id = $1 AND pp.transaction_id = 'NMB-TX-0001'",
    )
    .bind(tenant)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    for sealed in [&payer, &body] {
        assert!(!String::from_utf8_lossy(sealed).contains("Simulated Payer"), "sealed at rest");
    }

    // The ledger agrees with all of it.
    let mut out = Vec::new();
    assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn a_rekeyed_channel_takes_the_old_and_the_new_secret_and_each_bank_its_own_names() {
    let app = spawn_app().await;
    let (_, control) = student_with_control_number(&app, KHSS).await;
    for (n, provider) in [Provider::Nbc, Provider::Crdb].into_iter().enumerate() {
        let old = open_channel(&app, KHSS, provider.code(), &[]).await;
        let new = open_channel(&app, KHSS, provider.code(), &[]).await;
        for (m, secret) in [old, new].iter().enumerate() {
            let bank = Bank::new(&app.base, provider, KHSS, secret).unwrap();
            let r = bank.notify(&format!("{}-{n}-{m}", provider.code()), &control, 100_000, Faults::default()).await.unwrap();
            assert_eq!(r.status, 200, "{provider:?} {m}: {:?}", r.body);
            let status = if provider == Provider::Nbc { &r.body["Status"] } else { &r.body["status"] };
            assert_eq!(status, "ACCEPTED", "{provider:?}: {:?}", r.body);
        }
    }
    // A third key retires the first.
    let tenant = school_id(&app, KHSS).await;
    let first = open_channel(&app, KHSS, "nmb", &[]).await;
    open_channel(&app, KHSS, "nmb", &[]).await;
    open_channel(&app, KHSS, "nmb", &[]).await;
    let retired = Bank::new(&app.base, Provider::Nmb, KHSS, &first).unwrap();
    assert_eq!(retired.notify("nmb-old", &control, 100_000, Faults::default()).await.unwrap().status, 401);
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 4);
    // Re-keying is audited, never with the secret.
    let details: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'finance.payment_channel.set'")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(details.len(), 7);
    assert!(details.iter().all(|d| !d.to_string().contains("whsec_")), "{details:?}");
}

/// Payments arriving while the school's last batch is being posted are posted together, in one
/// transaction (`server::intake`), each with its own outcome and receipt: held here by the
/// test taking the school's audit chain first, so what arrives meanwhile must queue. Without
/// the grouping every payment would commit on its own (the server's metrics count the
/// transactions; a row's `xmin` cannot: each payment's savepoint is a subtransaction).
#[tokio::test]
async fn payments_arriving_together_are_posted_in_one_transaction_each_once() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let (child, control) = student_with_control_number(&app, KHSS).await;
    let secret = open_channel(&app, KHSS, "nmb", &[]).await;
    let nmb = std::sync::Arc::new(Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap());
    let mut hold = app.owner_pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM audit_heads WHERE tenant_id = $1 FOR UPDATE").bind(tenant).execute(&mut *hold).await.unwrap();
    // Twelve payments, one sent twice.
    let mut sent: Vec<(String, i64)> = (0..12).map(|n| (format!("NMB-BATCH-{n:02}"), 100_000 + n * 1_000)).collect();
    sent.push(("NMB-BATCH-03".into(), 103_000));
    let calls: Vec<_> = sent
        .iter()
        .cloned()
        .map(|(reference, amount)| {
            let (nmb, control) = (nmb.clone(), control.clone());
            tokio::spawn(async move { nmb.notify(&reference, &control, amount, Faults::default()).await.unwrap() })
        })
        .collect();
    // Every delivery kept (and waiting) before the first batch may go on.
    let received = || count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND outcome = 'received'", tenant);
    for _ in 0..600 {
        if received().await == sent.len() as i64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(received().await, sent.len() as i64, "every delivery is kept before it is posted");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    hold.commit().await.unwrap();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    let mut receipts = std::collections::BTreeSet::new();
    for (n, answer) in answers.iter().take(12).enumerate() {
        // The first of NMB-BATCH-03's two deliveries may be either: the other is its duplicate.
        assert_eq!(answer.status, 200, "{n}: {:?}", answer.body);
        let receipt = answer.body["receiptNumber"].as_str().unwrap_or_default().to_owned();
        assert!(!receipt.is_empty(), "{n}: {:?}", answer.body);
        receipts.insert(receipt);
    }
    assert_eq!(receipts.len(), 12, "a receipt each");
    let again = &answers[12];
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["receiptNumber"], answers[3].body["receiptNumber"], "the repeat finds the first");
    let statuses: std::collections::BTreeSet<&str> = [&answers[3], again].iter().filter_map(|a| a.body["status"].as_str()).collect();
    assert_eq!(statuses, ["ACCEPTED", "DUPLICATE"].into_iter().collect(), "one of the two was posted");
    let conflicting = nmb.notify("NMB-BATCH-04", &control, 999_000, Faults::default()).await.unwrap();
    assert_eq!((conflicting.status, conflicting.body["message"].as_str()), (409, Some("payments-error-conflicting-repeat")));
    let paid: (i64, i64) = sqlx::query_as("SELECT count(*), coalesce(sum(amount_minor), 0)::bigint FROM payments WHERE student_id = $1")
        .bind(child)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(paid, (12, (0..12).map(|n| 100_000 + n * 1_000).sum::<i64>()), "each payment once");
    assert_eq!(received().await, 0, "every delivery decided");
    // Posted in batches: the one the test held, then the rest together (a straggler at most
    // makes a third), then the conflicting repeat alone.
    let metrics = app.browser().client.get(format!("{}/metrics", app.base)).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let read = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let (commits, payments) = (read("kilele_payments_per_commit_count"), read("kilele_payments_per_commit_sum"));
    assert_eq!(payments, 14.0, "13 deliveries and the conflicting repeat");
    assert!((2.0..=4.0).contains(&commits), "14 payments in {commits} transactions");
    let mut report = Vec::new();
    assert!(server::cli::ledger_check(&app.pool, KHSS, &mut report).await.unwrap(), "{}", String::from_utf8_lossy(&report));
}

/// The bursar imports the bank's statement (every bad line said, nothing kept until all are
/// right) and sees each line reconciled against what the bank notified: matched, another
/// amount, never notified, and notified but not on the statement; with the CSV. Another
/// school's statement is not found.
#[tokio::test]
async fn the_bursar_imports_a_bank_statement_and_sees_it_reconciled() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let (_, control) = student_with_control_number(&app, KHSS).await;
    let secret = open_channel(&app, KHSS, "nmb", &[]).await;
    let nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap();
    for (reference, amount) in [("NMB-REC-1", 10_000_000), ("NMB-REC-2", 5_000_000), ("NMB-REC-3", 2_500_000)] {
        assert_eq!(nmb.notify(reference, &control, amount, Faults::default()).await.unwrap().status, 200);
    }
    let today = kilele::clock::school_date(kilele::clock::Clock::now(&*app.clock));
    let day = today.format("%d/%m/%Y").to_string();
    // A slip the bursar recorded by hand under the bank's reference (never notified).
    let (child, _) = student_with_control_number(&app, KHSS).await;
    let (bursar_id, bursar_email): (Uuid, String) =
        sqlx::query_as("SELECT id, email FROM users WHERE tenant_id = $1 AND email LIKE 'bursar@%'")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    let actor = kilele::audit::Actor::user(bursar_id, &bursar_email);
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let slip = kilele::finance::db::payments::NewPayment {
        amount_minor: 1_200_000,
        channel: kilele::finance::ledger::Channel::Nmb,
        reference: Some("NMB-REC-7".into()),
        paid_on: today,
    };
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: kilele::clock::Clock::now(&*app.clock) };
    kilele::finance::db::payments::record_payment(&mut tx, child, &slip, by).await.unwrap();
    tx.commit().await.unwrap();
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let upload = |provider: &'static str, file: String| {
        let bursar = &bursar;
        async move {
            let form = reqwest::multipart::Form::new()
                .text("provider", provider)
                .part("file", reqwest::multipart::Part::bytes(file.into_bytes()).file_name("statement.csv"));
            let r = bursar
                .client
                .post(format!("{}/accountant/reconciliation/upload", bursar.base))
                .header("origin", &bursar.origin)
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default())
        }
    };
    // Bad lines: every one said on the page, nothing kept.
    let bad =
        format!("NMB Bank PLC\nValue Date,Transaction Ref,Narration,Credit\n{day},NMB-REC-1,FEES,100000\nnot a date,NMB-REC-2,FEES,abc\n");
    let (status, location) = upload("nmb", bad).await;
    assert_eq!((status, location.as_str()), (303, "/accountant/reconciliation"));
    let (_, html) = bursar.get_text("/accountant/reconciliation").await;
    assert!(html.contains(r#"data-testid="form-errors""#), "{html}");
    for said in ["The value date is missing", "The credit is not an amount"] {
        assert!(html.contains(said), "{said}: {html}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM bank_statements WHERE tenant_id = $1", tenant).await, 0);
    // Not a teacher's.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let form = reqwest::multipart::Form::new()
        .text("provider", "nmb")
        .part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("s.csv"));
    let r = teacher
        .client
        .post(format!("{}/accountant/reconciliation/upload", teacher.base))
        .header("origin", &teacher.origin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // Right: NMB-REC-1 matches, NMB-REC-2 says another amount, NMB-REC-9 was never notified,
    // NMB-REC-3 was notified but is not on the statement.
    let good = format!(
        "Value Date,Transaction Ref,Narration,Debit,Credit\n{day},NMB-REC-1,FEES {control},,\"100,000.00\"\n{day},NMB-REC-2,FEES,,45000\n{day},NMB-REC-9,SCHOOL FEES {control},,7000\n{day},NMB-REC-7,FEES BY HAND,,12000\n{day},NMB-CHG,CHARGES,2000,\n"
    );
    let (status, location) = upload("nmb", good).await;
    assert_eq!(status, 303);
    let statement = location.strip_prefix("/accountant/reconciliation?statement=").unwrap_or_else(|| panic!("{location}")).to_owned();
    let r: kilele::payments::Reconciliation =
        bursar.server_fn("accountant/reconciliation", &[("statement", &statement)]).await.json().await.unwrap();
    use kilele::payments::RecOutcome::*;
    let outcome = |reference: &str| r.lines.iter().find(|l| l.transaction_id == reference).map(|l| l.outcome);
    assert_eq!(
        [outcome("NMB-REC-1"), outcome("NMB-REC-2"), outcome("NMB-REC-9"), outcome("NMB-REC-3"), outcome("NMB-REC-7"), outcome("NMB-CHG")],
        [Some(Matched), Some(AmountDiffers), Some(MissingHere), Some(MissingThere), Some(Matched), None],
        "{:?}",
        r.lines
    );
    let by_hand = r.lines.iter().find(|l| l.transaction_id == "NMB-REC-7").and_then(|l| l.our_status.clone());
    assert_eq!(by_hand.as_deref(), Some("recorded-by-hand"));
    let (status, html) = bursar.get_text(&location).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="reconciliation""#) && html.contains("NMB-REC-9") && html.contains("Recorded by hand"), "{html}");
    let (status, csv) = bursar.get_text(&format!("/accountant/reconciliation/{statement}/report.csv")).await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("Another amount,") && csv.contains("NMB-REC-2,45000.00,50000.00,Posted") && csv.contains("Not on the statement,"),
        "{csv}"
    );
    assert_eq!(audited(&app, KHSS, "finance.bank_statement.imported").await, 1);

    // The line NMB never notified, taken into Kilele from the page: posted to the child its
    // narration names, once; the line is matched from then on.
    assert!(html.contains(r#"data-testid="take-line""#), "{html}");
    let take = |line: &'static str| {
        let (bursar, statement) = (&bursar, statement.clone());
        async move {
            let r =
                bursar.server_fn("accountant/reconciliation/take", &[("statement", &statement), ("line", line), ("once", &once())]).await;
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    assert_eq!(take("NMB-REC-9").await.0, 200);
    let taken: (i64, String) = sqlx::query_as(
        "SELECT p.amount_minor, p.channel FROM payments p JOIN provider_payments pp ON pp.tenant_id = p.tenant_id AND pp.payment_id = p.id
          WHERE pp.tenant_id = $1 AND pp.transaction_id = 'NMB-REC-9' AND pp.status = 'posted' AND pp.matched_by = 'control_number'",
    )
    .bind(tenant)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(taken, (700_000, "nmb".to_owned()));
    let r: kilele::payments::Reconciliation =
        bursar.server_fn("accountant/reconciliation", &[("statement", &statement)]).await.json().await.unwrap();
    let line = r.lines.iter().find(|l| l.transaction_id == "NMB-REC-9").unwrap();
    assert_eq!((line.outcome, line.our_status.as_deref()), (Matched, Some("posted")));
    // NMB's own notification, late: the same payment (answered DUPLICATE), not posted again.
    let late = nmb.notify("NMB-REC-9", &control, 700_000, Faults::default()).await.unwrap();
    assert_eq!((late.status, late.body["status"].as_str()), (200, Some("DUPLICATE")), "{:?}", late.body);
    // Again, a line notified, a slip recorded by hand: refused with why, nothing more posted.
    for (line, why) in [
        ("NMB-REC-9", "payments-statement-error-already-here"),
        ("NMB-REC-1", "payments-statement-error-already-here"),
        ("NMB-REC-7", "payments-statement-error-recorded-by-hand"),
    ] {
        let (status, body) = take(line).await;
        assert_eq!(status, 409, "{line}: {body}");
        assert!(body.contains(why), "{line}: {body}");
    }
    let (status, _) = take("NMB-NOT-ON-IT").await;
    assert_eq!(status, 404);
    let r =
        teacher.server_fn("accountant/reconciliation/take", &[("statement", &statement), ("line", "NMB-REC-9"), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(audited(&app, KHSS, "finance.statement_line.taken").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND kind = 'statement'", tenant).await, 1);

    // A wallet's statement (M-Pesa's organisation statement): a receipt M-Pesa never sent a
    // result for, taken in from it.
    let mpesa = format!(
        "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\n\
         SLk4H7ReC1,{} 09:12:44,Pay Bill from 255712345670 - Acc. {control},Completed,\"3,000.00\",,\"3,000.00\"\n",
        today.format("%Y-%m-%d")
    );
    let (status, location) = upload("mpesa", mpesa).await;
    assert_eq!(status, 303);
    let wallet_statement =
        location.strip_prefix("/accountant/reconciliation?statement=").unwrap_or_else(|| panic!("{location}")).to_owned();
    let r: kilele::payments::Reconciliation =
        bursar.server_fn("accountant/reconciliation", &[("statement", &wallet_statement)]).await.json().await.unwrap();
    assert_eq!(r.lines.iter().map(|l| (l.transaction_id.as_str(), l.outcome)).collect::<Vec<_>>(), [("SLk4H7ReC1", MissingHere)]);
    let r = bursar
        .server_fn("accountant/reconciliation/take", &[("statement", &wallet_statement), ("line", "SLk4H7ReC1"), ("once", &once())])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1 AND channel = 'mpesa' AND reference = 'SLk4H7ReC1'", tenant).await,
        1
    );

    // NMB notifies the slip the bursar had recorded by hand: it waits, and the bursar says it
    // is that slip — linked to it, nothing posted again.
    let r = nmb.notify("NMB-REC-7", &control, 1_200_000, Faults::default()).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("SUSPENSE")), "{:?}", r.body);
    let item: Uuid = sqlx::query_scalar("SELECT id FROM provider_payments WHERE tenant_id = $1 AND transaction_id = 'NMB-REC-7'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let (_, html) = bursar.get_text("/accountant/suspense").await;
    assert!(html.contains(r#"data-testid="link-payment""#), "{html}");
    let r = teacher.server_fn("accountant/suspense/link", &[("item", &item.to_string()), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 403);
    let r = bursar.server_fn("accountant/suspense/link", &[("item", &item.to_string()), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 200);
    let linked: (String, Option<Uuid>, String) = sqlx::query_as(
        "SELECT pp.status, pp.payment_id, p.source FROM provider_payments pp JOIN payments p ON p.id = pp.payment_id WHERE pp.id = $1",
    )
    .bind(item)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!((linked.0.as_str(), linked.2.as_str()), ("posted", "manual"));
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1 AND reference = 'NMB-REC-7'", tenant).await, 1);
    let r = bursar.server_fn("accountant/suspense/link", &[("item", &item.to_string()), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 409, "linked once");
    assert_eq!(audited(&app, KHSS, "finance.payment.linked").await, 1);

    // Another school's bursar: not found, by page, server function or file.
    let other = app.login_as(Some(MLPS), "bursar").await;
    let r = other.server_fn("accountant/reconciliation", &[("statement", &statement)]).await;
    assert_eq!(r.status().as_u16(), 404);
    let r = other.server_fn("accountant/reconciliation/take", &[("statement", &statement), ("line", "NMB-REC-2"), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 404);
    let (status, body) = other.get_text(&format!("/accountant/reconciliation/{statement}/report.csv")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("NMB-REC"), "{body}");
}

/// A wallet's receipt keeps its case (M-Pesa's are mixed) while the bursar's slip reference is
/// written upper-case: a wallet's payment under the reference of a slip already recorded by
/// hand for the same child is that slip, and waits for the bursar — never posted beside it.
#[tokio::test]
async fn a_wallet_receipt_in_another_case_is_the_slip_recorded_by_hand() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let (child, control) = student_with_control_number(&app, KHSS).await;
    let (bursar_id, bursar_email): (Uuid, String) =
        sqlx::query_as("SELECT id, email FROM users WHERE tenant_id = $1 AND email LIKE 'bursar@%'")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    let actor = kilele::audit::Actor::user(bursar_id, &bursar_email);
    let now = kilele::clock::Clock::now(&*app.clock);
    let pii = kilele::audit::pii::KeyRing::development();
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let slip = kilele::finance::db::payments::NewPayment {
        amount_minor: 2_000_000,
        channel: kilele::finance::ledger::Channel::Mpesa,
        reference: kilele::finance::slip_reference("g27den1dloq3"),
        paid_on: kilele::clock::school_date(now),
    };
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: now };
    kilele::finance::db::payments::record_payment(&mut tx, child, &slip, by).await.unwrap();
    let event = kilele::payments::PaymentEvent {
        provider: Provider::Mpesa,
        transaction_id: "G27DEn1DLoQ3".into(),
        reference: control.clone(),
        payer_name: None,
        payer_phone: None,
        amount_minor: 2_000_000,
        currency: "TZS".into(),
        paid_at: now,
    };
    let body = br#"{"test":"result"}"#;
    let delivery = kilele::payments::db::Delivery {
        provider: Provider::Mpesa,
        kind: "notification",
        received_at: now,
        source_ip: None,
        headers: serde_json::json!({}),
        body,
    };
    let inbox = kilele::payments::db::receive(&mut tx, &pii, &delivery, body.len(), ("received", None), None).await.unwrap();
    let taken = kilele::payments::db::intake(&mut tx, &pii, &event, inbox, now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(taken, kilele::payments::db::Intake::Suspense { reason: "payments-suspense-recorded-by-hand" });
    assert_eq!(
        count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1 AND upper(reference) = 'G27DEN1DLOQ3'", tenant).await,
        1,
        "the slip only"
    );
}

/// The bursar's page of channels: a bank set up by the operator is closed there (its
/// deliveries refused and kept) and opened again; the addresses it may be called from are set
/// (any other refused), a mistyped address is said; a channel never set up cannot be opened,
/// Tigo's list cannot be emptied; a teacher can do none of it. Each change audited.
#[tokio::test]
async fn the_bursar_closes_and_opens_a_channel_and_lists_its_addresses() {
    let limits = server::config::SignInLimits { trust_proxy_headers: true, ..Default::default() };
    let app = spawn_app_with_sign_in(Options::default(), limits).await;
    let (_, control) = student_with_control_number(&app, KHSS).await;
    let secret = open_channel(&app, KHSS, "nmb", &[]).await;
    let mut nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap();
    nmb.forwarded_for = Some("203.0.113.9".into());
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let (status, html) = bursar.get_text("/accountant/channels").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="channels""#) && html.contains(r#"data-channel="nmb""#), "{html}");
    let list: Vec<kilele::payments::ChannelView> = bursar.server_fn("accountant/channels", &[]).await.json().await.unwrap();
    let nmb_view = list.iter().find(|c| c.provider == Provider::Nmb).unwrap();
    assert!(nmb_view.set_up && nmb_view.enabled && nmb_view.allowed_ips.is_empty());
    assert_eq!(list.len(), Provider::ALL.len(), "every provider, GePG too");
    assert!(!list.iter().find(|c| c.provider == Provider::Mpesa).unwrap().set_up);
    assert!(!serde_json::to_string(&list).unwrap().contains("whsec_"), "never a secret");

    // Closed: refused (and kept); opened again: taken.
    assert_eq!(bursar.server_fn("accountant/channels/close", &[("provider", "nmb")]).await.status().as_u16(), 200);
    let r = nmb.notify("NMB-CH-1", &control, 100_000, Faults::default()).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (403, Some("payments-error-channel-closed")));
    assert_eq!(bursar.server_fn("accountant/channels/open", &[("provider", "nmb")]).await.status().as_u16(), 200);
    assert_eq!(nmb.notify("NMB-CH-1", &control, 100_000, Faults::default()).await.unwrap().status, 200);

    // Addresses: a typo said; the list kept; another address refused.
    let r = bursar.server_fn("accountant/channels/addresses", &[("provider", "nmb"), ("addresses", "203.0.113.9, 203.0.113.300")]).await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("payments-channel-error-address"));
    let r = bursar.server_fn("accountant/channels/addresses", &[("provider", "nmb"), ("addresses", "203.0.113.9\n2001:db8::1")]).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    assert_eq!(nmb.notify("NMB-CH-2", &control, 100_000, Faults::default()).await.unwrap().status, 200);
    nmb.forwarded_for = Some("198.51.100.7".into());
    assert_eq!(nmb.notify("NMB-CH-3", &control, 100_000, Faults::default()).await.unwrap().status, 403);

    // Never set up: cannot be opened. Closed by the operator (a leaked secret): only the
    // operator opens it again.
    let r = bursar.server_fn("accountant/channels/open", &[("provider", "mpesa")]).await;
    assert_eq!(r.status().as_u16(), 409);
    let pii = kilele::audit::pii::KeyRing::development();
    let change = server::cli::ChannelChange { close: true, ..Default::default() };
    server::cli::payment_channel(&app.pool, &pii, KHSS, "nmb", change).await.unwrap();
    let r = bursar.server_fn("accountant/channels/open", &[("provider", "nmb")]).await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("payments-channel-error-operator-closed"));
    let (_, html) = bursar.get_text("/accountant/channels").await;
    assert!(html.contains("Closed by the operator"), "{html}");

    // A wallet's addresses are the operator's (Tigo's are its only proof of origin); a Tigo
    // channel without addresses is not opened from the page either.
    let tigo =
        r#"{"username":"t","password":"p","partner":"P","biller_msisdn":"255652000111","biller_code":"K","company_number":"298765"}"#;
    server::cli::open_wallet(&app.pool, &pii, KHSS, Provider::Tigo, tigo, &["127.0.0.1".parse().unwrap()]).await.unwrap();
    let r = bursar.server_fn("accountant/channels/addresses", &[("provider", "tigo"), ("addresses", "203.0.113.66")]).await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("payments-channel-error-wallet-addresses"));
    let listed: Vec<String> = sqlx::query_scalar("SELECT unnest(allowed_ips) FROM payment_channels WHERE provider = 'tigo'")
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(listed, vec!["127.0.0.1".to_owned()], "unchanged");
    server::cli::open_wallet(&app.pool, &pii, KHSS, Provider::Tigo, tigo, &[]).await.unwrap();
    assert_eq!(bursar.server_fn("accountant/channels/close", &[("provider", "tigo")]).await.status().as_u16(), 200);
    let r = bursar.server_fn("accountant/channels/open", &[("provider", "tigo")]).await;
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().await.unwrap().contains("payments-error-addresses-required"));

    // Not a teacher's.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.server_fn("accountant/channels/close", &[("provider", "nmb")]).await.status().as_u16(), 403);
    assert!(audited(&app, KHSS, "finance.payment_channel.set").await >= 5, "each change audited");
}

/// A bank takes money back (a cheque returned unpaid): the payment it names is undone as a
/// refund through the bank, once per reversal, never beyond what the payment brought; a
/// waiting payment is marked sent back, whole only; an original not here yet, another
/// school's, or a forged reversal changes nothing.
#[tokio::test]
async fn a_bank_reversal_takes_a_payment_back_once_and_never_more_than_it_brought() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let (child, control) = student_with_control_number(&app, KHSS).await;
    let secret = open_channel(&app, KHSS, "nmb", &[]).await;
    let nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap();
    let ok = Faults::default();
    assert_eq!(nmb.notify("NMB-PAY-1", &control, 10_000_000, ok).await.unwrap().body["status"], "ACCEPTED");

    let r = nmb.reverse("NMB-REV-0", "NMB-PAY-9", 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("payments-error-reversal-unknown-original")), "not here (yet)");
    let r = nmb.reverse("NMB-REV-1", "NMB-PAY-1", 4_000_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("REVERSED")), "{:?}", r.body);
    let r = nmb.reverse("NMB-REV-1", "NMB-PAY-1", 4_000_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("DUPLICATE")), "a repeat");
    let r = nmb.reverse("NMB-REV-1", "NMB-PAY-1", 5_000_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("payments-error-conflicting-repeat")));
    let r = nmb.reverse("NMB-REV-2", "NMB-PAY-1", 7_000_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("payments-error-reversal-too-large")), "only 60,000 left");
    let r = nmb.reverse("NMB-REV-3", "NMB-PAY-1", 6_000_000, Faults { forged: true, ..ok }).await.unwrap();
    assert_eq!(r.status, 401, "forged");
    let r = nmb.reverse("NMB-REV-3", "NMB-PAY-1", 6_000_000, ok).await.unwrap();
    assert_eq!(r.body["status"], "REVERSED");
    let refunds: Vec<(i64, String, Option<Uuid>, Option<Uuid>)> =
        sqlx::query_as("SELECT amount_minor, channel, approved_by, reverses FROM refunds WHERE student_id = $1 ORDER BY amount_minor")
            .bind(child)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    let original: Uuid =
        sqlx::query_scalar("SELECT id FROM provider_payments WHERE transaction_id = 'NMB-PAY-1'").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(
        refunds,
        vec![(4_000_000, "nmb".into(), None, Some(original)), (6_000_000, "nmb".into(), None, Some(original))],
        "undone through the bank, by the bank"
    );

    // Waiting in suspense (never in the ledger): whole only, marked sent back.
    assert_eq!(nmb.notify("NMB-LOST-2", "FEES", 500_000, ok).await.unwrap().body["status"], "SUSPENSE");
    let r = nmb.reverse("NMB-REV-4", "NMB-LOST-2", 100_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("payments-error-reversal-partial")));
    assert_eq!(nmb.reverse("NMB-REV-5", "NMB-LOST-2", 500_000, ok).await.unwrap().body["status"], "REVERSED");
    let (status, reference): (String, Option<String>) =
        sqlx::query_as("SELECT status, refund_reference FROM provider_payments WHERE transaction_id = 'NMB-LOST-2'")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reference.as_deref()), ("refunded", Some("NMB-REV-5")));

    // Another school cannot reverse this school's payment through its own channel.
    let mlps_secret = open_channel(&app, MLPS, "nmb", &[]).await;
    let mlps = Bank::new(&app.base, Provider::Nmb, MLPS, &mlps_secret).unwrap();
    let r = mlps.reverse("NMB-REV-6", "NMB-LOST-2", 500_000, ok).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (409, Some("payments-error-reversal-unknown-original")));
    let r = reqwest::Client::new().post(format!("{}/api/v1/webhooks/tigo/{KHSS}/reversal", app.base)).body("{}").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404, "only banks reverse through the contract");

    assert_eq!(count(&app, "SELECT count(*) FROM refunds WHERE tenant_id = $1", tenant).await, 2);
    assert_eq!(count(&app, "SELECT count(*) FROM provider_reversals WHERE tenant_id = $1", tenant).await, 3);
    assert_eq!(audited(&app, KHSS, "finance.payment.reversed").await, 3);
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, outcome FROM payment_inbox WHERE tenant_id = $1 AND kind = 'reversal' AND outcome IN ('reversed', 'duplicate')",
    )
    .bind(tenant)
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(kinds.len(), 4, "three reversed and one repeat, kept as reversals: {kinds:?}");
    let mut out = Vec::new();
    assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
}

/// One slip for two children: the bursar splits it (every line checked, the shares adding up
/// to the whole), each child gets a payment and a receipt, once; another payment that was not
/// the school's is recorded as sent back, posting nothing.
#[tokio::test]
async fn the_bursar_splits_a_payment_between_siblings_and_records_one_sent_back() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let students: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, admission_no FROM students WHERE tenant_id = $1 AND status = 'active' ORDER BY admission_no LIMIT 2")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    let [(a, a_no), (b, b_no)] = &students[..] else { panic!("two students") };
    let secret = open_channel(&app, KHSS, "nbc", &[]).await;
    let nbc = Bank::new(&app.base, Provider::Nbc, KHSS, &secret).unwrap();
    for (transaction, amount) in [("NBC-SIBLINGS", 9_000_000), ("NBC-NOT-OURS", 1_200_000)] {
        let r = nbc.notify(transaction, "FEES FOR TWO", amount, Faults::default()).await.unwrap();
        assert_eq!(r.body["Status"], "SUSPENSE", "{:?}", r.body);
    }
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let (_, html) = bursar.get_text("/accountant/suspense").await;
    assert!(html.contains(r#"data-testid="split-payment""#) && html.contains(r#"data-testid="refund-payment""#), "{html}");
    let waiting: Vec<kilele::payments::SuspenseItem> = bursar.server_fn("accountant/suspense", &[]).await.json().await.unwrap();
    let item_of = |t: &str| waiting.iter().find(|w| w.event.transaction_id == t).unwrap().id.to_string();
    let (siblings, not_ours) = (item_of("NBC-SIBLINGS"), item_of("NBC-NOT-OURS"));
    let split = |parts: Vec<(&str, &str)>, once: String| {
        let mut form = vec![("item".to_owned(), siblings.clone()), ("once".to_owned(), once)];
        for (i, (student, amount)) in parts.into_iter().enumerate() {
            form.push((format!("parts[{i}][student]"), student.to_owned()));
            form.push((format!("parts[{i}][amount]"), amount.to_owned()));
        }
        let bursar = &bursar;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = bursar.server_fn("accountant/suspense/split", &pairs).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Every wrong line is said at once, and nothing is posted.
    let (status, body) = split(vec![(a_no, "50,000"), (a_no, "0"), ("KHSS/NOPE/9", "10000")], once()).await;
    assert_eq!(status, 422, "{body}");
    for said in ["parts.1.student", "payments-split-error-twice", "parts.1.amount", "parts.2.student", "payments-error-no-such-student"] {
        assert!(body.contains(said), "{said}: {body}");
    }
    let (status, body) = split(vec![(a_no, "50,000"), (b_no, "30,000")], once()).await;
    assert_eq!((status, body.contains("payments-split-error-total")), (422, true), "{body}");
    let (status, body) = split(vec![(a_no, "90,000")], once()).await;
    assert_eq!((status, body.contains("payments-split-error-count")), (422, true), "{body}");
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 0);
    // Not for a teacher.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let r = teacher
        .server_fn(
            "accountant/suspense/split",
            &[("item", &siblings), ("parts[0][student]", a_no), ("parts[0][amount]", "1"), ("once", &once())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);

    // Right: one payment per child under the bank's reference, each with its receipt; the
    // same form sent twice does it once.
    let token = once();
    let (status, body) = split(vec![(a_no, "50,000"), (b_no, "40000")], token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(split(vec![(a_no, "50,000"), (b_no, "40000")], token).await.0, 200);
    let posted: Vec<(Uuid, i64, Option<String>)> =
        sqlx::query_as("SELECT student_id, amount_minor, reference FROM payments WHERE tenant_id = $1 ORDER BY amount_minor DESC")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(posted, vec![(*a, 5_000_000, Some("NBC-SIBLINGS".into())), (*b, 4_000_000, Some("NBC-SIBLINGS".into()))]);
    assert_eq!(count(&app, "SELECT count(*) FROM provider_payment_parts WHERE tenant_id = $1", tenant).await, 2);
    let (status, _) = split(vec![(a_no, "50,000"), (b_no, "40000")], once()).await;
    assert_eq!(status, 409, "split already");
    assert_eq!(audited(&app, KHSS, "finance.payment.split").await, 1);
    // The bank's retry: a duplicate, nothing more.
    let r = nbc.notify("NBC-SIBLINGS", "FEES FOR TWO", 9_000_000, Faults::default()).await.unwrap();
    assert_eq!(r.body["Status"], "DUPLICATE", "{:?}", r.body);

    // Sent back: the reference and why are required; nothing is posted; it leaves the queue.
    let refund = |reference: &str, reason: &str| {
        let form = [("item", not_ours.clone()), ("reference", reference.to_owned()), ("reason", reason.to_owned()), ("once", once())];
        let bursar = &bursar;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = bursar.server_fn("accountant/suspense/refund", &pairs).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = refund("", " ").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("payments-refund-error-reference") && body.contains("payments-refund-error-reason"), "{body}");
    let r = teacher
        .server_fn("accountant/suspense/refund", &[("item", &not_ours), ("reference", "RF"), ("reason", "x"), ("once", &once())])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(refund("NBC-RF-0042", "Paid to the wrong school; returned by transfer").await.0, 200);
    assert_eq!(refund("NBC-RF-0043", "again").await.0, 409, "sent back already");
    let (status, reference): (String, Option<String>) =
        sqlx::query_as("SELECT status, refund_reference FROM provider_payments WHERE tenant_id = $1 AND transaction_id = 'NBC-NOT-OURS'")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reference.as_deref()), ("refunded", Some("NBC-RF-0042")));
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 2, "a refund posts nothing");
    assert_eq!(audited(&app, KHSS, "finance.payment.sent_back").await, 1);
    let (_, html) = bursar.get_text("/accountant/suspense").await;
    assert!(html.contains(r#"data-testid="no-suspense""#), "nothing left to allocate");
    let mut out = Vec::new();
    assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
}

/// Where the payer quoted something else than the control number: an invoice number or an
/// admission number finds the student, as does the payer's phone when it is a guardian's with
/// one child here; a guardian of several children, or a reference that names two students,
/// waits for the bursar.
#[tokio::test]
async fn a_payment_quoting_an_invoice_or_admission_number_or_paid_from_a_guardians_phone_finds_its_student() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    crate::finance::bill_school(&app, &bursar, KHSS).await;
    let secret = open_channel(&app, KHSS, "crdb", &[]).await;
    let crdb = Bank::new(&app.base, Provider::Crdb, KHSS, &secret).unwrap();
    let students: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, admission_no FROM students WHERE tenant_id = $1 AND status = 'active' ORDER BY admission_no LIMIT 4")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    let [(a, _), (b, b_admission), (c, _), (d, _)] = &students[..] else { panic!("four students") };
    let invoice: i64 = sqlx::query_scalar("SELECT min(number) FROM invoices WHERE tenant_id = $1 AND student_id = $2")
        .bind(tenant)
        .bind(a)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    // A guardian of c alone, and one of both a and b.
    let pii = kilele::audit::pii::KeyRing::development();
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    for (phone, children) in [("0755 000 111", vec![*c]), ("0755 000 222", vec![*a, *b])] {
        let phone = kilele::identity::Phone::parse(phone).unwrap();
        let guardian = kilele::academic::store::insert_guardian(&mut tx, &pii, "Mlezi Majaribio", &phone, None).await.unwrap();
        for child in children {
            sqlx::query("INSERT INTO student_guardians (tenant_id, student_id, guardian_id, relationship) VALUES ($1, $2, $3, 'guardian')")
                .bind(tenant)
                .bind(child)
                .bind(guardian)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    let notify = |transaction: &'static str, reference: String, phone: Option<&'static str>| {
        let body = kilele::payments::banks::notification_body(
            Provider::Crdb,
            transaction,
            &reference,
            2_500_000,
            chrono::Utc::now(),
            "Payer",
            phone,
        );
        let crdb = &crdb;
        async move { crdb.send_raw(&serde_json::to_vec(&body).unwrap(), Faults::default()).await.unwrap() }
    };
    let taken = |transaction: &'static str| {
        let pool = app.owner_pool.clone();
        async move {
            sqlx::query_as::<_, (String, Option<Uuid>, Option<String>, Option<String>)>(
                "SELECT status, student_id, matched_by, reason FROM provider_payments WHERE transaction_id = $1",
            )
            .bind(transaction)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };

    for (transaction, reference, phone) in [
        ("CRDB-INV", format!("INV-{invoice}"), None),
        ("CRDB-ADM", format!(" {} ", b_admission.to_lowercase()), None),
        ("CRDB-PHONE", "SCHOOL FEES".to_owned(), Some("+255755000111")),
        ("CRDB-SIBLINGS", "SCHOOL FEES".to_owned(), Some("0755000222")),
        ("CRDB-NOBODY", "SCHOOL FEES".to_owned(), Some("0755000999")),
        // A bare number is not an invoice's (nearly every short number is someone's invoice).
        ("CRDB-BARE", invoice.to_string(), None),
        // A mistyped control number is never paid to whoever the phone finds.
        ("CRDB-TYPO", "999999999999".to_owned(), Some("+255755000111")),
    ] {
        let r = notify(transaction, reference, phone).await;
        assert_eq!(r.status, 200, "{transaction}: {:?}", r.body);
    }
    assert_eq!(taken("CRDB-INV").await, ("posted".into(), Some(*a), Some("invoice".into()), None));
    assert_eq!(taken("CRDB-ADM").await, ("posted".into(), Some(*b), Some("admission".into()), None));
    assert_eq!(taken("CRDB-PHONE").await, ("posted".into(), Some(*c), Some("payer_phone".into()), None));
    let (status, student, matched, reason) = taken("CRDB-SIBLINGS").await;
    assert_eq!(
        (status.as_str(), student, matched, reason.as_deref()),
        ("suspense", None, None, Some("payments-suspense-several-children"))
    );
    assert_eq!(taken("CRDB-NOBODY").await.0, "suspense");
    assert_eq!(taken("CRDB-BARE").await.0, "suspense");
    assert_eq!(taken("CRDB-TYPO").await.0, "suspense");

    // A reference that is one student's invoice number and another's admission number: nobody.
    sqlx::query("UPDATE students SET admission_no = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(d)
        .bind(format!("INV-{invoice}"))
        .execute(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(notify("CRDB-BOTH", format!("INV-{invoice}"), None).await.status, 200);
    assert_eq!(taken("CRDB-BOTH").await.3.as_deref(), Some("payments-suspense-ambiguous-reference"));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'finance.payment.received' AND details->>'matched_by' IN ('invoice', 'admission', 'payer_phone')",
    )
    .bind(tenant)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(audited, 3, "each match says how it was made");
    let mut out = Vec::new();
    assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn a_channel_with_an_address_list_takes_that_address_only_and_a_schools_host_only_its_own_path() {
    let limits = server::config::SignInLimits { trust_proxy_headers: true, ..Default::default() };
    let app = spawn_app_with_sign_in(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }, limits).await;
    let (child, control) = student_with_control_number(&app, KHSS).await;
    let secret = open_channel(&app, KHSS, "nmb", &["203.0.113.9".parse().unwrap()]).await;
    let mut nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap();
    nmb.forwarded_for = Some("203.0.113.9".into());
    let r = nmb.notify("NMB-IP-1", &control, 100_000, Faults::default()).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ACCEPTED")), "{:?}", r.body);
    nmb.forwarded_for = Some("198.51.100.7".into());
    let r = nmb.notify("NMB-IP-2", &control, 100_000, Faults::default()).await.unwrap();
    assert_eq!((r.status, r.body["message"].as_str()), (403, Some("payments-error-address")));
    // On a school's own host, another school's path is not found, and nothing is kept there.
    let mlps_secret = open_channel(&app, MLPS, "nmb", &[]).await;
    let (_, mlps_control) = student_with_control_number(&app, MLPS).await;
    let mut wrong_host = Bank::new(&app.base, Provider::Nmb, MLPS, &mlps_secret).unwrap();
    wrong_host.host = Some(format!("{KHSS}.{BASE_DOMAIN}"));
    let r = wrong_host.notify("NMB-HOST-1", &mlps_control, 100_000, Faults::default()).await.unwrap();
    assert_eq!(r.status, 404, "{:?}", r.body);
    let mlps = school_id(&app, MLPS).await;
    assert_eq!(count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1", mlps).await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", mlps).await, 0);
    // On its own host the school takes its own.
    let mut own_host = Bank::new(&app.base, Provider::Nmb, MLPS, &mlps_secret).unwrap();
    own_host.host = Some(format!("{MLPS}.{BASE_DOMAIN}"));
    let r = own_host.notify("NMB-HOST-2", &mlps_control, 100_000, Faults::default()).await.unwrap();
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ACCEPTED")), "{:?}", r.body);
    let paid: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE student_id = $1").bind(child).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(paid, 1);
}

#[tokio::test]
async fn the_bursar_assigns_a_payment_nobody_matched_once() {
    let app = spawn_app().await;
    let tenant = school_id(&app, KHSS).await;
    let (child, control) = student_with_control_number(&app, KHSS).await;
    let admission_no: String =
        sqlx::query_scalar("SELECT admission_no FROM students WHERE id = $1").bind(child).fetch_one(&app.owner_pool).await.unwrap();
    let secret = open_channel(&app, KHSS, "nmb", &[]).await;
    let nmb = Bank::new(&app.base, Provider::Nmb, KHSS, &secret).unwrap();
    // The payer typed a wrong digit: the bank took the money, nobody matched.
    let unissued = kilele::finance::control::ControlNumber::issue(&control[..4], 999_998).unwrap();
    let r = nmb.notify("NMB-LOST-1", unissued.as_str(), 4_500_000, Faults::default()).await.unwrap();
    assert_eq!(r.body["status"], "SUSPENSE");

    // The bursar sees it with why, on the page and through its server function.
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let (status, html) = bursar.get_text("/accountant/suspense").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="suspense""#) && html.contains("NMB-LOST-1") && html.contains("TZS 45,000"), "{html}");
    let waiting: Vec<kilele::payments::SuspenseItem> = bursar.server_fn("accountant/suspense", &[]).await.json().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].reason, "payments-suspense-unknown-control-number");
    let item = waiting[0].id.to_string();
    // A student who does not exist: said, nothing posted.
    let r = bursar.server_fn("accountant/suspense/assign", &[("item", &item), ("student", "KHSS/NOPE/1"), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("payments-error-no-such-student"));
    // Not for a teacher.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let r = teacher.server_fn("accountant/suspense/assign", &[("item", &item), ("student", &admission_no), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 403);
    // Assigned by admission number: posted to the child with a receipt, once.
    let r = bursar.server_fn("accountant/suspense/assign", &[("item", &item), ("student", &admission_no), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let recorded: serde_json::Value = r.json().await.unwrap();
    assert!(recorded["receipt_no"].as_i64().is_some());
    let r = bursar.server_fn("accountant/suspense/assign", &[("item", &item), ("student", &control), ("once", &once())]).await;
    assert_eq!(r.status().as_u16(), 409, "assigned already");
    let (paid, source, by): (i64, String, Option<Uuid>) =
        sqlx::query_as("SELECT amount_minor, source, recorded_by FROM payments WHERE student_id = $1")
            .bind(child)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!((paid, source.as_str()), (4_500_000, "provider"));
    assert!(by.is_some(), "the bursar who assigned it");
    assert_eq!(audited(&app, KHSS, "finance.payment.assigned").await, 1);
    let (_, html) = bursar.get_text("/accountant/suspense").await;
    assert!(html.contains(r#"data-testid="no-suspense""#), "nothing left to allocate");
    // The bank's retry still finds the first, now posted.
    let r = nmb.notify("NMB-LOST-1", unissued.as_str(), 4_500_000, Faults::default()).await.unwrap();
    assert_eq!(
        (r.body["status"].as_str(), r.body["receiptNumber"].as_str().map(str::to_owned)),
        (Some("DUPLICATE"), recorded["receipt_no"].as_i64().map(|n| n.to_string()))
    );
    assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1", tenant).await, 1);
    let mut out = Vec::new();
    assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn the_bursar_lists_payments_by_channel_and_period_and_sees_every_delivery() {
    let app = spawn_app().await;
    let (_, control) = student_with_control_number(&app, KHSS).await;
    let secret = open_channel(&app, KHSS, "crdb", &[]).await;
    let crdb = Bank::new(&app.base, Provider::Crdb, KHSS, &secret).unwrap();
    assert_eq!(crdb.notify("CRDB-LIST-1", &control, 7_000_000, Faults::default()).await.unwrap().status, 200);
    assert_eq!(crdb.notify("CRDB-LIST-1", &control, 7_000_000, Faults::default()).await.unwrap().status, 200);
    assert_eq!(crdb.notify("CRDB-LIST-2", &control, 100_000, Faults { forged: true, ..Default::default() }).await.unwrap().status, 401);
    let bursar = app.login_as(Some(KHSS), "bursar").await;

    // The week's payments, CRDB only: the one payment, once, with its total.
    let list: serde_json::Value = bursar.server_fn("accountant/payments", &[("channel", "crdb")]).await.json().await.unwrap();
    assert_eq!((list["count"].as_i64(), list["total_minor"].as_i64()), (Some(1), Some(7_000_000)), "{list}");
    assert_eq!(list["rows"][0]["reference"], "CRDB-LIST-1");
    let none: serde_json::Value = bursar.server_fn("accountant/payments", &[("channel", "cash")]).await.json().await.unwrap();
    assert_eq!(none["count"], 0, "no cash this week");
    let (status, page) = bursar.get_text("/accountant/payments?channel=crdb").await;
    assert_eq!(status, 200);
    assert!(page.contains("CRDB-LIST-1") && page.contains("70,000"), "the page lists it");
    // Bad filters: said, not guessed.
    let r = bursar.server_fn("accountant/payments", &[("from", "yesterday"), ("channel", "barter")]).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("error-date-invalid") && body.contains("finance-error-channel"), "{body}");
    let r = bursar.server_fn("accountant/payments", &[("from", "2026-12-31"), ("to", "2026-01-01")]).await;
    assert_eq!(r.status(), 422);

    // Every delivery, with what was decided: posted, the repeat, the forged one refused.
    let inbox: Vec<serde_json::Value> = bursar.server_fn("accountant/inbox", &[]).await.json().await.unwrap();
    let outcomes: Vec<&str> = inbox.iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "posted").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "duplicate").count(), 1, "{outcomes:?}");
    assert!(inbox.iter().any(|d| d["outcome"] == "refused" && d["reason"] == "payments-error-signature"), "{inbox:?}");
    let refused: Vec<serde_json::Value> = bursar.server_fn("accountant/inbox", &[("outcome", "refused")]).await.json().await.unwrap();
    assert!(!refused.is_empty() && refused.iter().all(|d| d["outcome"] == "refused"));
    assert_eq!(bursar.server_fn("accountant/inbox", &[("outcome", "lost")]).await.status(), 422);
    let (status, page) = bursar.get_text("/accountant/inbox").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-outcome="refused""#) && page.contains("CRDB-LIST-1"), "the page shows them");
    // A parent or a teacher does not see the school's money.
    let parent = app.login_as(Some(KHSS), "parent").await;
    assert_eq!(parent.server_fn("accountant/inbox", &[]).await.status(), 403);
}

mod mpesa {
    //! "Pay now" through M-Pesa OpenAPI: the simulator (`server::simulate::mpesa`) on a port
    //! of its own plays Vodacom; Kilele pushes, the simulator sends the result to the real
    //! webhook, Kilele confirms it with a status query and posts it once.

    use super::*;
    use kilele::payments::mpesa::MpesaSettings;
    use server::simulate::mpesa::{Application, Knobs, Simulator};
    use std::sync::OnceLock;

    const API_KEY: &str = "khss-openapi-key";
    const SHORTCODE: &str = "171717";

    /// One key per test process: making one is the slow part of starting a simulator.
    fn key() -> rsa::RsaPrivateKey {
        static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap()).clone()
    }

    /// How a server reaches `sim`.
    pub fn app_settings(sim: &Simulator) -> MpesaSettings {
        MpesaSettings { base_url: sim.base_url(), public_key_der: sim.public_key_der() }
    }

    /// A simulator serving on a port of its own, and a server configured to push to it.
    pub async fn app_with_mpesa() -> (TestApp, Simulator) {
        let sim = Simulator::with_key(key(), Knobs { answer_after: std::time::Duration::from_millis(300) }).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(sim.clone().serve(listener));
        let settings = MpesaSettings { base_url: format!("http://{addr}/openapi/ipg/v2/vodacomTZN"), public_key_der: sim.public_key_der() };
        let app = spawn_app_with(Options { mpesa: Some(settings), ..Default::default() }).await;
        server::cli::wallet_channel(&app.pool, &kilele::audit::pii::KeyRing::development(), KHSS, API_KEY, SHORTCODE, &[]).await.unwrap();
        sim.register(Application {
            api_key: API_KEY.into(),
            service_provider_code: SHORTCODE.into(),
            callback_url: format!("{}/api/v1/webhooks/mpesa/{KHSS}", app.base),
        });
        (app, sim)
    }

    /// The KHSS parent's first child.
    pub async fn parents_child(app: &TestApp) -> Uuid {
        sqlx::query_scalar(
            "SELECT sg.student_id FROM student_guardians sg JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
               JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
              WHERE u.tenant_id = (SELECT id FROM tenants WHERE slug = $1) AND u.email LIKE 'parent@%' ORDER BY sg.student_id LIMIT 1",
        )
        .bind(KHSS)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
    }

    /// Sends "pay now" as the page's form does; returns the push's id (from the page it
    /// lands on).
    pub async fn pay(parent: &Browser, child: Uuid, phone: &str, amount: &str) -> Uuid {
        pay_by(parent, "mpesa", child, phone, amount).await
    }

    /// "Pay now" with the wallet `provider`.
    pub async fn pay_by(parent: &Browser, provider: &str, child: Uuid, phone: &str, amount: &str) -> Uuid {
        let once = once();
        let form = [
            ("student", child.to_string()),
            ("provider", provider.into()),
            ("phone", phone.into()),
            ("amount", amount.into()),
            ("once", once),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = parent.post_form("/api/portal/fees/pay", &form).await;
        let target = redirect_target(&r).unwrap_or_else(|| panic!("no redirect: {}", r.status()));
        let prefix = format!("/portal/fees/{child}/pay/");
        assert!(target.starts_with(&prefix), "{target}");
        target[prefix.len()..].parse().unwrap()
    }

    /// The push's line once it is no longer waiting (at most 10 s).
    pub async fn settled(parent: &Browser, push: Uuid) -> serde_json::Value {
        for _ in 0..200 {
            let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &push.to_string())]).await.json().await.unwrap();
            if view["status"] != "Waiting" {
                return view;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("push {push} still waiting");
    }

    async fn payments_of(app: &TestApp, child: Uuid) -> (i64, i64) {
        sqlx::query_as("SELECT count(*), coalesce(sum(amount_minor), 0)::bigint FROM payments WHERE student_id = $1 AND channel = 'mpesa'")
            .bind(child)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_parent_pays_from_the_phone_and_the_receipt_appears_once() {
        let (app, sim) = app_with_mpesa().await;
        let child = parents_child(&app).await;
        let parent = app.login_as(Some(KHSS), "parent").await;
        let (status, page) = parent.get_text(&format!("/portal/fees/{child}")).await;
        assert_eq!(status, 200);
        assert!(page.contains(r#"data-testid="pay-now""#), "the school takes M-Pesa: the parent is offered a push");

        // Approved on the phone: posted once, the page's stream ends on the receipt.
        let push = pay(&parent, child, "0712 345 678", "50,000").await;
        let (status, page) = parent.get_text(&format!("/portal/fees/{child}/pay/{push}")).await;
        assert_eq!(status, 200);
        assert!(page.contains(r#"data-testid="push-status""#), "{page}");
        let events = tokio::time::timeout(std::time::Duration::from_secs(15), parent.get_text(&format!("/portal/pushes/{push}/events")))
            .await
            .expect("the stream ends once the push is settled");
        assert_eq!(events.0, 200);
        assert!(events.1.contains("data: waiting") || events.1.contains("data: paid"), "{}", events.1);
        let paid_line = events.1.lines().find(|l| l.starts_with("data: paid ")).unwrap_or_else(|| panic!("{}", events.1));
        let view = settled(&parent, push).await;
        assert_eq!(view["status"], "Paid", "{view}");
        assert!(paid_line.contains(&view["receipt_no"].to_string()), "{paid_line} {view}");
        assert_eq!(payments_of(&app, child).await, (1, 5_000_000));
        let payment = view["payment_id"].as_str().unwrap();
        assert_eq!(parent.get(&format!("/portal/receipts/{payment}/receipt.pdf")).await.status(), 200, "the receipt is the parent's");
        assert_eq!(sim.acks(), vec![(200, "0".to_owned())], "the result was acknowledged the OpenAPI way");
        assert_eq!(audited(&app, KHSS, "finance.payment_push.sent").await, 1);
        assert_eq!(audited(&app, KHSS, "finance.payment.received").await, 1);

        // The result delivered twice (phone ending 4): acknowledged twice, posted once.
        let push = pay(&parent, child, "0712345674", "10000").await;
        assert_eq!(settled(&parent, push).await["status"], "Paid");
        for _ in 0..100 {
            if sim.acks().len() == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(sim.acks().len(), 3, "{:?}", sim.acks());
        assert!(sim.acks().iter().all(|a| *a == (200, "0".to_owned())), "{:?}", sim.acks());
        assert_eq!(payments_of(&app, child).await, (2, 6_000_000));

        // Not enough money (phone ending 1): the page says so, nothing posted.
        let push = pay(&parent, child, "0712345671", "20000").await;
        let view = settled(&parent, push).await;
        assert_eq!((view["status"].as_str(), view["reason"].as_str()), (Some("Failed"), Some("payments-push-insufficient")), "{view}");
        assert_eq!(payments_of(&app, child).await, (2, 6_000_000));

        // The same form sent twice (a double tap): one push.
        let token = once();
        let c = child.to_string();
        let form = [("student", c.as_str()), ("provider", "mpesa"), ("phone", "0712345678"), ("amount", "1000"), ("once", token.as_str())];
        let (a, b) = tokio::join!(parent.post_form("/api/portal/fees/pay", &form), parent.post_form("/api/portal/fees/pay", &form));
        assert_eq!(redirect_target(&a), redirect_target(&b), "the second tap lands on the first push");
        let pushes: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_pushes WHERE student_id = $1")
            .bind(child)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        assert_eq!(pushes, 4);

        // Bad input: said per field, nothing pushed.
        let r = parent
            .server_fn(
                "portal/fees/pay",
                &[("student", &c), ("provider", "mpesa"), ("phone", "12345"), ("amount", "10.50"), ("once", &once())],
            )
            .await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("payments-push-error-phone") && body.contains("payments-push-error-amount"), "{body}");
        let r = parent
            .server_fn(
                "portal/fees/pay",
                &[("student", &c), ("provider", "tigo"), ("phone", "0712345678"), ("amount", "1000"), ("once", &once())],
            )
            .await;
        assert_eq!(r.status(), 409, "a wallet the school does not take");
        let after: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_pushes WHERE student_id = $1")
            .bind(child)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        assert_eq!(after, 4, "the refused forms pushed nothing");
    }

    #[tokio::test]
    async fn a_result_is_believed_only_when_the_wallet_confirms_it() {
        let (app, _sim) = app_with_mpesa().await;
        let child = parents_child(&app).await;
        let parent = app.login_as(Some(KHSS), "parent").await;
        // A push the phone never answers (ending 3): it waits.
        let push = pay(&parent, child, "0712345673", "30000").await;
        let conversation: String = sqlx::query_scalar("SELECT conversation_id FROM payment_pushes WHERE id = $1")
            .bind(push)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/webhooks/mpesa/{KHSS}", app.base);
        let send = |body: serde_json::Value, url: String| {
            let client = client.clone();
            async move {
                let r = client.post(url).header("content-type", "application/json").body(body.to_string()).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let forged = serde_json::json!({
            "input_OriginalConversationID": "0123456789abcdef", "input_TransactionID": "FORGED123",
            "input_ResultCode": "INS-0", "input_ResultDesc": "Request processed successfully",
            "input_ThirdPartyConversationID": conversation,
        });
        // "Paid", says someone: the wallet says it is still pending, so nothing is posted.
        let (status, body) = send(forged.clone(), url.clone()).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("\"output_ResponseCode\":\"1\""), "{body}");
        assert_eq!(payments_of(&app, child).await, (0, 0));
        let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &push.to_string())]).await.json().await.unwrap();
        assert_eq!(view["status"], "Waiting");
        // A result for a push we never sent, a malformed one, another school's path.
        let unknown = serde_json::json!({ "input_OriginalConversationID": "abc", "input_TransactionID": "T1", "input_ResultCode": "INS-0", "input_ThirdPartyConversationID": "nosuchpush" });
        assert_eq!(send(unknown, url.clone()).await.0, 404);
        assert_eq!(send(serde_json::json!({ "input_ResultCode": "INS-0" }), url.clone()).await.0, 400);
        assert!(
            [403, 404].contains(&send(forged.clone(), format!("{}/api/v1/webhooks/mpesa/{MLPS}", app.base)).await.0),
            "MLPS takes no M-Pesa"
        );
        let big = serde_json::json!({ "x": "y".repeat(10_000) });
        assert_eq!(send(big, url.clone()).await.0, 413);
        let tenant = school_id(&app, KHSS).await;
        assert_eq!(
            count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND provider = 'mpesa' AND outcome = 'refused'", tenant)
                .await,
            3
        );
        assert_eq!(
            count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND provider = 'mpesa' AND outcome = 'received'", tenant)
                .await,
            1,
            "the unconfirmed result is kept, undecided"
        );
        assert_eq!(count(&app, "SELECT count(*) FROM provider_payments WHERE tenant_id = $1", tenant).await, 0);

        // "Declined", says someone else: the wallet says it is still pending, so the push waits.
        let decline = serde_json::json!({
            "input_OriginalConversationID": "0123456789abcdef", "input_TransactionID": "",
            "input_ResultCode": "INS-2006", "input_ResultDesc": "Insufficient balance",
            "input_ThirdPartyConversationID": conversation,
        });
        assert_eq!(send(decline, url.clone()).await.0, 200, "taken, to be confirmed");
        let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &push.to_string())]).await.json().await.unwrap();
        assert_eq!(view["status"], "Waiting", "a forged decline fails nothing");
        assert_ne!(conversation, push.simple().to_string(), "the conversation id is not the push's id (which is in URLs)");

        // Never answered: after the patience the page says so (money that still came would post).
        app.clock.advance(chrono::Duration::minutes(4));
        let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &push.to_string())]).await.json().await.unwrap();
        assert_eq!((view["status"].as_str(), view["reason"].as_str()), (Some("Abandoned"), Some("payments-push-unanswered")), "{view}");

        // Paid on the phone, but the result is lost (ending 5): the re-check asks the wallet
        // and posts it; the abandoned push above is asked about too, and stays as it is.
        let lost = pay(&parent, child, "0712345675", "40000").await;
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let wallets = kilele::payments::wallets::Wallets {
            mpesa: Some(std::sync::Arc::new(kilele::payments::mpesa::MpesaApi::new(&app_settings(&_sim)).unwrap())),
            ..Default::default()
        };
        let pii = kilele::audit::pii::KeyRing::development();
        let later = kilele::clock::Clock::now(&*app.clock) + chrono::Duration::minutes(1);
        let school = kilele::tenancy::TenantId(tenant);
        assert_eq!(wallets.recheck(&app.pool, &pii, school, later).await.unwrap(), 1, "the lost result's payment");
        let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &lost.to_string())]).await.json().await.unwrap();
        assert_eq!(view["status"], "Paid", "{view}");
        assert_eq!(payments_of(&app, child).await, (1, 4_000_000));
        assert_eq!(wallets.recheck(&app.pool, &pii, school, later).await.unwrap(), 0, "asked about once per interval");
        assert_eq!(
            count(
                &app,
                "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND headers->>'source' = 'status-query' AND outcome = 'posted'",
                tenant
            )
            .await,
            1,
            "what the wallet said is on record"
        );

        // Another parent (MLPS's), or this one's push id on another school's host: not found.
        let other = app.login_as(Some(MLPS), "parent").await;
        assert!([403, 404].contains(&other.server_fn("portal/fees/push", &[("push", &push.to_string())]).await.status().as_u16()));
        assert_eq!(other.get(&format!("/portal/pushes/{push}/events")).await.status().as_u16() / 100, 4);
    }
}

mod airtel {
    //! "Pay now" through Airtel Money's Open API: the simulator (`server::simulate::airtel`)
    //! plays Airtel, signing its callbacks with the school's callback key; Kilele checks the
    //! hash, confirms with an enquiry and posts once.

    use super::mpesa::{parents_child, settled};
    use super::*;
    use server::simulate::airtel::{Application, Simulator};

    async fn pay_airtel(parent: &Browser, child: Uuid, phone: &str, amount: &str) -> Uuid {
        super::mpesa::pay_by(parent, "airtel", child, phone, amount).await
    }

    #[tokio::test]
    async fn a_parent_pays_by_airtel_money_and_a_badly_signed_callback_posts_nothing() {
        let sim = Simulator::new(std::time::Duration::from_millis(300)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(sim.clone().serve(listener));
        let app = spawn_app_with(Options { airtel: Some(base), ..Default::default() }).await;
        let credentials =
            serde_json::json!({ "client_id": "khss-airtel", "client_secret": "s3cret", "callback_key": "callback-key-khss" }).to_string();
        let pii = kilele::audit::pii::KeyRing::development();
        server::cli::open_wallet(&app.pool, &pii, KHSS, Provider::Airtel, &credentials, &[]).await.unwrap();
        sim.register(Application {
            client_id: "khss-airtel".into(),
            client_secret: "s3cret".into(),
            callback_key: Some("callback-key-khss".into()),
            callback_url: format!("{}/api/v1/webhooks/airtel/{KHSS}", app.base),
        });
        let child = parents_child(&app).await;
        let parent = app.login_as(Some(KHSS), "parent").await;
        let wallets: Vec<String> = parent.server_fn("portal/fees/wallets", &[("student", &child.to_string())]).await.json().await.unwrap();
        assert_eq!(wallets, vec!["Airtel".to_owned()], "only the wallet this deployment and school have");

        // Approved: posted once, with Airtel's transaction id as the reference.
        let push = pay_airtel(&parent, child, "0682 345 678", "30000").await;
        let view = settled(&parent, push).await;
        assert_eq!(view["status"], "Paid", "{view}");
        let (count, reference): (i64, Option<String>) =
            sqlx::query_as("SELECT count(*), max(reference) FROM payments WHERE student_id = $1 AND channel = 'airtel'")
                .bind(child)
                .fetch_one(&app.owner_pool)
                .await
                .unwrap();
        assert_eq!(count, 1);
        assert!(reference.is_some_and(|r| r.starts_with("MP")), "Airtel's id, from the enquiry");
        assert_eq!(sim.acks(), vec![200]);

        // Declined on the phone: failed, nothing posted.
        let push = pay_airtel(&parent, child, "0682345671", "1000").await;
        assert_eq!(settled(&parent, push).await["status"], "Failed");

        // A callback with a hash made with another key: 401, kept, nothing changed.
        let waiting = pay_airtel(&parent, child, "0682345673", "5000").await;
        let conversation: String = sqlx::query_scalar("SELECT conversation_id FROM payment_pushes WHERE id = $1")
            .bind(waiting)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        let transaction =
            serde_json::json!({ "id": conversation, "message": "Paid", "status_code": "TS", "airtel_money_id": "MPFORGED01" }).to_string();
        let forged = format!(r#"{{"transaction":{transaction},"hash":"{}"}}"#, server::simulate::airtel::hash("wrong-key", &transaction));
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/webhooks/airtel/{KHSS}", app.base))
            .header("content-type", "application/json")
            .body(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        // Rightly signed but not true (the enquiry says in progress): nothing posted either.
        let signed =
            format!(r#"{{"transaction":{transaction},"hash":"{}"}}"#, server::simulate::airtel::hash("callback-key-khss", &transaction));
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/webhooks/airtel/{KHSS}", app.base))
            .header("content-type", "application/json")
            .body(signed)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 503);
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE student_id = $1 AND channel = 'airtel'")
            .bind(child)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        assert_eq!(count, 1, "only the approved one");
        let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &waiting.to_string())]).await.json().await.unwrap();
        assert_eq!(view["status"], "Waiting");
    }
}

mod tigo {
    //! Tigo Pesa: "pay now" through the simulated push gateway (a callback from a listed
    //! address, naming our push with the amount asked for, is all Tigo gives: it has no status
    //! query), and USSD bill-pay, where Tigo asks us in XML who a control number is and to take
    //! the payment, and our reply decides.

    use super::mpesa::{parents_child, pay_by, settled};
    use super::*;
    use server::simulate::tigo::{Application, Simulator, Ussd};

    const LOCAL: [std::net::IpAddr; 1] = [std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];

    fn account() -> kilele::payments::tigo::TigoCredentials {
        kilele::payments::tigo::TigoCredentials {
            username: "khss".into(),
            password: "s3cret pass&word".into(),
            partner: "Khss".into(),
            biller_msisdn: "255652998877".into(),
            biller_code: "KHS".into(),
            company_number: "298765".into(),
        }
    }

    async fn open_tigo(app: &TestApp, slug: &str, allow: &[std::net::IpAddr]) {
        let pii = kilele::audit::pii::KeyRing::development();
        let account = serde_json::to_string(&account()).unwrap();
        server::cli::open_wallet(&app.pool, &pii, slug, Provider::Tigo, &account, allow).await.unwrap();
    }

    async fn tigo_payments(app: &TestApp, child: Uuid) -> (i64, Option<String>) {
        sqlx::query_as("SELECT count(*), max(reference) FROM payments WHERE student_id = $1 AND channel = 'tigo'")
            .bind(child)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap()
    }

    async fn callback(app: &TestApp, school: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/webhooks/tigo/{school}", app.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or_default())
    }

    #[tokio::test]
    async fn a_parent_pays_by_tigo_pesa_and_a_callback_that_does_not_fit_posts_nothing() {
        let sim = Simulator::new(std::time::Duration::from_millis(300)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(sim.clone().serve(listener));
        let app = spawn_app_with(Options { tigo: Some(base), ..Default::default() }).await;
        open_tigo(&app, KHSS, &LOCAL).await;
        let a = account();
        sim.register(Application {
            partner: a.partner.clone(),
            username: a.username.clone(),
            password: a.password.clone(),
            biller_msisdn: a.biller_msisdn.clone(),
            biller_code: a.biller_code.clone(),
            callback_url: format!("{}/api/v1/webhooks/tigo/{KHSS}", app.base),
        });
        let child = parents_child(&app).await;
        let parent = app.login_as(Some(KHSS), "parent").await;
        let wallets: Vec<String> = parent.server_fn("portal/fees/wallets", &[("student", &child.to_string())]).await.json().await.unwrap();
        assert_eq!(wallets, vec!["Tigo".to_owned()]);

        // Approved on the phone: posted once under Tigo's transaction id.
        let push = pay_by(&parent, "tigo", child, "0652 345 678", "30000").await;
        let view = settled(&parent, push).await;
        assert_eq!(view["status"], "Paid", "{view}");
        let (count, reference) = tigo_payments(&app, child).await;
        assert_eq!(count, 1);
        assert!(reference.is_some_and(|r| r.starts_with("8C")), "Tigo's MFSTransactionID");
        // The callback sent twice (ending 4): still one payment, both acknowledged.
        let push = pay_by(&parent, "tigo", child, "0652345674", "2000").await;
        assert_eq!(settled(&parent, push).await["status"], "Paid");
        for _ in 0..100 {
            if sim.acks().len() >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(sim.acks(), vec![200, 200, 200]);
        assert_eq!(tigo_payments(&app, child).await.0, 2);
        // Not enough money: failed with why, nothing posted.
        let push = pay_by(&parent, "tigo", child, "0652345671", "1000").await;
        let view = settled(&parent, push).await;
        assert_eq!((view["status"].as_str(), view["reason"].as_str()), (Some("Failed"), Some("payments-push-insufficient")), "{view}");

        // A push the phone never answers (ending 3), and results that do not fit it.
        let waiting = pay_by(&parent, "tigo", child, "0652345673", "5000").await;
        let reference_of = |push: Uuid| {
            let pool = app.owner_pool.clone();
            let a = a.clone();
            async move {
                let conversation: String = sqlx::query_scalar("SELECT conversation_id FROM payment_pushes WHERE id = $1")
                    .bind(push)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                (a.reference_id(&conversation), conversation)
            }
        };
        let (reference, conversation) = reference_of(waiting).await;
        let paid = |amount: &str, reference: &str, transaction: &str| serde_json::json!({ "Status": true, "Description": "Success", "MFSTransactionID": transaction, "ReferenceID": reference, "Amount": amount });
        assert_eq!(callback(&app, KHSS, paid("5000", "KHS0000", "8CX")).await.0, 404, "not one of our pushes");
        assert_eq!(callback(&app, KHSS, paid("5000", &conversation, "8CX")).await.0, 404, "without the biller code");
        assert_eq!(
            callback(&app, KHSS, serde_json::json!({ "Status": true, "ReferenceID": reference, "Amount": "5000" })).await.0,
            400,
            "paid without Tigo's id"
        );
        assert_eq!(callback(&app, MLPS, paid("5000", &reference, "8CX")).await.0, 404, "MLPS takes no Tigo");
        assert_eq!(tigo_payments(&app, child).await.0, 2, "none of those posted");
        let view: serde_json::Value = parent.server_fn("portal/fees/push", &[("push", &waiting.to_string())]).await.json().await.unwrap();
        assert_eq!(view["status"], "Waiting");

        // From an address the channel does not list: refused and kept; and a Tigo channel
        // without any listed address takes nothing at all.
        open_tigo(&app, KHSS, &["203.0.113.9".parse().unwrap()]).await;
        let (status, ack) = callback(&app, KHSS, paid("5000", &reference, "8CX")).await;
        assert_eq!((status, ack["ResponseDescription"].as_str()), (403, Some("payments-error-address")));
        open_tigo(&app, KHSS, &[]).await;
        let (status, ack) = callback(&app, KHSS, paid("5000", &reference, "8CX")).await;
        assert_eq!((status, ack["ResponseDescription"].as_str()), (403, Some("payments-error-addresses-required")));
        assert_eq!(tigo_payments(&app, child).await.0, 2);
        let tenant = school_id(&app, KHSS).await;
        let refused: Vec<String> = sqlx::query_scalar(
            "SELECT reason FROM payment_inbox WHERE tenant_id = $1 AND provider = 'tigo' AND outcome = 'refused' ORDER BY received_at",
        )
        .bind(tenant)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
        for reason in
            ["payments-error-unknown-push", "payments-error-malformed", "payments-error-address", "payments-error-addresses-required"]
        {
            assert!(refused.iter().any(|r| r == reason), "{reason} kept: {refused:?}");
        }

        // Listed again: the late result of the waiting push is taken, once.
        open_tigo(&app, KHSS, &LOCAL).await;
        assert_eq!(callback(&app, KHSS, paid("5000", &reference, "8CLATE01")).await.0, 200);
        assert_eq!(callback(&app, KHSS, paid("5000", &reference, "8CLATE01")).await.0, 200, "a repeat is acknowledged");
        assert_eq!(settled(&parent, waiting).await["status"], "Paid");
        assert_eq!(tigo_payments(&app, child).await.0, 3);
        // Another transaction for the push paid already: refused, the first stands; a decline
        // after it changes nothing.
        let (status, ack) = callback(&app, KHSS, paid("5000", &reference, "8CLATE02")).await;
        assert_eq!((status, ack["ResponseDescription"].as_str()), (409, Some("payments-error-conflicting-repeat")));
        let declined = serde_json::json!({ "Status": false, "Description": "Cancelled", "ReferenceID": reference, "Amount": "5000" });
        assert_eq!(callback(&app, KHSS, declined).await.0, 200);
        assert_eq!(settled(&parent, waiting).await["status"], "Paid");
        assert_eq!(tigo_payments(&app, child).await.0, 3);

        // "Paid", but another amount than the push asked: the money moved, so it is kept for
        // the bursar (not posted), and the parent is told so.
        let odd = pay_by(&parent, "tigo", child, "0652345673", "7000").await;
        let (odd_reference, _) = reference_of(odd).await;
        assert_eq!(callback(&app, KHSS, paid("9000", &odd_reference, "8CODD01")).await.0, 200);
        let view = settled(&parent, odd).await;
        assert_eq!((view["status"].as_str(), view["reason"].as_str()), (Some("Failed"), Some("payments-push-held")), "{view}");
        let held: (String, i64, Option<String>) = sqlx::query_as(
            "SELECT status, amount_minor, reason FROM provider_payments WHERE provider = 'tigo' AND transaction_id = '8CODD01'",
        )
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
        assert_eq!(held, ("suspense".into(), 900_000, Some("payments-suspense-amount-mismatch".into())));
        assert_eq!(tigo_payments(&app, child).await.0, 3);
        let mut out = Vec::new();
        assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
    }

    #[tokio::test]
    async fn ussd_bill_pay_names_the_child_takes_the_payment_once_and_refuses_what_is_not_ours() {
        let app = spawn_app().await;
        let tenant = school_id(&app, KHSS).await;
        let (child, control) = student_with_control_number(&app, KHSS).await;
        let (_, other_control) = student_with_control_number(&app, MLPS).await;
        let ussd = Ussd::new(&app.base, KHSS, "298765").unwrap();
        let phone = "255652123456";

        // Before the school opens Tigo: not available, nothing kept.
        let r = ussd.lookup(phone, &control).await.unwrap();
        assert_eq!((r.status, r.reply.as_ref().map(|r| r.code.as_str())), (403, Some("error001")), "{}", r.body);
        assert_eq!(count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1", tenant).await, 0, "nothing kept");
        // Opened without Tigo's addresses: it takes nothing (Tigo signs nothing).
        open_tigo(&app, KHSS, &[]).await;
        let r = ussd.pay("BP-NO-LIST", phone, &control, 1_000).await.unwrap();
        assert_eq!((r.status, r.reply.map(|r| r.code)), (403, Some("error001".into())), "{}", r.body);
        open_tigo(&app, KHSS, &LOCAL).await;

        // The lookup names the child (what the parent's phone shows before the PIN).
        let r = ussd.lookup(phone, &control).await.unwrap();
        let reply = r.reply.clone().unwrap();
        assert_eq!((r.status, reply.kind.as_str(), reply.success), (200, "SYNC_LOOKUP_RESPONSE", true), "{}", r.body);
        let name: String =
            sqlx::query_scalar("SELECT first_name FROM students WHERE id = $1").bind(child).fetch_one(&app.owner_pool).await.unwrap();
        assert!(reply.content.is_some_and(|c| c.contains(&name)), "{}", r.body);
        for unknown in [other_control.as_str(), "999999999999"] {
            let r = ussd.lookup(phone, unknown).await.unwrap();
            let reply = r.reply.unwrap();
            assert_eq!((reply.success, reply.code.as_str(), reply.content), (false, "error010", None), "{}", r.body);
        }

        // The payment: TS with our receipt; the same Tigo transaction again gets the same one.
        let r = ussd.pay("BP140218.1240.B01530", phone, &control, 150_000).await.unwrap();
        let first = r.reply.clone().unwrap();
        assert_eq!((r.status, first.kind.as_str(), first.success), (200, "SYNC_BILLPAY_RESPONSE", true), "{}", r.body);
        assert!(first.refid.as_ref().is_some_and(|n| n.parse::<i64>().is_ok()), "{}", r.body);
        let again = ussd.pay("BP140218.1240.B01530", phone, &control, 150_000).await.unwrap().reply.unwrap();
        assert_eq!((again.success, again.refid), (true, first.refid.clone()));
        let (posted, reference) = tigo_payments(&app, child).await;
        assert_eq!((posted, reference.as_deref()), (1, Some("BP140218.1240.B01530")));
        // The same transaction saying another amount: refused, the first stands.
        let r = ussd.pay("BP140218.1240.B01530", phone, &control, 99_000).await.unwrap();
        assert_eq!((r.status, r.reply.map(|r| r.code)), (409, Some("error016".into())));
        // Another school's number, or nobody's: TF (Tigo gives the money back), nothing kept
        // in suspense, nothing posted.
        for (i, unknown) in [other_control.as_str(), "999999999999"].into_iter().enumerate() {
            let r = ussd.pay(&format!("BP-UNKNOWN-{i}"), phone, unknown, 5_000).await.unwrap();
            assert_eq!((r.status, r.reply.map(|r| r.code)), (200, Some("error010".into())), "{}", r.body);
        }
        assert_eq!(count(&app, "SELECT count(*) FROM provider_payments WHERE tenant_id = $1 AND status = 'suspense'", tenant).await, 0);

        // Hostile or wrong: a 4xx in Tigo's XML, kept with why, nothing posted.
        let raw = |path: &'static str, body: &str| ussd.send_raw(path, body.as_bytes().to_vec());
        let lookup_body = kilele::payments::tigo::ussd_request(&kilele::payments::tigo::UssdRequest::Lookup {
            msisdn: phone.into(),
            company: "298765".into(),
            reference: control.clone(),
        });
        assert_eq!(raw("billpay", &lookup_body).await.unwrap().status, 400, "a lookup at the payment address");
        assert_eq!(raw("billpay", "<COMMAND><TYPE>SYNC_BILLPAY_REQUEST</TYPE>").await.unwrap().status, 400, "unfinished");
        let bomb = "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]><COMMAND><TYPE>&b;</TYPE></COMMAND>";
        assert_eq!(raw("billpay", bomb).await.unwrap().status, 400, "no DTD, no entities of its own");
        assert_eq!(raw("billpay", &"<COMMAND>".repeat(2000)).await.unwrap().status, 413);
        let mut elsewhere = Ussd::new(&app.base, KHSS, "111111").unwrap();
        let r = elsewhere.pay("BP-OTHER-BUSINESS", phone, &control, 1_000).await.unwrap();
        assert_eq!((r.status, r.reply.map(|r| r.success)), (403, Some(false)), "another business number");
        elsewhere.company = "298765".into();
        open_tigo(&app, KHSS, &["203.0.113.9".parse().unwrap()]).await;
        assert_eq!(elsewhere.pay("BP-UNLISTED", phone, &control, 1_000).await.unwrap().status, 403, "an address not listed");
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/webhooks/nmb/{KHSS}/billpay", app.base))
            .body("<COMMAND/>")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "only Tigo has a bill-pay step");
        assert_eq!(tigo_payments(&app, child).await.0, 1);
        let kept: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT outcome, reason FROM payment_inbox WHERE tenant_id = $1 AND provider = 'tigo' ORDER BY received_at")
                .bind(tenant)
                .fetch_all(&app.owner_pool)
                .await
                .unwrap();
        for reason in [
            "payments-error-addresses-required",
            "payments-error-wrong-step",
            "payments-error-malformed",
            "payments-error-too-large",
            "payments-error-wrong-business",
            "payments-error-address",
            "payments-error-unknown-reference",
        ] {
            assert!(kept.iter().any(|(_, r)| r.as_deref() == Some(reason)), "{reason}: {kept:?}");
        }
        let mut out = Vec::new();
        assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
    }
}

mod gepg {
    //! GePG for government schools: the bursar asks for a control number, the simulator
    //! (`server::simulate::gepg`) plays GePG — its acknowledgement and the control number it
    //! sends later, signed — and a parent's payment of that number is notified (twice, as GePG
    //! retries) and posted once. What GePG did not sign, or signed over other bytes, posts
    //! nothing and is kept with its reason.

    use super::*;
    use kilele::payments::gepg::{self as g, signature};
    use server::simulate::gepg::{Pay, ServiceProvider, Simulator};

    fn key(bits: usize) -> rsa::RsaPrivateKey {
        rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap()
    }

    async fn bill_the_term(app: &TestApp, tenant: Uuid) {
        use kilele::finance::billing::{InstalmentForm, ItemForm};
        let bursar: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email LIKE 'bursar@%'")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        let actor = kilele::audit::Actor::user(bursar, "bursar");
        let by = kilele::identity::store::ChangedBy { actor: &actor, at: kilele::clock::Clock::now(&*app.clock) };
        let fees = server::seed::TermFees {
            items: vec![ItemForm { name: "Tuition".into(), amount: "450,000".into(), compulsory: true }],
            instalments: vec![InstalmentForm { percent: "100".into(), due_on: "2027-01-15".into() }],
            rules: server::seed::TermFees::rules("0", "0", "0", "7"),
            level: None,
        };
        let pii = kilele::audit::pii::KeyRing::development();
        server::seed::bill_term(&app.pool, &app.worker().pool, &pii, kilele::tenancy::TenantId(tenant), by, &fees).await.unwrap();
    }

    #[tokio::test]
    async fn a_government_school_bills_through_gepg_and_each_payment_posts_once() {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let gepg_key = key(2048);
        let sim = Simulator::new(gepg_key.clone(), std::time::Duration::from_millis(200)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(sim.clone().serve(listener));
        let settings = g::GepgSettings { base_url: sim_base.clone(), public_key_der: sim.public_key_der().unwrap() };
        let app = spawn_app_with(Options { gepg: Some(settings), ..Default::default() }).await;
        let tenant = school_id(&app, KHSS).await;
        bill_the_term(&app, tenant).await;
        // The demo parent's child (billed with the whole school).
        let child = super::mpesa::parents_child(&app).await;
        let bursar = app.login_as(Some(KHSS), "bursar").await;
        let ask = |student: Uuid| {
            let bursar = &bursar;
            async move { bursar.server_fn("accountant/gepg/bill", &[("student", &student.to_string()), ("once", &once())]).await }
        };
        // No GePG channel yet: said so.
        let r = ask(child).await;
        assert_eq!(r.status().as_u16(), 409);
        assert!(r.text().await.unwrap().contains("payments-gepg-error-not-open"));

        // The school's account at GePG: its codes and its signing key (GePG holds the public half).
        let school_key = key(2048);
        let creds = g::GepgCredentials {
            sp_code: "SP19988".into(),
            sub_sp_code: "1001".into(),
            sp_sys_id: "TKILELE001".into(),
            gfs_code: "140316".into(),
            private_key_pem: school_key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap().to_string(),
        };
        let pii = kilele::audit::pii::KeyRing::development();
        // As the operator opens it (`kilele payments channel --provider gepg --gepg-account … --gepg-key-file …`);
        // a key that does not read is refused.
        let account = serde_json::json!({ "sp_code": creds.sp_code, "sub_sp_code": creds.sub_sp_code, "sp_sys_id": creds.sp_sys_id,
                                          "gfs_code": creds.gfs_code })
        .to_string();
        assert!(server::cli::gepg_channel(&app.pool, &pii, KHSS, &account, "not a key").await.is_err());
        server::cli::gepg_channel(&app.pool, &pii, KHSS, &account, &creds.private_key_pem).await.unwrap();
        let webhook = format!("{}/api/v1/webhooks/gepg/{KHSS}", app.base);
        sim.register(ServiceProvider {
            sp_code: "SP19988".into(),
            public_key_pem: school_key.to_public_key().to_public_key_pem(rsa::pkcs8::LineEnding::LF).unwrap(),
            callback_url: webhook.clone(),
        });

        // The bursar asks: the bill is sent, GePG's control number comes to the webhook.
        let r = ask(child).await;
        assert_eq!(r.status().as_u16(), 200);
        let bill: kilele::payments::GepgBillView = r.json().await.unwrap();
        assert_eq!((bill.status.as_str(), bill.amount_minor), ("submitted", 45_000_000), "{bill:?}");
        let mut issued = None;
        for _ in 0..100 {
            let bills: kilele::payments::GepgBills =
                bursar.server_fn("accountant/gepg/bills", &[("student", &child.to_string())]).await.json().await.unwrap();
            assert!(bills.open);
            if let Some(n) = bills.bills.first().and_then(|b| b.control_number.clone()) {
                issued = Some(n);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let control_number = issued.expect("GePG's control number arrived");
        assert!(control_number.starts_with("99") && control_number.len() == 12);
        // The family sees the number on the child's fees page, with how to pay it; nobody else's.
        let parent = app.login_as(Some(KHSS), "parent").await;
        let (status, html) = parent.get_text(&format!("/portal/fees/{child}")).await;
        assert_eq!(status, 200);
        assert!(html.contains(r#"data-testid="gepg-number""#) && html.contains(&control_number), "{html}");
        let theirs: Option<kilele::payments::GepgBillView> =
            parent.server_fn("portal/fees/gepg", &[("student", &child.to_string())]).await.json().await.unwrap();
        assert_eq!(theirs.and_then(|b| b.control_number).as_deref(), Some(control_number.as_str()));
        let other_parent = app.login_as(Some(MLPS), "parent").await;
        assert_eq!(other_parent.server_fn("portal/fees/gepg", &[("student", &child.to_string())]).await.status().as_u16(), 404);
        // Asked again for the same amount: the same bill.
        let again: kilele::payments::GepgBillView = ask(child).await.json().await.unwrap();
        assert_eq!(again.id, bill.id);
        // Not a teacher's to ask.
        let teacher = app.login_as(Some(KHSS), "teacher").await;
        let r = teacher.server_fn("accountant/gepg/bill", &[("student", &child.to_string()), ("once", &once())]).await;
        assert_eq!(r.status().as_u16(), 403);

        // The parent pays it at a bank; GePG notifies twice: acknowledged both times, posted once.
        let client = reqwest::Client::new();
        let paid: serde_json::Value = client
            .post(format!("{sim_base}/simulator/pay"))
            .json(&Pay { control_number: control_number.clone(), amount_minor: 20_000_000, phone: "255712345678".into(), times: 2 })
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(paid["acks"], serde_json::json!([[200, "7101"], [200, "7101"]]), "{paid}");
        let posted: (i64, i64) = sqlx::query_as(
            "SELECT count(*), coalesce(sum(amount_minor), 0)::bigint FROM payments WHERE student_id = $1 AND channel = 'gepg'",
        )
        .bind(child)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
        assert_eq!(posted, (1, 20_000_000));
        // Straight to the webhook: what GePG signed (with its key, over these bytes) is taken and
        // answered signed with the school's key; anything else is refused and kept.
        let forged_key = key(1024);
        let info = g::PaymentInfo {
            trx_id: "GEPG-TEST-1".into(),
            sp_code: "SP19988".into(),
            bill_id: bill.bill_id.clone(),
            control_number: control_number.clone(),
            paid_minor: 5_000_000,
            currency: "TZS".into(),
            paid_at: chrono::Utc::now(),
            psp_name: None,
            psp_receipt: None,
            payer_name: None,
            payer_phone: None,
        };
        let content = g::payment_content(&info);
        let send = |url: String, body: String| {
            let client = client.clone();
            async move {
                let r = client.post(&url).header("content-type", "application/xml").body(body).send().await.unwrap();
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap().to_vec();
                (status, body)
            }
        };
        let cases = [
            ("forged", g::envelope(&content, &signature::sign(&forged_key, &content)), 401),
            ("tampered", g::envelope(&content.replace("50000.00", "1.00"), &signature::sign(&gepg_key, &content)), 401),
            ("unsigned", g::envelope(&content, ""), 400),
            ("not xml", "{\"TrxId\":\"x\"}".to_owned(), 400),
        ];
        for (what, body, status) in cases {
            let (got, answer) = send(webhook.clone(), body).await;
            assert_eq!(got, status, "{what}: {}", String::from_utf8_lossy(&answer));
            let code = g::open(&answer).ok().and_then(|e| g::ack_code(e.content).ok());
            assert_ne!(code.as_deref(), Some(g::OK), "{what}");
        }
        // Another school's code in a genuine message: refused.
        let elsewhere = content.replace("<SpCode>SP19988</SpCode>", "<SpCode>SP00001</SpCode>");
        let (got, _) = send(webhook.clone(), g::envelope(&elsewhere, &signature::sign(&gepg_key, &elsewhere))).await;
        assert_eq!(got, 403);
        // GePG's, but for a bill that is not this school's (another school under the same SP
        // code): refused 7204, nothing recorded, not even in suspense.
        let not_ours = content.replace(&bill.bill_id, "KILOTHERSCHOOL01");
        let (got, answer) = send(webhook.clone(), g::envelope(&not_ours, &signature::sign(&gepg_key, &not_ours))).await;
        assert_eq!(got, 404);
        assert_eq!(g::ack_code(g::open(&answer).unwrap().content).unwrap(), g::BILL_UNKNOWN);
        assert_eq!(count(&app, "SELECT count(*) FROM provider_payments WHERE tenant_id = $1 AND provider = 'gepg'", tenant).await, 1);
        // At a school without GePG: refused, nothing kept there.
        let other = format!("{}/api/v1/webhooks/gepg/{MLPS}", app.base);
        let (got, _) = send(other, g::envelope(&content, &signature::sign(&gepg_key, &content))).await;
        assert_eq!(got, 403);
        assert_eq!(
            count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1 AND channel = 'gepg'", tenant).await,
            1,
            "nothing posted by them"
        );
        assert!(
            count(&app, "SELECT count(*) FROM payment_inbox WHERE tenant_id = $1 AND provider = 'gepg' AND outcome = 'refused'", tenant)
                .await
                >= 5
        );
        // The genuine one: posted, acknowledged 7101 under the school's signature.
        let (got, answer) = send(webhook.clone(), g::envelope(&content, &signature::sign(&gepg_key, &content))).await;
        assert_eq!(got, 200, "{}", String::from_utf8_lossy(&answer));
        let opened = g::open(&answer).unwrap();
        assert_eq!((opened.kind.as_str(), g::ack_code(opened.content).unwrap().as_str()), (g::PAYMENT_ACK, g::OK));
        assert!(signature::verify(&school_key.to_public_key(), opened.content, &opened.signature), "signed by the school");
        assert_eq!(count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1 AND channel = 'gepg'", tenant).await, 2);
        assert_eq!(
            count(&app, "SELECT count(*) FROM payments WHERE tenant_id = $1 AND channel = 'gepg'", school_id(&app, MLPS).await).await,
            0
        );
        let mut out = Vec::new();
        assert!(server::cli::ledger_check(&app.pool, KHSS, &mut out).await.unwrap(), "{}", String::from_utf8_lossy(&out));
    }
}
