//! The owner console runs the business: onboarding a school whose first admin accepts the
//! invitation, suspending and resuming it, and the platform's own audit chain.

use crate::harness::*;

const CODE: &str = "arusha-valley";
const ADMIN: &str = "head@arusha-valley.test";
const ADMIN_PASSWORD: &str = "Arusha-Admin-2026";

fn school<'a>(code: &'a str, plan: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("name", "Arusha Valley Secondary School"),
        ("code", code),
        ("plan", plan),
        ("language", "sw"),
        ("admission_prefix", "avs"),
        ("admin_name", "Head Teacher Msuya"),
        ("admin_email", ADMIN),
    ]
}

async fn schools(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tenants").fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn the_owner_onboards_a_school_whose_admin_signs_in_then_suspends_and_resumes_it() {
    let app = spawn_app().await;
    let owner = app.login_as(None, "owner").await;
    let (_, html) = owner.get_text("/owner").await;
    assert!(html.contains(r#"data-testid="onboard""#), "the owner sees the onboarding form");
    let before = schools(&app).await;

    // Every field is checked at once, and nothing is written.
    let bad = [
        ("name", " x "),
        ("code", "Not A Code!"),
        ("plan", "standard"),
        ("language", "xx"),
        ("admission_prefix", ""),
        ("admin_name", ""),
        ("admin_email", "nope"),
    ];
    let r = owner.form_to_server_fn("owner/schools/create", &bad, "/owner").await;
    let errors = owner.form_errors_after(&r).await.expect("an invalid school is refused");
    for message in ["Enter the school", "An admission prefix has", "valid email"] {
        assert!(errors.contains(message), "{message} in {errors}");
    }
    // A code already taken: 409; an unknown plan: 422. Nothing written either way.
    assert_eq!(owner.server_fn("owner/schools/create", &school(KHSS, "standard")).await.status().as_u16(), 409);
    assert_eq!(owner.server_fn("owner/schools/create", &school(CODE, "platinum")).await.status().as_u16(), 422);
    assert_eq!(schools(&app).await, before);
    let stray: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1").bind(ADMIN).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(stray, 0, "a refused onboarding leaves no admin behind");

    // Onboarded: the link is shown once, the email queued in the same transaction.
    let r = owner.form_to_server_fn("owner/schools/create", &school(CODE, "standard"), "/owner").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/owner"));
    let (_, html) = owner.get_text("/owner").await;
    assert!(html.contains("Arusha Valley Secondary School"), "the new school is listed");
    let link = between(&html, r#"data-testid="invite-link""#, "</code>")
        .and_then(|s| s.rsplit_once('>').map(|(_, l)| l.replace("&amp;", "&")))
        .expect("the invitation link is shown");
    assert!(link.contains(&format!("/invite?school={CODE}&token=")), "{link}");
    let (_, again) = owner.get_text("/owner").await;
    assert!(!again.contains(&link), "the link is shown once");
    let school_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(CODE).fetch_one(&app.owner_pool).await.unwrap();
    let mails: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE tenant_id = $1 AND kind = 'mail.invitation'")
        .bind(school_id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(mails, 1);

    // The admin chooses a password and finds an empty school of their own.
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let admin = app.browser();
    let r = admin
        .form_to_server_fn(
            "invite/accept",
            &[("school", CODE), ("token", &token), ("password", ADMIN_PASSWORD), ("password_again", ADMIN_PASSWORD)],
            &format!("/invite?school={CODE}&token={token}"),
        )
        .await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    assert_eq!(redirect_target(&admin.login(CODE, ADMIN, ADMIN_PASSWORD).await).as_deref(), Some("/admin"));
    let (status, html) = admin.get_text("/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("Arusha Valley Secondary School") && !html.contains("Kilimanjaro"), "their own school only");

    // Only the platform owner runs the business.
    let khss_admin = app.login_as(Some(KHSS), "admin").await;
    let r = khss_admin.server_fn("owner/schools/status", &[("code", CODE), ("status", "suspended")]).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(khss_admin.server_fn("owner/schools/create", &school("another-school", "standard")).await.status().as_u16(), 403);
    assert_eq!(
        owner.server_fn("owner/schools/status", &[("code", "no-such-school"), ("status", "suspended")]).await.status().as_u16(),
        404
    );

    // Suspended: the admin's open session ends at once and signing in is refused.
    let r = owner.form_to_server_fn("owner/schools/status", &[("code", CODE), ("status", "suspended")], "/owner").await;
    owner.assert_form_ok(&r).await;
    let mut ended = None;
    for _ in 0..100 {
        ended = redirect_target(&admin.get("/admin").await);
        if ended.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ended.as_deref(), Some("/login"), "the session ends");
    let fresh = app.browser();
    assert_eq!(redirect_target(&fresh.login(CODE, ADMIN, ADMIN_PASSWORD).await).as_deref(), Some("/login"));
    let (_, html) = fresh.get_text("/login").await;
    assert!(html.contains("suspended"), "{html}");
    let (_, html) = owner.get_text("/owner").await;
    assert!(html.contains("Resume"));

    // Resumed: they sign in again.
    let r = owner.form_to_server_fn("owner/schools/status", &[("code", CODE), ("status", "active")], "/owner").await;
    owner.assert_form_ok(&r).await;
    assert_eq!(redirect_target(&fresh.login(CODE, ADMIN, ADMIN_PASSWORD).await).as_deref(), Some("/admin"));

    // Both chains say so; the platform's verifies, and a forged entry does not.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE tenant_id = $1 ORDER BY seq")
        .bind(school_id)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    for expected in ["user.invited", "school.created", "platform.school.suspended", "platform.school.resumed"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    let key = kilele::audit::AuditKey::development();
    let (entries, breaks) = kilele::audit::platform::verify(&app.pool, &key).await.unwrap();
    assert_eq!((entries, breaks.len()), (3, 0), "{breaks:?}");
    let platform: Vec<String> =
        sqlx::query_scalar("SELECT action FROM platform_audit_log ORDER BY seq").fetch_all(&app.pool).await.unwrap();
    assert_eq!(platform, ["platform.school.onboarded", "platform.school.suspended", "platform.school.resumed"]);
    sqlx::query(
        "INSERT INTO platform_audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
         SELECT seq + 1, at, actor, 'platform.school.onboarded', 'forged', details, hash, hash FROM platform_audit_log WHERE seq = 3",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, breaks) = kilele::audit::platform::verify(&app.pool, &key).await.unwrap();
    assert!(!breaks.is_empty(), "a forged entry breaks the chain");
    // And the app role still cannot write the registry itself.
    let err = sqlx::query("UPDATE tenants SET status = 'suspended' WHERE slug = $1").bind(CODE).execute(&app.pool).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let err = sqlx::query("SELECT platform_set_school_status($1, $2, 'suspended')")
        .bind(uuid::Uuid::new_v4())
        .bind(school_id)
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not an active platform owner"), "{err}");
}
