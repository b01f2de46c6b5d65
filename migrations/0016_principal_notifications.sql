-- Who a session is (the principal and their school) is kept in each web process between
-- requests (kilele::identity::cache). These triggers tell the processes when a row it is made
-- of changes: NOTIFY kilele_principals, with the school's id, 'platform' for platform staff, or
-- '*' for a plan (every school on it). PostgreSQL sends notifications at commit (none for a
-- rolled-back change) and folds identical ones of one transaction into one, so a change of a
-- hundred role rows is one message.
--
-- SECURITY INVOKER: pg_notify needs no privilege, so the trigger runs as whoever changed the
-- rows (the app role, the worker, the owner's CLI). No one calls it directly.
CREATE FUNCTION kilele_principals_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  row_data record;
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_data := OLD;
  ELSE
    row_data := NEW;
  END IF;
  -- One statement per table kind: a record's fields are looked up when a statement runs, so
  -- `tenant_id` may only be named where the table has it.
  IF TG_TABLE_NAME = 'tenants' THEN
    PERFORM pg_notify('kilele_principals', row_data.id::text);
  ELSIF TG_TABLE_NAME = 'platform_users' THEN
    PERFORM pg_notify('kilele_principals', 'platform');
  ELSIF TG_TABLE_NAME = 'plans' THEN
    PERFORM pg_notify('kilele_principals', '*');
  ELSE
    PERFORM pg_notify('kilele_principals', row_data.tenant_id::text);
    -- A row moved to another school (not done today) is news for the old school too.
    IF TG_OP = 'UPDATE' THEN
      PERFORM pg_notify('kilele_principals', OLD.tenant_id::text);
    END IF;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION kilele_principals_changed() FROM PUBLIC;

-- What school_principal and load_platform_principal read. A new user (INSERT on users) has no
-- cached entry, so it needs no message; a new role assignment does.
CREATE TRIGGER principals_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER INSERT OR UPDATE OR DELETE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
CREATE TRIGGER principals_changed AFTER UPDATE OR DELETE ON platform_users
    FOR EACH ROW EXECUTE FUNCTION kilele_principals_changed();
