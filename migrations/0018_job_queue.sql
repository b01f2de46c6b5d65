-- The job queue, grown for report cards (issue 8):
-- 1. Wake-up on enqueue. The worker sleeps between polls; a job that becomes ready (queued, or
--    put back by an admin) announces itself: NOTIFY kilele_jobs, sent at commit (never for a
--    rolled-back enqueue) and folded into one message per transaction. The worker still polls
--    now and then, for retries whose backoff has run out and for a listener that was down.
-- 2. The admin's view of the school's failed jobs and a "try again now": the web role may read
--    a job's bookkeeping columns (never its payload, which may hold sealed personal data) and
--    put a failed job back in the queue.

-- SECURITY INVOKER: pg_notify needs no privilege. No one calls it directly.
CREATE FUNCTION kilele_job_ready() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM pg_notify('kilele_jobs', '');
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION kilele_job_ready() FROM PUBLIC;

CREATE TRIGGER job_ready AFTER INSERT OR UPDATE OF status, run_at ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued' AND NEW.run_at <= now())
    EXECUTE FUNCTION kilele_job_ready();

GRANT SELECT (id, kind, status, run_at, attempts, max_attempts, last_error, created_at, finished_at) ON jobs TO kilele_app;
GRANT UPDATE (status, run_at, max_attempts) ON jobs TO kilele_app;

-- The failed-jobs page reads a school's troubled jobs newest first; done jobs (the many) are
-- outside the index.
CREATE INDEX jobs_troubled ON jobs (tenant_id, created_at DESC)
    WHERE status = 'failed' OR (status = 'queued' AND last_error IS NOT NULL);
