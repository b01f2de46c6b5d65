//! The five portals show real data, only to those allowed, in English or Kiswahili.

use crate::harness::*;

fn first_number_after(html: &str, marker: &str) -> Option<i64> {
    let at = html.find(marker)? + marker.len();
    let rest = &html[at..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let digits: String = rest[start..].chars().take_while(|c| c.is_ascii_digit() || *c == ',').filter(|c| *c != ',').collect();
    digits.parse().ok()
}

#[tokio::test]
async fn owner_console_lists_every_school_with_counts() {
    let app = spawn_app().await;
    let b = app.login_as(None, "owner").await;
    let (status, html) = b.get_text("/owner").await;
    assert_eq!(status, 200);
    assert!(html.contains("Kilimanjaro Hills Secondary School") && html.contains("Mwanza Lakeside Primary School"));
    assert!(html.contains(">400<"), "Kilimanjaro's 400 students");
    assert!(html.contains(">350<"), "Mwanza's 350 students");
    // School users never reach the owner console, and its server function refuses them.
    let admin = app.login_as(Some(KHSS), "admin").await;
    assert_eq!(admin.get("/owner").await.status().as_u16(), 403);
    let body = admin.server_fn("owner/schools", &[]).await.text().await.unwrap();
    assert!(body.contains("Forbidden") && !body.contains("Mwanza"), "{body}");
}

#[tokio::test]
async fn admin_console_shows_the_school_at_a_glance() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let (_, html) = b.get_text("/admin").await;
    assert!(html.contains("Kilimanjaro Hills Secondary School"));
    assert_eq!(first_number_after(&html, r#"data-testid="stat-students""#), Some(400));
    assert_eq!(first_number_after(&html, r#"data-testid="stat-classes""#), Some(8));
    assert!(first_number_after(&html, r#"data-testid="stat-staff""#).unwrap() >= 10);
    assert!(html.contains("Form 2A") && html.contains("Form 4B"));
    assert!(!html.contains("Standard"), "no primary classes from the other school");
    // The admin also teaches: both portals are offered in the switcher.
    assert!(html.contains(r#"href="/teacher""#) && html.contains(r#"href="/admin""#));
}

#[tokio::test]
async fn teacher_sees_exactly_their_allocations() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "teacher").await;
    let (_, html) = b.get_text("/teacher").await;
    assert!(html.contains(r#"data-testid="my-classes""#));
    assert_eq!(html.matches("Civics").count(), 3, "Civics in three streams");
    assert!(html.contains("Commerce"));
    assert!(!html.contains("Physics"), "not allocated");
    // A teacher is not an admin.
    assert_eq!(b.get("/admin").await.status().as_u16(), 403);
    assert!(!html.contains(r#"href="/admin""#), "navigation shows only what the user may open");
    let r = b.server_fn("admin/overview", &[]).await;
    assert_eq!(r.status().as_u16(), 403, "API clients get a 4xx that says why");
    let body = r.text().await.unwrap();
    assert!(body.contains("Forbidden"), "{body}");
    let admin = app.login_as(Some(KHSS), "admin").await;
    let r = admin.server_fn("admin/calendar/create-year", &[("year", "20x7"), ("terms_per_year", "2")]).await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("error-year-invalid"));
}

#[tokio::test]
async fn accountant_portal_follows_the_plan() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "bursar").await;
    let (status, html) = b.get_text("/accountant").await;
    assert_eq!(status, 200);
    // The term's dashboard: nothing billed yet, every active student still to invoice.
    assert!(html.contains(r#"data-testid="stat-billed""#) && html.contains("TZS 0"));
    assert_eq!(first_number_after(&html, r#"data-testid="stat-invoiced""#), Some(0));
    assert!(html.contains("0 / 400"), "0 of the 400 students invoiced");
    // On a plan without finance, the portal closes.
    sqlx::query("UPDATE tenants SET plan_code = 'basic' WHERE slug = $1").bind(KHSS).execute(&app.owner_pool).await.unwrap();
    assert_eq!(b.get_text_once("/accountant", |status, _| status == 403).await.0, 403);
    let r = b.get("/").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/no-portal"));
}

#[tokio::test]
async fn family_portal_shows_my_children_or_my_record() {
    let app = spawn_app().await;
    let parent = app.login_as(Some(KHSS), "parent").await;
    let (_, html) = parent.get_text("/portal").await;
    assert!(html.contains(r#"data-testid="my-children""#));
    assert!(html.matches(r#"class="card child""#).count() >= 2, "the demo parent has two children");
    assert!(html.contains("KHSS/"));
    let student = app.login_as(Some(KHSS), "student").await;
    let (_, html) = student.get_text("/portal").await;
    assert!(html.contains(r#"data-testid="my-record""#));
    assert_eq!(html.matches(r#"class="card child""#).count(), 1);
    assert_eq!(student.get("/teacher").await.status().as_u16(), 403);
}

#[tokio::test]
async fn language_switch_persists_per_user_and_school_default_applies() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let (_, html) = b.get_text("/admin").await;
    assert!(html.contains(">Students<"), "English via Accept-Language");
    let r = b.post_form("/language", &[("lang", "sw"), ("next", "/admin")]).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/admin"));
    let (_, html) = b.get_text("/admin").await;
    assert!(html.contains(">Wanafunzi<") && html.contains(">Toka<"), "Kiswahili after switching");
    assert!(html.contains(r#"<html lang="sw""#));
    // Saved on the account: a new browser signing in gets Kiswahili too.
    let other = app.login_as(Some(KHSS), "admin").await;
    let (_, html) = other.get_text("/admin").await;
    assert!(html.contains(">Wanafunzi<"));
    // Open redirects are not possible through `next`.
    let r = b.post_form("/language", &[("lang", "en"), ("next", "//evil.example/")]).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/"));
    let r = b.post_form("/language", &[("lang", "fr")]).await;
    assert_eq!(r.status().as_u16(), 400);

    // The school's default language (a server function posted as a plain form).
    let r = b.server_fn("admin/default-language", &[("lang", "en")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    let lang: String =
        sqlx::query_scalar("SELECT default_language FROM tenants WHERE slug = $1").bind(KHSS).fetch_one(&app.pool).await.unwrap();
    assert_eq!(lang, "en");
    // A teacher may not change it.
    let t = app.login_as(Some(KHSS), "teacher").await;
    let r = t.server_fn("admin/default-language", &[("lang", "sw")]).await;
    assert!(!r.status().is_success());
    let lang: String =
        sqlx::query_scalar("SELECT default_language FROM tenants WHERE slug = $1").bind(KHSS).fetch_one(&app.pool).await.unwrap();
    assert_eq!(lang, "en");
}

#[tokio::test]
async fn anonymous_pages_default_to_kiswahili() {
    let app = spawn_app().await;
    let client = http_client().build().unwrap();
    let html = client.get(format!("{}/login", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(">Ingia<") && html.contains("Msimbo wa shule"), "Kiswahili first");
}

/// The cross-tenant helper over every portal page and server function.
#[tokio::test]
async fn no_page_or_server_function_serves_another_school() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let get = |path| CrossTenantRequest { method: reqwest::Method::GET, path, form: &[] };
    let post = |path| CrossTenantRequest { method: reqwest::Method::POST, path, form: &[] };
    for (role, page) in
        [("admin", "/admin"), ("teacher", "/teacher"), ("bursar", "/accountant"), ("parent", "/portal"), ("student", "/portal")]
    {
        assert_cross_tenant_refused(&app, MLPS, role, KHSS, get(page), "Kilimanjaro Hills").await;
    }
    for (role, endpoint) in [
        ("admin", "/api/admin/overview"),
        ("admin", "/api/admin/default-language"),
        ("teacher", "/api/teacher/classes"),
        ("bursar", "/api/accountant/overview"),
        ("parent", "/api/portal/family"),
        ("admin", "/api/owner/schools"),
        ("admin", "/language"),
        ("admin", "/logout"),
    ] {
        assert_cross_tenant_refused(&app, MLPS, role, KHSS, post(endpoint), "KHSS/").await;
    }
}

/// Roles are read on every request: taking one away closes the portal at once, and both
/// the grant and the revocation are in the audit log.
#[tokio::test]
async fn role_changes_apply_at_once_and_are_audited() {
    use kilele::audit::Actor;
    use kilele::identity::store::{grant_role, revoke_role, ChangedBy};
    use kilele::identity::Role;
    let app = spawn_app().await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    wait_until_listening(&app).await;
    assert_eq!(teacher.get("/teacher").await.status().as_u16(), 200);
    // The principal is now kept in the process: the change must reach it.
    assert!(!app.principals.is_empty(), "the teacher's principal is cached");
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let user: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'teacher@kilimanjaro-hills.test'").fetch_one(&mut *tx).await.unwrap();
    let head = Actor::anonymous("admin@kilimanjaro-hills.test");
    let by = ChangedBy { actor: &head, at: kilele::clock::Clock::now(app.clock.as_ref()) };
    revoke_role(&mut tx, user, Role::Teacher, by).await.unwrap();
    grant_role(&mut tx, user, Role::Accountant, by).await.unwrap();
    tx.commit().await.unwrap();
    // Through the notification sent at commit (milliseconds): well before the cache's 60 s
    // bound on an entry's age, so this fails if the triggers or the listener do not work.
    assert_eq!(teacher.get_text_once("/teacher", |status, _| status == 403).await.0, 403);
    assert_eq!(teacher.get("/accountant").await.status().as_u16(), 200);
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action || ':' || (details->>'role') FROM audit_log WHERE subject = $1 ORDER BY seq DESC LIMIT 2")
            .bind(user.to_string())
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(actions, ["role.granted:accountant", "role.revoked:teacher"]);
}

/// Waits (up to 5 s) for the server's principal cache to listen for changes.
async fn wait_until_listening(app: &TestApp) {
    for _ in 0..100 {
        if app.principals.is_listening() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the principal cache's listener did not connect");
}

/// A school suspended by the operator's tool (another process, the owner's connection) stops
/// its signed-in users at once too; and when the cache's listener loses its connection, the
/// cache is emptied and unused until it has connected again.
#[tokio::test]
async fn suspension_and_a_lost_listener_reach_cached_principals() {
    let app = spawn_app().await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    wait_until_listening(&app).await;
    assert_eq!(teacher.get("/teacher").await.status().as_u16(), 200);
    assert!(!app.principals.is_empty());

    // The listener's connection is cut: emptied, then in use again after it reconnects.
    let cut: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                WHERE datname = current_database() AND query LIKE 'LISTEN%') t",
    )
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(cut, 1, "one listener per server");
    for _ in 0..100 {
        if !app.principals.is_listening() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(app.principals.is_empty(), "a lost listener empties the cache");
    wait_until_listening(&app).await;
    assert_eq!(teacher.get("/teacher").await.status().as_u16(), 200);
    assert!(!app.principals.is_empty(), "cached again once listening");

    // Suspended behind the app's back (the owner's connection, as `kilele school suspend`).
    sqlx::query("UPDATE tenants SET status = 'suspended' WHERE slug = $1").bind(KHSS).execute(&app.owner_pool).await.unwrap();
    assert_eq!(teacher.get_text_once("/teacher", |status, _| status == 303).await.0, 303, "a suspended school's user is signed out");
    assert_eq!(teacher.get("/teacher").await.headers()["location"], "/login");
}

/// `kilele school create` adds an empty school whose admin can sign in and start from zero.
#[tokio::test]
async fn operator_creates_an_empty_school_that_starts_from_zero() {
    let app = spawn_app().await;
    let run = |args: &[&str], password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kilele"))
            .args(args)
            .env("DATABASE_URL", &app.owner_url)
            .env("KILELE_ENV", "development")
            .env_remove("APP_DATABASE_URL")
            .env("KILELE_ADMIN_PASSWORD", password)
            .output()
            .unwrap()
    };
    let args = [
        "school",
        "create",
        "--code",
        "arusha-valley",
        "--name",
        "Arusha Valley Secondary School",
        "--plan",
        "standard",
        "--admission-prefix",
        "AVSS",
        "--admin-email",
        "head@arusha-valley.test",
    ];
    let out = run(&args, "short");
    assert!(!out.status.success(), "a weak password is refused");
    let out = run(&args, "Valley-Start-2027");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!run(&args, "Valley-Start-2027").status.success(), "the same code twice is refused");
    let b = app.browser();
    let r = b.login("arusha-valley", "head@arusha-valley.test", "Valley-Start-2027").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/admin"));
    let (_, html) = b.get_text("/admin").await;
    assert!(html.contains("Arusha Valley Secondary School"));
    assert_eq!(first_number_after(&html, r#"data-testid="stat-students""#), Some(0));
    assert!(html.contains("No classes yet"));
    let (_, html) = b.get_text("/admin/calendar").await;
    assert!(html.contains(r#"data-testid="calendar-empty""#));
}
