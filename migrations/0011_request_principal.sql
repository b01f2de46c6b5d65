-- Who is asking, in one round trip: every signed-in request reads its school (from the
-- registry) and the user's roles and permissions (under row-level security). Before this,
-- that took a tenant lookup and a transaction of its own (BEGIN, query, COMMIT).
--
-- SECURITY INVOKER: it runs as the caller (kilele_app), so row-level security applies as to
-- any tenant read. Called on its own (autocommit), the school setting it makes lasts only
-- for that statement; inside a transaction already scoped to another school it refuses.
CREATE FUNCTION school_principal(school uuid, person uuid)
RETURNS TABLE (
    slug text, name text, status text, plan_code text, default_language text, features text[],
    email text, display_name text, language text, roles text[], perms text[]
)
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
  IF coalesce(current_setting('app.tenant_id', true), '') NOT IN ('', school::text) THEN
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
                      WHERE ur.user_id = u.id), '{}')
      FROM tenants t
      JOIN plans p ON p.code = t.plan_code
      LEFT JOIN users u ON u.tenant_id = t.id AND u.id = person AND u.status = 'active'
     WHERE t.id = school;
END
$$;
REVOKE ALL ON FUNCTION school_principal(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION school_principal(uuid, uuid) TO kilele_app;
