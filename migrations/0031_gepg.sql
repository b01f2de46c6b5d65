-- GePG, the Government Electronic Payment Gateway (issue 10): government schools collect
-- through it. A school submits a bill for what a student owes; GePG answers later with the
-- bill's own control number, which parents pay at any bank or wallet; GePG then notifies each
-- payment. GePG is a seventh provider and channel.
ALTER TABLE payments DROP CONSTRAINT payments_channel_check;
ALTER TABLE payments ADD CONSTRAINT payments_channel_check
    CHECK (channel IN ('cash', 'nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE refunds DROP CONSTRAINT refunds_channel_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_channel_check
    CHECK (channel IN ('cash', 'nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_channel_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_channel_check
    CHECK (channel IN ('cash', 'nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE payment_channels DROP CONSTRAINT payment_channels_provider_check;
ALTER TABLE payment_channels ADD CONSTRAINT payment_channels_provider_check
    CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE payment_inbox DROP CONSTRAINT payment_inbox_provider_check;
ALTER TABLE payment_inbox ADD CONSTRAINT payment_inbox_provider_check
    CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE payment_inbox DROP CONSTRAINT payment_inbox_kind_check;
ALTER TABLE payment_inbox ADD CONSTRAINT payment_inbox_kind_check
    CHECK (kind IN ('notification', 'validation', 'reversal', 'statement', 'bill'));
ALTER TABLE provider_payments DROP CONSTRAINT provider_payments_provider_check;
ALTER TABLE provider_payments ADD CONSTRAINT provider_payments_provider_check
    CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE provider_reversals DROP CONSTRAINT provider_reversals_provider_check;
ALTER TABLE provider_reversals ADD CONSTRAINT provider_reversals_provider_check
    CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));
ALTER TABLE bank_statements DROP CONSTRAINT bank_statements_provider_check;
ALTER TABLE bank_statements ADD CONSTRAINT bank_statements_provider_check
    CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo', 'gepg'));

-- A bill submitted to GePG for what a student owed then, and what GePG answered: its control
-- number (issued) or its refusal code. A payment quoting the control number is the student's.
CREATE TABLE gepg_bills (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    student_id     uuid NOT NULL,
    bill_id        text NOT NULL CHECK (length(bill_id) BETWEEN 1 AND 60),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    expires_at     timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('submitted', 'issued', 'refused')),
    control_number text CHECK (control_number ~ '^[0-9]{12}$'),
    code           text CHECK (length(code) BETWEEN 1 AND 20),
    requested_by   uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    answered_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, bill_id),
    CHECK ((status = 'issued') = (control_number IS NOT NULL)),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX gepg_bills_control_number ON gepg_bills (tenant_id, control_number) WHERE control_number IS NOT NULL;
CREATE INDEX gepg_bills_student ON gepg_bills (tenant_id, student_id, created_at DESC);
SELECT kilele_enable_tenant_rls('gepg_bills');
GRANT SELECT, INSERT ON gepg_bills TO kilele_app;
GRANT UPDATE (status, control_number, code, answered_at) ON gepg_bills TO kilele_app;
