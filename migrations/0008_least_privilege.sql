-- Least privilege (issue 6, item 3).
--
-- * No default privileges: every table a later migration adds gets its grants written next to
--   it, so widening the application role is always a visible line in a migration (and the
--   catalog test in server/tests/it/privileges.rs pins the result).
-- * kilele_app (serve) gets per table exactly the statements the code runs. It reads the global
--   registry (tenants, plans, platform_users) but writes it only through the narrow
--   SECURITY DEFINER functions below.
-- * kilele_worker (worker) is the only role that may claim jobs across schools.
-- * Nobody but the owner may create objects in the schema.

REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- 0002 granted DML on every future table; take that back for the future and for every table
-- it already covered, then grant explicitly.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM kilele_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM kilele_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM kilele_app;

-- The worker's role: like kilele_app, a login that owns nothing and cannot bypass RLS.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kilele_worker') THEN
    CREATE ROLE kilele_worker LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another database on this cluster created it at the same moment
END
$$;
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO kilele_worker', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO kilele_worker;

-- Global catalogs: read only.
GRANT SELECT ON plans, master_subjects, master_combinations, master_combination_subjects, tenants, platform_users
    TO kilele_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_login_throttle TO kilele_app;

-- Tenant tables (RLS applies). UPDATE also where the code only upserts (ON CONFLICT DO UPDATE)
-- or locks (SELECT … FOR UPDATE).
GRANT SELECT, INSERT, UPDATE, DELETE ON
    login_throttle, teacher_allocations, student_guardians, level_subjects, enrolments,
    import_uploads, invitations
    TO kilele_app;
GRANT SELECT, INSERT, UPDATE ON
    users, audit_heads, academic_years, streams, students, guardians, school_settings,
    terms, promotion_batches
    TO kilele_app;
GRANT SELECT, INSERT, DELETE ON user_roles, subject_combinations TO kilele_app;
GRANT SELECT, INSERT ON
    roles, role_permissions, audit_log, levels, school_subjects, combination_subjects, promotion_moves
    TO kilele_app;
-- The web process queues jobs (and reads back the new id); it never reads or changes them.
GRANT INSERT ON jobs TO kilele_app;
GRANT SELECT (id) ON jobs TO kilele_app;

-- The worker: finds schools, runs and reschedules jobs, verifies audit chains.
GRANT SELECT ON tenants, plans TO kilele_worker;
GRANT SELECT, INSERT, UPDATE ON jobs TO kilele_worker;
GRANT SELECT ON audit_log, audit_heads TO kilele_worker;

-- Jobs are claimed across schools by the worker only.
REVOKE EXECUTE ON FUNCTION claim_jobs(integer, integer) FROM kilele_app;
GRANT EXECUTE ON FUNCTION claim_jobs(integer, integer) TO kilele_worker;

-- A trigger function needs no EXECUTE grant to fire; nobody needs to call it.
REVOKE ALL ON FUNCTION audit_log_is_append_only() FROM PUBLIC;

-- The school's default language, set by its admin from the console. The row written is the
-- school of the current tenant transaction, and no other column can be touched.
CREATE FUNCTION set_school_default_language(school uuid, lang text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF school IS NULL OR school IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'set_school_default_language: not the school of this transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE public.tenants SET default_language = lang WHERE id = school;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'set_school_default_language: no such school' USING ERRCODE = 'no_data_found';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION set_school_default_language(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_school_default_language(uuid, text) TO kilele_app;

-- A platform user's own language choice (the switch in the header). Only that column.
CREATE FUNCTION set_platform_user_language(platform_user uuid, lang text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE public.platform_users SET language = lang WHERE id = platform_user AND status = 'active'
$$;
REVOKE ALL ON FUNCTION set_platform_user_language(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_platform_user_language(uuid, text) TO kilele_app;

-- Keyed audit chain (docs/architecture.md, "Audit"). Entries written before this migration
-- were hashed with plain SHA-256; they stay verifiable as a fixed prefix per school, recorded
-- here once and never writable by the application roles. Everything after is HMAC-SHA-256
-- with a key the database never sees.
CREATE TABLE audit_unkeyed_prefix (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    last_seq  bigint NOT NULL CHECK (last_seq > 0)
);
-- (Read as the migrating owner: a superuser or BYPASSRLS owner sees every school's head. An
-- owner without either sees none here, and old entries would then be reported as unkeyed.)
INSERT INTO audit_unkeyed_prefix (tenant_id, last_seq) SELECT tenant_id, seq FROM audit_heads WHERE seq > 0;
SELECT kilele_enable_tenant_rls('audit_unkeyed_prefix');
GRANT SELECT ON audit_unkeyed_prefix TO kilele_app, kilele_worker;
