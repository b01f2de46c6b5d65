-- Reads that happen on every page, made cheaper. First, who is asking, in one round trip:
-- registry) and the user's roles and permissions (under row-level security). Before this,
-- that took a tenant lookup and a transaction of its own (BEGIN, query, COMMIT).
--
-- SECURITY INVOKER: it runs as the caller (kilele_app), so row-level security applies as to
-- any tenant read. The school setting it makes is put back before it returns (and, called on
-- its own, would end with the statement anyway); inside a transaction already scoped to
-- another school it refuses.
CREATE FUNCTION school_principal(school uuid, person uuid)
RETURNS TABLE (
    slug text, name text, status text, plan_code text, default_language text, features text[],
    email text, display_name text, language text, roles text[], perms text[]
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
                      WHERE ur.user_id = u.id), '{}')
      FROM tenants t
      JOIN plans p ON p.code = t.plan_code
      LEFT JOIN users u ON u.tenant_id = t.id AND u.id = person AND u.status = 'active'
     WHERE t.id = school;
  -- RETURN QUERY has read the rows: put the setting back, so that a caller's transaction
  -- without a school does not stay scoped to this one.
  PERFORM set_config('app.tenant_id', before, true);
END
$$;
REVOKE ALL ON FUNCTION school_principal(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION school_principal(uuid, uuid) TO kilele_app;

-- The owner console's counts in one pass over each table, grouped by school. The first
-- version counted per school with a subquery each, which re-read every school's rows once
-- per school: quadratic in the number of schools.
CREATE OR REPLACE FUNCTION platform_tenant_overview()
RETURNS TABLE (tenant_id uuid, students bigint, staff bigint, guardians bigint, streams bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH active_students AS (
             SELECT s.tenant_id, count(*) AS n FROM students s WHERE s.status = 'active' GROUP BY s.tenant_id),
         staff AS (
             SELECT ur.tenant_id, count(DISTINCT ur.user_id) AS n
               FROM user_roles ur
               JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
               JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
              WHERE u.status = 'active' AND r.code IN ('school_admin', 'teacher', 'accountant')
              GROUP BY ur.tenant_id),
         guardian_counts AS (SELECT g.tenant_id, count(*) AS n FROM guardians g GROUP BY g.tenant_id),
         stream_counts AS (SELECT st.tenant_id, count(*) AS n FROM streams st GROUP BY st.tenant_id)
    SELECT t.id, coalesce(a.n, 0), coalesce(f.n, 0), coalesce(g.n, 0), coalesce(c.n, 0)
      FROM tenants t
      LEFT JOIN active_students a ON a.tenant_id = t.id
      LEFT JOIN staff f ON f.tenant_id = t.id
      LEFT JOIN guardian_counts g ON g.tenant_id = t.id
      LEFT JOIN stream_counts c ON c.tenant_id = t.id
$$;
