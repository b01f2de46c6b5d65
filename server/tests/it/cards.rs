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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
