-- Sign-in throttling by account *and* client address (issue 6). The row with client = '*'
-- is the account-wide ceiling (much looser, so nobody can keep an account locked from one
-- address); a row per (email, client address) carries the fast backoff. `refused` counts
-- refusals since the last aggregated `login.throttled` audit entry, written at most once
-- per window (`refusals_reported_at`).
ALTER TABLE login_throttle ADD COLUMN client text NOT NULL DEFAULT '*';
ALTER TABLE login_throttle ADD COLUMN refused integer NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN refusals_reported_at timestamptz;
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_pkey;
ALTER TABLE login_throttle ADD PRIMARY KEY (tenant_id, email, client);
-- The worker purges rows whose last failure is old.
CREATE INDEX login_throttle_last_failure ON login_throttle (tenant_id, last_failure_at);

ALTER TABLE platform_login_throttle ADD COLUMN client text NOT NULL DEFAULT '*';
ALTER TABLE platform_login_throttle ADD COLUMN refused integer NOT NULL DEFAULT 0;
ALTER TABLE platform_login_throttle ADD COLUMN refusals_reported_at timestamptz;
ALTER TABLE platform_login_throttle DROP CONSTRAINT platform_login_throttle_pkey;
ALTER TABLE platform_login_throttle ADD PRIMARY KEY (email, client);
CREATE INDEX platform_login_throttle_last_failure ON platform_login_throttle (last_failure_at);

-- Guardian invitations for people who already have an account: no token is issued; the
-- parent role and the guardian link are applied when that person next signs in with their
-- own password.
CREATE TABLE pending_parent_links (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    guardian_id uuid NOT NULL,
    user_id     uuid NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, guardian_id),
    FOREIGN KEY (tenant_id, guardian_id) REFERENCES guardians (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX pending_parent_links_user ON pending_parent_links (tenant_id, user_id);
SELECT kilele_enable_tenant_rls('pending_parent_links');
GRANT SELECT, INSERT, UPDATE, DELETE ON pending_parent_links TO kilele_app;
