//! The database roles the processes connect as hold exactly the privileges written below.
//! A migration that widens them (a new grant, default privileges, a function callable by
//! PUBLIC, a role attribute) fails this test with a readable diff: update the list here in
//! the same change, deliberately.

use crate::harness::*;
use sqlx::PgPool;

/// `role | object | privileges`: one line per table, column grant, function, schema, database,
/// role attribute set and default-privilege entry. Effective privileges, so grants to PUBLIC
/// count too.
const EXPECTED: &str = "
kilele_app | attributes | LOGIN NOINHERIT
kilele_app | database | CONNECT TEMPORARY
kilele_app | schema public | USAGE
kilele_app | table academic_years | SELECT INSERT UPDATE
kilele_app | table audit_heads | SELECT INSERT UPDATE
kilele_app | table audit_log | SELECT INSERT
kilele_app | table audit_unkeyed_prefix | SELECT
kilele_app | table bank_statement_lines | SELECT INSERT
kilele_app | table bank_statements | SELECT INSERT
kilele_app | table combination_subjects | SELECT INSERT
kilele_app | table enrolments | SELECT INSERT UPDATE DELETE
kilele_app | table grading_schemes | SELECT INSERT UPDATE
kilele_app | table guardians | SELECT INSERT UPDATE
kilele_app | table import_uploads | SELECT INSERT UPDATE DELETE
kilele_app | table invitations | SELECT INSERT UPDATE DELETE
kilele_app | table jobs | INSERT
kilele_app | column jobs.attempts | SELECT
kilele_app | column jobs.created_at | SELECT
kilele_app | column jobs.finished_at | SELECT
kilele_app | column jobs.id | SELECT
kilele_app | column jobs.kind | SELECT
kilele_app | column jobs.last_error | SELECT
kilele_app | column jobs.max_attempts | SELECT UPDATE
kilele_app | column jobs.run_at | SELECT UPDATE
kilele_app | column jobs.status | SELECT UPDATE
kilele_app | table level_subjects | SELECT INSERT UPDATE DELETE
kilele_app | table levels | SELECT INSERT
kilele_app | table login_throttle | SELECT INSERT UPDATE DELETE
kilele_app | table mark_sheets | SELECT INSERT UPDATE
kilele_app | table mark_uploads | SELECT INSERT UPDATE DELETE
kilele_app | table marks | SELECT INSERT UPDATE DELETE
kilele_app | table master_combination_subjects | SELECT
kilele_app | table master_combinations | SELECT
kilele_app | table master_subjects | SELECT
kilele_app | table pending_parent_links | SELECT INSERT UPDATE DELETE
kilele_app | table plans | SELECT
kilele_app | table platform_login_throttle | SELECT INSERT UPDATE DELETE
kilele_app | table platform_users | SELECT
kilele_app | table promotion_batches | SELECT INSERT UPDATE
kilele_app | table promotion_moves | SELECT INSERT
kilele_app | table published_results | SELECT INSERT
kilele_app | table result_flags | SELECT INSERT UPDATE
kilele_app | table result_publications | SELECT INSERT
kilele_app | table role_permissions | SELECT INSERT
kilele_app | table roles | SELECT INSERT
kilele_app | table school_settings | SELECT INSERT UPDATE
kilele_app | table school_subjects | SELECT INSERT
kilele_app | table streams | SELECT INSERT UPDATE
kilele_app | table student_guardians | SELECT INSERT UPDATE DELETE
kilele_app | table students | SELECT INSERT UPDATE
kilele_app | table subject_combinations | SELECT INSERT DELETE
kilele_app | table teacher_allocations | SELECT INSERT UPDATE DELETE
kilele_app | table tenants | SELECT
kilele_app | table term_assessments | SELECT INSERT UPDATE
kilele_app | table terms | SELECT INSERT UPDATE
kilele_app | table user_roles | SELECT INSERT DELETE
kilele_app | table users | SELECT INSERT UPDATE
kilele_app | function platform_tenant_overview() | EXECUTE SECURITY DEFINER
kilele_app | function school_principal(uuid, uuid) | EXECUTE
kilele_app | function set_platform_user_language(uuid, text) | EXECUTE SECURITY DEFINER
kilele_app | function set_school_default_language(uuid, text) | EXECUTE SECURITY DEFINER
kilele_worker | attributes | LOGIN NOINHERIT
kilele_worker | database | CONNECT TEMPORARY
kilele_worker | schema public | USAGE
kilele_worker | table audit_heads | SELECT
kilele_worker | table audit_log | SELECT
kilele_worker | table audit_unkeyed_prefix | SELECT
kilele_worker | table jobs | SELECT INSERT UPDATE
kilele_worker | table login_throttle | SELECT DELETE
kilele_worker | table mark_sheets | SELECT
kilele_worker | table marks | SELECT
kilele_worker | table plans | SELECT
kilele_worker | table platform_login_throttle | SELECT DELETE
kilele_worker | table result_flags | SELECT INSERT
kilele_worker | table streams | SELECT
kilele_worker | table tenants | SELECT
kilele_worker | table term_assessments | SELECT
kilele_worker | table terms | SELECT
kilele_worker | function claim_jobs(integer, integer) | EXECUTE SECURITY DEFINER
kilele_app | column report_card_batches.finished_at | UPDATE
kilele_app | column report_card_batches.status | UPDATE
kilele_app | function verify_report_card(text) | EXECUTE SECURITY DEFINER
kilele_app | table report_card_remarks | SELECT INSERT UPDATE
kilele_app | table report_card_batches | SELECT INSERT
kilele_app | table report_card_failures | SELECT
kilele_app | table report_cards | SELECT
kilele_worker | table academic_years | SELECT
kilele_worker | table levels | SELECT
kilele_worker | table published_results | SELECT
kilele_worker | table report_card_remarks | SELECT
kilele_worker | table report_card_batches | SELECT UPDATE
kilele_worker | table report_card_failures | SELECT INSERT DELETE
kilele_worker | table report_cards | SELECT INSERT
kilele_worker | table result_publications | SELECT
kilele_worker | table school_settings | SELECT
kilele_worker | table students | SELECT
kilele_app | column invoice_runs.finished_at | UPDATE
kilele_app | column invoice_runs.status | UPDATE
kilele_app | column invoices.cancelled | UPDATE
kilele_app | column late_fines.waived_at | UPDATE
kilele_app | column late_fines.waived_by | UPDATE
kilele_app | column late_fines.waived_reason | UPDATE
kilele_app | column payments.receipt_key | UPDATE
kilele_app | function verify_receipt(text) | EXECUTE SECURITY DEFINER
kilele_app | sequence control_prefix_seq | USAGE
kilele_app | table credit_notes | SELECT INSERT
kilele_app | table fee_discounts | SELECT INSERT
kilele_app | table fee_instalments | SELECT INSERT DELETE
kilele_app | table fee_items | SELECT INSERT
kilele_app | table fee_structure_items | SELECT INSERT DELETE
kilele_app | table fee_structures | SELECT INSERT UPDATE
kilele_app | table finance_settings | SELECT INSERT UPDATE
kilele_app | table invoice_instalments | SELECT INSERT
kilele_app | table invoice_lines | SELECT INSERT
kilele_app | table invoice_runs | SELECT INSERT
kilele_app | table invoices | SELECT INSERT
kilele_app | table journal_entries | SELECT INSERT
kilele_app | table journal_lines | SELECT INSERT
kilele_app | table late_fines | SELECT
kilele_app | table ledger_accounts | SELECT INSERT
kilele_app | table payments | SELECT INSERT
kilele_app | table refunds | SELECT INSERT
kilele_app | table student_accounts | SELECT INSERT
kilele_app | table student_fee_options | SELECT INSERT DELETE
kilele_app | table write_offs | SELECT INSERT
kilele_worker | sequence control_prefix_seq | USAGE
kilele_worker | table fee_discounts | SELECT
kilele_worker | table fee_instalments | SELECT
kilele_worker | table fee_items | SELECT
kilele_worker | table fee_structure_items | SELECT
kilele_worker | table fee_structures | SELECT
kilele_worker | table finance_settings | SELECT INSERT UPDATE
kilele_worker | table invoice_instalments | SELECT INSERT
kilele_worker | table invoice_lines | SELECT INSERT
kilele_worker | table invoice_runs | SELECT UPDATE
kilele_worker | table invoices | SELECT INSERT
kilele_worker | table journal_entries | SELECT INSERT
kilele_worker | table journal_lines | SELECT INSERT
kilele_worker | table late_fines | SELECT INSERT
kilele_worker | table ledger_accounts | SELECT INSERT
kilele_worker | table student_accounts | SELECT INSERT
kilele_worker | table student_fee_options | SELECT
kilele_worker | table student_guardians | SELECT
kilele_app | column form_submissions.result_id | UPDATE
kilele_app | column ledger_versions.version | UPDATE
kilele_app | table form_submissions | SELECT INSERT
kilele_app | table ledger_versions | SELECT INSERT
kilele_worker | column ledger_versions.version | UPDATE
kilele_worker | table form_submissions | SELECT DELETE
kilele_worker | table ledger_versions | SELECT INSERT
kilele_app | column payment_inbox.outcome | UPDATE
kilele_app | column payment_inbox.reason | UPDATE
kilele_app | column payment_inbox.transaction_id | UPDATE
kilele_app | column payment_pushes.checked_at | UPDATE
kilele_app | column payment_pushes.payment_id | UPDATE
kilele_app | column payment_pushes.provider_conversation_id | UPDATE
kilele_app | column payment_pushes.reason | UPDATE
kilele_app | column payment_pushes.status | UPDATE
kilele_app | column payment_pushes.transaction_id | UPDATE
kilele_app | column payment_pushes.updated_at | UPDATE
kilele_app | column provider_payments.matched_by | UPDATE
kilele_app | column provider_payments.payment_id | UPDATE
kilele_app | column provider_payments.reason | UPDATE
kilele_app | column provider_payments.refund_reason | UPDATE
kilele_app | column provider_payments.refund_reference | UPDATE
kilele_app | column provider_payments.status | UPDATE
kilele_app | column provider_payments.student_id | UPDATE
kilele_app | table payment_channels | SELECT INSERT UPDATE
kilele_app | table payment_inbox | SELECT INSERT
kilele_app | table payment_pushes | SELECT INSERT
kilele_app | table provider_payment_parts | SELECT INSERT
kilele_app | table provider_reversals | SELECT INSERT
kilele_app | table provider_payments | SELECT INSERT
kilele_app | table gepg_bills | SELECT INSERT
kilele_app | column gepg_bills.answered_at | UPDATE
kilele_app | column gepg_bills.code | UPDATE
kilele_app | column gepg_bills.control_number | UPDATE
kilele_app | column gepg_bills.status | UPDATE
kilele_app | table platform_recovery_codes | SELECT INSERT UPDATE DELETE
kilele_app | table platform_second_factors | SELECT INSERT UPDATE DELETE
kilele_app | table user_recovery_codes | SELECT INSERT UPDATE DELETE
kilele_app | table user_second_factors | SELECT INSERT UPDATE DELETE
kilele_app | function platform_create_school(uuid, uuid, text, text, text, text) | EXECUTE SECURITY DEFINER
kilele_app | function platform_set_school_status(uuid, uuid, text) | EXECUTE SECURITY DEFINER
kilele_app | table platform_audit_head | SELECT INSERT UPDATE
kilele_app | table platform_audit_log | SELECT INSERT
kilele_app | function set_platform_user_password(uuid, text, timestamp with time zone) | EXECUTE SECURITY DEFINER
";

const ROLES: &str = "(VALUES ('kilele_app'), ('kilele_worker')) AS r(rolname)";

async fn lines(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.replace("{ROLES}", ROLES))).fetch_all(pool).await.unwrap()
}

/// What the catalog says today, in the format of [`EXPECTED`].
async fn actual(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    // Role attributes, spelled only where they differ from the safe default.
    out.extend(
        lines(
            pool,
            "SELECT a.rolname || ' | attributes | ' || concat_ws(' ',
                    CASE WHEN a.rolsuper THEN 'SUPERUSER' END, CASE WHEN a.rolcanlogin THEN 'LOGIN' END,
                    CASE WHEN NOT a.rolinherit THEN 'NOINHERIT' END, CASE WHEN a.rolcreaterole THEN 'CREATEROLE' END,
                    CASE WHEN a.rolcreatedb THEN 'CREATEDB' END, CASE WHEN a.rolreplication THEN 'REPLICATION' END,
                    CASE WHEN a.rolbypassrls THEN 'BYPASSRLS' END)
               FROM pg_roles a JOIN {ROLES} ON r.rolname = a.rolname",
        )
        .await,
    );
    // Memberships: neither role may act as another.
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | member of | ' || g.rolname
               FROM {ROLES} JOIN pg_roles m ON m.rolname = r.rolname
               JOIN pg_auth_members am ON am.member = m.oid JOIN pg_roles g ON g.oid = am.roleid",
        )
        .await,
    );
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | database | ' || concat_ws(' ',
                    CASE WHEN has_database_privilege(r.rolname, current_database(), 'CONNECT') THEN 'CONNECT' END,
                    CASE WHEN has_database_privilege(r.rolname, current_database(), 'CREATE') THEN 'CREATE' END,
                    CASE WHEN has_database_privilege(r.rolname, current_database(), 'TEMPORARY') THEN 'TEMPORARY' END)
               FROM {ROLES}",
        )
        .await,
    );
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | schema public | ' || concat_ws(' ',
                    CASE WHEN has_schema_privilege(r.rolname, 'public', 'USAGE') THEN 'USAGE' END,
                    CASE WHEN has_schema_privilege(r.rolname, 'public', 'CREATE') THEN 'CREATE' END)
               FROM {ROLES}",
        )
        .await,
    );
    // Tables, views and sequences of the schema: every privilege the role has on them.
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | table ' || c.relname || ' | ' || string_agg(p.priv, ' ' ORDER BY p.ord)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
              CROSS JOIN {ROLES}
              CROSS JOIN (VALUES (1, 'SELECT'), (2, 'INSERT'), (3, 'UPDATE'), (4, 'DELETE'), (5, 'TRUNCATE'),
                                 (6, 'REFERENCES'), (7, 'TRIGGER')) AS p(ord, priv)
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND has_table_privilege(r.rolname, c.oid, p.priv)
              GROUP BY r.rolname, c.relname",
        )
        .await,
    );
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | sequence ' || c.relname || ' | ' || string_agg(p.priv, ' ' ORDER BY p.ord)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
              CROSS JOIN {ROLES}
              CROSS JOIN (VALUES (1, 'USAGE'), (2, 'SELECT'), (3, 'UPDATE')) AS p(ord, priv)
              WHERE c.relkind = 'S' AND has_sequence_privilege(r.rolname, c.oid, p.priv)
              GROUP BY r.rolname, c.relname",
        )
        .await,
    );
    // Column-level grants (to the role or to PUBLIC).
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | column ' || c.relname || '.' || a.attname || ' | '
                    || string_agg(DISTINCT x.privilege_type, ' ')
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
              CROSS JOIN LATERAL aclexplode(a.attacl) x
              CROSS JOIN {ROLES}
              WHERE a.attacl IS NOT NULL
                AND (x.grantee = 0 OR x.grantee = (SELECT oid FROM pg_roles WHERE rolname = r.rolname))
              GROUP BY r.rolname, c.relname, a.attname",
        )
        .await,
    );
    // Functions of the schema (extensions' own aside) the role may call.
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | function ' || p.proname || '(' || oidvectortypes(p.proargtypes) || ') | EXECUTE'
                    || CASE WHEN p.prosecdef THEN ' SECURITY DEFINER' ELSE '' END
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
              CROSS JOIN {ROLES}
              WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
                AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')",
        )
        .await,
    );
    // Default privileges: none may name these roles (grants are written per table).
    out.extend(
        lines(
            pool,
            "SELECT DISTINCT r.rolname || ' | default privileges | ' || d.defaclobjtype::text
               FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) x
               JOIN pg_roles g ON g.oid = x.grantee JOIN {ROLES} ON r.rolname = g.rolname",
        )
        .await,
    );
    // Nothing may be owned by them.
    out.extend(
        lines(
            pool,
            "SELECT r.rolname || ' | owns | ' || c.relname
               FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner JOIN {ROLES} ON r.rolname = o.rolname",
        )
        .await,
    );
    out.sort();
    out
}

#[tokio::test]
async fn application_roles_hold_exactly_the_listed_privileges() {
    let app = spawn_app().await;
    let got = actual(&app.owner_pool).await;
    let mut want: Vec<String> = EXPECTED.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    want.sort();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    if !extra.is_empty() || !missing.is_empty() {
        let mut msg = String::from("database privileges differ from server/tests/it/privileges.rs\n");
        for l in &extra {
            msg.push_str(&format!("  + {l}   (granted, not listed)\n"));
        }
        for l in &missing {
            msg.push_str(&format!("  - {l}   (listed, not granted)\n"));
        }
        panic!("{msg}");
    }
}

/// Nobody but the owner may create objects in the schema, and every security-definer
/// function fixes its search_path and is not callable by PUBLIC.
#[tokio::test]
async fn the_schema_is_closed_and_definer_functions_are_narrow() {
    let app = spawn_app().await;
    let public_create: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) x
                         WHERE n.nspname = 'public' AND x.grantee = 0 AND x.privilege_type = 'CREATE')",
    )
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert!(!public_create, "PUBLIC may create in schema public");
    let loose: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
          WHERE p.prosecdef
            AND (NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%')
                 OR has_function_privilege('public', p.oid, 'EXECUTE'))",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert!(loose.is_empty(), "security-definer functions without a fixed search_path or open to PUBLIC: {loose:?}");

    // And in practice: the web role cannot claim jobs, write the registry or create tables.
    for sql in [
        "SELECT * FROM claim_jobs(1, 1)",
        "UPDATE tenants SET status = 'suspended'",
        "INSERT INTO platform_users (email, display_name, platform_role) VALUES ('x@y.z', 'X', 'owner')",
        "UPDATE plans SET max_students = NULL",
        "INSERT INTO permissions (code, scope, description) VALUES ('a.b', 'school', 'x')",
        "CREATE TABLE sneaky (x int)",
    ] {
        let err = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&app.pool).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
}

/// The school's registry write the web needs (its default language) works through its narrow
/// function and cannot reach another school (the owner console's two: `owner.rs`).
#[tokio::test]
async fn registry_writes_go_through_the_narrow_functions_only() {
    let app = spawn_app().await;
    let owner = app.login_as(None, "owner").await;
    let r = owner.post_form("/language", &[("lang", "sw"), ("next", "/owner")]).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/owner"));
    let lang: Option<String> =
        sqlx::query_scalar("SELECT language FROM platform_users WHERE email = 'owner@kilele.test'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(lang.as_deref(), Some("sw"), "the platform owner's choice is saved");

    let id = |slug: &'static str| {
        let pool = app.pool.clone();
        async move { kilele::tenancy::store::find_by_slug(&pool, &kilele::tenancy::TenantSlug::parse(slug).unwrap()).await.unwrap().unwrap().id }
    };
    let (khss, mlps) = (id(KHSS).await, id(MLPS).await);
    // Inside school A's transaction, school B's row is refused.
    let mut tx = kilele::db::tenant_tx(&app.pool, khss).await.unwrap();
    let err = kilele::tenancy::store::set_default_language(&mut *tx, mlps, kilele::Language::En).await.unwrap_err();
    assert!(err.to_string().contains("not the school of this transaction"), "{err}");
    drop(tx);
    // Outside any tenant transaction, every school is refused.
    let err = kilele::tenancy::store::set_default_language(&app.pool, khss, kilele::Language::En).await.unwrap_err();
    assert!(err.to_string().contains("not the school of this transaction"), "{err}");
    let mut tx = kilele::db::tenant_tx(&app.pool, khss).await.unwrap();
    kilele::tenancy::store::set_default_language(&mut *tx, khss, kilele::Language::En).await.unwrap();
    tx.commit().await.unwrap();
    let langs: Vec<(String, String)> =
        sqlx::query_as("SELECT slug, default_language FROM tenants ORDER BY slug").fetch_all(&app.pool).await.unwrap();
    assert_eq!(langs, [(KHSS.to_owned(), "en".to_owned()), (MLPS.to_owned(), "sw".to_owned())]);
}
