//! Staff invited by link, invitations accepted once, deactivation keeps history.

use crate::harness::*;
use chrono::Duration;

fn invite_query(location: &str) -> (String, String) {
    let url = url::Url::parse(&format!("http://x{location}")).unwrap();
    let get = |k: &str| url.query_pairs().find(|(q, _)| q == k).map(|(_, v)| v.into_owned()).unwrap();
    (get("school"), get("invite"))
}

async fn accept(app: &TestApp, school: &str, token: &str, password: &str, again: &str) -> reqwest::Response {
    let b = app.browser();
    b.form_to_server_fn(
        "invite/accept",
        &[("school", school), ("token", token), ("password", password), ("password_again", again)],
        "/invite",
    )
    .await
}

#[tokio::test]
async fn a_teacher_is_invited_sets_a_password_once_and_can_be_deactivated() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let r = admin
        .form_to_server_fn(
            "admin/staff/invite",
            &[("name", "Rose  Urio"), ("email", "Rose.Urio@kilimanjaro-hills.test"), ("role", "teacher")],
            "/admin/staff",
        )
        .await;
    let location = redirect_target(&r).unwrap();
    assert!(location.starts_with("/admin/staff?school=kilimanjaro-hills&invite="), "{location}");
    let (_, html) = admin.get_text(&location).await;
    assert!(html.contains(r#"data-testid="invite-link""#) && html.contains("/invite?school=kilimanjaro-hills&amp;token="));
    assert!(html.contains("Rose Urio") && html.contains("Invited"));
    // The same email twice: a field error, nothing written.
    let r = admin
        .form_to_server_fn(
            "admin/staff/invite",
            &[("name", "Rose"), ("email", "rose.urio@kilimanjaro-hills.test"), ("role", "teacher")],
            "/admin/staff",
        )
        .await;
    let (_, html) = admin.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("already uses this email"));

    let (school, token) = invite_query(&location);
    // The invitation is also emailed: queued with the invitation, sent by the worker.
    assert!(app.sent_emails().is_empty(), "sent by the worker, not during the request");
    assert_eq!(server::worker::run_once(&app.worker()).await.unwrap(), 1);
    let mails: Vec<String> = app.sent_emails().iter().map(|m| m.replace("=\r\n", "").replace("=3D", "=")).collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("rose.urio@kilimanjaro-hills.test"), "{}", mails[0]);
    assert!(mails[0].contains(&format!("/invite?school=kilimanjaro-hills&token={token}")), "{}", mails[0]);
    assert!(mails[0].contains("Kilimanjaro Hills Secondary School"));
    assert_eq!(server::worker::run_once(&app.worker()).await.unwrap(), 0, "sent once");
    // Before accepting, no sign-in is possible.
    let b = app.browser();
    let r = b.login(KHSS, "rose.urio@kilimanjaro-hills.test", "Rose-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let r = accept(&app, &school, &token, "Rose-Secret-2026", "Rose-Secret-2027").await;
    assert!(redirect_target(&r).unwrap().contains("__err"), "passwords differ");
    let r = accept(&app, &school, &token, "Rose-Secret-2026", "Rose-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let r = accept(&app, &school, &token, "Another-Secret-1", "Another-Secret-1").await;
    let (_, html) = app.browser().get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("not valid any more"), "a link works once");
    let rose = app.browser();
    let r = rose.login(KHSS, "rose.urio@kilimanjaro-hills.test", "Rose-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/teacher"), "signed in, in her portal");

    // Deactivate: her session ends at once and she cannot sign in; history stays.
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'rose.urio@kilimanjaro-hills.test'").fetch_one(&mut *tx).await.unwrap();
    drop(tx);
    let id = id.to_string();
    admin.form_to_server_fn("admin/staff/active", &[("user_id", &id), ("active", "false")], "/admin/staff").await;
    assert_eq!(redirect_target(&rose.get("/teacher").await).as_deref(), Some("/login"));
    let r = app.browser().login(KHSS, "rose.urio@kilimanjaro-hills.test", "Rose-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let (_, html) = admin.get_text("/admin/staff").await;
    assert!(html.contains("Deactivated"));
    admin.form_to_server_fn("admin/staff/active", &[("user_id", &id), ("active", "true")], "/admin/staff").await;
    let r = app.browser().login(KHSS, "rose.urio@kilimanjaro-hills.test", "Rose-Secret-2026").await;
    assert_ne!(redirect_target(&r).as_deref(), Some("/login"));
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq").bind(&id).fetch_all(&mut *tx).await.unwrap();
    assert_eq!(actions, ["role.granted", "user.invited", "user.invitation.accepted", "user.deactivated", "user.reactivated"]);
    drop(tx);

    // An admin cannot lock themselves out.
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let me: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@kilimanjaro-hills.test'").fetch_one(&mut *tx).await.unwrap();
    drop(tx);
    let r = admin.form_to_server_fn("admin/staff/active", &[("user_id", &me.to_string()), ("active", "false")], "/admin/staff").await;
    let (_, html) = admin.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("cannot deactivate your own account"));
}

#[tokio::test]
async fn invitations_expire_after_seven_days() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let r = admin
        .form_to_server_fn(
            "admin/staff/invite",
            &[("name", "Late Comer"), ("email", "late@kilimanjaro-hills.test"), ("role", "accountant")],
            "/admin/staff",
        )
        .await;
    let (school, token) = invite_query(&redirect_target(&r).unwrap());
    app.clock.advance(Duration::days(8));
    let r = accept(&app, &school, &token, "Late-Secret-2026", "Late-Secret-2026").await;
    assert!(redirect_target(&r).unwrap().contains("__err"));
    // The token of one school is worthless at another.
    let r = accept(&app, MLPS, &token, "Late-Secret-2026", "Late-Secret-2026").await;
    assert!(redirect_target(&r).unwrap().contains("__err"));
}

#[tokio::test]
async fn staff_management_is_for_this_schools_admins_only() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()) }).await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.get("/admin/staff").await.status().as_u16(), 403);
    let form = [
        ("name", "X"),
        ("email", "x@x.test"),
        ("role", "teacher"),
        ("user_id", "00000000-0000-0000-0000-000000000000"),
        ("active", "false"),
        ("student", "00000000-0000-0000-0000-000000000000"),
        ("guardian", "00000000-0000-0000-0000-000000000000"),
    ];
    for path in ["/api/admin/staff", "/api/admin/staff/invite", "/api/admin/staff/active", "/api/admin/students/invite-guardian"] {
        assert_cross_tenant_refused(
            &app,
            MLPS,
            "admin",
            KHSS,
            CrossTenantRequest { method: reqwest::Method::POST, path, form: &form },
            "kilimanjaro-hills.test",
        )
        .await;
    }
    assert_cross_tenant_refused(
        &app,
        MLPS,
        "admin",
        KHSS,
        CrossTenantRequest { method: reqwest::Method::GET, path: "/admin/staff", form: &[] },
        "kilimanjaro-hills.test",
    )
    .await;
}

#[tokio::test]
async fn a_guardian_is_invited_to_the_family_portal_and_sees_the_child() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    // A guardian without an account, and one of their children.
    let (guardian, student, admission): (uuid::Uuid, uuid::Uuid, String) = sqlx::query_as(
        "SELECT g.id, s.id, s.admission_no FROM guardians g
           JOIN student_guardians sg ON sg.guardian_id = g.id JOIN students s ON s.id = sg.student_id
          WHERE g.user_id IS NULL ORDER BY s.admission_no LIMIT 1",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    let (g, s) = (guardian.to_string(), student.to_string());
    let page = format!("/admin/students/{s}");
    // No email yet: a clear message.
    let r = admin.form_to_server_fn("admin/students/invite-guardian", &[("student", &s), ("guardian", &g)], &page).await;
    let (_, html) = admin.get_text(&redirect_target(&r).unwrap()).await;
    assert!(
        html.contains("Add the guardian&#x27;s email address first") || html.contains("Add the guardian's email address first"),
        "{html}"
    );
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    sqlx::query("UPDATE guardians SET email = 'mama.test@example.com' WHERE id = $1").bind(guardian).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let r = admin.form_to_server_fn("admin/students/invite-guardian", &[("student", &s), ("guardian", &g)], &page).await;
    let location = redirect_target(&r).unwrap();
    assert!(location.starts_with(&format!("/admin/students/{s}?school=kilimanjaro-hills&invite=")), "{location}");
    let (_, html) = admin.get_text(&location).await;
    assert!(html.contains(r#"data-testid="invite-link""#));
    let (school, token) = invite_query(&location.replace(&format!("/admin/students/{s}"), "/admin/staff"));
    server::worker::run_once(&app.worker()).await.unwrap();
    let mails: Vec<String> = app.sent_emails().iter().map(|m| m.replace("=\r\n", "").replace("=3D", "=")).collect();
    assert!(mails.iter().any(|m| m.contains("mama.test@example.com") && m.contains(&token)), "the guardian is emailed the link");
    let r = accept(&app, &school, &token, "Mama-Secret-2026", "Mama-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let mama = app.browser();
    let r = mama.login(KHSS, "mama.test@example.com", "Mama-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/portal"));
    let (_, html) = mama.get_text("/portal").await;
    assert!(html.contains(&admission), "the child is in the family portal");

    // The demo parent already signs in: the portal just opens, no link needed.
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let (pg, ps): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT g.id, sg.student_id FROM guardians g JOIN student_guardians sg ON sg.guardian_id = g.id
          WHERE g.email = 'parent@kilimanjaro-hills.test' LIMIT 1",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    let r = admin
        .form_to_server_fn(
            "admin/students/invite-guardian",
            &[("student", &ps.to_string()), ("guardian", &pg.to_string())],
            "/admin/students",
        )
        .await;
    assert_eq!(redirect_target(&r).unwrap(), format!("/admin/students/{ps}?portal=opened"));
}
