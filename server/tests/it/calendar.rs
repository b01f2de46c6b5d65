//! School admin: calendar (years and terms).

use crate::harness::*;

fn form_errors(html: &str) -> Option<&str> {
    let at = html.find(r#"data-testid="form-errors""#)?;
    Some(&html[at..(at + 600).min(html.len())])
}

#[tokio::test]
async fn admin_adds_a_year_adjusts_terms_and_picks_the_current_one() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let (status, html) = b.get_text("/admin/calendar").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="year-2026""#), "the demo year");

    // Add 2027 with three terms (plain form post to the server function, as a browser does).
    let r = b.form_to_server_fn("admin/calendar/create-year", &[("year", "2027"), ("terms_per_year", "3")], "/admin/calendar").await;
    assert_eq!(r.status().as_u16(), 302, "a form post is redirected back");
    let (_, html) = b.get_text("/admin/calendar").await;
    assert!(html.contains(r#"data-testid="year-2027""#));
    assert!(html.contains("Term 3"));
    assert!(form_errors(&html).is_none());

    // The same year twice: refused with a clear message, nothing written.
    let r = b.form_to_server_fn("admin/calendar/create-year", &[("year", "2027"), ("terms_per_year", "2")], "/admin/calendar").await;
    let shown = b.form_errors_after(&r).await.unwrap();
    assert!(shown.contains("That academic year already exists"), "{shown}");

    // Move a term so that it overlaps another: refused.
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let (term2,): (uuid::Uuid,) =
        sqlx::query_as("SELECT t.id FROM terms t JOIN academic_years y ON y.id = t.academic_year_id WHERE y.year = 2027 AND t.number = 2")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    drop(tx);
    let id = term2.to_string();
    let r = b
        .form_to_server_fn(
            "admin/calendar/update-term",
            &[("term_id", &id), ("starts_on", "2027-03-01"), ("ends_on", "2027-08-01")],
            "/admin/calendar",
        )
        .await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    let shown = form_errors(&html).unwrap();
    assert!(shown.contains("Terms cannot overlap"), "{shown}");
    let r = b
        .form_to_server_fn(
            "admin/calendar/update-term",
            &[("term_id", &id), ("starts_on", "2027-05-05"), ("ends_on", "2027-05-01")],
            "/admin/calendar",
        )
        .await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    assert!(form_errors(&html).unwrap().contains("must end after it starts"));
    // A good change goes through.
    b.form_to_server_fn(
        "admin/calendar/update-term",
        &[("term_id", &id), ("starts_on", "2027-05-05"), ("ends_on", "2027-08-08")],
        "/admin/calendar",
    )
    .await;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let starts: chrono::NaiveDate =
        sqlx::query_scalar("SELECT starts_on FROM terms WHERE id = $1").bind(term2).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(starts.to_string(), "2027-05-05");
    drop(tx);

    // Exactly one current term, and its year becomes current.
    b.form_to_server_fn("admin/calendar/current-term", &[("term_id", &id)], "/admin/calendar").await;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let current: Vec<(i32, i32)> =
        sqlx::query_as("SELECT y.year, t.number FROM terms t JOIN academic_years y ON y.id = t.academic_year_id WHERE t.is_current")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(current, vec![(2027, 2)]);
    let years: Vec<i32> = sqlx::query_scalar("SELECT year FROM academic_years WHERE is_current").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(years, vec![2027]);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'calendar.%'").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(audited, 3, "year created, term changed, current term set");
}

#[tokio::test]
async fn calendar_is_for_admins_of_this_school_only() {
    let app = spawn_app().await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.get("/admin/calendar").await.status().as_u16(), 403);
    let r = teacher.server_fn("admin/calendar/create-year", &[("year", "2030"), ("terms_per_year", "2")]).await;
    assert!(!r.status().is_success());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM academic_years WHERE year = 2030").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(n, 0);
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    for endpoint in
        ["/api/admin/calendar", "/api/admin/calendar/create-year", "/api/admin/calendar/update-term", "/api/admin/calendar/current-term"]
    {
        let req = CrossTenantRequest { method: reqwest::Method::POST, path: endpoint, form: &[("year", "2031"), ("terms_per_year", "2")] };
        assert_cross_tenant_refused(&app, MLPS, "admin", KHSS, req, "KHSS").await;
    }
    assert_cross_tenant_refused(
        &app,
        MLPS,
        "admin",
        KHSS,
        CrossTenantRequest { method: reqwest::Method::GET, path: "/admin/calendar", form: &[] },
        "Kilimanjaro",
    )
    .await;
}

/// A crafted link cannot put words of its own on a page through the form-error channel.
#[tokio::test]
async fn crafted_error_links_show_only_our_own_messages() {
    use base64::Engine;
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let forged = serde_json::json!({ "Invalid": { "field": "year", "message": "Your account is locked: call 0700 000 000" } });
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(forged.to_string());
    let (_, html) = b.get_text(&format!("/admin/calendar?__path=x&__err={encoded}")).await;
    assert!(!html.contains("call 0700"), "forged text shown");
    assert!(form_errors(&html).is_none(), "errors are never read from the URL: {html}");
    let (_, html) = b.get_text("/admin/import?error=import-error-CALL-0700-NOW").await;
    assert!(!html.contains("CALL-0700"));
}
