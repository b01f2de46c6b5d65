-- Two small pieces of bookkeeping for the fees workspace (issue 9).

-- 1. A version per school's ledger, moved on once by every transaction that posts to it.
-- The accountant's dashboard is computed from the whole school's ledger (tens of
-- milliseconds on 2,000 students); it is kept per school under this version and reused until
-- the next posting. The version is read in the dashboard's own snapshot, so a kept dashboard
-- is exactly what that snapshot would compute: a posting committed in any process changes the
-- version, and no process can serve a dashboard that misses it.
--
-- The bump runs at commit (a deferred trigger), so the row lock is taken last and held only
-- while the transaction commits: two posting transactions never wait on each other while they
-- still hold their students' money locks (no deadlock), and a long invoicing chunk does not
-- block a payment until its very end.
CREATE TABLE ledger_versions (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    version   bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (tenant_id)
);
SELECT kilele_enable_tenant_rls('ledger_versions');

CREATE FUNCTION ledger_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Once per transaction (an invoicing chunk posts hundreds of entries).
  IF current_setting('kilele.ledger_bumped', true) IS DISTINCT FROM NEW.tenant_id::text THEN
    INSERT INTO ledger_versions AS v (tenant_id, version) VALUES (NEW.tenant_id, 1)
      ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
    PERFORM set_config('kilele.ledger_bumped', NEW.tenant_id::text, true);
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER journal_entry_bumps_version AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_version_bump();
REVOKE ALL ON FUNCTION ledger_version_bump() FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE (version) ON ledger_versions TO kilele_app, kilele_worker;

-- 2. A form that makes a document (a payment, a discount, a credit note, a refund, a
-- write-off) is done once however often it is sent: a double click, or a bursar on a flaky
-- connection pressing again after a timeout. Each such form carries a fresh token; the first
-- submission records it in the transaction that makes the document, a repeat waits for that
-- transaction and answers with its result. Rows are kept two days (the worker purges them).
CREATE TABLE form_submissions (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    token      uuid NOT NULL,
    -- The server function's endpoint: a token is only good for the form it came with.
    action     text NOT NULL CHECK (length(action) BETWEEN 1 AND 80),
    user_id    uuid NOT NULL,
    -- A hash of what the form said: the same token with other values is refused, never
    -- answered with the first submission's result.
    fingerprint text NOT NULL,
    -- The document made (a payment's id…); NULL for an action that makes none.
    result_id  uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, token),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX form_submissions_created ON form_submissions (created_at);
SELECT kilele_enable_tenant_rls('form_submissions');

GRANT SELECT, INSERT ON form_submissions TO kilele_app;
GRANT UPDATE (result_id) ON form_submissions TO kilele_app;
GRANT SELECT, DELETE ON form_submissions TO kilele_worker;
