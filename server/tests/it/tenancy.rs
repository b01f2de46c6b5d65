//! Isolation between schools, proven against the real database.

use crate::harness::*;
use kilele::db::tenant_tx;
use kilele::identity::Permission;
use kilele::tenancy::{store as tenants, TenantSlug};
use sqlx::Row;

async fn tenant_id(app: &TestApp, slug: &str) -> kilele::tenancy::TenantId {
    tenants::find_by_slug(&app.pool, &TenantSlug::parse(slug).unwrap()).await.unwrap().unwrap().id
}

/// (a) Every table with a tenant_id column has RLS enabled and forced, a policy, and a
/// NOT NULL tenant_id.
#[tokio::test]
async fn every_tenant_table_has_forced_rls() {
    let app = spawn_app().await;
    let rows = sqlx::query(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, a.attnotnull,
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'p')",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert!(rows.len() >= 15, "expected the tenant tables, found {}", rows.len());
    for r in rows {
        let name: String = r.get("relname");
        assert!(r.get::<bool, _>("relrowsecurity"), "{name}: RLS not enabled");
        assert!(r.get::<bool, _>("relforcerowsecurity"), "{name}: RLS not forced");
        assert!(r.get::<bool, _>("attnotnull"), "{name}: tenant_id is nullable");
        assert!(r.get::<i64, _>("policies") >= 1, "{name}: no policy");
    }
}

/// The one-round-trip read of who is asking (`school_principal`, every signed-in request)
/// scopes itself to the school it is asked about for that statement only, and refuses to
/// re-scope a transaction that belongs to another school.
#[tokio::test]
async fn the_principal_read_scopes_one_statement_and_never_switches_schools() {
    let app = spawn_app().await;
    let khss = tenant_id(&app, KHSS).await;
    let mlps = tenant_id(&app, MLPS).await;
    let mut tx = tenant_tx(&app.pool, khss).await.unwrap();
    let teacher: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'teacher@kilimanjaro-hills.test'").fetch_one(&mut *tx).await.unwrap();
    drop(tx);

    let (school, principal) = kilele::identity::store::school_and_principal(&app.pool, khss, teacher).await.unwrap().unwrap();
    assert_eq!(school.slug.as_str(), KHSS);
    let principal = principal.expect("an active teacher has a principal");
    assert!(principal.can(kilele::identity::Permission::TeachingClassesRead));
    // Asked about the other school, the same person is nobody there.
    let (other, nobody) = kilele::identity::store::school_and_principal(&app.pool, mlps, teacher).await.unwrap().unwrap();
    assert_eq!(other.slug.as_str(), MLPS);
    assert!(nobody.is_none());
    // The setting does not outlive the call, on the very connection that made it: neither
    // after a call on its own nor inside a transaction that had no school.
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SELECT * FROM school_principal($1, $2)").bind(khss.0).bind(teacher).fetch_all(&mut *conn).await.unwrap();
    let setting: Option<String> = sqlx::query_scalar("SELECT current_setting('app.tenant_id', true)").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(setting.unwrap_or_default(), "");
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(seen, 0);
    sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
    sqlx::query("SELECT * FROM school_principal($1, $2)").bind(khss.0).bind(teacher).fetch_all(&mut *conn).await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(seen, 0, "the transaction stayed scoped to the school after the call");
    sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    drop(conn);
    // Inside a transaction of another school it refuses instead of switching.
    let mut tx = tenant_tx(&app.pool, mlps).await.unwrap();
    let err = sqlx::query("SELECT * FROM school_principal($1, $2)").bind(khss.0).bind(teacher).fetch_all(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("another school"), "{err}");
}

/// (b) A query that forgets its tenant filter still sees only the current school.
#[tokio::test]
async fn forgotten_filter_sees_only_current_tenant() {
    let app = spawn_app().await;
    let khss = tenant_id(&app, KHSS).await;
    let mlps = tenant_id(&app, MLPS).await;

    let mut tx = tenant_tx(&app.pool, khss).await.unwrap();
    let students: i64 = sqlx::query_scalar("SELECT count(*) FROM students").fetch_one(&mut *tx).await.unwrap();
    let foreign: i64 =
        sqlx::query_scalar("SELECT count(*) FROM students WHERE tenant_id = $1").bind(mlps.0).fetch_one(&mut *tx).await.unwrap();
    let other_ids: i64 = sqlx::query_scalar("SELECT count(DISTINCT tenant_id) FROM users").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(students, 400);
    assert_eq!(foreign, 0, "asked explicitly for the other school's rows and got some");
    assert_eq!(other_ids, 1);
    // Writing another school's row is refused by the policy.
    let err = sqlx::query("INSERT INTO levels (tenant_id, code, name, band, ordinal) VALUES ($1, 'X', 'X', 'primary', 9)")
        .bind(mlps.0)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    // Outside a tenant transaction the app role sees nothing at all (fails closed), also on a
    // pooled connection that served a tenant before.
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM students").fetch_one(&app.pool).await.unwrap();
    assert_eq!(none, 0);
    let mut tx = tenant_tx(&app.pool, mlps).await.unwrap();
    let primary: i64 = sqlx::query_scalar("SELECT count(*) FROM students").fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(primary, 350);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM students").fetch_one(&app.pool).await.unwrap();
    assert_eq!(after, 0);
}

/// (c) The role the server connects as cannot bypass row-level security.
#[tokio::test]
async fn app_role_is_not_superuser_nor_bypassrls_nor_owner() {
    let app = spawn_app().await;
    let r = sqlx::query(
        "SELECT current_user::text AS name, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
           FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(r.get::<String, _>("name"), "kilele_app");
    assert!(!r.get::<bool, _>("rolsuper"));
    assert!(!r.get::<bool, _>("rolbypassrls"));
    assert!(!r.get::<bool, _>("rolcreaterole"));
    assert!(!r.get::<bool, _>("rolcreatedb"));
    let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(owned, 0, "the app role must own no table (owners can disable RLS)");
}

/// Composite foreign keys: even a connection that bypasses RLS cannot point one school's
/// row at another school's row.
#[tokio::test]
async fn composite_keys_forbid_cross_tenant_references() {
    let app = spawn_app().await;
    let khss = tenant_id(&app, KHSS).await;
    let err = sqlx::query(
        "INSERT INTO streams (tenant_id, level_id, name)
         SELECT $1, l.id, 'Z' FROM levels l WHERE l.tenant_id <> $1 LIMIT 1",
    )
    .bind(khss.0)
    .execute(&app.owner_pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("foreign key"), "{err}");
}

#[tokio::test]
async fn global_catalogs_are_seeded_and_match_the_code() {
    let app = spawn_app().await;
    let mut codes: Vec<String> = sqlx::query_scalar("SELECT code FROM permissions ORDER BY code").fetch_all(&app.owner_pool).await.unwrap();
    let mut expected: Vec<String> = Permission::ALL.iter().map(|p| p.code().to_owned()).collect();
    codes.sort();
    expected.sort();
    assert_eq!(codes, expected);
    let bands: Vec<(String, i64)> =
        sqlx::query_as("SELECT band, count(*) FROM master_subjects GROUP BY band ORDER BY band").fetch_all(&app.pool).await.unwrap();
    assert_eq!(bands.len(), 3, "primary, O-level and A-level subjects");
    assert!(bands.iter().all(|(_, n)| *n >= 7));
    // The catalogs are read-only for the app.
    assert!(sqlx::query("DELETE FROM master_subjects").execute(&app.pool).await.is_err());
}

#[tokio::test]
async fn demo_seed_is_realistic_and_refused_twice_or_in_production() {
    let app = spawn_app().await;
    let khss = tenant_id(&app, KHSS).await;
    let mut tx = tenant_tx(&app.pool, khss).await.unwrap();
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM students s WHERE NOT EXISTS (SELECT 1 FROM student_guardians g WHERE g.student_id = s.id)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "every student has a guardian");
    // Phones are stored encrypted; each decrypts to a Tanzanian E.164 number and is found
    // again through its blind index.
    let pii = kilele::audit::pii::KeyRing::development();
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT phone_enc FROM guardians").fetch_all(&mut *tx).await.unwrap();
    assert!(sealed.len() > 400);
    for s in &sealed {
        let phone = kilele::academic::store::reveal_phone(&pii, khss, s).unwrap();
        assert!(phone.as_str().starts_with("+2556") || phone.as_str().starts_with("+2557"), "{phone}");
        assert!(!String::from_utf8_lossy(s).contains(&phone.as_str()[4..]), "ciphertext must not contain the number");
    }
    let first = kilele::academic::store::reveal_phone(&pii, khss, &sealed[0]).unwrap();
    let found = kilele::academic::store::guardians_by_phone(&mut tx, &pii, &first).await.unwrap();
    assert!(!found.is_empty());
    // Another school's key context cannot read them.
    let mlps = tenant_id(&app, MLPS).await;
    assert!(kilele::academic::store::reveal_phone(&pii, mlps, &sealed[0]).is_err());
    let siblings: i64 =
        sqlx::query_scalar("SELECT count(*) FROM (SELECT guardian_id FROM student_guardians GROUP BY guardian_id HAVING count(*) > 1) s")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert!(siblings > 10, "siblings share guardians");
    let streams: Vec<String> = sqlx::query_scalar("SELECT l.name || s.name FROM streams s JOIN levels l ON l.id = s.level_id ORDER BY 1")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(streams, ["Form 1A", "Form 1B", "Form 2A", "Form 2B", "Form 3A", "Form 3B", "Form 4A", "Form 4B"]);
    drop(tx);
    let pii = kilele::audit::pii::KeyRing::development();
    assert!(server::seed::demo(&app.owner_pool, &app.pool, &pii, false).await.is_err(), "second seed must be refused");
    assert!(server::seed::demo(&app.owner_pool, &app.pool, &pii, true).await.unwrap_err().to_string().contains("production"));
}

/// The parent and student homes find the signed-in user's rows through an index that leads
/// with tenant_id and then user_id (migration 0009), as the app role under RLS: no scan of
/// the guardians or students of every school, no nested loop over a whole school.
#[tokio::test]
async fn family_homes_use_the_lookup_indexes() {
    let app = spawn_app().await;
    let khss = tenant_id(&app, KHSS).await;
    // With statistics, as a running database has them (without, the planner is even more lost).
    sqlx::query("ANALYZE").execute(&app.owner_pool).await.unwrap();
    let mut tx = tenant_tx(&app.pool, khss).await.unwrap();
    let parent: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'parent@kilimanjaro-hills.test'").fetch_one(&mut *tx).await.unwrap();
    for (sql, table, index) in [
        (kilele::academic::store::children_of_guardian_sql(), "guardians", "guardians_user"),
        (kilele::academic::store::student_of_user_sql(), "students", "students_user"),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}")))
            .bind(parent)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let plan = plan.join("\n");
        println!("{plan}");
        assert!(plan.contains(index), "{index} not used:\n{plan}");
        assert!(!plan.contains(&format!("Seq Scan on {table}")), "{plan}");
        assert!(!plan.contains("loops=400"), "a nested loop over the whole school:\n{plan}");
    }
}

/// A photo's storage key must belong to the transaction's school: a key of another school is
/// refused before the file is stored or the row written.
#[tokio::test]
async fn a_photo_key_of_another_school_is_refused() {
    use kilele::academic::students::db::{replace_photo, PhotoError};
    let app = spawn_app().await;
    let khss = tenant_id(&app, KHSS).await;
    let mlps = tenant_id(&app, MLPS).await;
    let mut tx = tenant_tx(&app.pool, khss).await.unwrap();
    let student: uuid::Uuid = sqlx::query_scalar("SELECT id FROM students LIMIT 1").fetch_one(&mut *tx).await.unwrap();
    let actor = kilele::audit::Actor::system("test");
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: chrono::Utc::now() };
    let stored = std::sync::atomic::AtomicBool::new(false);
    let store = async {
        stored.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok::<(), ()>(())
    };
    let foreign = kilele::storage::Storage::new_key(mlps, "students", "png");
    let r = replace_photo(&mut tx, student, &foreign, serde_json::json!({}), by, store).await;
    assert!(matches!(r, Err(PhotoError::OtherSchool)), "{r:?}");
    assert!(!stored.load(std::sync::atomic::Ordering::SeqCst), "the file was stored");
    let own = kilele::storage::Storage::new_key(khss, "students", "png");
    let r = replace_photo(&mut tx, student, &own, serde_json::json!({}), by, async { Ok::<(), ()>(()) }).await;
    assert!(matches!(r, Ok(Some(_))), "{r:?}");
}
