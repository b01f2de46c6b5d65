//! Results: marks entry (checks, all or nothing, revisions), the workflow, publishing, the
//! parent's view, amending approved marks (flag + audit), tamper scoring, the audit
//! cross-check of mark rows, the broadsheet and its XLSX.

use crate::harness::*;
use reqwest::header::ORIGIN;
use serde_json::{json, Value};
use uuid::Uuid;

pub(crate) async fn tenant_of(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(slug).fetch_one(&app.owner_pool).await.unwrap()
}

pub(crate) async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email).fetch_one(&app.owner_pool).await.unwrap()
}

/// Posts the grid's save as the island does (JSON).
pub(crate) async fn save(b: &Browser, term: Uuid, stream: Uuid, subject: Uuid, cells: Value, reason: Option<&str>) -> (u16, Value) {
    let r = b
        .client
        .post(format!("{}/api/results/save", b.base))
        .header(ORIGIN, &b.origin)
        .header("accept", "application/json")
        .json(&json!({ "term": term, "stream": stream, "subject": subject, "cells": cells, "reason": reason }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub(crate) async fn sheet(b: &Browser, term: Uuid, stream: Uuid, subject: Uuid) -> (u16, Value) {
    let r = b
        .server_fn("results/sheet", &[("term", &term.to_string()), ("stream", &stream.to_string()), ("subject", &subject.to_string())])
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn step(b: &Browser, term: Uuid, stream: Uuid, subject: Uuid, step: &str, comment: Option<&str>) -> (u16, String) {
    let (t, s, j) = (term.to_string(), stream.to_string(), subject.to_string());
    let mut form = vec![("term", t.as_str()), ("stream", s.as_str()), ("subject", j.as_str()), ("step", step)];
    if let Some(c) = comment {
        form.push(("comment", c));
    }
    let r = b.server_fn("results/step", &form).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn publish(b: &Browser, term: Uuid, level: Uuid) -> (u16, String) {
    let r = b.server_fn("admin/results/publish", &[("term", &term.to_string()), ("level", &level.to_string())]).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

pub(crate) fn cell(student: &Value, assessment: &str, value: &str, base: i64) -> Value {
    json!({ "student": student, "assessment": assessment, "value": value, "base_revision": base })
}

pub(crate) async fn marks_count(app: &TestApp, tenant: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM marks WHERE tenant_id = $1").bind(tenant).fetch_one(&app.owner_pool).await.unwrap()
}

/// The current term, and the teacher's first sheet (stream, subject).
pub(crate) async fn teachers_first_sheet(app: &TestApp, tenant: Uuid, teacher: Uuid) -> (Uuid, Uuid, Uuid) {
    let r: (Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT t.id, ta.stream_id, ta.subject_id FROM terms t
           JOIN teacher_allocations ta ON ta.tenant_id = t.tenant_id AND ta.academic_year_id = t.academic_year_id
           JOIN streams s ON s.id = ta.stream_id JOIN levels l ON l.id = s.level_id
          WHERE t.tenant_id = $1 AND t.is_current AND ta.teacher_id = $2 ORDER BY l.ordinal, s.name LIMIT 1",
    )
    .bind(tenant)
    .bind(teacher)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    r
}

#[tokio::test]
async fn a_teacher_enters_marks_checked_all_or_nothing_without_overwriting_anyone() {
    let app = spawn_app().await;
    let tenant = tenant_of(&app, KHSS).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let (term, stream, subject) = teachers_first_sheet(&app, tenant, teacher_id).await;

    // The list of sheets and the grid page.
    let (status, html) = teacher.get_text("/teacher/marks").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="my-sheets""#), "{html}");
    let page = format!("/teacher/marks/{term}/{stream}/{subject}");
    assert!(html.contains(&page), "the list links the sheet");
    let (status, html) = teacher.get_text(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="marks-grid""#));

    let (status, view) = sheet(&teacher, term, stream, subject).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["can_edit"], true);
    let rows = view["rows"].as_array().unwrap().clone();
    assert!(rows.len() >= 40, "a stream of the demo school");
    let (a, b) = (&rows[0]["student_id"], &rows[1]["student_id"]);

    // Two entries: saved at revision 1, one audit entry listing both.
    let (status, report) = save(&teacher, term, stream, subject, json!([cell(a, "mt1", "67.5", 0), cell(b, "mt1", "abs", 0)]), None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["saved"].as_array().unwrap().len(), 2);
    assert!(report["saved"].as_array().unwrap().iter().all(|c| c["revision"] == 1));
    assert_eq!(marks_count(&app, tenant).await, 2);
    let details: Value =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'marks.saved' ORDER BY seq DESC LIMIT 1")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(details["cells"].as_array().unwrap().len(), 2);
    assert_eq!(details["cells"][0]["new"], "67.5");
    assert_eq!(details["within_allocation"], true);

    // Typed over an old revision: a conflict naming who and what, nothing written.
    let (status, report) = save(&teacher, term, stream, subject, json!([cell(a, "mt1", "70", 0), cell(b, "mt2", "55", 0)]), None).await;
    assert_eq!(status, 200);
    assert_eq!(report["conflicts"][0]["current"], "67.5");
    assert_eq!(report["conflicts"][0]["revision"], 1);
    assert!(report["saved"].as_array().unwrap().is_empty());
    assert_eq!(marks_count(&app, tenant).await, 2, "the other cell of the batch was not written either");

    // The same value again over the old revision (a retry whose answer was lost): fine.
    let (status, report) = save(&teacher, term, stream, subject, json!([cell(a, "mt1", "67.50", 0)]), None).await;
    assert_eq!(status, 200);
    assert_eq!(report["saved"][0]["revision"], 1);

    // Out of range, not a mark, an unknown assessment, a student of another stream: 422 with
    // the cell named, nothing written.
    let other_stream_student: Uuid =
        sqlx::query_scalar("SELECT id FROM students WHERE tenant_id = $1 AND stream_id <> $2 AND status = 'active' LIMIT 1")
            .bind(tenant)
            .bind(stream)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    let outsider = json!(other_stream_student);
    let (status, body) = save(
        &teacher,
        term,
        stream,
        subject,
        json!([
            cell(b, "mt2", "55", 0),
            cell(a, "mt2", "101", 0),
            cell(a, "exam", "x", 0),
            cell(a, "nope", "1", 0),
            cell(&outsider, "mt1", "50", 0)
        ]),
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    for key in ["error-mark-out-of-range", "error-mark-invalid", "results-error-assessment-unknown", "results-error-student-not-in-stream"]
    {
        assert!(text.contains(key), "{key} in {text}");
    }
    assert!(text.contains(&format!("cell:{}:mt2", a.as_str().unwrap())), "the cell is named: {text}");
    assert_eq!(marks_count(&app, tenant).await, 2, "nothing of a refused save is written");

    // Clearing an entry deletes it (audited).
    let (status, report) = save(&teacher, term, stream, subject, json!([cell(b, "mt1", "", 1)]), None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["saved"][0]["revision"], 0);
    assert_eq!(marks_count(&app, tenant).await, 1);

    // Not the teacher's allocation: refused.
    let not_mine: (Uuid, Uuid) = sqlx::query_as(
        "SELECT ta.stream_id, ta.subject_id FROM teacher_allocations ta WHERE ta.tenant_id = $1 AND ta.teacher_id <> $2 LIMIT 1",
    )
    .bind(tenant)
    .bind(teacher_id)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let (status, _) = save(&teacher, term, not_mine.0, not_mine.1, json!([cell(a, "mt1", "50", 0)]), None).await;
    assert_eq!(status, 403);
    let (status, _) = sheet(&teacher, term, not_mine.0, not_mine.1).await;
    assert_eq!(status, 403);

    // Submitting an incomplete sheet is refused with the reason.
    let (status, body) = step(&teacher, term, stream, subject, "submit", None).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("results-error-incomplete"));
}

/// Fills every sheet of a level with marks that depend on the student's place and the
/// subject, as its (reassigned) teacher.
async fn fill_level(teacher: &Browser, term: Uuid, sheets: &[(Uuid, Uuid)]) {
    for (si, (stream, subject)) in sheets.iter().enumerate() {
        let (status, view) = sheet(teacher, term, *stream, *subject).await;
        assert_eq!(status, 200, "{view}");
        let keys: Vec<String> =
            view["assessments"]["assessments"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap().to_owned()).collect();
        let mut cells = Vec::new();
        for (ri, row) in view["rows"].as_array().unwrap().iter().enumerate() {
            for (ki, key) in keys.iter().enumerate() {
                let mark = 20 + (ri * 7 + si * 11 + ki * 3) % 80;
                cells.push(cell(&row["student_id"], key, &mark.to_string(), 0));
            }
        }
        let (status, report) = save(teacher, term, *stream, *subject, Value::Array(cells), None).await;
        assert_eq!(status, 200, "{report}");
        assert!(report["conflicts"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn submitted_returned_approved_published_then_seen_by_the_parent_and_amended_with_a_flag() {
    let app = spawn_app().await;
    let tenant = tenant_of(&app, KHSS).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    // The demo parent's child and its class (level).
    let (child, level): (Uuid, Uuid) = sqlx::query_as(
        "SELECT st.id, s.level_id FROM students st
           JOIN streams s ON s.id = st.stream_id
           JOIN student_guardians sg ON sg.student_id = st.id
           JOIN guardians g ON g.id = sg.guardian_id
           JOIN users u ON u.id = g.user_id
          WHERE u.email = $1 ORDER BY st.admission_no LIMIT 1",
    )
    .bind(format!("parent@{KHSS}.test"))
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let term: Uuid = sqlx::query_scalar("SELECT id FROM terms WHERE tenant_id = $1 AND is_current")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    // Set-up: the demo teacher teaches every subject of the class (the other teachers have
    // not accepted their invitations, so nobody could sign in as them).
    sqlx::query(
        "UPDATE teacher_allocations ta SET teacher_id = $2 FROM streams s
          WHERE ta.tenant_id = $1 AND s.id = ta.stream_id AND s.level_id = $3",
    )
    .bind(tenant)
    .bind(teacher_id)
    .bind(level)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let sheets: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT ta.stream_id, ta.subject_id FROM teacher_allocations ta JOIN streams s ON s.id = ta.stream_id
          WHERE ta.tenant_id = $1 AND s.level_id = $2 ORDER BY s.name, ta.subject_id",
    )
    .bind(tenant)
    .bind(level)
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert!(sheets.len() >= 10);
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let parent = app.login_as(Some(KHSS), "parent").await;

    fill_level(&teacher, term, &sheets).await;
    // Nothing published yet: the parent sees an empty state.
    let (status, html) = parent.get_text(&format!("/portal/results/{child}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="no-results""#));

    for (stream, subject) in &sheets {
        let (status, body) = step(&teacher, term, *stream, *subject, "submit", None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (first_stream, first_subject) = sheets[0];
    // Submitted: the teacher can no longer type.
    let (_, view) = sheet(&teacher, term, first_stream, first_subject).await;
    let a = view["rows"][0]["student_id"].clone();
    let (status, body) = save(&teacher, term, first_stream, first_subject, json!([cell(&a, "mt1", "1", 1)]), None).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("results-error-sheet-submitted"));
    // The teacher cannot approve; the admin returns one with a comment, which the teacher sees.
    assert_eq!(step(&teacher, term, first_stream, first_subject, "approve", None).await.0, 403);
    let (status, body) = step(&admin, term, first_stream, first_subject, "return", None).await;
    assert_eq!(status, 422, "a return needs a comment: {body}");
    let (status, _) = step(&admin, term, first_stream, first_subject, "return", Some("Check the midterm of row 1")).await;
    assert_eq!(status, 200);
    let (_, html) = teacher.get_text("/teacher/marks").await;
    assert!(html.contains("Check the midterm of row 1"), "the returned comment shows in the teacher's list");
    let rev = view["rows"][0]["entries"][1]["revision"].as_i64().unwrap();
    let (status, body) = save(&teacher, term, first_stream, first_subject, json!([cell(&a, "midterm", "64", rev)]), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(step(&teacher, term, first_stream, first_subject, "submit", None).await.0, 200);

    // Publishing before every sheet is approved: refused.
    let (status, body) = publish(&admin, term, level).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("results-error-not-all-approved"));
    for (stream, subject) in &sheets {
        let (status, body) = step(&admin, term, *stream, *subject, "approve", None).await;
        assert_eq!(status, 200, "{body}");
    }
    // The broadsheet and its workbook.
    let (status, html) = admin.get_text(&format!("/admin/results/{term}/{level}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="broadsheet""#) && html.contains(r#"data-testid="division-summary""#));
    let r = admin.get(&format!("/admin/results/{term}/{level}/broadsheet.xlsx")).await;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap();
    let names = String::from_utf8_lossy(&bytes);
    assert!(bytes.starts_with(b"PK") && names.contains("xl/worksheets/sheet3.xml"), "a workbook of three sheets");
    // The teacher cannot publish; the admin does.
    assert_eq!(publish(&teacher, term, level).await.0, 403);
    let (status, body) = publish(&admin, term, level).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(publish(&admin, term, level).await.0, 409, "published once");
    let frozen: bool = sqlx::query_scalar(
        "SELECT gs.frozen FROM result_publications rp JOIN grading_schemes gs ON gs.id = rp.scheme_id WHERE rp.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert!(frozen, "the scheme of published results is frozen");
    let edit = sqlx::query("UPDATE grading_schemes SET definition = '{}' WHERE tenant_id = $1").bind(tenant).execute(&app.owner_pool).await;
    assert!(edit.is_err(), "a frozen scheme cannot be changed, even behind the app's back");
    // Published: the class's scheme and assessments stay as they graded it.
    let (t, l) = (term.to_string(), level.to_string());
    let r = admin.server_fn("admin/grading/choose", &[("term", &t), ("level", &l), ("scheme", "preset:primary-psle")]).await;
    assert_eq!(r.status().as_u16(), 409, "{}", r.text().await.unwrap());
    let r = admin
        .server_fn(
            "admin/grading/assessments",
            &[
                ("term", &t),
                ("level", &l),
                ("rows[0][name]", "Exam"),
                ("rows[0][max]", "100"),
                ("rows[0][weight]", "100"),
                ("rows[0][kind]", "exam"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409, "{}", r.text().await.unwrap());
    let (status, html) = admin.get_text(&format!("/admin/grading/class/{term}/{level}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="assessments-locked""#), "{html}");

    // The parent sees the published result (division, position, trend chart); another
    // family's child is not found.
    let (status, html) = parent.get_text(&format!("/portal/results/{child}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="published-term""#), "{html}");
    assert!(html.contains(r#"data-testid="trend-chart""#) && html.contains("<svg"));
    assert!(html.contains(r#"data-testid="result-division""#));
    let stranger: Uuid = sqlx::query_scalar(
        "SELECT st.id FROM students st WHERE st.tenant_id = $1 AND st.id <> $2
            AND NOT EXISTS (SELECT 1 FROM student_guardians sg JOIN guardians g ON g.id = sg.guardian_id JOIN users u ON u.id = g.user_id
                             WHERE sg.student_id = st.id AND u.email = $3) LIMIT 1",
    )
    .bind(tenant)
    .bind(child)
    .bind(format!("parent@{KHSS}.test"))
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let (status, _) = parent.get_text(&format!("/portal/results/{stranger}")).await;
    assert_eq!(status, 404);

    // Approved marks are locked: the teacher cannot change them; the admin needs a reason;
    // with one, the change is audited and flagged for the head teacher.
    let (_, view) = sheet(&admin, term, first_stream, first_subject).await;
    assert_eq!(view["needs_reason"], true);
    let rev = view["rows"][0]["entries"][3]["revision"].as_i64().unwrap();
    let (status, body) = save(&teacher, term, first_stream, first_subject, json!([cell(&a, "exam", "99", rev)]), None).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("results-error-sheet-locked"));
    let (status, body) = save(&admin, term, first_stream, first_subject, json!([cell(&a, "exam", "99", rev)]), None).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("results-error-reason-required"));
    let (status, body) =
        save(&admin, term, first_stream, first_subject, json!([cell(&a, "exam", "99", rev)]), Some("Re-marked script after appeal")).await;
    assert_eq!(status, 200, "{body}");
    let flag: (String, Value) =
        sqlx::query_as("SELECT kind, evidence FROM result_flags WHERE tenant_id = $1 AND kind = 'changed_after_approval'")
            .bind(tenant)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(flag.1["new"], "99");
    assert_eq!(flag.1["reason"], "Re-marked script after appeal");
    let audited: Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE tenant_id = $1 AND action = 'marks.saved' AND (details->>'after_approval')::boolean",
    )
    .bind(tenant)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(audited["reason"], "Re-marked script after appeal");
    // Published results do not move with the amendment.
    let (_, html) = parent.get_text(&format!("/portal/results/{child}")).await;
    assert!(!html.is_empty());

    // The head teacher sees the flag and resolves it with a comment (audited).
    let (status, html) = admin.get_text("/admin/results/flags").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-kind="changed_after_approval""#), "{html}");
    // The evidence in words, not as stored JSON.
    assert!(html.contains("<dt>Reason given</dt><dd>Re-marked script after appeal</dd>"), "{html}");
    assert!(html.contains("<dt>After</dt><dd>99</dd>"), "{html}");
    // Which mark: the assessment by the school's name for it, not its key.
    assert!(html.contains("<dt>Assessment</dt><dd>Terminal exam</dd>"), "{html}");
    assert!(html.contains("<dt>Sheet status then</dt><dd>Published</dd>"), "{html}");
    assert!(!html.contains("&quot;reason&quot;") && !html.contains(r#""reason":"#), "{html}");
    let flag_id: Uuid =
        sqlx::query_scalar("SELECT id FROM result_flags WHERE tenant_id = $1").bind(tenant).fetch_one(&app.owner_pool).await.unwrap();
    let r = admin.server_fn("admin/results/flags/resolve", &[("flag", &flag_id.to_string()), ("comment", "")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let r =
        admin.server_fn("admin/results/flags/resolve", &[("flag", &flag_id.to_string()), ("comment", "Appeal upheld by the board")]).await;
    assert_eq!(r.status().as_u16(), 200);
    let resolved: Option<String> =
        sqlx::query_scalar("SELECT resolution FROM result_flags WHERE id = $1").bind(flag_id).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(resolved.as_deref(), Some("Appeal upheld by the board"));

    // Many changes of approved marks in a few minutes: the scoring job raises a burst flag.
    let (_, view) = sheet(&admin, term, first_stream, first_subject).await;
    let mut cells = Vec::new();
    for row in view["rows"].as_array().unwrap().iter().take(45) {
        let e = &row["entries"][0];
        let old = e["text"].as_str().unwrap().parse::<f64>().unwrap();
        let new = if old >= 99.0 { 50.0 } else { old + 1.0 };
        cells.push(cell(&row["student_id"], "mt1", &new.to_string(), e["revision"].as_i64().unwrap()));
    }
    let (status, body) =
        save(&admin, term, first_stream, first_subject, Value::Array(cells), Some("Bulk correction of monthly test")).await;
    assert_eq!(status, 200, "{body}");
    let worker = app.worker();
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    let bursts: i64 = sqlx::query_scalar("SELECT count(*) FROM result_flags WHERE tenant_id = $1 AND kind = 'burst'")
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(bursts >= 1, "a burst of changes is flagged");

    // Every mark is what the audit log last recorded; a row edited behind the app's back is found.
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    assert_eq!(kilele::results::db::verify_marks(&mut tx).await.unwrap(), vec![]);
    drop(tx);
    sqlx::query(
        "UPDATE marks SET score_hundredths = 10000 WHERE tenant_id = $1 AND student_id = $2 AND assessment = 'exam'
            AND sheet_id = (SELECT id FROM mark_sheets WHERE tenant_id = $1 AND stream_id = $3 AND subject_id = $4)",
    )
    .bind(tenant)
    .bind(a.as_str().unwrap().parse::<Uuid>().unwrap())
    .bind(first_stream)
    .bind(first_subject)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, kilele::tenancy::TenantId(tenant)).await.unwrap();
    let found = kilele::results::db::verify_marks(&mut tx).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].audited.as_str(), found[0].stored.as_str()), ("99", "100"));
}

/// A flag's (sheet, student, writer, evidence).
type FlagRow = (Option<Uuid>, Option<Uuid>, Option<Uuid>, Value);

/// The scoring jobs of the tenant so far: (status, last error), all done without an error.
async fn scoring_jobs_done(app: &TestApp, tenant: Uuid) -> usize {
    let jobs: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, last_error FROM jobs WHERE tenant_id = $1 AND kind = 'results.flags'")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    assert!(jobs.iter().all(|(status, error)| status == "done" && error.is_none()), "{jobs:?}");
    jobs.len()
}

#[tokio::test]
async fn the_scoring_job_flags_one_students_score_jump_once() {
    let app = spawn_app().await;
    let tenant = tenant_of(&app, KHSS).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (term, stream, subject) = teachers_first_sheet(&app, tenant, teacher_id).await;
    let (status, view) = sheet(&teacher, term, stream, subject).await;
    assert_eq!(status, 200, "{view}");
    let keys: Vec<String> =
        view["assessments"]["assessments"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap().to_owned()).collect();
    assert!(keys.len() >= 2);
    let rows = view["rows"].as_array().unwrap().clone();
    assert!(rows.len() >= 40, "a stream of the demo school");

    // The class moves by +1 or −4 marks from one assessment to the next; one student goes
    // from 30 in the first assessment to 95 in the second, and stays there.
    let jumper = rows[3]["student_id"].clone();
    let mut cells = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for (k, key) in keys.iter().enumerate() {
            let mark = if row["student_id"] == jumper {
                if k == 0 {
                    30
                } else {
                    95
                }
            } else {
                40 + (i * 7) % 30 + (i + k) % 5
            };
            cells.push(cell(&row["student_id"], key, &mark.to_string(), 0));
        }
    }
    let (status, report) = save(&teacher, term, stream, subject, Value::Array(cells), None).await;
    assert_eq!(status, 200, "{report}");
    // Submitting queues the scoring job; the worker runs it.
    let (status, body) = step(&teacher, term, stream, subject, "submit", None).await;
    assert_eq!(status, 200, "{body}");
    let worker = app.worker();
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    assert_eq!(scoring_jobs_done(&app, tenant).await, 1);

    let sheet_id: Uuid = sqlx::query_scalar("SELECT id FROM mark_sheets WHERE tenant_id = $1 AND stream_id = $2 AND subject_id = $3")
        .bind(tenant)
        .bind(stream)
        .bind(subject)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let flags: Vec<FlagRow> =
        sqlx::query_as("SELECT sheet_id, student_id, writer_id, evidence FROM result_flags WHERE tenant_id = $1 AND kind = 'score_jump'")
            .bind(tenant)
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    let jumper_id: Uuid = jumper.as_str().unwrap().parse().unwrap();
    assert_eq!(flags.len(), 1, "that student only: {flags:?}");
    let (flag_sheet, student, writer, evidence) = &flags[0];
    assert_eq!((*flag_sheet, *student, *writer), (Some(sheet_id), Some(jumper_id), None));
    assert_eq!((evidence["from"].as_str(), evidence["to"].as_str()), (Some(keys[0].as_str()), Some(keys[1].as_str())), "{evidence}");
    assert_eq!((evidence["previous"].as_u64(), evidence["current"].as_u64()), (Some(30), Some(95)));
    assert_eq!(evidence["classmates"].as_u64(), Some(u64::try_from(rows.len() - 1).unwrap()));
    // Nothing else was flagged: first entries by the allocated teacher are no burst.
    let all: i64 =
        sqlx::query_scalar("SELECT count(*) FROM result_flags WHERE tenant_id = $1").bind(tenant).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(all, 1);

    // Approving queues the job again: it runs and raises nothing new.
    let (status, body) = step(&admin, term, stream, subject, "approve", None).await;
    assert_eq!(status, 200, "{body}");
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    assert_eq!(scoring_jobs_done(&app, tenant).await, 2, "the second run ran");
    let again: i64 =
        sqlx::query_scalar("SELECT count(*) FROM result_flags WHERE tenant_id = $1").bind(tenant).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(again, 1, "the same finding is not raised twice");

    // The head teacher's list shows it.
    let (status, html) = admin.get_text("/admin/results/flags").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-kind="score_jump""#), "{html}");
    // The evidence in words: the two assessments by the school's names, the marks, the
    // z-score as a decimal, the rule; none of the stored JSON.
    let names: Vec<&str> = view["assessments"]["assessments"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    let z = evidence["z_hundredths"].as_i64().unwrap();
    let z = format!("{}.{:02}", z / 100, z % 100);
    let words = |html: &str, from: &str, to: &str, before: &str, now: &str, zed: &str, classmates: &str| {
        let expected = [
            format!("<dt>{from}</dt><dd>{}</dd>", names[0]),
            format!("<dt>{to}</dt><dd>{}</dd>", names[1]),
            format!("<dt>{before}</dt><dd>30</dd>"),
            format!("<dt>{now}</dt><dd>95</dd>"),
            format!("<dt>{zed}</dt><dd>{z}</dd>"),
            format!("<dt>{classmates}</dt><dd>{}</dd>", rows.len() - 1),
        ];
        for e in expected {
            assert!(html.contains(&e), "{e} in {html}");
        }
        // The flags' table only: the page's scripts carry JSON of their own.
        let table = html.split(r#"data-testid="flags""#).nth(1).and_then(|t| t.split("</table>").next()).unwrap();
        assert!(table.contains("<dl class=\"evidence\">"), "{table}");
        assert!(!table.contains("z_hundredths") && !table.contains("{&quot;") && !table.contains(r#"{""#), "{table}");
    };
    words(&html, "From", "To", "Before (%)", "Now (%)", "Spread against classmates (z)", "Classmates compared");
    // And in Kiswahili.
    admin.post_form("/language", &[("lang", "sw"), ("next", "/admin/results/flags")]).await;
    let (status, html) = admin.get_text("/admin/results/flags").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<html lang="sw""#), "{html}");
    words(&html, "Kutoka", "Hadi", "Kabla (%)", "Sasa (%)", "Tofauti dhidi ya wenzake (z)", "Wenzake waliolinganishwa");
    assert!(html.contains("Alama imepanda zaidi sana kuliko ya darasa"), "the rule that fired, in Kiswahili: {html}");
}
