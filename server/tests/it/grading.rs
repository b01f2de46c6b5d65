//! Results set-up: a class's assessments (editable until marks exist, checked whole, all or
//! nothing, audited), the scheme it uses, and the school's own schemes (copied from a preset,
//! edited, a frozen one saved as its next version). Publishing's locks are in `results`.

use crate::harness::*;
use crate::results::{cell, save, teachers_first_sheet, tenant_of, user_id};
use serde_json::{json, Value};
use uuid::Uuid;

/// The form of the assessments `rows` (JSON rows as the set-up view sends them).
fn assessment_form(term: Uuid, level: Uuid, rows: &[Value]) -> Vec<(String, String)> {
    let mut form = vec![("term".to_owned(), term.to_string()), ("level".to_owned(), level.to_string())];
    for (i, r) in rows.iter().enumerate() {
        for col in ["key", "name", "max", "weight", "kind"] {
            form.push((format!("rows[{i}][{col}]"), r[col].as_str().unwrap_or_default().to_owned()));
        }
    }
    form.push(("ca_absence".into(), "reweight".into()));
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn stored_assessments(app: &TestApp, term: Uuid, level: Uuid) -> Option<Value> {
    sqlx::query_scalar("SELECT definition FROM term_assessments WHERE term_id = $1 AND level_id = $2")
        .bind(term)
        .bind(level)
        .fetch_optional(&app.owner_pool)
        .await
        .unwrap()
}

/// The last audit entry of an action: (subject, details).
async fn last_audit(app: &TestApp, tenant: Uuid, action: &str) -> (String, Value) {
    sqlx::query_as("SELECT subject, details FROM audit_log WHERE tenant_id = $1 AND action = $2 ORDER BY seq DESC LIMIT 1")
        .bind(tenant)
        .bind(action)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_classes_assessments_change_until_marks_exist_checked_whole_and_audited() {
    let app = spawn_app().await;
    let tenant = tenant_of(&app, KHSS).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    let (admin, teacher) = (app.login_as(Some(KHSS), "admin").await, app.login_as(Some(KHSS), "teacher").await);
    let (term, stream, subject) = teachers_first_sheet(&app, tenant, teacher_id).await;
    let level: Uuid =
        sqlx::query_scalar("SELECT level_id FROM streams WHERE id = $1").bind(stream).fetch_one(&app.owner_pool).await.unwrap();
    let page = format!("/admin/grading/class/{term}/{level}");

    // The overview links the class's set-up; the page shows the defaults, editable.
    let (_, html) = admin.get_text("/admin/results").await;
    assert!(html.contains(&page), "{html}");
    let (status, html) = admin.get_text(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="assessments-form""#) && !html.contains(r#"data-testid="assessments-locked""#), "{html}");
    assert!(html.contains("rows[0][name]"));
    let r = admin.server_fn("admin/grading/class", &[("term", &term.to_string()), ("level", &level.to_string())]).await;
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["marks_exist"], false);
    let mut rows = view["assessments"]["rows"].as_array().unwrap().clone();
    assert!(stored_assessments(&app, term, level).await.is_none(), "the defaults are read, not written");

    // A new assessment whose weight breaks the 100 %: refused with the reason, nothing stored.
    rows.push(json!({ "key": "", "name": "Project work", "max": "20", "weight": "10", "kind": "continuous" }));
    let r = admin.server_fn("admin/grading/assessments", &pairs(&assessment_form(term, level, &rows))).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("error-assessment-weights-sum"));
    // A row that is wrong on its own says which row; the plain form comes back to the page.
    let mut bad = rows.clone();
    bad[0]["max"] = json!("0");
    let form = assessment_form(term, level, &bad);
    let r = admin.form_to_server_fn("admin/grading/assessments", &pairs(&form), &page).await;
    let back = redirect_target(&r).unwrap();
    let (_, html) = admin.get_text(&back).await;
    assert!(html.contains(r#"data-testid="form-errors""#) && html.contains("Row 1:"), "{html}");
    assert!(stored_assessments(&app, term, level).await.is_none());
    assert_eq!(audited(&app, KHSS, "results.assessments.set").await, 0);

    // The exam gives up 10 %: saved, audited with before and after.
    let exam = rows.iter().position(|r| r["kind"] == "exam").unwrap();
    let w: u32 = rows[exam]["weight"].as_str().unwrap().parse().unwrap();
    rows[exam]["weight"] = json!((w - 10).to_string());
    let r = admin.server_fn("admin/grading/assessments", &pairs(&assessment_form(term, level, &rows))).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let stored = stored_assessments(&app, term, level).await.unwrap();
    let keys: Vec<&str> = stored["assessments"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"project-work"), "{stored}");
    assert_eq!(audited(&app, KHSS, "results.assessments.set").await, 1);
    let (audited, details) = last_audit(&app, tenant, "results.assessments.set").await;
    assert_eq!(audited, format!("{term}/{level}"));
    assert_eq!((details["term"].as_str(), details["level"].as_str()), (Some(term.to_string().as_str()), Some(level.to_string().as_str())));
    let keys_in =
        |set: &Value| set["assessments"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(!keys_in(&details["before"]).contains(&"project-work".to_owned()), "{details}");
    assert!(keys_in(&details["after"]).contains(&"project-work".to_owned()), "{details}");

    // The teacher's grid follows: the new assessment takes marks.
    let (status, view) = crate::results::sheet(&teacher, term, stream, subject).await;
    assert_eq!(status, 200);
    let student = view["rows"][0]["student_id"].clone();
    let (status, report) = save(&teacher, term, stream, subject, json!([cell(&student, "project-work", "15", 0)]), None).await;
    assert_eq!(status, 200, "{report}");

    // Marks exist now: the assessments stay (409), the page says so.
    rows.pop();
    rows[exam]["weight"] = json!(w.to_string());
    let r = admin.server_fn("admin/grading/assessments", &pairs(&assessment_form(term, level, &rows))).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("results-error-marks-exist"));
    assert_eq!(stored_assessments(&app, term, level).await.unwrap(), stored);
    let (_, html) = admin.get_text(&page).await;
    assert!(html.contains(r#"data-testid="assessments-locked""#));

    // Only the set-up permission: the teacher is refused, and nothing changed.
    let r = teacher.server_fn("admin/grading/assessments", &pairs(&assessment_form(term, level, &rows))).await;
    assert_eq!(r.status(), 403);
    assert_eq!(stored_assessments(&app, term, level).await.unwrap(), stored);
}

#[tokio::test]
async fn a_copied_scheme_is_edited_chosen_for_a_class_and_versioned_once_frozen() {
    let app = spawn_app().await;
    let tenant = tenant_of(&app, KHSS).await;
    let teacher_id = user_id(&app, &format!("teacher@{KHSS}.test")).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (term, stream, _) = teachers_first_sheet(&app, tenant, teacher_id).await;
    let level: Uuid =
        sqlx::query_scalar("SELECT level_id FROM streams WHERE id = $1").bind(stream).fetch_one(&app.owner_pool).await.unwrap();
    let (t, l) = (term.to_string(), level.to_string());

    let (status, html) = admin.get_text("/admin/grading/schemes").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="copy-scheme""#) && html.contains("preset:necta-csee-2016"), "{html}");
    // A copy needs a name; then it opens as the school's own, version 1.
    let r = admin.server_fn("admin/grading/copy", &[("from", "preset:necta-csee-2016"), ("name", "  ")]).await;
    assert_eq!(r.status(), 422);
    let r = admin
        .form_to_server_fn("admin/grading/copy", &[("from", "preset:necta-csee-2016"), ("name", "Our CSEE")], "/admin/grading/schemes")
        .await;
    let to = redirect_target(&r).unwrap();
    let id: Uuid = to.rsplit('/').next().unwrap().parse().unwrap_or_else(|_| panic!("{to}"));
    let (key, version): (String, i32) =
        sqlx::query_as("SELECT key, version FROM grading_schemes WHERE id = $1").bind(id).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!((key.as_str(), version), ("our-csee", 1));
    let (status, html) = admin.get_text(&format!("/admin/grading/schemes/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="scheme-form""#) && html.contains("bands[0][grade]"), "{html}");

    // The edit form as the page posts it, with B+ split off the A.
    let r = admin.server_fn("admin/grading/scheme", &[("id", &id.to_string())]).await;
    let view: Value = r.json().await.unwrap();
    let f = &view["form"];
    let mut form: Vec<(String, String)> = vec![("id".into(), id.to_string())];
    for k in ["name", "source", "years_from", "years_to", "counted", "count"] {
        form.push((k.into(), f[k].as_str().unwrap().to_owned()));
    }
    let mut bands = f["bands"].as_array().unwrap().clone();
    bands[0]["min"] = json!("81");
    bands
        .insert(1, json!({ "grade": "B+", "min": "75", "max": "80", "points": "1", "remark_en": "Very good", "remark_sw": "Vizuri sana" }));
    for (i, b) in bands.iter().enumerate() {
        for col in ["grade", "min", "max", "points", "remark_en", "remark_sw"] {
            form.push((format!("bands[{i}][{col}]"), b[col].as_str().unwrap().to_owned()));
        }
    }
    for (i, d) in f["divisions"].as_array().unwrap().iter().enumerate() {
        form.push((format!("divisions[{i}][min]"), d["min"].as_str().unwrap().to_owned()));
        form.push((format!("divisions[{i}][max]"), d["max"].as_str().unwrap().to_owned()));
    }
    // A gap (nothing covers 75–80 once B+ is dropped) is refused whole; nothing changes.
    let mut gap = form.clone();
    gap.retain(|(k, _)| !k.starts_with("bands[1]"));
    let r = admin.server_fn("admin/grading/save", &pairs(&gap)).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("error-bands-gap"));
    let r = admin.form_to_server_fn("admin/grading/save", &pairs(&form), &format!("/admin/grading/schemes/{id}")).await;
    assert_eq!(redirect_target(&r).unwrap(), format!("/admin/grading/schemes/{id}"), "not frozen: saved in place");
    let bands_now: Value = sqlx::query_scalar("SELECT definition->'bands' FROM grading_schemes WHERE id = $1")
        .bind(id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(bands_now[1]["grade"], "B+");
    assert_eq!(audited(&app, KHSS, "grading_scheme.saved").await, 1);

    // The class uses it: chosen, and the broadsheet grades with it.
    let r = admin.server_fn("admin/grading/choose", &[("term", &t), ("level", &l), ("scheme", &id.to_string())]).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let chosen: Uuid = sqlx::query_scalar("SELECT scheme_id FROM term_assessments WHERE term_id = $1 AND level_id = $2")
        .bind(term)
        .bind(level)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(chosen, id);
    let (audited, details) = last_audit(&app, tenant, "results.scheme.chosen").await;
    assert_eq!(audited, format!("{t}/{l}"));
    assert_eq!((details["term"].as_str(), details["level"].as_str()), (Some(t.as_str()), Some(l.as_str())));
    assert_eq!((details["after"].as_str(), details["scheme_id"].as_str()), (Some("our-csee"), Some(id.to_string().as_str())), "{details}");
    assert!(details["before"].is_string() && details["before"] != "our-csee", "{details}");
    let r = admin.server_fn("admin/results/broadsheet", &[("term", &t), ("level", &l)]).await;
    let sheet: Value = r.json().await.unwrap();
    assert_eq!(sheet["scheme"]["key"], "our-csee", "{sheet}");
    // A scheme for other exam years, or an unknown one, is refused.
    let r = admin.server_fn("admin/grading/choose", &[("term", &t), ("level", &l), ("scheme", "preset:necta-csee-pre-2014")]).await;
    assert_eq!(r.status(), 422);
    let r = admin.server_fn("admin/grading/choose", &[("term", &t), ("level", &l), ("scheme", &Uuid::new_v4().to_string())]).await;
    assert_eq!(r.status(), 404);

    // Frozen (as publishing does): saving makes version 2 and opens it; version 1 stays.
    sqlx::query("UPDATE grading_schemes SET frozen = true WHERE id = $1").bind(id).execute(&app.owner_pool).await.unwrap();
    let before: Value =
        sqlx::query_scalar("SELECT definition FROM grading_schemes WHERE id = $1").bind(id).fetch_one(&app.owner_pool).await.unwrap();
    let (_, html) = admin.get_text(&format!("/admin/grading/schemes/{id}")).await;
    assert!(html.contains(r#"data-testid="scheme-frozen""#) && html.contains("version 2"), "{html}");
    let mut renamed = form.clone();
    renamed[1].1 = "Our CSEE 2027".into();
    let r = admin.form_to_server_fn("admin/grading/save", &pairs(&renamed), &format!("/admin/grading/schemes/{id}")).await;
    let to = redirect_target(&r).unwrap();
    let v2: Uuid = to.rsplit('/').next().unwrap().parse().unwrap_or_else(|_| panic!("{to}"));
    assert_ne!(v2, id);
    let (key, version, name): (String, i32, String) =
        sqlx::query_as("SELECT key, version, name FROM grading_schemes WHERE id = $1").bind(v2).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!((key.as_str(), version, name.as_str()), ("our-csee", 2, "Our CSEE 2027"));
    let after: Value =
        sqlx::query_scalar("SELECT definition FROM grading_schemes WHERE id = $1").bind(id).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(before, after, "the frozen version is untouched");
    let (_, html) = admin.get_text(&format!("/admin/grading/schemes/{id}")).await;
    assert!(html.contains(r#"data-testid="newer-version""#), "the old version points to the new one");
    let (_, html) = admin.get_text("/admin/grading/schemes").await;
    assert!(html.contains("Our CSEE 2027") && html.contains(r#"data-version="2""#), "{html}");
}
