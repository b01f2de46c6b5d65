//! Year-end promotion: preview, one confirmation, undo until the new year starts.

use crate::harness::*;

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *tx).await.unwrap()
}

async fn level_id(app: &TestApp, code: &str) -> String {
    let tenant =
        kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM levels WHERE code = $1").bind(code).fetch_one(&mut *tx).await.unwrap();
    id.to_string()
}

#[tokio::test]
async fn a_level_is_promoted_after_a_preview_and_can_be_undone() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let f4 = level_id(&app, "F4").await;
    let f1 = level_id(&app, "F1").await;

    // No 2027 yet: the preview says what to do first, and nothing can be promoted.
    let (_, html) = b.get_text(&format!("/admin/promotion?level={f1}")).await;
    assert!(html.contains(r#"data-testid="promotion-blocked""#) && html.contains("Add the academic year 2027"), "{html}");
    b.form_to_server_fn("admin/calendar/create-year", &[("year", "2027"), ("terms_per_year", "2")], "/admin/calendar").await;

    // Preview: Form 1A → Form 2A, Form 1B → Form 2B, 50 each; nothing changes yet.
    let (_, html) = b.get_text(&format!("/admin/promotion?level={f1}")).await;
    assert!(html.contains(r#"data-testid="promotion-preview""#));
    assert!(html.contains("Form 1A") && html.contains("Form 2A") && html.contains("Promote 100 students of Form 1 into 2027"), "{html}");
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM enrolments e JOIN academic_years y ON y.id = e.academic_year_id WHERE y.year = 2027").await,
        0
    );

    // Confirm Form 1 and Form 4 (graduates).
    let from = format!("/admin/promotion?level={f1}");
    let r = b.form_to_server_fn("admin/promotion/promote", &[("level_id", &f1)], &from).await;
    b.assert_form_ok(&r).await;
    let (_, html) = b.get_text(&format!("/admin/promotion?level={f4}")).await;
    assert!(html.contains("Graduates"));
    b.form_to_server_fn("admin/promotion/promote", &[("level_id", &f4)], &from).await;
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM enrolments e JOIN academic_years y ON y.id = e.academic_year_id WHERE y.year = 2027").await,
        100
    );
    assert_eq!(scalar(&app, "SELECT count(*) FROM students WHERE status = 'graduated'").await, 100);
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM students s JOIN streams st ON st.id = s.stream_id JOIN levels l ON l.id = st.level_id WHERE l.code = 'F2' AND s.status = 'active'").await,
        200,
        "Form 2 now holds last year's Form 1 and Form 2 students"
    );
    // Form 1's history is kept: its 2026 enrolments say "promoted".
    assert_eq!(scalar(&app, "SELECT count(*) FROM enrolments WHERE outcome = 'promoted'").await, 100);
    // Promoting the same level twice is refused.
    let r = b.form_to_server_fn("admin/promotion/promote", &[("level_id", &f1)], &from).await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("already been promoted"));
    // Form 2 promoted next takes only its own 2026 students, not Form 1's newcomers.
    let f2 = level_id(&app, "F2").await;
    let (_, html) = b.get_text(&format!("/admin/promotion?level={f2}")).await;
    assert!(html.contains("Promote 100 students of Form 2"), "{html}");

    // Undo Form 4: everyone is back, active, in Form 4.
    let (_, html) = b.get_text("/admin/promotion").await;
    assert_eq!(html.matches(r#"data-testid="promotion-batch""#).count(), 2);
    let batch: String = {
        let tenant =
            kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
        let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT b.id FROM promotion_batches b JOIN levels l ON l.id = b.level_id WHERE l.code = 'F4'")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        id.to_string()
    };
    let r = b.form_to_server_fn("admin/promotion/undo", &[("batch_id", &batch)], "/admin/promotion").await;
    b.assert_form_ok(&r).await;
    assert_eq!(scalar(&app, "SELECT count(*) FROM students WHERE status = 'graduated'").await, 0);
    assert_eq!(scalar(&app, "SELECT count(*) FROM enrolments WHERE outcome = 'graduated'").await, 0);
    assert_eq!(scalar(&app, "SELECT count(*) FROM audit_log WHERE action IN ('students.promoted', 'students.promotion.undone')").await, 3);

    // Once the new year's first term has started, undo is refused.
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2027-01-20T08:00:00Z").unwrap().with_timezone(&chrono::Utc));
    let b = app.login_as(Some(KHSS), "admin").await;
    let f1_batch: String = {
        let tenant =
            kilele::tenancy::store::find_by_slug(&app.pool, &kilele::tenancy::TenantSlug::parse(KHSS).unwrap()).await.unwrap().unwrap().id;
        let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT b.id FROM promotion_batches b JOIN levels l ON l.id = b.level_id WHERE l.code = 'F1'")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        id.to_string()
    };
    let r = b.form_to_server_fn("admin/promotion/undo", &[("batch_id", &f1_batch)], "/admin/promotion").await;
    let (_, html) = b.get_text(&redirect_target(&r).unwrap()).await;
    assert!(html.contains("can no longer be undone"), "{html}");
}

#[tokio::test]
async fn promotion_is_for_this_schools_managers_only() {
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.get("/admin/promotion").await.status().as_u16(), 403);
    let f1 = level_id(&app, "F1").await;
    let form = [("level_id", f1.as_str()), ("batch_id", f1.as_str())];
    for path in ["/api/admin/promotion", "/api/admin/promotion/preview", "/api/admin/promotion/promote", "/api/admin/promotion/undo"] {
        assert_cross_tenant_refused(
            &app,
            MLPS,
            "admin",
            KHSS,
            CrossTenantRequest { method: reqwest::Method::POST, path, form: &form },
            "Form 1",
        )
        .await;
    }
    assert_cross_tenant_refused(
        &app,
        MLPS,
        "admin",
        KHSS,
        CrossTenantRequest { method: reqwest::Method::GET, path: "/admin/promotion", form: &[] },
        "Form 1",
    )
    .await;
    // School B's admin asking about school A's level: not found.
    let b = app.login_as(Some(MLPS), "admin").await;
    let body = b.server_fn("admin/promotion/preview", &form).await.text().await.unwrap();
    assert!(body.contains("NotFound"), "{body}");
}
