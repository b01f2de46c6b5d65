//! Report cards: the admin prints a published class's cards through the worker (a killed
//! worker resumes without duplicates), follows the batch, downloads one card and the ZIP; the
//! parent downloads their child's newest card and nobody else's; a printed code verifies on
//! the school's own address only; a cancelled batch prints nothing more.

use crate::harness::*;
use crate::results::{tenant_of, user_id};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Marks for every student of the parent's child's class in every allocated subject, the
/// sheets approved and the class published: (term, level, one of its streams, child).
pub(crate) async fn published_class(app: &TestApp, slug: &str) -> (Uuid, Uuid, Uuid, Uuid) {
    let db = &app.owner_pool;
    let tenant = tenant_of(app, slug).await;
    let teacher = user_id(app, &format!("teacher@{slug}.test")).await;
    let (child, level, stream): (Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT st.id, s.level_id, s.id FROM students st
           JOIN streams s ON s.tenant_id = st.tenant_id AND s.id = st.stream_id
           JOIN student_guardians sg ON sg.tenant_id = st.tenant_id AND sg.student_id = st.id
           JOIN guardians g ON g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id
           JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
          WHERE u.email = $1 ORDER BY st.admission_no LIMIT 1",
    )
    .bind(format!("parent@{slug}.test"))
    .fetch_one(db)
    .await
    .unwrap();
    let term: Uuid =
        sqlx::query_scalar("SELECT id FROM terms WHERE tenant_id = $1 AND is_current").bind(tenant).fetch_one(db).await.unwrap();
    sqlx::query(
        "INSERT INTO mark_sheets (tenant_id, term_id, stream_id, subject_id, status)
         SELECT ta.tenant_id, $2, ta.stream_id, ta.subject_id, 'approved'
           FROM teacher_allocations ta JOIN streams s ON s.tenant_id = ta.tenant_id AND s.id = ta.stream_id
           JOIN terms t ON t.tenant_id = ta.tenant_id AND t.id = $2 AND t.academic_year_id = ta.academic_year_id
          WHERE ta.tenant_id = $1 AND s.level_id = $3",
    )
    .bind(tenant)
    .bind(term)
    .bind(level)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO marks (tenant_id, sheet_id, student_id, assessment, score_hundredths, revision, written_by, written_at)
         SELECT ms.tenant_id, ms.id, st.id, a.key, 3000 + ((hashtext(st.id::text || a.key || ms.id::text) & 8191) % 7001), 1, $2, now()
           FROM mark_sheets ms
           JOIN students st ON st.tenant_id = ms.tenant_id AND st.stream_id = ms.stream_id AND st.status = 'active'
          CROSS JOIN unnest(ARRAY['mt1', 'midterm', 'mt2', 'exam']) AS a(key)
          WHERE ms.tenant_id = $1 AND ms.term_id = $3",
    )
    .bind(tenant)
    .bind(teacher)
    .bind(term)
    .execute(db)
    .await
    .unwrap();
    let admin = app.login_as(Some(slug), "admin").await;
    let r = admin.server_fn("admin/results/publish", &[("term", &term.to_string()), ("level", &level.to_string())]).await;
    assert_eq!(r.status().as_u16(), 200, "publish: {}", r.text().await.unwrap());
    (term, level, stream, child)
}

pub(crate) async fn request(b: &Browser, term: Uuid, level: Uuid, stream: Option<Uuid>) -> (u16, Value) {
    let (t, l, s) = (term.to_string(), level.to_string(), stream.map(|s| s.to_string()).unwrap_or_default());
    let r = b.server_fn("admin/cards/request", &[("term", &t), ("level", &l), ("stream", &s)]).await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn batch(app: &TestApp, id: Uuid) -> (String, i32, i32, i32) {
    sqlx::query_as("SELECT status, total, done, failed FROM report_card_batches WHERE id = $1")
        .bind(id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

pub(crate) async fn bytes(b: &Browser, path: &str) -> (u16, String, Vec<u8>) {
    let r = b.get(path).await;
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_class_is_printed_resumed_after_a_kill_downloaded_and_verified() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let (term, level, stream, child) = published_class(&app, KHSS).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let worker = app.worker();

    // A class not published yet: refused with the reason.
    let other_level: Uuid = sqlx::query_scalar("SELECT id FROM levels WHERE tenant_id = $1 AND id <> $2 LIMIT 1")
        .bind(tenant_of(&app, KHSS).await)
        .bind(level)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let (status, body) = request(&admin, term, other_level, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("cards-error-not-published"), "{body}");
    // A teacher may not print.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(request(&teacher, term, level, None).await.0, 403);

    let (status, body) = request(&admin, term, level, None).await;
    assert_eq!(status, 200, "{body}");
    let first: Uuid = serde_json::from_value(body).unwrap();
    let (_, total, ..) = batch(&app, first).await;
    assert!(total > 20, "the whole class: {total}");
    // A second request while it is open: refused.
    let (status, body) = request(&admin, term, level, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("cards-error-batch-open"));
    let (status, html) = admin.get_text("/admin/cards").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="batch-progress""#) && html.contains(r#"data-status="queued""#), "{html}");

    // The worker is killed after a few cards; the restarted one finishes without redoing them.
    let printing = tokio::spawn({
        let printer = worker.printer.clone();
        let tenant = kilele::tenancy::TenantId(tenant_of(&app, KHSS).await);
        async move { server::cards::job::print_batch(&printer, tenant, first).await.map_err(|e| e.to_string()) }
    });
    let mut before_kill = Vec::new();
    for _ in 0..600 {
        before_kill = sqlx::query_as::<_, (Uuid, Uuid, chrono::DateTime<chrono::Utc>)>(
            "SELECT id, student_id, generated_at FROM report_cards WHERE batch_id = $1 ORDER BY id",
        )
        .bind(first)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
        if before_kill.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    printing.abort();
    let _ = printing.await;
    assert!(before_kill.len() >= 3, "cards were made before the kill");
    let (status, _, done, _) = batch(&app, first).await;
    assert_eq!(status, "running");
    assert!(done < total, "killed mid-batch: {done} of {total}");
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    let (status, total_after, done, failed) = batch(&app, first).await;
    assert_eq!((status.as_str(), total_after, done, failed), ("done", total, total, 0));
    let per_student: Vec<i64> = sqlx::query_scalar("SELECT count(*) FROM report_cards WHERE batch_id = $1 GROUP BY student_id")
        .bind(first)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(per_student.len(), usize::try_from(total).unwrap());
    assert!(per_student.iter().all(|n| *n == 1), "no student has two cards");
    for (id, student, at) in &before_kill {
        let kept: (Uuid, chrono::DateTime<chrono::Utc>) =
            sqlx::query_as("SELECT id, generated_at FROM report_cards WHERE batch_id = $1 AND student_id = $2")
                .bind(first)
                .bind(student)
                .fetch_one(&app.owner_pool)
                .await
                .unwrap();
        assert_eq!(&kept, &(*id, *at), "a card made before the kill is not redone");
    }

    // The progress events of a finished batch: one event, then the stream ends.
    let (status, kind, events) = bytes(&admin, &format!("/admin/cards/batches/{first}/events")).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let events = String::from_utf8(events).unwrap();
    assert!(events.contains(r#""status":"Done""#) && events.contains(&format!(r#""done":{total}"#)), "{events}");

    // The ZIP: every card, each a PDF; the download is audited.
    let (status, kind, zip) = bytes(&admin, &format!("/admin/cards/batches/{first}/cards.zip")).await;
    assert_eq!((status, kind.as_str()), (200, "application/zip"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), usize::try_from(total).unwrap());
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut head = [0u8; 5];
        std::io::Read::read_exact(&mut f, &mut head).unwrap();
        assert_eq!(&head, b"%PDF-", "entry {i}");
    }
    let audited: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq")
        .bind(first.to_string())
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(audited, ["report_cards.requested", "report_cards.downloaded"]);

    // The parent: the child's card from the portal, as the page links it.
    let parent = app.login_as(Some(KHSS), "parent").await;
    let (status, html) = parent.get_text(&format!("/portal/results/{child}")).await;
    assert_eq!(status, 200);
    let (card, code): (Uuid, String) = sqlx::query_as("SELECT id, verify_code FROM report_cards WHERE batch_id = $1 AND student_id = $2")
        .bind(first)
        .bind(child)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(html.contains(&format!("/portal/cards/{card}/card.pdf")), "{html}");
    let (status, kind, pdf) = bytes(&parent, &format!("/portal/cards/{card}/card.pdf")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(!has_image(&pdf), "no logo uploaded, no image printed");
    // Another family's card in the same class: not found; nor for a teacher.
    let others: Uuid = sqlx::query_scalar("SELECT id FROM report_cards WHERE batch_id = $1 AND student_id <> $2 LIMIT 1")
        .bind(first)
        .bind(child)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(parent.get(&format!("/portal/cards/{others}/card.pdf")).await.status().as_u16(), 404);
    assert_eq!(teacher.get(&format!("/admin/cards/{card}/card.pdf")).await.status().as_u16(), 403);
    let (status, _, same) = bytes(&admin, &format!("/admin/cards/{card}/card.pdf")).await;
    assert_eq!((status, &same), (200, &pdf), "the admin gets the same file");

    // The printed code: verified on the school's address (with the PDF's hash), unknown on
    // another school's; a code nobody was given is unknown.
    let hash = hex(&Sha256::digest(&pdf));
    let (status, html) = app.browser_for_host(Some(KHSS)).get_text(&format!("/verify/{}", code.to_lowercase())).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="verify-found""#) && html.contains(&hash), "{html}");
    let (_, html) = app.browser_for_host(Some(MLPS)).get_text(&format!("/verify/{code}")).await;
    assert!(html.contains(r#"data-testid="verify-unknown""#) && !html.contains(&hash), "{html}");
    let (_, html) = app.browser_for_host(Some(KHSS)).get_text("/verify/ABCDE-FGHJK").await;
    assert!(html.contains(r#"data-testid="verify-unknown""#));
    // Walking the code space is refused: one address gets a burst of lookups, then 429 with
    // Retry-After (the page and its server function alike), and no card's details.
    let guesser = app.browser_for_host(Some(KHSS));
    let mut refused = None;
    for i in 0..=server::limits::CARD_LOOKUP_BURST {
        let resp = guesser.get(&format!("/verify/ZZZZZ-{:05}", i)).await;
        if resp.status().as_u16() == 429 {
            refused = Some(resp);
            break;
        }
    }
    let refused = refused.expect("a burst of lookups from one address is cut off");
    assert!(refused.headers().get("retry-after").is_some());
    let body = refused.text().await.unwrap();
    assert!(!body.contains(&hash) && !body.contains("verify-found"), "{body}");
    let resp = guesser.server_fn("verify/card", &[("code", code.as_str())]).await;
    assert_eq!(resp.status().as_u16(), 429, "the server function shares the limit");

    // Printed again (one stream): the portal serves the newest card only.
    app.clock.advance(chrono::Duration::minutes(5));
    let (status, body) = request(&admin, term, level, Some(stream)).await;
    assert_eq!(status, 200, "{body}");
    let second: Uuid = serde_json::from_value(body).unwrap();
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    assert_eq!(batch(&app, second).await.0, "done");
    let newest: Uuid = sqlx::query_scalar("SELECT id FROM report_cards WHERE batch_id = $1 AND student_id = $2")
        .bind(second)
        .bind(child)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(parent.get(&format!("/portal/cards/{card}/card.pdf")).await.status().as_u16(), 404, "a replaced card");
    assert_eq!(parent.get(&format!("/portal/cards/{newest}/card.pdf")).await.status().as_u16(), 200);

    // Cancelled before the worker runs: nothing printed.
    let (status, body) = request(&admin, term, level, None).await;
    assert_eq!(status, 200, "{body}");
    let third: Uuid = serde_json::from_value(body).unwrap();
    let r = admin.server_fn("admin/cards/cancel", &[("batch", &third.to_string())]).await;
    assert_eq!(r.status().as_u16(), 200);
    let r = admin.server_fn("admin/cards/cancel", &[("batch", &third.to_string())]).await;
    assert_eq!(r.status().as_u16(), 409, "already finished");
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    assert_eq!(batch(&app, third).await, ("cancelled".into(), total, 0, 0));
}

/// Whether a PDF holds an image (the card's only one is the school's logo).
fn has_image(pdf: &[u8]) -> bool {
    pdf.windows(14).any(|w| w == b"/Subtype/Image") || pdf.windows(15).any(|w| w == b"/Subtype /Image")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_batch_whose_job_gives_up_says_failed_and_carries_on_when_put_back() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let (term, level, stream, _) = published_class(&app, KHSS).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let worker = app.worker();
    // A fault outside the app: the database refuses to record cards for a while.
    for sql in [
        "CREATE FUNCTION test_refuse_cards() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$",
        "CREATE TRIGGER test_refuse_cards BEFORE INSERT ON report_cards FOR EACH ROW EXECUTE FUNCTION test_refuse_cards()",
    ] {
        sqlx::query(sql).execute(&app.owner_pool).await.unwrap();
    }
    let (status, body) = request(&admin, term, level, Some(stream)).await;
    assert_eq!(status, 200, "{body}");
    let id: Uuid = serde_json::from_value(body).unwrap();
    sqlx::query("UPDATE jobs SET max_attempts = 1 WHERE kind = 'report.cards'").execute(&app.owner_pool).await.unwrap();
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    assert_eq!(batch(&app, id).await.0, "failed", "not \"running\" for ever");

    sqlx::query("DROP TRIGGER test_refuse_cards ON report_cards").execute(&app.owner_pool).await.unwrap();
    let job: Uuid = sqlx::query_scalar("SELECT id FROM jobs WHERE kind = 'report.cards'").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(admin.server_fn("admin/jobs/retry", &[("job", &job.to_string())]).await.status().as_u16(), 200);
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    let (status, total, done, failed) = batch(&app, id).await;
    assert_eq!((status.as_str(), done, failed), ("done", total, 0), "carried on when its job ran again");
}

async fn remarks_of(app: &TestApp, student: Uuid) -> Option<(Option<i32>, Option<i32>, Option<String>, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT days_open, days_present, conduct, class_teacher_comment, head_teacher_comment FROM report_card_remarks WHERE student_id = $1",
    )
    .bind(student)
    .fetch_optional(&app.owner_pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn remarks_are_written_by_the_class_teacher_and_the_head_teacher_and_printed() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let (term, level, stream, child) = published_class(&app, KHSS).await;
    let tenant = tenant_of(&app, KHSS).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    let db = &app.owner_pool;
    // The demo teacher is the child's stream's class teacher, and no other stream's.
    sqlx::query("UPDATE streams SET class_teacher_id = NULL WHERE tenant_id = $1").bind(tenant).execute(db).await.unwrap();
    sqlx::query("UPDATE streams SET class_teacher_id = $1 WHERE id = $2").bind(teacher_id).bind(stream).execute(db).await.unwrap();
    let (other_stream, stranger): (Uuid, Uuid) = sqlx::query_as(
        "SELECT s.id, st.id FROM streams s JOIN students st ON st.tenant_id = s.tenant_id AND st.stream_id = s.id
          WHERE s.tenant_id = $1 AND s.id <> $2 AND st.status = 'active' LIMIT 1",
    )
    .bind(tenant)
    .bind(stream)
    .fetch_one(db)
    .await
    .unwrap();
    let (t, s) = (term.to_string(), stream.to_string());

    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let (_, home) = teacher.get_text("/teacher/marks").await;
    let page = format!("/teacher/remarks/{term}/{stream}");
    assert!(home.contains(&page) && !home.contains(&format!("/teacher/remarks/{term}/{other_stream}")), "{home}");
    let (status, html) = teacher.get_text(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"data-student="{child}""#)) && !html.contains(&stranger.to_string()), "{html}");
    assert!(!html.contains(r#"name="rows[0][head_comment]""#), "the head teacher's comment is not the class teacher's to write");
    let r = teacher.server_fn("remarks/sheet", &[("term", &t), ("stream", &other_stream.to_string())]).await;
    assert_eq!(r.status().as_u16(), 403, "not their stream");

    // Wrong rows: every error at once, nothing written.
    let bad = [
        ("term", t.as_str()),
        ("stream", s.as_str()),
        ("days_open", "62"),
        ("rows[0][student]", &child.to_string()),
        ("rows[0][days_present]", "63"),
        ("rows[1][student]", &stranger.to_string()),
    ];
    let r = teacher.server_fn("remarks/save", &bad).await;
    assert_eq!(r.status().as_u16(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("error-remarks-days-present") && !body.contains("error-remarks-student"), "checked as a form first: {body}");
    let bad_member = [("term", t.as_str()), ("stream", s.as_str()), ("days_open", "62"), ("rows[0][student]", &stranger.to_string())];
    let r = teacher.server_fn("remarks/save", &bad_member).await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("error-remarks-student"));
    assert_eq!(remarks_of(&app, child).await, None);

    // The class teacher's parts; a head teacher's comment they send is not kept.
    let child_id = child.to_string();
    let mine = [
        ("term", t.as_str()),
        ("stream", s.as_str()),
        ("portal", "teacher"),
        ("days_open", "62"),
        ("rows[0][student]", child_id.as_str()),
        ("rows[0][days_present]", "60"),
        ("rows[0][conduct]", " Very  good "),
        ("rows[0][class_comment]", "Works hard; keep it up."),
        ("rows[0][head_comment]", "Written by the wrong person"),
    ];
    let r = teacher.form_to_server_fn("remarks/save", &mine, &page).await;
    assert_eq!(redirect_target(&r).unwrap(), format!("{page}?saved=1"));
    assert_eq!(
        remarks_of(&app, child).await,
        Some((Some(62), Some(60), Some("Very good".into()), Some("Works hard; keep it up.".into()), None))
    );

    // The head teacher (prints cards) writes their comment; the class teacher's next save keeps it.
    let admin = app.login_as(Some(KHSS), "admin").await;
    let admin_page = format!("/admin/cards/remarks/{term}/{stream}");
    let (status, html) = admin.get_text(&admin_page).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="rows[0][head_comment]""#) && html.contains("Works hard; keep it up."), "{html}");
    let mut head = mine;
    head[2] = ("portal", "admin");
    head[8] = ("rows[0][head_comment]", "An excellent term.");
    let r = admin.form_to_server_fn("remarks/save", &head, &admin_page).await;
    assert_eq!(redirect_target(&r).unwrap(), format!("{admin_page}?saved=1"));
    let r = teacher.form_to_server_fn("remarks/save", &mine, &page).await;
    assert!(redirect_target(&r).is_some());
    assert_eq!(remarks_of(&app, child).await.unwrap().4.as_deref(), Some("An excellent term."));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'report_card.remarks.saved' AND subject = $1")
        .bind(stream.to_string())
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(audited, 3);

    // Another school's admin: not found.
    let other = app.login_as(Some(MLPS), "admin").await;
    assert_eq!(other.server_fn("remarks/sheet", &[("term", &t), ("stream", &s)]).await.status().as_u16(), 404);

    // The card's heading: saved from the report-cards page (refused too long, or by a teacher).
    let r = admin
        .form_to_server_fn("admin/cards/heading", &[("motto", "Elimu ni mwanga"), ("address", "P.O. Box 9, Moshi")], "/admin/cards")
        .await;
    assert_eq!(redirect_target(&r).unwrap(), "/admin/cards");
    let r = admin.server_fn("admin/cards/heading", &[("motto", &"x".repeat(201))]).await;
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(teacher.server_fn("admin/cards/heading", &[("motto", "x")]).await.status().as_u16(), 403);
    let (_, html) = admin.get_text("/admin/cards").await;
    assert!(html.contains(r#"value="Elimu ni mwanga""#) && html.contains(&admin_page), "{html}");

    // The logo: a picture the card cannot print is refused; a PNG is kept, shown, printed.
    let upload = |b: &Browser, bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("logo.png");
        b.client
            .post(format!("{}/admin/cards/logo", b.base))
            .header("origin", &b.origin)
            .multipart(reqwest::multipart::Form::new().part("logo", part))
            .send()
    };
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    broken.extend_from_slice(&[0; 64]);
    let r = upload(&admin, broken).await.unwrap();
    assert_eq!(redirect_target(&r).unwrap(), "/admin/cards");
    let (_, html) = admin.get_text("/admin/cards").await;
    assert!(html.contains("cards-error-logo-invalid") || html.contains("PNG or JPEG image that opens"), "{html}");
    assert_eq!(admin.get("/admin/cards/logo").await.status().as_u16(), 404, "none kept");
    let logo = include_bytes!("../../../documents/src/testdata/logo.png").to_vec();
    assert_eq!(upload(&teacher, logo.clone()).await.unwrap().status().as_u16(), 403);
    let r = upload(&admin, logo.clone()).await.unwrap();
    assert_eq!(redirect_target(&r).unwrap(), "/admin/cards");
    let r = admin.get("/admin/cards/logo").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), logo);
    assert_eq!(other.get("/admin/cards/logo").await.status().as_u16(), 404, "the other school has none");

    // The school's plan has finance: the card prints each student's fee balance (the child
    // paid before any invoice, so is in credit; the others owe nothing).
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    let today = kilele::clock::school_date(chrono::Utc::now()).to_string();
    let r = bursar
        .server_fn(
            "accountant/payments/record",
            &[("student", &child.to_string()), ("amount", "5,000"), ("channel", "cash"), ("paid_on", &today), ("once", &once())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());

    // What the worker prints for the child.
    let (status, body) = request(&admin, term, level, Some(stream)).await;
    assert_eq!(status, 200, "{body}");
    let batch: Uuid = serde_json::from_value(body).unwrap();
    let worker = app.worker();
    let mut tx = kilele::db::tenant_tx(&worker.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let work = kilele::reporting::db::start_batch(&mut tx, batch, chrono::Utc::now()).await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    let data = work.cards.iter().find(|c| c.student_id == child).unwrap();
    let code = kilele::reporting::VerifyCode::from_random([1; 7]);
    let card = server::cards::printed(data, &code, None, chrono::Utc::now());
    let fees = card.fees.as_ref().map(|f| f.amount.as_str());
    assert!(fees.is_some_and(|f| f.ends_with(": TZS 5,000")), "in credit: {fees:?}");
    let attendance = card.attendance.unwrap();
    assert_eq!((attendance.days_present, attendance.days_open), (60, 62));
    assert_eq!(card.conduct.as_deref(), Some("Very good"));
    assert_eq!(card.class_teacher_comment, "Works hard; keep it up.");
    assert_eq!(card.head_teacher_comment, "An excellent term.");
    assert_eq!((card.school.motto.as_str(), card.school.address.as_str()), ("Elimu ni mwanga", "P.O. Box 9, Moshi"));
    assert!(data.school.logo_key.as_deref().is_some_and(|k| k.starts_with(&format!("{tenant}/school/"))));
    // Printed through the worker: the card carries the logo as an image.
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    let card_id: Uuid = sqlx::query_scalar("SELECT id FROM report_cards WHERE batch_id = $1 AND student_id = $2")
        .bind(batch)
        .bind(child)
        .fetch_one(db)
        .await
        .unwrap();
    let (status, _, pdf) = bytes(&admin, &format!("/admin/cards/{card_id}/card.pdf")).await;
    assert_eq!(status, 200);
    assert!(has_image(&pdf), "the logo is in the PDF");
    let unremarked = work.cards.iter().find(|c| c.student_id != child).unwrap();
    let card = server::cards::printed(unremarked, &code, None, chrono::Utc::now());
    assert!(card.attendance.is_none() && card.conduct.is_none() && card.class_teacher_comment.is_empty());
    assert_eq!(card.fees.map(|f| f.amount).as_deref(), Some("TZS 0"));
    // Without finance in the plan, the card says where to ask instead.
    sqlx::query("UPDATE tenants SET plan_code = 'basic' WHERE id = $1").bind(tenant).execute(db).await.unwrap();
    let (status, body) = request(&admin, term, level, Some(stream)).await;
    assert_eq!(status, 200, "{body}");
    let again: Uuid = serde_json::from_value(body).unwrap();
    let mut tx = kilele::db::tenant_tx(&worker.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let work = kilele::reporting::db::start_batch(&mut tx, again, chrono::Utc::now()).await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    assert!(work.cards.iter().all(|c| c.fee_balance_minor.is_none()));
}
