-- Bank statements (issue 10, reconciliation): the school's collection account as the bank
-- reports it, imported by the bursar, line by line, so each day can be reconciled against the
-- bank's notifications. Kept as imported; a statement imported again is another statement.
CREATE TABLE bank_statements (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    provider     text NOT NULL CHECK (provider IN ('nmb', 'nbc', 'crdb')),
    file_name    text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    first_day    date NOT NULL,
    last_day     date NOT NULL CHECK (last_day >= first_day),
    lines        integer NOT NULL CHECK (lines > 0),
    total_minor  bigint NOT NULL CHECK (total_minor > 0),
    imported_by  uuid NOT NULL,
    imported_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, imported_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX bank_statements_latest ON bank_statements (tenant_id, imported_at DESC);
SELECT kilele_enable_tenant_rls('bank_statements');

CREATE TABLE bank_statement_lines (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    statement_id   uuid NOT NULL,
    line_no        integer NOT NULL CHECK (line_no > 0),
    transaction_id text NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 60),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    value_date     date NOT NULL,
    narration      text NOT NULL CHECK (length(narration) <= 200),
    PRIMARY KEY (tenant_id, statement_id, line_no),
    UNIQUE (tenant_id, statement_id, transaction_id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES bank_statements (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('bank_statement_lines');
-- A statement's days are reconciled against the bank's notifications paid on them.
CREATE INDEX provider_payments_paid ON provider_payments (tenant_id, provider, paid_at);
GRANT SELECT, INSERT ON bank_statements, bank_statement_lines TO kilele_app;
