//! The persistence kit seen from outside: a duplicate is a conflict (409) naming its field,
//! and nothing is written; a refused file upload shows its error on the page it returns to,
//! through the session, never through the URL.

use crate::harness::*;
use uuid::Uuid;

async fn count(app: &TestApp, sql: &str, school: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(school).fetch_one(&app.owner_pool).await.unwrap()
}

const STUDENTS: &str = "SELECT count(*) FROM students s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1";
const GUARDIANS: &str = "SELECT count(*) FROM guardians g JOIN tenants t ON t.id = g.tenant_id WHERE t.slug = $1";
const STREAMS: &str = "SELECT count(*) FROM streams s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1";
const AUDIT: &str = "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = $1";

fn form_errors(html: &str) -> Option<&str> {
    let at = html.find(r#"data-testid="form-errors""#)?;
    Some(&html[at..(at + 800).min(html.len())])
}

#[tokio::test]
async fn a_duplicate_admission_number_is_a_409_on_its_field_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let used: String = sqlx::query_scalar(
        "SELECT s.admission_no FROM students s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1 ORDER BY s.admission_no LIMIT 1",
    )
    .bind(KHSS)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let before = (count(&app, STUDENTS, KHSS).await, count(&app, GUARDIANS, KHSS).await, count(&app, AUDIT, KHSS).await);
    let form = [
        ("admission_no", used.as_str()),
        ("first_name", "Zawadi"),
        ("middle_name", ""),
        ("last_name", "Kileo"),
        ("sex", "F"),
        ("date_of_birth", "2012-05-06"),
        ("stream", ""),
        ("national_id", ""),
        ("medical_notes", ""),
        ("guardian_name", "Rehema Kileo"),
        ("guardian_relationship", "mother"),
        ("guardian_phone", "0655 111 222"),
        ("guardian_email", ""),
    ];
    let r = admin.server_fn("admin/students/add", &form).await;
    assert_eq!(r.status().as_u16(), 409, "a duplicate is a conflict");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "Conflict": { "field": "admission_no", "message": "error-admission-exists" } }));
    let after = (count(&app, STUDENTS, KHSS).await, count(&app, GUARDIANS, KHSS).await, count(&app, AUDIT, KHSS).await);
    assert_eq!(after, before, "no student, no guardian, no audit entry");

    // The same refusal posted as a plain form is a field message on the page, like any
    // validation error.
    let r = admin.form_to_server_fn("admin/students/add", &form, "/admin/students").await;
    let (_, html) = admin.get_text(&redirect_target(&r).unwrap()).await;
    assert!(form_errors(&html).unwrap_or_default().contains("already in the school"), "{html}");
}

#[tokio::test]
async fn a_duplicate_class_name_is_a_409_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (level, name): (Uuid, String) = sqlx::query_as(
        "SELECT s.level_id, s.name FROM streams s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1 ORDER BY s.name LIMIT 1",
    )
    .bind(KHSS)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let before = (count(&app, STREAMS, KHSS).await, count(&app, AUDIT, KHSS).await);
    let r = admin.server_fn("admin/classes/add-stream", &[("level_id", &level.to_string()), ("name", &name)]).await;
    assert_eq!(r.status().as_u16(), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "Conflict": { "field": "name", "message": "error-stream-exists" } }));
    assert_eq!((count(&app, STREAMS, KHSS).await, count(&app, AUDIT, KHSS).await), before);
}

#[tokio::test]
async fn a_refused_photo_shows_its_error_on_the_student_page_not_in_the_url() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let student: Uuid = sqlx::query_scalar(
        "SELECT s.id FROM students s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1 ORDER BY s.admission_no LIMIT 1",
    )
    .bind(KHSS)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let page = format!("/admin/students/{student}");
    let part = reqwest::multipart::Part::bytes(b"<svg onload=alert(1)>".to_vec()).file_name("photo.png");
    let r = admin
        .client
        .post(format!("{}{page}/photo", admin.base))
        .header("origin", &admin.origin)
        .multipart(reqwest::multipart::Form::new().part("photo", part))
        .send()
        .await
        .unwrap();
    let back = redirect_target(&r).unwrap();
    assert_eq!(back, page, "back to the student, with nothing in the URL");
    let (status, html) = admin.get_text(&back).await;
    assert_eq!(status, 200);
    assert!(form_errors(&html).unwrap_or_default().contains("Upload a photo as JPEG, PNG or WebP"), "{html}");
    // Shown once.
    let (_, html) = admin.get_text(&back).await;
    assert!(form_errors(&html).is_none(), "the error is shown once");

    // The import upload answers the same way.
    let part = reqwest::multipart::Part::bytes(Vec::new()).file_name("empty.csv");
    let r = admin
        .client
        .post(format!("{}/admin/import/upload", admin.base))
        .header("origin", &admin.origin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect_target(&r).as_deref(), Some("/admin/import"));
    let (_, html) = admin.get_text("/admin/import").await;
    assert!(form_errors(&html).unwrap_or_default().contains("The file has no students in it"), "{html}");
}

/// A typo in the constraint table would turn a duplicate back into a 500: every name in it
/// is a constraint (or unique index) the migrated schema really has.
#[tokio::test]
async fn every_mapped_constraint_exists_in_the_schema() {
    let app = spawn_app().await;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE connamespace = 'public'::regnamespace
         UNION SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    for (name, _, _) in kilele::db::CONSTRAINTS {
        assert!(names.iter().any(|n| n == name), "{name} is not in the schema");
    }
}

/// A unit of work inside another (a payment's posting inside its place in a batch of
/// payments): when the inner one fails and the outer one is then undone, everything since the
/// outer savepoint is gone — not only what came after the inner one.
#[tokio::test]
async fn an_undone_savepoint_undoes_the_savepoints_inside_it() {
    let app = spawn_app().await;
    let school: Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(KHSS).fetch_one(&app.owner_pool).await.unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(school)).await.unwrap();
    sqlx::query("CREATE TEMPORARY TABLE kept (what text) ON COMMIT DROP").execute(&mut *tx).await.unwrap();
    let insert = |what: &'static str| sqlx::query("INSERT INTO kept VALUES ($1)").bind(what);
    insert("before").execute(&mut *tx).await.unwrap();
    kilele::db::savepoint(&mut tx).await.unwrap();
    insert("outer").execute(&mut *tx).await.unwrap();
    kilele::db::savepoint(&mut tx).await.unwrap();
    insert("inner").execute(&mut *tx).await.unwrap();
    let inner: Result<(), kilele::DomainError> = Err(kilele::DomainError::Internal("the posting failed".into()));
    assert!(kilele::db::end_savepoint(&mut tx, inner).await.is_err());
    let outer: Result<(), kilele::DomainError> = Err(kilele::DomainError::Internal("so its payment fails".into()));
    assert!(kilele::db::end_savepoint(&mut tx, outer).await.is_err());
    let rows: Vec<String> = sqlx::query_scalar("SELECT what FROM kept").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(rows, ["before"]);
    // And a kept one is released whole.
    kilele::db::savepoint(&mut tx).await.unwrap();
    insert("kept").execute(&mut *tx).await.unwrap();
    kilele::db::end_savepoint(&mut tx, Ok::<_, kilele::DomainError>(())).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT what FROM kept ORDER BY what").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(rows, ["before", "kept"]);
    tx.rollback().await.unwrap();
}
