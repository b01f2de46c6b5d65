-- Invitations: a staff member or a parent gets a one-time link to choose a password.
-- Only a hash of the token is stored; the link itself is shown once to the inviter (and
-- delivered by SMS/email once notifications exist).
CREATE TABLE invitations (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    token_hash  bytea NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

SELECT kilele_enable_tenant_rls('invitations');
