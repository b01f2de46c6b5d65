//! Bulk upload of a mark sheet from CSV or XLSX: a file with bad rows lists every error with
//! its line and column and writes nothing; a clean file is previewed (old → new), then saved
//! in one audited save; a change made by someone else between the preview and the commit is
//! a conflict and nothing is written; another teacher's sheet, another user's upload and an
//! expired upload are refused.

use crate::harness::*;
use crate::results::{cell, marks_count, save, sheet, teachers_first_sheet, tenant_of, user_id};
use reqwest::header::ORIGIN;
use serde_json::{json, Value};
use uuid::Uuid;

struct Sheet {
    tenant: Uuid,
    term: Uuid,
    stream: Uuid,
    subject: Uuid,
    /// The teacher's page of the sheet.
    page: String,
    /// The grid's rows (student_id, admission_no, name, entries).
    rows: Vec<Value>,
}

async fn teachers_sheet(app: &TestApp) -> (Browser, Sheet) {
    let tenant = tenant_of(app, KHSS).await;
    let teacher_id = user_id(app, &format!("teacher@{KHSS}.test")).await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let (term, stream, subject) = teachers_first_sheet(app, tenant, teacher_id).await;
    let (status, view) = sheet(&teacher, term, stream, subject).await;
    assert_eq!(status, 200, "{view}");
    let rows = view["rows"].as_array().unwrap().clone();
    assert!(rows.len() >= 10);
    let page = format!("/teacher/marks/{term}/{stream}/{subject}");
    (teacher, Sheet { tenant, term, stream, subject, page, rows })
}

async fn upload(b: &Browser, page: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    b.client.post(format!("{}{page}/upload", b.base)).header(ORIGIN, &b.origin).multipart(form).send().await.unwrap()
}

/// Uploads a file and opens its preview: (preview path, upload id, page).
async fn upload_preview(b: &Browser, page: &str, name: &str, bytes: Vec<u8>) -> (String, Uuid, String) {
    let r = upload(b, page, name, bytes).await;
    let to = redirect_target(&r).unwrap_or_else(|| panic!("the upload answered {}", r.status()));
    let prefix = format!("{page}/upload/");
    assert!(to.starts_with(&prefix), "sent to {to}");
    let id = to[prefix.len()..].parse().unwrap();
    let (status, html) = b.get_text(&to).await;
    assert_eq!(status, 200, "{html}");
    (to, id, html)
}

async fn commit_json(b: &Browser, id: Uuid) -> (u16, String) {
    let r = b.server_fn("results/upload/commit", &[("upload", &id.to_string())]).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `marks.saved` entries of the school's audit log.
async fn saves(app: &TestApp, tenant: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'marks.saved'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

async fn last_save(app: &TestApp, tenant: Uuid) -> Value {
    sqlx::query_scalar("SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'marks.saved' ORDER BY seq DESC LIMIT 1")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

fn adm(row: &Value) -> &str {
    row["admission_no"].as_str().unwrap()
}

/// The stored text of a student's entry (`index` in the set: mt1, midterm, mt2, exam).
async fn entry(b: &Browser, s: &Sheet, student: &Value, index: usize) -> Value {
    let (_, view) = sheet(b, s.term, s.stream, s.subject).await;
    let row = view["rows"].as_array().unwrap().iter().find(|r| &r["student_id"] == student).unwrap().clone();
    row["entries"][index]["text"].clone()
}

#[tokio::test]
async fn a_csv_with_bad_rows_lists_every_error_with_its_line_and_column_and_writes_nothing() {
    let app = spawn_app().await;
    let (teacher, s) = teachers_sheet(&app).await;
    let (a, b) = (adm(&s.rows[0]), adm(&s.rows[1]));
    let csv = format!(
        "admission_no,name,mt1,Midterm,total,exam\n\
         {a},Row two,101,x,,50\n\
         NOPE/404,Row three,50,,,\n\
         {a},Row four,,,,60\n\
         ,Row five,40,,,\n\
         {b},Row six,70,,,,stray\n"
    );
    let (preview, id, html) = upload_preview(&teacher, &s.page, "marks.csv", csv.into_bytes()).await;
    assert!(html.contains(r#"data-testid="upload-errors""#), "{html}");
    for (line, column, text) in [
        (1, "E", "Kilele does not know this column"),
        (2, "C", "The mark must be between 0 and the paper"),
        (2, "D", "A mark is a number like 67 or 67.5"),
        (3, "A", "No student of this class has this admission number"),
        (4, "A", "This student is on an earlier row too"),
        (5, "A", "This row has marks but no admission number"),
        (6, "G", "There is a value in a column without a name"),
    ] {
        assert!(html.contains(&format!(r#"data-line="{line}" data-column="{column}""#)), "line {line} column {column}: {html}");
        assert!(html.contains(text), "{text}");
    }
    assert_eq!(html.matches("data-line=").count(), 7, "every error, and only those");
    assert!(!html.contains(r#"data-testid="upload-confirm""#), "nothing to confirm");
    assert_eq!(marks_count(&app, s.tenant).await, 0, "checking writes no mark");
    // Confirming anyway is refused; still nothing written.
    let (status, body) = commit_json(&teacher, id).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("results-upload-has-errors"), "{body}");
    assert_eq!(marks_count(&app, s.tenant).await, 0);
    assert_eq!(saves(&app, s.tenant).await, 0);

    // A file without an admission_no column, and one that is no spreadsheet.
    let (_, _, html) = upload_preview(&teacher, &s.page, "marks.csv", b"name,mt1\nAsha,50\n".to_vec()).await;
    assert!(html.contains(r#"data-line="1""#) && html.contains("The file has no admission_no column"), "{html}");
    let r = upload(&teacher, &s.page, "marks.pdf", b"%PDF-1.4 not marks".to_vec()).await;
    assert_eq!(redirect_target(&r).as_deref(), Some(s.page.as_str()), "refused back to the sheet");
    let errors = teacher.form_errors_after(&r).await.expect("the refusal is shown on the sheet");
    assert!(errors.contains("This file is not a spreadsheet Kilele can read"), "{errors}");

    // Uploads expire after a day (the session too: sign in again) and the next upload purges them.
    let kept = |app: &TestApp| {
        let pool = app.owner_pool.clone();
        let tenant = s.tenant;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM mark_uploads WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(kept(&app).await, 2);
    app.clock.advance(chrono::Duration::hours(25));
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let (status, _) = teacher.get_text(&preview).await;
    assert_eq!(status, 404, "an expired upload is gone");
    upload_preview(&teacher, &s.page, "marks.csv", format!("admission_no,exam\n{a},50\n").into_bytes()).await;
    assert_eq!(kept(&app).await, 1, "expired uploads are deleted");
    assert_eq!(marks_count(&app, s.tenant).await, 0);
}

#[tokio::test]
async fn a_clean_csv_is_previewed_then_saved_in_one_audited_save() {
    let app = spawn_app().await;
    let (teacher, s) = teachers_sheet(&app).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (a, b, c, d) = (&s.rows[0], &s.rows[1], &s.rows[2], &s.rows[3]);
    // An entry made in the grid before: the file repeats it (unchanged) and adds the exam.
    let (status, report) = save(&teacher, s.term, s.stream, s.subject, json!([cell(&a["student_id"], "mt1", "50", 0)]), None).await;
    assert_eq!(status, 200, "{report}");
    let before = saves(&app, s.tenant).await;
    let csv = format!(
        "\u{feff}Admission No,Name,Monthly test 1,EXAM\r\n{},Amani,50,70.5\r\n{},Bahati,abs,\r\n{},Chausiku,,61\r\n{},Daudi,,\r\n",
        adm(a),
        adm(b),
        adm(c).to_lowercase(),
        adm(d)
    );
    let (preview, id, html) = upload_preview(&teacher, &s.page, "marks.csv", csv.into_bytes()).await;
    assert!(html.contains(r#"data-testid="upload-ready""#), "{html}");
    assert!(html.contains("3 marks will change for 3 students. 1 row changes nothing."), "{html}");
    assert!(html.contains("— → 70.5") && html.contains("— → ABS") && html.contains("— → 61"), "old → new per cell");
    assert!(html.contains(&format!("{} students of the class are not in the file", s.rows.len() - 4)));
    assert!(html.contains("Save 3 marks"));
    assert_eq!(marks_count(&app, s.tenant).await, 1, "the preview writes nothing");

    // Another user (the admin, who could save this sheet) cannot open or confirm it.
    let other = format!("/admin/results/sheet/{}/{}/{}/upload/{id}", s.term, s.stream, s.subject);
    assert_eq!(admin.get_text(&other).await.0, 404);
    assert_eq!(commit_json(&admin, id).await.0, 404);

    // Confirmed as a plain form: back to the preview, which says what was saved.
    let r = teacher.form_to_server_fn("results/upload/commit", &[("upload", &id.to_string())], &preview).await;
    assert_eq!(r.status().as_u16(), 302);
    let (_, html) = teacher.get_text(&preview).await;
    assert!(html.contains(r#"data-testid="upload-saved""#) && html.contains("3 marks saved."), "{html}");
    assert_eq!(marks_count(&app, s.tenant).await, 4);
    assert_eq!(entry(&teacher, &s, &a["student_id"], 0).await, "50");
    assert_eq!(entry(&teacher, &s, &a["student_id"], 3).await, "70.5");
    assert_eq!(entry(&teacher, &s, &b["student_id"], 0).await, "ABS");
    assert_eq!(entry(&teacher, &s, &c["student_id"], 3).await, "61");
    // One audit entry, listing the changed cells and naming the upload.
    assert_eq!(saves(&app, s.tenant).await, before + 1);
    let details = last_save(&app, s.tenant).await;
    assert_eq!(details["cells"].as_array().unwrap().len(), 3, "{details}");
    assert_eq!(details["upload"]["id"], id.to_string());
    assert_eq!(details["upload"]["file"], "marks.csv");
    // The upload's marks are wiped; confirming twice saves nothing more.
    let wiped: bool = sqlx::query_scalar("SELECT checked IS NULL AND committed_at IS NOT NULL FROM mark_uploads WHERE id = $1")
        .bind(id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(wiped);
    let (status, body) = commit_json(&teacher, id).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("results-upload-already-saved"));
    assert_eq!(saves(&app, s.tenant).await, before + 1);
    // In Kiswahili too.
    teacher.post_form("/language", &[("lang", "sw"), ("next", &preview)]).await;
    let (_, html) = teacher.get_text(&preview).await;
    assert!(html.contains("Alama 3 zimehifadhiwa."), "{html}");
    // Every mark still matches the audit log.
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(s.tenant)).await.unwrap();
    assert_eq!(kilele::results::db::verify_marks(&mut tx).await.unwrap(), vec![]);
}

fn workbook(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r).unwrap(), u16::try_from(c).unwrap());
            match v {
                Value::Number(n) => sheet.write_number(r, c, n.as_f64().unwrap()).map(|_| ()).unwrap(),
                Value::String(t) => sheet.write_string(r, c, t).map(|_| ()).unwrap(),
                _ => {}
            }
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_xlsx_file_is_checked_previewed_and_saved_the_same_way() {
    let app = spawn_app().await;
    let (teacher, s) = teachers_sheet(&app).await;
    let (a, b) = (&s.rows[0], &s.rows[1]);
    let header = vec![json!("admission_no"), json!("name"), json!("mt1"), json!("midterm"), json!("mt2"), json!("exam")];

    // Numbers are marks as typed; one out of range is an error on its line and column.
    let bad = workbook(&[header.clone(), vec![json!(adm(a)), json!("Amani"), json!(120)]]);
    let (_, _, html) = upload_preview(&teacher, &s.page, "marks.xlsx", bad).await;
    assert!(html.contains(r#"data-line="2" data-column="C""#), "{html}");
    assert_eq!(marks_count(&app, s.tenant).await, 0);

    let before = saves(&app, s.tenant).await;
    let good = workbook(&[
        header,
        vec![json!(adm(a)), json!("Amani"), json!(55), json!(60.5), Value::Null, json!(72)],
        vec![json!(adm(b)), json!("Bahati"), json!(48), Value::Null, Value::Null, json!("ABS")],
    ]);
    let (preview, id, html) = upload_preview(&teacher, &s.page, "marks.xlsx", good).await;
    assert!(html.contains("5 marks will change for 2 students"), "{html}");
    let r = teacher.form_to_server_fn("results/upload/commit", &[("upload", &id.to_string())], &preview).await;
    assert_eq!(r.status().as_u16(), 302);
    let (_, html) = teacher.get_text(&preview).await;
    assert!(html.contains("5 marks saved."), "{html}");
    assert_eq!(marks_count(&app, s.tenant).await, 5);
    assert_eq!(entry(&teacher, &s, &a["student_id"], 1).await, "60.5");
    assert_eq!(entry(&teacher, &s, &a["student_id"], 3).await, "72");
    assert_eq!(entry(&teacher, &s, &b["student_id"], 3).await, "ABS");
    assert_eq!(saves(&app, s.tenant).await, before + 1, "one audited save");
}

#[tokio::test]
async fn a_change_made_between_the_preview_and_the_commit_is_a_conflict_and_nothing_is_written() {
    let app = spawn_app().await;
    let (teacher, s) = teachers_sheet(&app).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (a, b) = (&s.rows[0], &s.rows[1]);
    let csv = format!("admission_no,exam\n{},60\n{},61\n", adm(a), adm(b));
    let (preview, id, html) = upload_preview(&teacher, &s.page, "marks.csv", csv.into_bytes()).await;
    assert!(html.contains("Save 2 marks"), "{html}");
    teacher.post_form("/language", &[("lang", "sw"), ("next", &preview)]).await;
    let (_, html) = teacher.get_text(&preview).await;
    assert!(html.contains("Alama 2 zitabadilika kwa wanafunzi 2. Mistari 0 haibadilishi chochote."), "{html}");
    assert!(html.contains("Hifadhi alama 2"));
    teacher.post_form("/language", &[("lang", "en"), ("next", &preview)]).await;

    // Meanwhile the admin enters a's exam in the grid.
    let (status, report) = save(&admin, s.term, s.stream, s.subject, json!([cell(&a["student_id"], "exam", "99", 0)]), None).await;
    assert_eq!(status, 200, "{report}");
    let before = saves(&app, s.tenant).await;

    let r = teacher.form_to_server_fn("results/upload/commit", &[("upload", &id.to_string())], &preview).await;
    assert_eq!(r.status().as_u16(), 302);
    let (_, html) = teacher.get_text(&preview).await;
    assert!(html.contains(r#"data-testid="upload-conflicts""#), "{html}");
    let admin_name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE email = $1")
        .bind(format!("admin@{KHSS}.test"))
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(html.contains(adm(a)) && html.contains("99") && html.contains(&admin_name), "which cell, what is stored, who: {html}");
    // Nothing of the file was written: b's exam is still empty, a's is the admin's.
    assert_eq!(entry(&teacher, &s, &a["student_id"], 3).await, "99");
    assert_eq!(entry(&teacher, &s, &b["student_id"], 3).await, Value::Null);
    assert_eq!(marks_count(&app, s.tenant).await, 1);
    assert_eq!(saves(&app, s.tenant).await, before);
    // The stale preview cannot be confirmed again: upload the file again.
    let (status, body) = commit_json(&teacher, id).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("results-upload-stale"));
    let (_, id, html) =
        upload_preview(&teacher, &s.page, "marks.csv", format!("admission_no,exam\n{},60\n{},61\n", adm(a), adm(b)).into_bytes()).await;
    assert!(html.contains("99 → 60"), "the new preview shows the admin's mark being replaced: {html}");
    let (status, body) = commit_json(&teacher, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(marks_count(&app, s.tenant).await, 2);
}

#[tokio::test]
async fn another_teachers_sheet_and_another_schools_are_refused() {
    let app = spawn_app().await;
    let (teacher, s) = teachers_sheet(&app).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    let (stream, subject): (Uuid, Uuid) = sqlx::query_as(
        "SELECT ta.stream_id, ta.subject_id FROM teacher_allocations ta WHERE ta.tenant_id = $1 AND ta.teacher_id <> $2 LIMIT 1",
    )
    .bind(s.tenant)
    .bind(teacher_id)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let theirs: String = sqlx::query_scalar("SELECT admission_no FROM students WHERE stream_id = $1 AND status = 'active' LIMIT 1")
        .bind(stream)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let page = format!("/teacher/marks/{}/{stream}/{subject}", s.term);
    let r = upload(&teacher, &page, "marks.csv", format!("admission_no,exam\n{theirs},50\n").into_bytes()).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(teacher.get_text(&format!("{page}/template.csv")).await.0, 403);

    // Another school's sheet is not found.
    let mlps: (Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT t.id, ta.stream_id, ta.subject_id FROM terms t
           JOIN teacher_allocations ta ON ta.tenant_id = t.tenant_id AND ta.academic_year_id = t.academic_year_id
           JOIN tenants x ON x.id = t.tenant_id
          WHERE x.slug = $1 AND t.is_current LIMIT 1",
    )
    .bind(MLPS)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let page = format!("/teacher/marks/{}/{}/{}", mlps.0, mlps.1, mlps.2);
    let r = upload(&teacher, &page, "marks.csv", format!("admission_no,exam\n{theirs},50\n").into_bytes()).await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(teacher.get_text(&format!("{page}/template.csv")).await.0, 404);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM mark_uploads").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(kept, 0, "nothing kept for a refused upload");

    // The teacher's own template: the stream's students and a blank column per assessment.
    let r = teacher.get(&format!("{}/template.csv", s.page)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("\u{feff}admission_no,name,mt1,midterm,mt2,exam"));
    assert_eq!(csv.lines().count(), s.rows.len() + 1);
    assert!(csv.contains(&format!("{},", adm(&s.rows[0]))) && csv.contains(",,,,\n"));
    // It uploads as it is: a file of blanks changes nothing.
    let (_, _, html) = upload_preview(&teacher, &s.page, "template.csv", csv.into_bytes()).await;
    assert!(html.contains("The file has no marks in it"), "{html}");
}
