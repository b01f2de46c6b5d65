-- Changing one's password, and ending someone's other sessions.
--
-- `sessions_valid_from`: each session remembers the value it was signed in under; once it
-- changes, the request middleware ends the session at its next request. Set when a password
-- changes (the person's own current session is renewed under the new value) and when an
-- admin resets a staff member's second factor.
ALTER TABLE users ADD COLUMN sessions_valid_from timestamptz;
ALTER TABLE platform_users ADD COLUMN sessions_valid_from timestamptz;

-- A platform user's own new password (the app role may not write `platform_users`): only
-- the hash and the sessions' cut-off, only for an active account.
CREATE FUNCTION set_platform_user_password(platform_user uuid, new_hash text, at timestamptz) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  UPDATE public.platform_users SET password_hash = new_hash, sessions_valid_from = at WHERE id = platform_user AND status = 'active';
  RETURN FOUND;
END
$$;
REVOKE ALL ON FUNCTION set_platform_user_password(uuid, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_platform_user_password(uuid, text, timestamptz) TO kilele_app;

-- school_principal gains `sessions_valid_from`.
DROP FUNCTION school_principal(uuid, uuid);
CREATE FUNCTION school_principal(school uuid, person uuid)
RETURNS TABLE (
    slug text, name text, status text, plan_code text, default_language text, features text[],
    email text, display_name text, language text, roles text[], perms text[],
    two_factor_on boolean, two_factor_since timestamptz, two_factor_for_teachers_since timestamptz,
    sessions_valid_from timestamptz
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
           (SELECT s.two_factor_for_teachers_since FROM school_settings s WHERE s.tenant_id = t.id),
           u.sessions_valid_from
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
