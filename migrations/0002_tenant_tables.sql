-- Kilele foundation, part 2: tenant-owned tables.
--
-- Rules every tenant-owned table follows (a test checks them from the catalog):
--   * `tenant_id uuid NOT NULL REFERENCES tenants(id)`;
--   * primary key and every foreign key to another tenant-owned table include tenant_id,
--     so a row can never point at another school's row;
--   * row-level security ENABLED and FORCED with the policy below; the app sets
--     `app.tenant_id` transaction-locally as the first statement of every transaction.

-- Applies the one tenant-isolation policy to a table. Owned by the migrator; not granted.
CREATE FUNCTION kilele_enable_tenant_rls(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s '
    'USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid) '
    'WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)',
    tbl);
END
$$;
REVOKE ALL ON FUNCTION kilele_enable_tenant_rls(regclass) FROM PUBLIC;

-- People who sign in to a school: admins, teachers, accountants, parents, students.
CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(email)),
    display_name  text NOT NULL,
    password_hash text,
    language      text CHECK (language IN ('en', 'sw')),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE roles (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    code      text NOT NULL CHECK (code ~ '^[a-z_]+$'),
    name      text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

CREATE TABLE role_permissions (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    role_id         uuid NOT NULL,
    permission_code text NOT NULL REFERENCES permissions (code),
    PRIMARY KEY (tenant_id, role_id, permission_code),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_roles (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    user_id    uuid NOT NULL,
    role_id    uuid NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

-- Failed-login backoff per typed email (existing account or not).
CREATE TABLE login_throttle (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    email           text NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz,
    locked_until    timestamptz,
    PRIMARY KEY (tenant_id, email)
);

-- Append-only, hash-chained audit log. Each row's hash covers the previous row's hash, so a
-- modified or deleted row breaks the chain; audit_heads records the newest link so that
-- deleting the tail is detected too.
CREATE TABLE audit_log (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    seq        bigint NOT NULL CHECK (seq > 0),
    at         timestamptz NOT NULL,
    actor_id   uuid,
    actor      text NOT NULL,
    action     text NOT NULL,
    subject    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}',
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_heads (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    seq       bigint NOT NULL,
    hash      bytea NOT NULL
);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Academic structure (the academic-structure issue extends these).
CREATE TABLE academic_years (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    year       integer NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    is_current boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, year)
);
CREATE UNIQUE INDEX academic_years_one_current ON academic_years (tenant_id) WHERE is_current;

-- Levels in Tanzanian terms: Standard I–VII, Form 1–4 (O-level), Form 5–6 (A-level).
CREATE TABLE levels (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    code      text NOT NULL,
    name      text NOT NULL,
    band      text NOT NULL CHECK (band IN ('primary', 'o_level', 'a_level')),
    ordinal   integer NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

-- A stream is one class of a level: Form 2A, Form 2B.
CREATE TABLE streams (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    level_id         uuid NOT NULL,
    name             text NOT NULL,
    class_teacher_id uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, level_id, name),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, class_teacher_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE school_subjects (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    code        text NOT NULL,
    name_en     text NOT NULL,
    name_sw     text NOT NULL,
    master_code text REFERENCES master_subjects (code),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

-- Teacher × subject × stream × year: what the teacher workspace shows.
CREATE TABLE teacher_allocations (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    academic_year_id uuid NOT NULL,
    teacher_id       uuid NOT NULL,
    subject_id       uuid NOT NULL,
    stream_id        uuid NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, academic_year_id, subject_id, stream_id),
    FOREIGN KEY (tenant_id, academic_year_id) REFERENCES academic_years (tenant_id, id),
    FOREIGN KEY (tenant_id, teacher_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES school_subjects (tenant_id, id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id)
);

CREATE TABLE students (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    admission_no  text NOT NULL,
    first_name    text NOT NULL,
    middle_name   text,
    last_name     text NOT NULL,
    sex           text NOT NULL CHECK (sex IN ('F', 'M')),
    date_of_birth date,
    stream_id     uuid,
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'transferred', 'graduated', 'left')),
    user_id       uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, admission_no),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX students_stream ON students (tenant_id, stream_id);

CREATE TABLE guardians (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    full_name text NOT NULL,
    phone     text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    email     text,
    user_id   uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE student_guardians (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    student_id   uuid NOT NULL,
    guardian_id  uuid NOT NULL,
    relationship text NOT NULL CHECK (relationship IN ('mother', 'father', 'guardian')),
    receives_sms boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, student_id, guardian_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, guardian_id) REFERENCES guardians (tenant_id, id)
);
CREATE INDEX student_guardians_guardian ON student_guardians (tenant_id, guardian_id);

-- Durable background jobs. Claimed across tenants only through claim_jobs() below; the work
-- itself runs in a transaction scoped to the job's tenant.
CREATE TABLE jobs (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_ready ON jobs (run_at) WHERE status IN ('queued', 'running');

SELECT kilele_enable_tenant_rls(t) FROM unnest(ARRAY[
    'users', 'roles', 'role_permissions', 'user_roles', 'login_throttle',
    'audit_log', 'audit_heads', 'academic_years', 'levels', 'streams', 'school_subjects',
    'teacher_allocations', 'students', 'guardians', 'student_guardians', 'jobs'
]::regclass[]) AS t;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    users, roles, role_permissions, user_roles, login_throttle, academic_years, levels,
    streams, school_subjects, teacher_allocations, students, guardians, student_guardians, jobs
    TO kilele_app;
GRANT SELECT, INSERT, UPDATE ON audit_heads TO kilele_app;
GRANT SELECT, INSERT ON audit_log TO kilele_app;   -- append-only: no UPDATE, no DELETE

-- Platform-wide view for the owner console: aggregates only, never rows. SECURITY DEFINER
-- runs it as the schema owner, which must be superuser or BYPASSRLS (docs/architecture.md).
CREATE FUNCTION platform_tenant_overview()
RETURNS TABLE (tenant_id uuid, students bigint, staff bigint, guardians bigint, streams bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id,
           (SELECT count(*) FROM students s WHERE s.tenant_id = t.id AND s.status = 'active'),
           (SELECT count(DISTINCT ur.user_id) FROM user_roles ur
              JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
              JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
             WHERE ur.tenant_id = t.id AND u.status = 'active'
               AND r.code IN ('school_admin', 'teacher', 'accountant')),
           (SELECT count(*) FROM guardians g WHERE g.tenant_id = t.id),
           (SELECT count(*) FROM streams st WHERE st.tenant_id = t.id)
      FROM tenants t
$$;
REVOKE ALL ON FUNCTION platform_tenant_overview() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_tenant_overview() TO kilele_app;

-- The worker's only cross-tenant step: lease up to `max_jobs` ready jobs (SKIP LOCKED so
-- several workers never take the same job). Expired leases are taken again.
CREATE FUNCTION claim_jobs(max_jobs integer, lease_seconds integer)
RETURNS TABLE (tenant_id uuid, id uuid, kind text, payload jsonb, attempts integer, max_attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE jobs j
       SET status = 'running',
           attempts = j.attempts + 1,
           locked_until = now() + make_interval(secs => lease_seconds)
      FROM (SELECT r.tenant_id, r.id FROM jobs r
             WHERE (r.status = 'queued' AND r.run_at <= now())
                OR (r.status = 'running' AND r.locked_until < now())
             ORDER BY r.run_at
             LIMIT max_jobs
             FOR UPDATE SKIP LOCKED) c
     WHERE j.tenant_id = c.tenant_id AND j.id = c.id
 RETURNING j.tenant_id, j.id, j.kind, j.payload, j.attempts, j.max_attempts
$$;
REVOKE ALL ON FUNCTION claim_jobs(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_jobs(integer, integer) TO kilele_app;

-- Tables added by later migrations get the same grants (they are created by the same owner).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kilele_app;
