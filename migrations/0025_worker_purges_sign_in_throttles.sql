-- The worker forgets old sign-in throttle rows (server::worker, `purge_login_throttles`), as
-- the worker role: it could not (permission denied on every run), so the rows were never
-- purged outside tests, which ran the purge as the application role. Read and delete only.
GRANT SELECT, DELETE ON platform_login_throttle TO kilele_worker;
GRANT SELECT, DELETE ON login_throttle TO kilele_worker;
