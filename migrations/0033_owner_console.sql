-- The owner console runs the business: onboarding a school and suspending or resuming one
-- from the web, and a hash-chained log of what platform staff do.
--
-- The application role still may not write the registry (`tenants`) directly: these two
-- narrow security-definer functions are its only ways in, and they do one thing each. Who may
-- call them is decided in the application (`platform.tenants.manage`); the check here that
-- the named actor is an active platform owner is defence in depth against a bug that passes
-- the wrong person, not against a compromised application role (which can read the owners'
-- ids).

-- Registers a new school, inside that school's own transaction (the caller has set
-- `app.tenant_id` to the new id), so the registry row, the school's roles, settings, first
-- admin and audit entries commit together or not at all.
CREATE FUNCTION platform_create_school(actor uuid, school uuid, code text, school_name text, plan text, lang text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM platform_users WHERE id = actor AND platform_role = 'owner' AND status = 'active') THEN
    RAISE EXCEPTION 'platform_create_school: not an active platform owner' USING ERRCODE = '42501';
  END IF;
  IF coalesce(current_setting('app.tenant_id', true), '') <> school::text THEN
    RAISE EXCEPTION 'platform_create_school: not the school of this transaction' USING ERRCODE = '42501';
  END IF;
  INSERT INTO tenants (id, slug, name, plan_code, default_language) VALUES (school, code, school_name, plan, lang);
END
$$;
REVOKE ALL ON FUNCTION platform_create_school(uuid, uuid, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_create_school(uuid, uuid, text, text, text, text) TO kilele_app;

-- Suspends ('suspended') or resumes ('active') a school. True when the status changed.
CREATE FUNCTION platform_set_school_status(actor uuid, school uuid, new_status text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM platform_users WHERE id = actor AND platform_role = 'owner' AND status = 'active') THEN
    RAISE EXCEPTION 'platform_set_school_status: not an active platform owner' USING ERRCODE = '42501';
  END IF;
  UPDATE tenants SET status = new_status WHERE id = school AND status <> new_status;
  RETURN FOUND;
END
$$;
REVOKE ALL ON FUNCTION platform_set_school_status(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_set_school_status(uuid, uuid, text) TO kilele_app;

-- What platform staff do, chained like a school's log (`audit::platform`): each entry MACed
-- with the audit key the database never sees, over the previous entry's MAC, so an entry
-- inserted or changed by the app role does not verify. One head row serialises appends.
CREATE TABLE platform_audit_log (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor_id  uuid,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    details   jsonb NOT NULL,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL
);
CREATE TABLE platform_audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint NOT NULL,
    hash     bytea NOT NULL
);
GRANT SELECT, INSERT ON platform_audit_log TO kilele_app;
GRANT SELECT, INSERT, UPDATE ON platform_audit_head TO kilele_app;
