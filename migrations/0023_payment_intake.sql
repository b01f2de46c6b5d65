-- Payments from providers (issue 10): each school's channels, every delivery kept as it came,
-- and one row per provider transaction (the de-duplication key and what became of it).

-- Per school and provider: on or off, the signing secrets (`whsec_…`, newest first; two while
-- a provider rotates), sealed with the PII key ring like other secrets at rest, and the
-- addresses the provider calls from (empty: the signature alone decides).
CREATE TABLE payment_channels (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    provider       text NOT NULL CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    enabled        boolean NOT NULL DEFAULT true,
    secrets_sealed bytea NOT NULL,
    allowed_ips    text[] NOT NULL DEFAULT '{}',
    changed_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, provider)
);
SELECT kilele_enable_tenant_rls('payment_channels');

-- Deliveries, as they came (headers, address, time, and the body sealed with the PII key ring:
-- it names a payer and their phone), marked with what was decided: posted, in suspense, a
-- duplicate, answered (a validation), or refused with the reason. A verified delivery is kept
-- before it is processed; a refused one is kept with at most its first 2 KiB, and only so many
-- per address a minute. The request itself is never changed.
CREATE TABLE payment_inbox (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    provider       text NOT NULL CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    kind           text NOT NULL CHECK (kind IN ('notification', 'validation')),
    received_at    timestamptz NOT NULL,
    source_ip      text,
    headers        jsonb NOT NULL,
    body_sealed    bytea NOT NULL,
    -- The body's length as it came (a refused one keeps only its start).
    body_bytes     integer NOT NULL CHECK (body_bytes >= 0),
    outcome        text NOT NULL DEFAULT 'received'
                   CHECK (outcome IN ('received', 'posted', 'suspense', 'duplicate', 'answered', 'refused')),
    reason         text,
    transaction_id text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX payment_inbox_received ON payment_inbox (tenant_id, received_at DESC);
SELECT kilele_enable_tenant_rls('payment_inbox');

-- One row per provider transaction: a retried or duplicated notification finds it and posts
-- nothing. Posted ones name their payment; the others wait in suspense for the bursar.
CREATE TABLE provider_payments (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    provider       text NOT NULL CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    transaction_id text NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 100),
    reference      text NOT NULL,
    -- The payer's name and phone ({"name", "phone"}), sealed: often a guardian's phone.
    payer_sealed   bytea,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       text NOT NULL,
    paid_at        timestamptz NOT NULL,
    inbox_id       uuid NOT NULL,
    student_id     uuid,
    payment_id     uuid,
    status         text NOT NULL CHECK (status IN ('posted', 'suspense')),
    reason         text,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT provider_payments_once UNIQUE (tenant_id, provider, transaction_id),
    FOREIGN KEY (tenant_id, inbox_id) REFERENCES payment_inbox (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    CHECK ((status = 'posted') = (payment_id IS NOT NULL))
);
CREATE INDEX provider_payments_suspense ON provider_payments (tenant_id, created_at) WHERE status = 'suspense';
SELECT kilele_enable_tenant_rls('provider_payments');

-- The web process takes the deliveries (the webhook routes) and manages the channels.
GRANT SELECT, INSERT, UPDATE ON payment_channels TO kilele_app;
GRANT SELECT, INSERT ON payment_inbox TO kilele_app;
GRANT UPDATE (outcome, reason, transaction_id) ON payment_inbox TO kilele_app;
GRANT SELECT, INSERT ON provider_payments TO kilele_app;
GRANT UPDATE (status, student_id, payment_id, reason) ON provider_payments TO kilele_app;
