//! Staff invited by link, invitations accepted once, deactivation keeps history.

use crate::harness::*;
use chrono::Duration;

/// (school, token) of the invitation link a page shows.
fn link_in(html: &str) -> (String, String) {
    let start = html.find("/invite?school=").expect("the page shows an invitation link");
    let rest = &html[start..];
    let link = rest[..rest.find('<').unwrap()].replace("&amp;", "&");
    let url = url::Url::parse(&format!("http://x{link}")).unwrap();
    let get = |k: &str| url.query_pairs().find(|(q, _)| q == k).map(|(_, v)| v.into_owned()).unwrap();
    (get("school"), get("token"))
}

/// Invites a staff member; returns (school, token) from the page the admin lands on, and
/// checks the link is in no URL and is shown only once.
async fn invite_staff(admin: &Browser, name: &str, email: &str, role: &str) -> (String, String) {
    let r = admin.form_to_server_fn("admin/staff/invite", &[("name", name), ("email", email), ("role", role)], "/admin/staff").await;
    let location = redirect_target(&r).unwrap();
    assert_eq!(location, "/admin/staff", "no token in the redirect");
    let (_, html) = admin.get_text(&location).await;
    assert!(html.contains(r#"data-testid="invite-link""#), "the link is shown");
    let (_, again) = admin.get_text(&location).await;
    assert!(!again.contains(r#"data-testid="invite-link""#) && !again.contains("token="), "…once");
    link_in(&html)
}

/// Accepting was refused: sent back to the invitation page (the error waits in the session),
/// not on to sign in.
fn refused(r: &reqwest::Response) -> bool {
    redirect_target(r).is_some_and(|to| to.ends_with("/invite") && !to.contains("__err"))
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
    let (school, token) = invite_staff(&admin, "Rose  Urio", "Rose.Urio@kilimanjaro-hills.test", "teacher").await;
    assert_eq!(school, KHSS);
    let (_, html) = admin.get_text("/admin/staff").await;
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

    // The invitation is also emailed: queued with the invitation, sent by the worker.
    assert!(app.sent_emails().is_empty(), "sent by the worker, not during the request");
    assert_eq!(server::worker::run_once(&app.worker()).await.unwrap(), 1);
    let mails: Vec<String> = app.sent_emails().iter().map(|m| m.replace("=\r\n", "").replace("=3D", "=")).collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("rose.urio@kilimanjaro-hills.test"), "{}", mails[0]);
    assert!(mails[0].contains(&format!("/invite?school=kilimanjaro-hills&token={token}")), "{}", mails[0]);
    assert!(mails[0].contains("Kilimanjaro Hills Secondary School"));
    assert_eq!(server::worker::run_once(&app.worker()).await.unwrap(), 0, "sent once");
    // The page the link opens never passes its URL (with the token) to another site; its own
    // form post keeps the Referer, which is how a refused no-JS post finds its way back.
    let r = app.browser().get(&format!("/invite?school={school}&token={token}")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers().get("referrer-policy").and_then(|v| v.to_str().ok()), Some("same-origin"));
    // Before accepting, no sign-in is possible.
    let b = app.browser();
    let r = b.login(KHSS, "rose.urio@kilimanjaro-hills.test", "Rose-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let r = accept(&app, &school, &token, "Rose-Secret-2026", "Rose-Secret-2027").await;
    assert!(refused(&r), "passwords differ");
    let r = accept(&app, &school, &token, "Rose-Secret-2026", "Rose-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let b = app.browser();
    let r = b
        .form_to_server_fn(
            "invite/accept",
            &[("school", &school), ("token", &token), ("password", "Another-Secret-1"), ("password_again", "Another-Secret-1")],
            "/invite",
        )
        .await;
    let shown = b.form_errors_after(&r).await.unwrap_or_default();
    assert!(shown.contains("not valid any more"), "a link works once: {shown}");
    let b = app.browser();
    let r = b.login(KHSS, "rose.urio@kilimanjaro-hills.test", "Another-Secret-1").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"), "the second use changed nothing");
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
async fn invitations_expire_after_48_hours() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (school, token) = invite_staff(&admin, "Early Bird", "early@kilimanjaro-hills.test", "teacher").await;
    app.clock.advance(Duration::hours(47));
    let r = accept(&app, &school, &token, "Early-Secret-2026", "Early-Secret-2026").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"), "47 hours: still valid");

    let admin = app.login_as(Some(KHSS), "admin").await;
    let (school, token) = invite_staff(&admin, "Late Comer", "late@kilimanjaro-hills.test", "accountant").await;
    app.clock.advance(Duration::hours(49));
    let r = accept(&app, &school, &token, "Late-Secret-2026", "Late-Secret-2026").await;
    assert!(refused(&r), "49 hours: expired");
    // The token of one school is worthless at another.
    let r = accept(&app, MLPS, &token, "Late-Secret-2026", "Late-Secret-2026").await;
    assert!(refused(&r));
}

#[tokio::test]
async fn staff_management_is_for_this_schools_admins_only() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
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
    assert_eq!(location, page, "no token in the redirect");
    let (_, html) = admin.get_text(&location).await;
    assert!(html.contains(r#"data-testid="invite-link""#));
    let (school, token) = link_in(&html);
    let (_, again) = admin.get_text(&location).await;
    assert!(!again.contains(r#"data-testid="invite-link""#), "shown once");
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
    assert_eq!(redirect_target(&r).unwrap(), format!("/admin/students/{ps}"));
    let (_, html) = admin.get_text(&format!("/admin/students/{ps}")).await;
    assert!(html.contains(r#"data-testid="portal-opened""#) && !html.contains(r#"data-testid="invite-link""#));
}

/// Signed in to KHSS's database as the app role.
async fn khss_tx(app: &TestApp) -> kilele::db::TenantTx {
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    kilele::db::tenant_tx(&app.pool, tenant).await.unwrap()
}

#[tokio::test]
async fn a_guardian_with_an_existing_account_gets_no_link_and_the_role_only_after_their_own_sign_in() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    // A guardian without an account whose email is the demo teacher's (a teacher who is
    // also a parent — or someone who typed a teacher's address).
    let mut tx = khss_tx(&app).await;
    let (guardian, student, admission): (uuid::Uuid, uuid::Uuid, String) = sqlx::query_as(
        "SELECT g.id, s.id, s.admission_no FROM guardians g
           JOIN student_guardians sg ON sg.guardian_id = g.id JOIN students s ON s.id = sg.student_id
          WHERE g.user_id IS NULL ORDER BY s.admission_no LIMIT 1",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE guardians SET email = 'teacher@kilimanjaro-hills.test' WHERE id = $1")
        .bind(guardian)
        .execute(&mut *tx)
        .await
        .unwrap();
    let teacher_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'teacher@kilimanjaro-hills.test'").fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    // The teacher is signed in already, before the invitation.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.get("/portal").await.status().as_u16(), 403);

    let (g, s) = (guardian.to_string(), student.to_string());
    let page = format!("/admin/students/{s}");
    let r = admin.form_to_server_fn("admin/students/invite-guardian", &[("student", &s), ("guardian", &g)], &page).await;
    assert_eq!(redirect_target(&r).as_deref(), Some(page.as_str()));
    let (_, html) = admin.get_text(&page).await;
    assert!(!html.contains(r#"data-testid="invite-link""#) && !html.contains("token="), "no link for an existing account");
    assert!(html.contains("next time they sign in with their own password"), "{html}");
    // No token, no email, no link to the guardian yet.
    let mut tx = khss_tx(&app).await;
    let invitations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM invitations WHERE user_id = $1").bind(teacher_id).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(invitations, 0);
    let linked: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT user_id FROM guardians WHERE id = $1").bind(guardian).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(linked, None);
    drop(tx);
    assert_eq!(server::worker::run_once(&app.worker()).await.unwrap(), 0, "nothing emailed");
    // The live session does not gain the role: only signing in with their own password does.
    assert_eq!(teacher.get("/portal").await.status().as_u16(), 403);
    let wrong = app.browser();
    let r = wrong.login(KHSS, "teacher@kilimanjaro-hills.test", "not-the-password").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    assert_eq!(teacher.get("/portal").await.status().as_u16(), 403, "a failed sign-in applies nothing");
    let again = app.login_as(Some(KHSS), "teacher").await;
    let (status, html) = again.get_text("/portal").await;
    assert_eq!(status, 200, "the parent role after their own sign-in");
    assert!(html.contains(&admission), "and the child is in the family portal");
    let mut tx = khss_tx(&app).await;
    let linked: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT user_id FROM guardians WHERE id = $1").bind(guardian).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(linked, Some(teacher_id));
}

#[tokio::test]
async fn inviting_needs_the_users_permission_not_the_students_one() {
    let app = spawn_app().await;
    // A school-defined "registrar" role: students, but not users.
    let mut tx = khss_tx(&app).await;
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(KHSS).fetch_one(&mut *tx).await.unwrap();
    let role: uuid::Uuid =
        sqlx::query_scalar("INSERT INTO roles (tenant_id, code, name) VALUES ($1, 'registrar', 'registrar') RETURNING id")
            .bind(tenant)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    for perm in ["school.overview.read", "students.read", "students.manage"] {
        sqlx::query("INSERT INTO role_permissions (tenant_id, role_id, permission_code) VALUES ($1, $2, $3)")
            .bind(tenant)
            .bind(role)
            .bind(perm)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT $1, id, $2 FROM users WHERE email = 'teacher@kilimanjaro-hills.test'",
    )
    .bind(tenant)
    .bind(role)
    .execute(&mut *tx)
    .await
    .unwrap();
    let (guardian, student): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT guardian_id, student_id FROM student_guardians LIMIT 1").fetch_one(&mut *tx).await.unwrap();
    sqlx::query("UPDATE guardians SET email = 'new.parent@example.com' WHERE id = $1").bind(guardian).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let registrar = app.login_as(Some(KHSS), "teacher").await;
    let r = registrar
        .server_fn("admin/students/invite-guardian", &[("student", &student.to_string()), ("guardian", &guardian.to_string())])
        .await;
    assert_eq!(r.status().as_u16(), 403, "students.manage is not enough to create an account");
    let r =
        registrar.server_fn("admin/staff/invite", &[("name", "X Y"), ("email", "x.y@kilimanjaro-hills.test"), ("role", "teacher")]).await;
    assert_eq!(r.status().as_u16(), 403);
    let mut tx = khss_tx(&app).await;
    let users: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email IN ('new.parent@example.com', 'x.y@kilimanjaro-hills.test')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(users, 0, "nothing written");
    // The admin (users permission) may.
    let admin = app.login_as(Some(KHSS), "admin").await;
    let page = format!("/admin/students/{student}");
    let r = admin
        .form_to_server_fn(
            "admin/students/invite-guardian",
            &[("student", &student.to_string()), ("guardian", &guardian.to_string())],
            &page,
        )
        .await;
    assert_eq!(redirect_target(&r).as_deref(), Some(page.as_str()));
}
