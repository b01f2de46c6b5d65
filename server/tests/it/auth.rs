//! Sign-in, sessions, backoff, CSRF and tenant binding.

use crate::harness::*;
use chrono::Duration;

const DEMO_ACCOUNTS: [(&str, &str); 5] =
    [("admin", "/admin"), ("teacher", "/teacher"), ("bursar", "/accountant"), ("parent", "/portal"), ("student", "/portal")];

#[tokio::test]
async fn every_demo_account_lands_on_its_portal() {
    let app = spawn_app().await;
    let owner = app.browser();
    let r = owner.login("", "owner@kilele.test", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(redirect_target(&r).as_deref(), Some("/owner"));
    for school in [KHSS, MLPS] {
        for (role, portal) in DEMO_ACCOUNTS {
            let b = app.browser();
            let r = b.login(school, &format!("{role}@{school}.test"), PASSWORD).await;
            assert_eq!(redirect_target(&r).as_deref(), Some(portal), "{role}@{school}");
            let (status, _) = b.get_text(portal).await;
            assert_eq!(status, 200, "{role}@{school} opening {portal}");
        }
    }
}

#[tokio::test]
async fn login_form_is_labelled_and_refusals_are_generic() {
    let app = spawn_app().await;
    let b = app.browser();
    let (status, html) = b.get_text("/login").await;
    assert_eq!(status, 200);
    for label in ["School code", "Email", "Password", "Sign in"] {
        assert!(html.contains(label), "login page lacks {label}");
    }
    assert!(html.contains(r#"for="school_code""#) && html.contains(r#"for="email""#) && html.contains(r#"for="password""#));

    // Wrong password, unknown email, unknown school: the same answer; the typed school code
    // and email come back, the password does not.
    let cases = [
        (KHSS, "admin@kilimanjaro-hills.test", "wrong-password-1"),
        (KHSS, "nobody@kilimanjaro-hills.test", PASSWORD),
        ("no-such-school", "admin@kilimanjaro-hills.test", PASSWORD),
        (KHSS, "not-an-email", PASSWORD),
    ];
    for (school, email, password) in cases {
        let b = app.browser();
        let r = b.login(school, email, password).await;
        assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
        let (_, html) = b.get_text("/login").await;
        assert!(html.contains("Wrong school code, email or password"), "{school}/{email}");
        assert!(html.contains(&format!(r#"value="{email}""#)), "typed email kept");
        assert!(!html.contains(password), "password must never be echoed");
        // The message is shown once (flash), not forever.
        let (_, again) = b.get_text("/login").await;
        assert!(!again.contains("Wrong school code"));
    }
}

#[tokio::test]
async fn session_cookie_is_hardened_and_cycled_at_login() {
    let app = spawn_app().await;
    let b = app.browser();
    // A failed attempt creates a session (for the flash message)…
    let r = b.login(KHSS, "admin@kilimanjaro-hills.test", "nope-nope-nope").await;
    let set_cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http in tests: not Secure");
    let before = b.session_id().expect("a session after a failed attempt");
    // …and signing in replaces its id (no session fixation).
    b.login(KHSS, "admin@kilimanjaro-hills.test", PASSWORD).await;
    let after = b.session_id().expect("a session after signing in");
    assert_ne!(before, after);
    // The old id is worthless.
    let thief = http_client().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = thief.get(format!("{}/admin", app.base)).header("cookie", format!("kilele_session={before}")).send().await.unwrap();
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
}

#[tokio::test]
async fn logout_ends_the_session_in_the_store() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let id = b.session_id().unwrap();
    let r = b.post_form("/logout", &[]).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let replay = http_client().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = replay.get(format!("{}/admin", app.base)).header("cookie", format!("kilele_session={id}")).send().await.unwrap();
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
}

#[tokio::test]
async fn idle_and_absolute_timeouts_follow_the_injected_clock() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(b.get("/teacher").await.status().as_u16(), 200);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(b.get("/teacher").await.status().as_u16(), 200, "29 idle minutes are fine");
    app.clock.advance(Duration::minutes(31));
    let r = b.get("/teacher").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"), "31 idle minutes end the session");
    let (_, html) = b.get_text("/login").await;
    assert!(html.contains("Your session has ended"));

    // Active all day: still ends after 12 hours.
    let b = app.login_as(Some(KHSS), "teacher").await;
    for _ in 0..40 {
        app.clock.advance(Duration::minutes(20));
        if b.get("/teacher").await.status().as_u16() != 200 {
            break;
        }
    }
    let r = b.get("/teacher").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"), "absolute timeout");
}

#[tokio::test]
async fn failed_logins_back_off_then_lock_and_unknown_accounts_behave_the_same() {
    let app = spawn_app().await;
    for email in ["bursar@kilimanjaro-hills.test", "ghost@kilimanjaro-hills.test"] {
        let b = app.browser();
        for _ in 0..3 {
            b.login(KHSS, email, "wrong-password-x").await;
            let _ = b.get("/login").await;
        }
        // Now even the right password waits.
        b.login(KHSS, email, PASSWORD).await;
        let (_, html) = b.get_text("/login").await;
        assert!(html.contains("Too many failed attempts"), "{email}: throttled after 3 failures");
        app.clock.advance(Duration::seconds(3));
    }
    // The real account signs in once the short delay has passed.
    let b = app.browser();
    let r = b.login(KHSS, "bursar@kilimanjaro-hills.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/accountant"));

    // Ten failures lock for 15 minutes.
    let b = app.browser();
    for _ in 0..10 {
        b.login(KHSS, "teacher@kilimanjaro-hills.test", "wrong-password-x").await;
        app.clock.advance(Duration::seconds(200));
    }
    app.clock.advance(Duration::minutes(-30));
    let _ = b.get("/login").await;
    b.login(KHSS, "teacher@kilimanjaro-hills.test", PASSWORD).await;
    let (_, html) = b.get_text("/login").await;
    assert!(html.contains("Too many failed attempts"));
    app.clock.advance(Duration::minutes(46));
    let r = b.login(KHSS, "teacher@kilimanjaro-hills.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/teacher"), "lock lifts after 15 minutes");
}

#[tokio::test]
async fn suspended_school_cannot_sign_in_and_live_sessions_end() {
    let app = spawn_app().await;
    let live = app.login_as(Some(MLPS), "admin").await;
    sqlx::query("UPDATE tenants SET status = 'suspended' WHERE slug = $1").bind(MLPS).execute(&app.owner_pool).await.unwrap();
    let b = app.browser();
    let r = b.login(MLPS, "admin@mwanza-lakeside.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let (_, html) = b.get_text("/login").await;
    assert!(html.contains("suspended"));
    let (status, _) = live.get_text_once("/admin", |status, _| status == 303).await;
    assert_eq!(status, 303, "the live session ends");
    let r = live.get("/admin").await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    // The other school is unaffected.
    app.login_as(Some(KHSS), "admin").await;
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    for (header, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")] {
        for path in ["/logout", "/language", "/api/admin/default-language"] {
            let r = b.client.post(format!("{}{path}", b.base)).header(header, value).form(&[("lang", "en")]).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 403, "{path} with {header}: {value}");
        }
    }
    // No origin information at all: refused too.
    let r = b.client.post(format!("{}/logout", b.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("did not come from Kilele"));
    // Still signed in: none of the forged requests took effect.
    assert_eq!(b.get("/admin").await.status().as_u16(), 200);
}

#[tokio::test]
async fn subdomain_selects_the_school_and_binds_the_session() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    // On a school's own host the form needs no school code.
    let b = app.browser_for_host(Some(KHSS));
    let (_, html) = b.get_text("/login").await;
    assert!(html.contains("Kilimanjaro Hills Secondary School"));
    assert!(!html.contains(r#"for="school_code""#));
    // Mwanza's account cannot sign in on Kilimanjaro's host, whatever code is typed.
    let r = b.login(MLPS, "admin@mwanza-lakeside.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/login"));
    let r = b.login("", "admin@kilimanjaro-hills.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/admin"));
    // An unknown school's host is not found.
    let ghost = app.browser_for_host(Some("ghost-school"));
    let (status, html) = ghost.get_text("/login").await;
    assert_eq!(status, 404);
    assert!(html.contains("There is no school at this address"), "said in the reader's language");
    // A session presented for another school is refused.
    for path in ["/admin", "/", "/teacher", "/login"] {
        assert_cross_tenant_refused(
            &app,
            KHSS,
            "admin",
            MLPS,
            CrossTenantRequest { method: reqwest::Method::GET, path, form: &[] },
            "Mwanza Lakeside",
        )
        .await;
    }
}
