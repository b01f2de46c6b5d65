-- "Pay now" from the parent portal (issue 10): a push to the parent's phone through a wallet
-- (M-Pesa first), settled by the wallet's result, which is confirmed with the wallet's status
-- query before anything is posted (wallets sign nothing).

-- A wallet's channel carries the school's application credentials (API key, shortcode),
-- sealed with the PII key ring like the banks' signing secrets.
ALTER TABLE payment_channels ADD COLUMN credentials_sealed bytea;

-- A wallet's result saying the payer declined (or the wallet failed) posts nothing and is
-- kept as such.
ALTER TABLE payment_inbox DROP CONSTRAINT payment_inbox_outcome_check;
ALTER TABLE payment_inbox ADD CONSTRAINT payment_inbox_outcome_check
    CHECK (outcome IN ('received', 'posted', 'suspense', 'duplicate', 'answered', 'refused', 'declined'));

-- One row per push: who asked, for which child, how much, to which phone (sealed: a
-- guardian's number), our conversation id (the wallet echoes it), and where it is.
CREATE TABLE payment_pushes (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    provider         text NOT NULL CHECK (provider IN ('mpesa', 'airtel', 'tigo')),
    student_id       uuid NOT NULL,
    requested_by     uuid NOT NULL,
    phone_sealed     bytea NOT NULL,
    amount_minor     bigint NOT NULL CHECK (amount_minor > 0 AND amount_minor % 100 = 0),
    control_number   text NOT NULL,
    -- Ours, sent as the wallet's third-party conversation id: unique across the platform so a
    -- result names one push, and random (not the push's id, which is in the parent's URLs):
    -- nobody who saw a page can forge a result for it.
    conversation_id  text NOT NULL UNIQUE CHECK (length(conversation_id) BETWEEN 1 AND 40),
    -- The wallet's own ids once known.
    provider_conversation_id text,
    transaction_id   text,
    status           text NOT NULL CHECK (status IN ('waiting', 'paid', 'failed', 'abandoned')),
    reason           text,
    -- When the wallet was last asked about it (the web process's re-check of pushes whose
    -- result is late or lost, `payments::wallets::recheck`).
    checked_at       timestamptz,
    payment_id       uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    CHECK ((status = 'paid') = (payment_id IS NOT NULL))
);
-- The re-check reads the unsettled pushes of the last day.
CREATE INDEX payment_pushes_unsettled ON payment_pushes (tenant_id, created_at) WHERE status IN ('waiting', 'abandoned');
SELECT kilele_enable_tenant_rls('payment_pushes');

GRANT SELECT, INSERT ON payment_pushes TO kilele_app;
GRANT UPDATE (status, reason, provider_conversation_id, transaction_id, payment_id, updated_at, checked_at) ON payment_pushes TO kilele_app;

-- Paying from a phone is a permission of its own (a push debits whoever owns the phone):
-- parents have it; a school may give it to students too.
INSERT INTO permissions (code, scope, description) VALUES
    ('portal.fees.pay', 'school', 'Pay a child''s fees from a mobile wallet (a push to the phone)');
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, 'portal.fees.pay' FROM roles r WHERE r.code = 'parent'
ON CONFLICT DO NOTHING;

-- The bursar's list of payments reads a period of one school's payments.
CREATE INDEX payments_paid_on ON payments (tenant_id, paid_on);
