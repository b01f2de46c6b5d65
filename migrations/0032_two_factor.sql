-- Two-factor sign-in (TOTP, RFC 6238) for school users and platform staff.
--
-- The secret is stored sealed (the PII envelope: AES-256-GCM bound to the school and the
-- column), recovery codes only as keyed blind indexes (HMAC with the PII index key), so a
-- copy of the database alone neither generates codes nor reveals recovery codes.
-- `last_step` is the replay guard: a code is accepted only for a time step later than the
-- last one accepted, so a code seen over a shoulder or in a proxy log is worth nothing.

CREATE TABLE user_second_factors (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    user_id      uuid NOT NULL,
    secret       bytea NOT NULL,
    -- NULL while the person is setting it up (the QR code is shown, no code typed yet).
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_recovery_codes (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    user_id   uuid NOT NULL,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES user_second_factors (tenant_id, user_id) ON DELETE CASCADE
);

SELECT kilele_enable_tenant_rls(t) FROM unnest(ARRAY['user_second_factors', 'user_recovery_codes']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_second_factors, user_recovery_codes TO kilele_app;

CREATE TABLE platform_second_factors (
    user_id      uuid PRIMARY KEY REFERENCES platform_users (id) ON DELETE CASCADE,
    secret       bytea NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL
);

CREATE TABLE platform_recovery_codes (
    user_id   uuid NOT NULL REFERENCES platform_second_factors (user_id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON platform_second_factors, platform_recovery_codes TO kilele_app;

-- A school may ask its teachers for a second factor too (admins and accountants always):
-- since when (NULL: it does not). Teachers get their grace period from that moment.
ALTER TABLE school_settings ADD COLUMN two_factor_for_teachers_since timestamptz;

-- Where an account's grace period starts (`identity::TWO_FACTOR_GRACE`): when it was made,
-- or, for accounts older than two-factor sign-in, when this migration ran, so that nobody is
-- shut out on the day of the upgrade.
ALTER TABLE users ADD COLUMN two_factor_since timestamptz NOT NULL DEFAULT now();
ALTER TABLE platform_users ADD COLUMN two_factor_since timestamptz NOT NULL DEFAULT now();

-- Whether someone has a second factor, and whether their school asks teachers for one, are
-- part of who they are on every request (the principal, kept in each process's cache):
-- tell the processes when either changes. `last_step` moves at every sign-in and changes
-- nothing the principal says, so it does not notify.
CREATE TRIGGER principals_changed AFTER INSERT OR DELETE OR UPDATE OF confirmed_at ON user_second_factors
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER INSERT OR UPDATE OF two_factor_for_teachers_since OR DELETE ON school_settings
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();

-- Statement-level: a platform table has no row to name a school by.
CREATE FUNCTION kilele_platform_principals_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM pg_notify('kilele_principals', 'platform');
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION kilele_platform_principals_changed() FROM PUBLIC;
CREATE TRIGGER principals_changed AFTER INSERT OR DELETE OR UPDATE OF confirmed_at ON platform_second_factors
    FOR EACH STATEMENT EXECUTE FUNCTION kilele_platform_principals_changed();


-- school_principal gains three columns: the person has a confirmed second factor, where
-- their grace period starts, and since when the school asks teachers for one.
DROP FUNCTION school_principal(uuid, uuid);
CREATE FUNCTION school_principal(school uuid, person uuid)
RETURNS TABLE (
    slug text, name text, status text, plan_code text, default_language text, features text[],
    email text, display_name text, language text, roles text[], perms text[],
    two_factor_on boolean, two_factor_since timestamptz, two_factor_for_teachers_since timestamptz
)
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
  before text := coalesce(current_setting('app.tenant_id', true), '');
BEGIN
  IF before NOT IN ('', school::text) THEN
    RAISE EXCEPTION 'school_principal: this transaction belongs to another school';
  END IF;
  PERFORM set_config('app.tenant_id', school::text, true);
  RETURN QUERY
    SELECT t.slug, t.name, t.status, t.plan_code, t.default_language, p.features,
           u.email, u.display_name, u.language,
           COALESCE((SELECT array_agg(r.code ORDER BY r.code) FROM user_roles ur
                       JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
                      WHERE ur.user_id = u.id), '{}'),
           COALESCE((SELECT array_agg(DISTINCT rp.permission_code) FROM user_roles ur
                       JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
                      WHERE ur.user_id = u.id), '{}'),
           EXISTS (SELECT 1 FROM user_second_factors f
                    WHERE f.tenant_id = t.id AND f.user_id = u.id AND f.confirmed_at IS NOT NULL),
           u.two_factor_since,
           (SELECT s.two_factor_for_teachers_since FROM school_settings s WHERE s.tenant_id = t.id)
      FROM tenants t
      JOIN plans p ON p.code = t.plan_code
      LEFT JOIN users u ON u.tenant_id = t.id AND u.id = person AND u.status = 'active'
     WHERE t.id = school;
  -- RETURN QUERY has read the rows: put the setting back (see migration 0011).
  PERFORM set_config('app.tenant_id', before, true);
END
$$;
REVOKE ALL ON FUNCTION school_principal(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION school_principal(uuid, uuid) TO kilele_app;
