//! Two-factor sign-in: setting it up, signing in with a code or a recovery code, replay,
//! backoff, re-authentication, the grace period, an admin's reset, the school's choice for
//! teachers, and platform staff.

use crate::harness::*;
use chrono::Duration;

const BURSAR: &str = "bursar@kilimanjaro-hills.test";
const PAGE: &str = "/account/two-factor";

async fn actions(app: &TestApp, subject: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq")
        .bind(subject)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap()
}

/// Signs in with the password only: where the form sends the browser.
async fn password_step(b: &Browser, school: &str, email: &str) -> String {
    redirect_target(&b.login(school, email, PASSWORD).await).unwrap_or_default()
}

async fn send_code(b: &Browser, code: &str) -> String {
    redirect_target(&b.post_form("/login/code", &[("code", code)]).await).unwrap_or_default()
}

#[tokio::test]
async fn an_accountant_sets_it_up_and_signs_in_with_a_code_once() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "bursar").await;
    // Within the grace period every page reminds them.
    let (_, html) = b.get_text("/accountant").await;
    assert!(html.contains(r#"data-testid="two-factor-due""#), "a reminder while it is not set up");
    let (status, html) = b.get_text(PAGE).await;
    assert_eq!(status, 200);
    assert!(html.contains("Your role needs two-factor sign-in"), "{html}");

    let (secret, codes) = app.enrol_two_factor(&b, BURSAR).await;
    assert_eq!(secret.replace(' ', "").len(), 32, "160 bits in base32");
    let (_, html) = b.get_text(PAGE).await;
    assert!(!html.contains(r#"data-testid="recovery-codes""#), "recovery codes are shown once");
    assert!(html.contains("Recovery codes left: 10"));
    assert!(!html.contains(&codes[0]));
    let (_, html) = b.get_text("/accountant").await;
    assert!(!html.contains(r#"data-testid="two-factor-due""#), "no reminder once it is on");
    // The secret is sealed at rest, the recovery codes only indexed.
    let stored: Vec<u8> = sqlx::query_scalar(
        "SELECT f.secret FROM user_second_factors f JOIN users u ON u.tenant_id = f.tenant_id AND u.id = f.user_id WHERE u.email = $1",
    )
    .bind(BURSAR)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&secret.replace(' ', "")));

    // A new sign-in asks for the code, and is not signed in before it.
    let b = app.browser();
    b.login(KHSS, BURSAR, "wrong-password-1").await;
    let planted = b.session_id().expect("a session after a failed attempt");
    assert_eq!(password_step(&b, KHSS, BURSAR).await, "/login/code");
    let before = b.session_id().expect("a session waiting for the code");
    assert_ne!(planted, before, "the session id changes at the password step");
    assert_eq!(redirect_target(&b.get("/accountant").await).as_deref(), Some("/login"), "no access with the password alone");
    let (_, html) = b.get_text("/login/code").await;
    assert!(html.contains(r#"autocomplete="one-time-code""#) && html.contains(r#"for="code""#));
    assert_eq!(send_code(&b, "000000").await, "/login/code");
    let (_, html) = b.get_text("/login/code").await;
    assert!(html.contains("That code is not right"), "{html}");
    let code = app.code_for(BURSAR);
    assert_eq!(send_code(&b, &code).await, "/accountant");
    assert_ne!(b.session_id(), Some(before), "the session id changes when the sign-in completes");
    assert_eq!(b.get("/accountant").await.status().as_u16(), 200);

    // The same code again (same 30-second step): refused, even with the right password.
    let again = app.browser();
    assert_eq!(password_step(&again, KHSS, BURSAR).await, "/login/code");
    assert_eq!(send_code(&again, &code).await, "/login/code", "a code is accepted once");
    assert_eq!(redirect_target(&again.get("/accountant").await).as_deref(), Some("/login"));

    let log = actions(&app, BURSAR).await;
    for expected in ["two_factor.enabled", "login.code_asked", "login.succeeded", "login.failed"] {
        assert!(log.iter().any(|a| a == expected), "{expected} in {log:?}");
    }
    let factor: String = sqlx::query_scalar(
        "SELECT details->>'factor' FROM audit_log WHERE subject = $1 AND action = 'login.succeeded' ORDER BY seq DESC LIMIT 1",
    )
    .bind(BURSAR)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(factor, "totp");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_new_ones_replace_the_old() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "bursar").await;
    let (_, codes) = app.enrol_two_factor(&b, BURSAR).await;

    let b = app.browser();
    assert_eq!(password_step(&b, KHSS, BURSAR).await, "/login/code");
    // Typed as printed, in capitals with spaces: still the code.
    assert_eq!(send_code(&b, &codes[0].to_uppercase().replace('-', " ")).await, "/accountant");
    let (_, html) = b.get_text(PAGE).await;
    assert!(html.contains("Recovery codes left: 9"), "{html}");

    let again = app.browser();
    assert_eq!(password_step(&again, KHSS, BURSAR).await, "/login/code");
    assert_eq!(send_code(&again, &codes[0]).await, "/login/code", "a recovery code works once");

    // New codes need the password and a code; the old ones stop working.
    let refused = b
        .form_to_server_fn("account/two-factor/recovery", &[("password", "wrong-password-9"), ("code", &app.code_for(BURSAR))], PAGE)
        .await;
    let errors = b.form_errors_after(&refused).await.expect("refused without the password");
    assert!(errors.contains("Wrong password or code"), "{errors}");
    let refused = b.form_to_server_fn("account/two-factor/recovery", &[("password", PASSWORD), ("code", "111111")], PAGE).await;
    assert!(b.form_errors_after(&refused).await.is_some(), "refused without a right code");
    let code = app.code_for(BURSAR);
    let r = b.form_to_server_fn("account/two-factor/recovery", &[("password", PASSWORD), ("code", &code)], PAGE).await;
    assert_eq!(redirect_target(&r).as_deref(), Some(PAGE));
    let (_, html) = b.get_text(PAGE).await;
    assert!(html.contains(r#"data-testid="recovery-codes""#) && html.contains("Recovery codes left: 10"));
    let old = app.browser();
    assert_eq!(password_step(&old, KHSS, BURSAR).await, "/login/code");
    assert_eq!(send_code(&old, &codes[1]).await, "/login/code", "old codes are gone");
    assert!(actions(&app, BURSAR).await.iter().any(|a| a == "two_factor.recovery_codes.replaced"));
}

#[tokio::test]
async fn wrong_codes_back_off_like_passwords_and_the_code_waits_five_minutes() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "bursar").await;
    app.enrol_two_factor(&b, BURSAR).await;

    let b = app.browser();
    assert_eq!(password_step(&b, KHSS, BURSAR).await, "/login/code");
    // The app's next code (moves the test's clock past the step spent when setting up).
    let code = app.code_for(BURSAR);
    for _ in 0..3 {
        assert_eq!(send_code(&b, "000000").await, "/login/code");
    }
    // Now even the right code waits, and the password step too.
    send_code(&b, &code).await;
    let (_, html) = b.get_text("/login/code").await;
    assert!(html.contains("Too many failed attempts"), "{html}");
    let other = app.browser();
    password_step(&other, KHSS, BURSAR).await;
    let (_, html) = other.get_text("/login").await;
    assert!(html.contains("Too many failed attempts"), "wrong codes count for the password too");
    app.clock.advance(Duration::seconds(3));
    assert_eq!(send_code(&b, &code).await, "/accountant", "after the delay the code goes through");

    // Five wrong codes for one password: the password is asked again.
    let guesser = app.browser();
    assert_eq!(password_step(&guesser, KHSS, BURSAR).await, "/login/code");
    for i in 0..5 {
        app.clock.advance(Duration::minutes(1));
        let to = send_code(&guesser, "000000").await;
        assert_eq!(to, if i < 4 { "/login/code" } else { "/login" }, "wrong code {}", i + 1);
    }
    app.clock.advance(Duration::minutes(20));

    // A password left waiting for six minutes: start again.
    let late = app.browser();
    assert_eq!(password_step(&late, KHSS, BURSAR).await, "/login/code");
    app.clock.advance(Duration::minutes(6));
    let code = app.code_for(BURSAR);
    assert_eq!(send_code(&late, &code).await, "/login");
    let (_, html) = late.get_text("/login").await;
    assert!(html.contains("Signing in took too long"), "{html}");
    // Nothing pending: a code alone signs no one in.
    assert_eq!(send_code(&app.browser(), &app.code_for(BURSAR)).await, "/login");
}

#[tokio::test]
async fn an_overdue_second_factor_opens_nothing_but_its_set_up() {
    let app = spawn_app().await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (_, html) = admin.get_text("/admin").await;
    assert!(html.contains(r#"data-testid="two-factor-due""#), "reminded during the grace period");
    // The account is fifteen days older than two-factor sign-in: its grace period is over
    // (the change reaches the server's cache through its notification).
    sqlx::query("UPDATE users SET two_factor_since = two_factor_since - interval '15 days' WHERE email = 'admin@kilimanjaro-hills.test'")
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let mut to = None;
    for _ in 0..100 {
        to = redirect_target(&admin.get("/admin/students").await);
        if to.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(to.as_deref(), Some(PAGE));
    let r = admin.server_fn("admin/staff", &[]).await;
    assert_eq!(r.status().as_u16(), 403, "server functions refuse too");
    assert_eq!(admin.get(PAGE).await.status().as_u16(), 200, "the set-up page opens");
    // A fresh sign-in goes straight to the set-up.
    let fresh = app.browser();
    assert_eq!(password_step(&fresh, KHSS, "admin@kilimanjaro-hills.test").await, PAGE);
    // A teacher (not required) works on.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.get("/teacher").await.status().as_u16(), 200);

    app.enrol_two_factor(&admin, "admin@kilimanjaro-hills.test").await;
    assert_eq!(admin.get("/admin/students").await.status().as_u16(), 200, "set up: everything opens again");
}

#[tokio::test]
async fn an_admin_resets_a_lost_phone_and_may_ask_teachers_too() {
    let app = spawn_app().await;
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    app.enrol_two_factor(&bursar, BURSAR).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (_, html) = admin.get_text("/admin/staff").await;
    assert!(html.contains(r#"data-testid="two-factor-reset""#), "the staff page offers a reset for members with a second factor");
    let bursar_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(BURSAR).fetch_one(&app.owner_pool).await.unwrap();
    let admin_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@kilimanjaro-hills.test'").fetch_one(&app.owner_pool).await.unwrap();

    // Not their own (that needs their password and a code, on their own page).
    let r =
        admin.server_fn("admin/staff/two-factor-reset", &[("user_id", &admin_id.to_string()), ("password", PASSWORD), ("code", "")]).await;
    assert_eq!(r.status().as_u16(), 409);
    // Another school's staff member: not found, and nothing of theirs changes.
    let other = app.login_as(Some(MLPS), "bursar").await;
    app.enrol_two_factor(&other, "bursar@mwanza-lakeside.test").await;
    let other_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'bursar@mwanza-lakeside.test'").fetch_one(&app.owner_pool).await.unwrap();
    let r =
        admin.server_fn("admin/staff/two-factor-reset", &[("user_id", &other_id.to_string()), ("password", PASSWORD), ("code", "")]).await;
    assert_eq!(r.status().as_u16(), 404);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM user_second_factors WHERE user_id = $1")
        .bind(other_id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    // A teacher may not.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let r = teacher
        .server_fn("admin/staff/two-factor-reset", &[("user_id", &bursar_id.to_string()), ("password", PASSWORD), ("code", "")])
        .await;
    assert_eq!(r.status().as_u16(), 403);

    // The admin proves who they are.
    let r = admin
        .server_fn("admin/staff/two-factor-reset", &[("user_id", &bursar_id.to_string()), ("password", "wrong-password-2"), ("code", "")])
        .await;
    assert_eq!(r.status().as_u16(), 422, "not without the admin's password");
    let r =
        admin.server_fn("admin/staff/two-factor-reset", &[("user_id", &bursar_id.to_string()), ("password", PASSWORD), ("code", "")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(redirect_target(&bursar.get("/accountant").await).as_deref(), Some("/login"), "the member's open sessions end");
    assert!(actions(&app, &bursar_id.to_string()).await.iter().any(|a| a == "two_factor.reset"));
    // The bursar signs in with the password again and is asked to set it up anew (reminded).
    let b = app.browser();
    assert_eq!(password_step(&b, KHSS, BURSAR).await, "/accountant");
    let (_, html) = b.get_text("/accountant").await;
    assert!(html.contains(r#"data-testid="two-factor-due""#));

    // Teachers: optional until the school asks.
    let (_, html) = teacher.get_text("/teacher").await;
    assert!(!html.contains(r#"data-testid="two-factor-due""#));
    let r = admin.form_to_server_fn("admin/staff/two-factor-teachers", &[("on", "true")], "/admin/staff").await;
    admin.assert_form_ok(&r).await;
    let (_, html) = teacher.get_text_once("/teacher", |_, h| h.contains(r#"data-testid="two-factor-due""#)).await;
    assert!(html.contains(r#"data-testid="two-factor-due""#), "teachers are reminded once the school asks");
    let (_, html) = admin.get_text("/admin/staff").await;
    assert!(html.contains(r#"<option value="true" selected"#), "the staff page shows the choice");
    assert!(actions(
        &app,
        &sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM tenants WHERE slug = $1")
            .bind(KHSS)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap()
            .to_string()
    )
    .await
    .iter()
    .any(|a| a == "school.two_factor_for_teachers.set"));
}

#[tokio::test]
async fn optional_two_factor_turns_off_only_with_password_and_code() {
    let app = spawn_app().await;
    let email = "teacher@kilimanjaro-hills.test";
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let (_, html) = teacher.get_text(PAGE).await;
    assert!(html.contains("keeps your account safe"), "optional for a teacher: {html}");
    // Setting up needs the password too.
    let r = teacher.form_to_server_fn("account/two-factor/start", &[], PAGE).await;
    teacher.assert_form_ok(&r).await;
    let r = teacher.form_to_server_fn("account/two-factor/confirm", &[("password", "wrong-password-1"), ("code", "123456")], PAGE).await;
    assert!(teacher.form_errors_after(&r).await.unwrap().contains("Wrong password or code"));
    app.enrol_two_factor(&teacher, email).await;

    let r = teacher.form_to_server_fn("account/two-factor/off", &[("password", PASSWORD), ("code", "000000")], PAGE).await;
    assert!(teacher.form_errors_after(&r).await.is_some(), "a wrong code keeps it on");
    let code = app.code_for(email);
    let r = teacher.form_to_server_fn("account/two-factor/off", &[("password", PASSWORD), ("code", &code)], PAGE).await;
    assert_eq!(redirect_target(&r).as_deref(), Some(PAGE));
    assert_eq!(password_step(&app.browser(), KHSS, email).await, "/teacher", "no code asked once it is off");
    assert!(actions(&app, email).await.iter().any(|a| a == "two_factor.disabled"));

    // An accountant cannot turn it off.
    let bursar = app.login_as(Some(KHSS), "bursar").await;
    app.enrol_two_factor(&bursar, BURSAR).await;
    let code = app.code_for(BURSAR);
    let r = bursar.server_fn("account/two-factor/off", &[("password", PASSWORD), ("code", &code)]).await;
    assert_eq!(r.status().as_u16(), 409);
}

#[tokio::test]
async fn platform_staff_set_it_up_and_sign_in_with_a_code() {
    let app = spawn_app().await;
    let owner = app.login_as(None, "owner").await;
    app.enrol_two_factor(&owner, "owner@kilele.test").await;
    let b = app.browser();
    assert_eq!(password_step(&b, "", "owner@kilele.test").await, "/login/code");
    let code = app.code_for("owner@kilele.test");
    assert_eq!(send_code(&b, &code).await, "/owner");
    assert_eq!(b.get("/owner").await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_new_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let email = "teacher@kilimanjaro-hills.test";
    let here = app.login_as(Some(KHSS), "teacher").await;
    let elsewhere = app.login_as(Some(KHSS), "teacher").await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![("current_password", current), ("new_password", new), ("new_password_again", again)]
    };
    for (form, message) in [
        (change("wrong-password-1", "Teacher-New-2026", "Teacher-New-2026"), "Wrong password or code"),
        (change(PASSWORD, "Teacher-New-2026", "Teacher-Other-2026"), "The two passwords are not the same"),
        (change(PASSWORD, "short", "short"), "at least 10 characters"),
    ] {
        let r = here.post_form("/account/password", &form).await;
        let errors = here.form_errors_after(&r).await.expect("refused");
        assert!(errors.contains(message), "{message} in {errors}");
    }
    let before = here.session_id();
    let r = here.post_form("/account/password", &change(PASSWORD, "Teacher-New-2026", "Teacher-New-2026")).await;
    assert_eq!(redirect_target(&r).as_deref(), Some(PAGE));
    let (_, html) = here.get_text(PAGE).await;
    assert!(html.contains(r#"data-testid="password-changed""#), "said once");
    assert_ne!(here.session_id(), before, "this session goes on under a new id");
    assert_eq!(here.get("/teacher").await.status().as_u16(), 200, "this session goes on");
    assert_eq!(redirect_target(&elsewhere.get("/teacher").await).as_deref(), Some("/login"), "the other session ends");
    assert_eq!(
        redirect_target(&app.browser().login(KHSS, email, PASSWORD).await).as_deref(),
        Some("/login"),
        "the old password is refused"
    );
    assert_eq!(redirect_target(&app.browser().login(KHSS, email, "Teacher-New-2026").await).as_deref(), Some("/teacher"));
    assert!(actions(&app, email).await.iter().any(|a| a == "user.password_changed"));

    // With two-factor sign-in on, the code is asked too; platform staff the same.
    let owner = app.login_as(None, "owner").await;
    app.enrol_two_factor(&owner, "owner@kilele.test").await;
    let r = owner.post_form("/account/password", &change(PASSWORD, "Owner-New-2026x", "Owner-New-2026x")).await;
    assert!(owner.form_errors_after(&r).await.is_some(), "no code, no change");
    let code = app.code_for("owner@kilele.test");
    let form =
        [("current_password", PASSWORD), ("new_password", "Owner-New-2026x"), ("new_password_again", "Owner-New-2026x"), ("code", &code)];
    let r = owner.post_form("/account/password", &form).await;
    assert_eq!(redirect_target(&r).as_deref(), Some(PAGE));
    assert_eq!(owner.get("/owner").await.status().as_u16(), 200);
    let platform: Vec<String> =
        sqlx::query_scalar("SELECT action FROM platform_audit_log ORDER BY seq").fetch_all(&app.pool).await.unwrap();
    assert!(platform.iter().any(|a| a == "user.password_changed") && platform.iter().any(|a| a == "two_factor.enabled"), "{platform:?}");
}
