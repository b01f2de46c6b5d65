-- A bank takes back money it notified before (a bounced cheque, a deposit made in error): its
-- reversal names the original transaction. Taken once per bank reversal id. A posted payment
-- is undone as a refund through the same channel that no user approved (`reverses` names the
-- provider payment instead); a payment still waiting in suspense (never in the ledger) is
-- marked sent back.
ALTER TABLE refunds
    ALTER COLUMN approved_by DROP NOT NULL,
    ADD COLUMN reverses uuid,
    ADD CONSTRAINT refunds_approved_or_reversed CHECK ((approved_by IS NULL) = (reverses IS NOT NULL)),
    ADD CONSTRAINT refunds_reverses_fkey FOREIGN KEY (tenant_id, reverses) REFERENCES provider_payments (tenant_id, id);

CREATE TABLE provider_reversals (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    provider       text NOT NULL CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    transaction_id text NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 100),
    original_id    uuid NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    -- The refund that undid a posted payment (none for one reversed out of suspense).
    refund_id      uuid,
    inbox_id       uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT provider_reversals_once UNIQUE (tenant_id, provider, transaction_id),
    FOREIGN KEY (tenant_id, original_id) REFERENCES provider_payments (tenant_id, id),
    FOREIGN KEY (tenant_id, refund_id) REFERENCES refunds (tenant_id, id),
    FOREIGN KEY (tenant_id, inbox_id) REFERENCES payment_inbox (tenant_id, id)
);
CREATE INDEX provider_reversals_original ON provider_reversals (tenant_id, original_id);
SELECT kilele_enable_tenant_rls('provider_reversals');
GRANT SELECT, INSERT ON provider_reversals TO kilele_app;

-- The inbox keeps reversals as deliveries of their own kind, with their own outcome.
ALTER TABLE payment_inbox
    DROP CONSTRAINT payment_inbox_kind_check,
    ADD CONSTRAINT payment_inbox_kind_check CHECK (kind IN ('notification', 'validation', 'reversal')),
    DROP CONSTRAINT payment_inbox_outcome_check,
    ADD CONSTRAINT payment_inbox_outcome_check
        CHECK (outcome IN ('received', 'posted', 'suspense', 'duplicate', 'answered', 'refused', 'declined', 'reversed'));
