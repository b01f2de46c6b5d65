//! Student import from a spreadsheet: preview with per-row errors, all-or-nothing commit,
//! export back, and the measurement of 2,000 rows.

use crate::harness::*;
use kilele::academic::import::{self, GuardianRow, Relationship, Sex, StudentRow};
use kilele::academic::AdmissionNo;
use kilele::identity::Phone;
use std::time::Instant;

fn rows(n: usize) -> Vec<StudentRow> {
    let classes = ["Form 1A", "Form 1B", "Form 2A", "Form 2B", "Form 3A", "Form 3B", "Form 4A", "Form 4B"];
    (0..n)
        .map(|i| {
            // Every tenth student is a sibling of the one before (same guardian phone).
            let family = if i % 10 == 9 { i - 1 } else { i };
            StudentRow {
                line: i + 2,
                admission_no: AdmissionNo::parse(&format!("IMP/2026/{:05}", i + 1)).unwrap(),
                first_name: ["Amani", "Neema", "Baraka", "Rehema"][i % 4].into(),
                middle_name: Some("Juma".into()),
                last_name: format!("Mtihani{}", family),
                sex: if i % 2 == 0 { Sex::F } else { Sex::M },
                date_of_birth: chrono::NaiveDate::from_ymd_opt(2011, 1 + (i % 12) as u32, 1 + (i % 28) as u32),
                class_name: classes[i % classes.len()].into(),
                guardians: vec![GuardianRow {
                    name: format!("Mama Mtihani{family}"),
                    relationship: Relationship::Mother,
                    phone: Phone::parse(&format!("0689{:06}", family)).unwrap(),
                    email: None,
                    receives_sms: true,
                }],
            }
        })
        .collect()
}

async fn upload(b: &Browser, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    b.client.post(format!("{}/admin/import/upload", b.base)).header("origin", &b.origin).multipart(form).send().await.unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *tx).await.unwrap()
}

#[tokio::test]
async fn two_thousand_rows_import_all_or_nothing_and_export_back() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let xlsx = import::write_xlsx(&rows(2000)).unwrap();

    let started = Instant::now();
    let r = upload(&b, "students.xlsx", xlsx).await;
    let to = redirect_target(&r).unwrap();
    assert!(to.starts_with("/admin/import?upload="), "{to}");
    let (status, html) = b.get_text(&to).await;
    let previewed = started.elapsed();
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="import-ready""#), "clean file is ready");
    assert!(html.contains("2000 rows ready, 0 problems"));
    assert_eq!(count(&app, "SELECT count(*) FROM students").await, 400, "preview writes nothing");

    let upload_id = to.trim_start_matches("/admin/import?upload=").to_owned();
    let started = Instant::now();
    let r = b.form_to_server_fn("admin/import/commit", &[("upload_id", &upload_id)], &to).await;
    let committed = started.elapsed();
    assert_eq!(r.status().as_u16(), 302);
    let (_, html) = b.get_text(&to).await;
    assert!(html.contains("2000 students imported"), "{}", &html[html.len().saturating_sub(3000)..]);
    eprintln!("MEASURE import 2000 rows (xlsx): upload+check+preview {previewed:?}, commit {committed:?}");

    assert_eq!(count(&app, "SELECT count(*) FROM students").await, 2400);
    assert_eq!(
        count(&app, "SELECT count(*) FROM enrolments e JOIN students s ON s.id = e.student_id WHERE s.admission_no LIKE 'IMP/%'").await,
        2000
    );
    // Siblings share one guardian record.
    assert_eq!(count(&app, "SELECT count(*) FROM guardians WHERE full_name LIKE 'Mama Mtihani%'").await, 1800);
    assert_eq!(
        count(&app, "SELECT count(*) FROM student_guardians sg JOIN students s ON s.id = sg.student_id WHERE s.admission_no LIKE 'IMP/%'")
            .await,
        2000
    );
    assert_eq!(count(&app, "SELECT count(*) FROM audit_log WHERE action = 'students.imported'").await, 1);
    // The upload's content is gone once imported.
    assert_eq!(count(&app, "SELECT count(*) FROM import_uploads WHERE content_enc IS NOT NULL").await, 0);
    // Confirming twice imports nothing more.
    let r = b.form_to_server_fn("admin/import/commit", &[("upload_id", &upload_id)], &to).await;
    assert!(b.form_errors_after(&r).await.is_some(), "confirming twice is refused");
    assert_eq!(count(&app, "SELECT count(*) FROM students").await, 2400);

    // Export: every active student, re-readable as an import file.
    let r = b.get("/admin/students/export.xlsx").await;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let exported = import::read(import::FileKind::Xlsx, &bytes).unwrap();
    assert_eq!(exported.len(), 2400);
    let csv = b.get("/admin/students/export.csv").await.text().await.unwrap();
    assert!(csv.contains("IMP/2026/02000") && csv.contains("+255689000000"));
}

#[tokio::test]
async fn a_bad_file_shows_every_rows_errors_and_writes_nothing() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let csv = "admission_no,first_name,last_name,sex,class,guardian1_name,guardian1_phone\n\
               NEW/1,Asha,Mushi,F,Form 2A,Mama Asha,0712345678\n\
               NEW/2,Juma,Swai,M,Form 9Z,Baba Juma,0712345679\n\
               NEW/1,Rehema,Kimaro,F,Form 1A,Mama Rehema,12345\n\
               KHSS/2026/0001,Neema,Temba,X,Form 1B,Mama Neema,0712345670\n";
    let r = upload(&b, "students.csv", csv.as_bytes().to_vec()).await;
    let to = redirect_target(&r).unwrap();
    let (_, html) = b.get_text(&to).await;
    assert!(html.contains(r#"data-testid="import-errors""#));
    for expected in [
        "There is no such class in the school",
        "Enter a Tanzanian mobile number",
        "also used on another row",
        "already in the school",
        "Sex must be F",
        "Nothing has been imported",
    ] {
        assert!(html.contains(expected), "preview lacks {expected:?}");
    }
    assert!(!html.contains(r#"action="/api/admin/import/commit""#), "no confirm button when there are errors");
    // Forcing the commit anyway is refused and writes nothing.
    let upload_id = to.trim_start_matches("/admin/import?upload=");
    let r = b.form_to_server_fn("admin/import/commit", &[("upload_id", upload_id)], &to).await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("nothing was imported"));
    assert_eq!(count(&app, "SELECT count(*) FROM students").await, 400);

    // Not a spreadsheet, or no required column: a clear message.
    let r = upload(&b, "photo.png", vec![0x89, b'P', b'N', b'G', 0, 1, 2]).await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("not a spreadsheet Kilele can read"));
    let r = upload(&b, "x.csv", b"first_name,last_name\nA,B\n".to_vec()).await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains(r#"data-testid="file-error""#) && html.contains("admission_no"));
}

#[tokio::test]
async fn import_is_for_this_schools_managers_only() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let r = upload(&teacher, "s.csv", b"admission_no\n".to_vec()).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(teacher.get("/admin/students/export.csv").await.status().as_u16(), 403);
    assert_eq!(teacher.get("/admin/import").await.status().as_u16(), 403);
    // An upload of school A can never be previewed or committed from school B.
    let a = app.login_as(Some(KHSS), "admin").await;
    let csv = "admission_no,first_name,last_name,sex,class,guardian1_name,guardian1_phone\nX/1,Asha,Mushi,F,Form 2A,Mama,0712345678\n";
    let to = redirect_target(&upload(&a, "s.csv", csv.as_bytes().to_vec()).await).unwrap();
    let id = to.trim_start_matches("/admin/import?upload=").to_owned();
    let form = [("upload_id", id.as_str())];
    for path in ["/api/admin/import/preview", "/api/admin/import/commit", "/admin/import/upload"] {
        assert_cross_tenant_refused(
            &app,
            MLPS,
            "admin",
            KHSS,
            CrossTenantRequest { method: reqwest::Method::POST, path, form: &form },
            "Asha",
        )
        .await;
    }
    for path in ["/admin/import", "/admin/students/export.csv", "/admin/students/export.xlsx", "/admin/import/template.csv"] {
        assert_cross_tenant_refused(
            &app,
            MLPS,
            "admin",
            KHSS,
            CrossTenantRequest { method: reqwest::Method::GET, path, form: &[] },
            "KHSS/",
        )
        .await;
    }
    // And from school B's own host with B's session, A's upload id is simply not found.
    let b = app.login_as(Some(MLPS), "admin").await;
    let body = b.server_fn("admin/import/preview", &form).await.text().await.unwrap();
    assert!(body.contains("NotFound") && !body.contains("Asha"), "{body}");
}
