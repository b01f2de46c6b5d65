//! School admin: classes (levels, streams, class teachers, A-level combinations) and
//! subjects (school subjects, level subjects, teacher allocations).

use crate::harness::*;
use uuid::Uuid;

/// Posts a form to a server function as a browser without JavaScript does and returns the
/// error block of the page it is sent back to (`None` when the change went through).
async fn post(b: &Browser, endpoint: &str, form: &[(&str, &str)], page: &str) -> Option<String> {
    let r = b.form_to_server_fn(endpoint, form, page).await;
    assert_eq!(r.status().as_u16(), 302, "{endpoint}: a form post is redirected back");
    b.form_errors_after(&r).await
}

async fn id_of(app: &TestApp, sql: &str, school: &str, key: &str) -> Uuid {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(school)
        .bind(key)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap_or_else(|e| panic!("{sql} {school} {key}: {e}"))
}

const LEVEL: &str = "SELECT l.id FROM levels l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = $1 AND l.code = $2";
const STREAM: &str = "SELECT s.id FROM streams s JOIN tenants t ON t.id = s.tenant_id
     JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id WHERE t.slug = $1 AND l.code || s.name = $2";
const SUBJECT: &str = "SELECT s.id FROM school_subjects s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1 AND s.code = $2";
const USER: &str = "SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = $1 AND u.email = $2";

async fn count(app: &TestApp, sql: &str, school: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(school).fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn admin_adds_levels_streams_class_teachers_and_combinations() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let (status, html) = b.get_text("/admin/classes").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="level-F1""#) && html.contains("Form 4B"), "the demo classes");
    assert!(html.contains(r#"data-testid="combinations-no-a-level""#), "no A-level yet");
    assert!(html.contains(r#"href="/admin/classes""#) && html.contains(r#"href="/admin/subjects""#), "admin tabs");

    // A level: Form 5 (A-level), under its Tanzanian name.
    assert_eq!(post(&b, "admin/classes/add-level", &[("band", "a_level"), ("ordinal", "5")], "/admin/classes").await, None);
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains(r#"data-testid="level-F5""#) && html.contains("Form 5"), "{html}");
    // Bad input is refused with a clear message, and nothing is written.
    let shown = post(&b, "admin/classes/add-level", &[("band", "o_level"), ("ordinal", "5")], "/admin/classes").await.unwrap();
    assert!(shown.contains("That level does not exist in this band"), "{shown}");
    let shown = post(&b, "admin/classes/add-level", &[("band", "o_level"), ("ordinal", "2")], "/admin/classes").await.unwrap();
    assert!(shown.contains("The school already has this level"), "{shown}");
    assert_eq!(count(&app, "SELECT count(*) FROM levels l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = $1", KHSS).await, 5);

    // A stream; the same stream twice is refused.
    let form5 = id_of(&app, LEVEL, KHSS, "F5").await.to_string();
    assert_eq!(post(&b, "admin/classes/add-stream", &[("level_id", &form5), ("name", "a")], "/admin/classes").await, None);
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains(r#"data-testid="stream-Form 5A""#), "{html}");
    let form1 = id_of(&app, LEVEL, KHSS, "F1").await.to_string();
    let shown = post(&b, "admin/classes/add-stream", &[("level_id", &form1), ("name", "A")], "/admin/classes").await.unwrap();
    assert!(shown.contains("This level already has a stream with that name"), "{shown}");
    let shown = post(&b, "admin/classes/add-stream", &[("level_id", &form1), ("name", "=1")], "/admin/classes").await.unwrap();
    assert!(shown.contains("starts with a letter"), "{shown}");
    let streams_f1 = "SELECT count(*) FROM streams s JOIN tenants t ON t.id = s.tenant_id
         JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id WHERE t.slug = $1 AND l.code = 'F1'";
    assert_eq!(count(&app, streams_f1, KHSS).await, 2);

    // The class teacher: a teacher of this school; an accountant is refused.
    let stream = id_of(&app, STREAM, KHSS, "F5A").await;
    let teacher = id_of(&app, USER, KHSS, "teacher@kilimanjaro-hills.test").await;
    let bursar = id_of(&app, USER, KHSS, "bursar@kilimanjaro-hills.test").await;
    let (sid, tid, bid) = (stream.to_string(), teacher.to_string(), bursar.to_string());
    assert_eq!(post(&b, "admin/classes/class-teacher", &[("stream_id", &sid), ("teacher_id", &tid)], "/admin/classes").await, None);
    let shown = post(&b, "admin/classes/class-teacher", &[("stream_id", &sid), ("teacher_id", &bid)], "/admin/classes").await.unwrap();
    assert!(shown.contains("Choose an active teacher of this school"), "{shown}");
    let class_teacher: Option<Uuid> =
        sqlx::query_scalar("SELECT class_teacher_id FROM streams WHERE id = $1").bind(stream).fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(class_teacher, Some(teacher));
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains(&format!(r#"value="{tid}" selected"#)), "the class teacher is selected");

    // A-level combinations come from the default list; their subjects are added with them.
    assert_eq!(post(&b, "admin/classes/add-combination", &[("code", "PCM")], "/admin/classes").await, None);
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains(r#"data-testid="combination-PCM""#) && html.contains("Advanced Mathematics"), "{html}");
    let shown = post(&b, "admin/classes/add-combination", &[("code", "PCM")], "/admin/classes").await.unwrap();
    assert!(shown.contains("already offers this combination"), "{shown}");
    let shown = post(&b, "admin/classes/add-combination", &[("code", "XYZ")], "/admin/classes").await.unwrap();
    assert!(shown.contains("Choose a combination from the list"), "{shown}");
    let pcm: Uuid = id_of(
        &app,
        "SELECT c.id FROM subject_combinations c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = $1 AND c.code = $2",
        KHSS,
        "PCM",
    )
    .await;
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM combination_subjects WHERE combination_id = $1")
        .bind(pcm)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(members, 3);
    // Each level's subject list fits its band: A-level subjects for Form 5, not Form 1.
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains("level-subject-Form 1-CIV") && !html.contains("level-subject-Form 1-A-PHY"));
    let (_, html) = b.get_text(&format!("/admin/subjects?level={form5}")).await;
    assert!(html.contains("level-subject-Form 5-A-PHY") && !html.contains("level-subject-Form 5-CIV"), "{html}");
    assert_eq!(post(&b, "admin/classes/remove-combination", &[("combination_id", &pcm.to_string())], "/admin/classes").await, None);
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(!html.contains(r#"data-testid="combination-PCM""#));

    // The default list is a catalog: the application cannot change it.
    assert!(sqlx::query("DELETE FROM master_combinations").execute(&app.pool).await.is_err());
    assert!(sqlx::query("INSERT INTO master_combinations VALUES ('XYZ', 'x', 'x')").execute(&app.pool).await.is_err());

    // Every change is in the audit log, refused ones are not.
    assert_eq!(audited(&app, KHSS, "class.level.added").await, 1);
    assert_eq!(audited(&app, KHSS, "class.stream.added").await, 1);
    assert_eq!(audited(&app, KHSS, "class.teacher.assigned").await, 1);
    assert_eq!(audited(&app, KHSS, "class.combination.added").await, 1);
    assert_eq!(audited(&app, KHSS, "class.combination.removed").await, 1);
    assert_eq!(audited(&app, KHSS, "subject.added").await, 3, "A-PHY, A-CHEM, A-MATH");
}

#[tokio::test]
async fn admin_manages_subjects_level_subjects_and_allocations() {
    let app = spawn_app().await;
    let b = app.login_as(Some(KHSS), "admin").await;
    let (status, html) = b.get_text("/admin/subjects").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="subject-CIV""#), "the demo subjects");
    assert!(html.contains(r#"value="AGR""#), "O-level master subjects not yet added are offered");
    assert!(!html.contains(r#"value="P-KISW""#) && !html.contains(r#"value="A-PHY""#), "only the school's bands");
    assert!(!html.contains(r#"<option value="CIV""#), "subjects already added are not offered");

    // From the master list, and the school's own.
    assert_eq!(post(&b, "admin/subjects/add-master", &[("code", "AGR")], "/admin/subjects").await, None);
    let shown = post(&b, "admin/subjects/add-master", &[("code", "AGR")], "/admin/subjects").await.unwrap();
    assert!(shown.contains("already has a subject with this code"), "{shown}");
    let shown = post(&b, "admin/subjects/add-master", &[("code", "A-PHY")], "/admin/subjects").await.unwrap();
    assert!(shown.contains("for a band the school does not teach"), "{shown}");
    let custom = [("code", "dev"), ("name_en", "Development Studies"), ("name_sw", "Maendeleo ya Jamii")];
    assert_eq!(post(&b, "admin/subjects/add-custom", &custom, "/admin/subjects").await, None);
    let shown =
        post(&b, "admin/subjects/add-custom", &[("code", "1"), ("name_en", ""), ("name_sw", "=cmd")], "/admin/subjects").await.unwrap();
    assert!(shown.contains("A subject code has 2–10 capital letters"), "{shown}");
    assert!(shown.contains("Enter the subject"), "{shown}");
    assert!(shown.contains("cannot start with"), "{shown}");
    let shown = post(&b, "admin/subjects/add-custom", &custom, "/admin/subjects").await.unwrap();
    assert!(shown.contains("already has a subject with this code"), "{shown}");
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains(r#"data-testid="subject-AGR""#) && html.contains(r#"data-testid="subject-DEV""#));
    let subjects = "SELECT count(*) FROM school_subjects s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1";
    assert_eq!(count(&app, subjects, KHSS).await, 12);

    // Level subjects: compulsory, optional, then not taken.
    let form1 = id_of(&app, LEVEL, KHSS, "F1").await.to_string();
    let (civ, agr) = (id_of(&app, SUBJECT, KHSS, "CIV").await.to_string(), id_of(&app, SUBJECT, KHSS, "AGR").await.to_string());
    for (subject, mode) in [(&civ, "compulsory"), (&agr, "optional"), (&civ, "none"), (&civ, "compulsory")] {
        let form = [("level_id", form1.as_str()), ("subject_id", subject.as_str()), ("mode", mode)];
        assert_eq!(post(&b, "admin/subjects/level", &form, "/admin/subjects").await, None);
    }
    let shown = post(&b, "admin/subjects/level", &[("level_id", &form1), ("subject_id", &civ), ("mode", "sometimes")], "/admin/subjects")
        .await
        .unwrap();
    assert!(shown.contains("Choose compulsory, optional or not taken"), "{shown}");
    let taken: Vec<(String, bool)> = sqlx::query_as(
        "SELECT s.code, ls.compulsory FROM level_subjects ls JOIN school_subjects s ON s.tenant_id = ls.tenant_id AND s.id = ls.subject_id
          WHERE ls.level_id = $1 ORDER BY s.code",
    )
    .bind(form1.parse::<Uuid>().unwrap())
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(taken, vec![("AGR".to_owned(), false), ("CIV".to_owned(), true)]);
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains(r#"data-testid="level-subject-Form 1-AGR""#));
    assert!(html.contains(r#"data-testid="allocation-Form 1A-AGR""#), "a subject the level takes can be allocated");
    assert!(!html.contains(r#"data-testid="allocation-Form 3A-GEO""#), "one level at a time");
    let form3 = id_of(&app, LEVEL, KHSS, "F3").await;
    let (_, html) = b.get_text(&format!("/admin/subjects?level={form3}")).await;
    assert!(html.contains(r#"data-testid="allocation-Form 3A-GEO""#) && !html.contains("allocation-Form 1A"), "the chosen level");

    // Allocations: the teacher's workspace shows exactly them.
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    let (_, mine) = teacher.get_text("/teacher").await;
    assert!(!mine.contains("Form 3A") && !mine.contains("Geography"), "not allocated yet");
    let stream = id_of(&app, STREAM, KHSS, "F3A").await.to_string();
    let geo = id_of(&app, SUBJECT, KHSS, "GEO").await.to_string();
    let teacher_id = id_of(&app, USER, KHSS, "teacher@kilimanjaro-hills.test").await.to_string();
    let bursar_id = id_of(&app, USER, KHSS, "bursar@kilimanjaro-hills.test").await.to_string();
    let alloc = [("stream_id", stream.as_str()), ("subject_id", geo.as_str()), ("teacher_id", teacher_id.as_str())];
    assert_eq!(post(&b, "admin/subjects/allocate", &alloc, "/admin/subjects").await, None);
    let (_, mine) = teacher.get_text("/teacher").await;
    assert!(mine.contains("Form 3A") && mine.contains("Geography"), "{mine}");
    let shown =
        post(&b, "admin/subjects/allocate", &[("stream_id", &stream), ("subject_id", &geo), ("teacher_id", &bursar_id)], "/admin/subjects")
            .await
            .unwrap();
    assert!(shown.contains("Choose an active teacher of this school"), "{shown}");
    let shown = post(&b, "admin/subjects/allocate", &[("stream_id", &stream), ("subject_id", &geo), ("teacher_id", "")], "/admin/subjects")
        .await
        .unwrap();
    assert!(shown.contains("Choose a teacher"), "{shown}");
    assert_eq!(post(&b, "admin/subjects/unallocate", &[("stream_id", &stream), ("subject_id", &geo)], "/admin/subjects").await, None);
    let (_, mine) = teacher.get_text("/teacher").await;
    assert!(!mine.contains("Form 3A") && !mine.contains("Geography"), "removed");
    let shown = post(&b, "admin/subjects/unallocate", &[("stream_id", &stream), ("subject_id", &geo)], "/admin/subjects").await.unwrap();
    assert!(shown.contains("Not found"), "{shown}");

    assert_eq!(audited(&app, KHSS, "subject.added").await, 2);
    assert_eq!(audited(&app, KHSS, "subject.level.set").await, 4);
    assert_eq!(audited(&app, KHSS, "allocation.set").await, 1);
    assert_eq!(audited(&app, KHSS, "allocation.removed").await, 1);
}

#[tokio::test]
async fn a_primary_school_gets_primary_subjects_and_standard_names() {
    let app = spawn_app().await;
    let b = app.login_as(Some(MLPS), "admin").await;
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains("Standard VII A"), "{html}");
    let shown = post(&b, "admin/classes/add-level", &[("band", "primary"), ("ordinal", "8")], "/admin/classes").await.unwrap();
    assert!(shown.contains("That level does not exist in this band"), "{shown}");
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains(r#"value="P-FRE""#) && !html.contains(r#"value="CIV""#), "primary master subjects only");
    // A school without a current year cannot allocate: a clear message, not a failure.
    sqlx::query("UPDATE academic_years y SET is_current = false FROM tenants t WHERE t.id = y.tenant_id AND t.slug = $1")
        .bind(MLPS)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let stream = id_of(&app, STREAM, MLPS, "STD1A").await.to_string();
    let subject = id_of(&app, SUBJECT, MLPS, "P-MATH").await.to_string();
    let teacher = id_of(&app, USER, MLPS, "teacher@mwanza-lakeside.test").await.to_string();
    let shown = post(
        &b,
        "admin/subjects/allocate",
        &[("stream_id", &stream), ("subject_id", &subject), ("teacher_id", &teacher)],
        "/admin/subjects",
    )
    .await
    .unwrap();
    assert!(shown.contains("There is no current academic year"), "{shown}");
    // In Kiswahili too.
    b.jar.add_cookie_str("kilele_lang=sw", &b.base.parse::<url::Url>().unwrap());
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains("Ongeza mkondo") && html.contains("Mwalimu wa darasa"), "{html}");
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains("Lazima") && html.contains("Hiari") && html.contains("Hisabati"), "{html}");
}

#[tokio::test]
async fn classes_and_subjects_are_for_admins_of_this_school_only() {
    let app = spawn_app().await;
    let teacher = app.login_as(Some(KHSS), "teacher").await;
    assert_eq!(teacher.get("/admin/classes").await.status().as_u16(), 403);
    assert_eq!(teacher.get("/admin/subjects").await.status().as_u16(), 403);
    let form1 = id_of(&app, LEVEL, KHSS, "F1").await.to_string();
    let r = teacher.server_fn("admin/classes/add-stream", &[("level_id", &form1), ("name", "C")]).await;
    assert!(!r.status().is_success());
    assert!(!teacher.server_fn("admin/classes", &[]).await.status().is_success());
    let r = teacher.server_fn("admin/subjects/add-master", &[("code", "AGR")]).await;
    assert!(!r.status().is_success());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM streams WHERE name = 'C'").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(n, 0);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM school_subjects WHERE code = 'AGR'").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(n, 0);

    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let level = id_of(&app, LEVEL, KHSS, "F1").await.to_string();
    let stream = id_of(&app, STREAM, KHSS, "F1A").await.to_string();
    let subject = id_of(&app, SUBJECT, KHSS, "CIV").await.to_string();
    let teacher = id_of(&app, USER, KHSS, "teacher@kilimanjaro-hills.test").await.to_string();
    let form: &[(&str, &str)] = &[
        ("band", "o_level"),
        ("ordinal", "3"),
        ("level_id", &level),
        ("name", "Z"),
        ("stream_id", &stream),
        ("teacher_id", &teacher),
        ("code", "AGR"),
        ("combination_id", &level),
        ("name_en", "Hacked"),
        ("name_sw", "Hacked"),
        ("subject_id", &subject),
        ("mode", "none"),
    ];
    for endpoint in [
        "/api/admin/classes",
        "/api/admin/classes/add-level",
        "/api/admin/classes/add-stream",
        "/api/admin/classes/class-teacher",
        "/api/admin/classes/add-combination",
        "/api/admin/classes/remove-combination",
        "/api/admin/subjects",
        "/api/admin/subjects/add-master",
        "/api/admin/subjects/add-custom",
        "/api/admin/subjects/level",
        "/api/admin/subjects/allocate",
        "/api/admin/subjects/unallocate",
    ] {
        let req = CrossTenantRequest { method: reqwest::Method::POST, path: endpoint, form };
        assert_cross_tenant_refused(&app, MLPS, "admin", KHSS, req, "Form 1").await;
    }
    for page in ["/admin/classes", "/admin/subjects"] {
        let req = CrossTenantRequest { method: reqwest::Method::GET, path: page, form: &[] };
        assert_cross_tenant_refused(&app, MLPS, "admin", KHSS, req, "Kilimanjaro").await;
    }
    // Nothing was changed in KHSS.
    assert_eq!(audited(&app, KHSS, "class.stream.added").await, 0);
    assert_eq!(audited(&app, KHSS, "allocation.removed").await, 0);
    assert_eq!(audited(&app, KHSS, "subject.level.set").await, 0);
}

/// A new school starts from empty states and builds its classes from nothing.
#[tokio::test]
async fn an_empty_school_starts_from_empty_states() {
    use kilele::identity::{password, store as users, Email, Role};
    let app = spawn_app().await;
    let slug = kilele::tenancy::TenantSlug::parse("arusha-empty").unwrap();
    let tenant =
        kilele::tenancy::store::create(&app.owner_pool, &slug, "Arusha Empty School", "standard", kilele::Language::En).await.unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, tenant).await.unwrap();
    users::ensure_default_roles(&mut tx).await.unwrap();
    let actor = kilele::audit::Actor::system("test");
    let by = users::ChangedBy { actor: &actor, at: chrono::Utc::now() };
    let hash = password::hash(PASSWORD).unwrap();
    let email = Email::parse("head@arusha-empty.test").unwrap();
    users::create_school_user(&mut tx, &email, "Head Teacher", Some(&hash), &[Role::SchoolAdmin], by).await.unwrap();
    tx.commit().await.unwrap();
    let b = app.browser();
    let r = b.login("arusha-empty", "head@arusha-empty.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/admin"));

    let (status, html) = b.get_text("/admin/classes").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="classes-empty""#) && html.contains(r#"data-testid="combinations-no-a-level""#));
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains(r#"data-testid="subjects-empty""#), "{html}");
    assert!(html.contains("Add levels on the Classes page first"));
    assert!(html.contains("There is no current academic year"));
    assert!(html.contains(r#"value="P-KISW""#) && html.contains(r#"value="CIV""#), "every band while there are no levels");

    // Standard I with stream A; then only primary subjects are offered.
    assert_eq!(post(&b, "admin/classes/add-level", &[("band", "primary"), ("ordinal", "1")], "/admin/classes").await, None);
    let std1 = id_of(&app, LEVEL, "arusha-empty", "STD1").await.to_string();
    assert_eq!(post(&b, "admin/classes/add-stream", &[("level_id", &std1), ("name", "A")], "/admin/classes").await, None);
    let (_, html) = b.get_text("/admin/classes").await;
    assert!(html.contains(r#"data-testid="stream-Standard I A""#), "{html}");
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains(r#"value="P-KISW""#) && !html.contains(r#"value="CIV""#));
    assert_eq!(post(&b, "admin/subjects/add-master", &[("code", "P-MATH")], "/admin/subjects").await, None);
    let maths = id_of(&app, SUBJECT, "arusha-empty", "P-MATH").await.to_string();
    let form = [("level_id", std1.as_str()), ("subject_id", maths.as_str()), ("mode", "compulsory")];
    assert_eq!(post(&b, "admin/subjects/level", &form, "/admin/subjects").await, None);
    let (_, html) = b.get_text("/admin/subjects").await;
    assert!(html.contains(r#"data-testid="level-subject-Standard I-P-MATH""#) && html.contains(r#"data-mode="compulsory""#));
    assert_eq!(audited(&app, "arusha-empty", "class.level.added").await, 1);
    assert_eq!(audited(&app, "arusha-empty", "subject.level.set").await, 1);
}
