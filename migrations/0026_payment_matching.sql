-- Reconciliation (issue 10): how a provider's payment found its student, and what the bursar
-- did with one nobody matched.
--
-- matched_by: the control number quoted, an invoice number or an admission number quoted
-- instead, the payer's phone (a guardian's with one child, through the blind index), or the
-- bursar assigning it from suspense. Empty for payments taken before this was kept (all by
-- control number).
--
-- A waiting payment the bursar settles by hand is posted whole (assigned: 'posted'), split
-- between children ('split': one payment per child, in provider_payment_parts, their sum the
-- whole), or sent back to the payer outside Kilele ('refunded', with the refund's reference and
-- why). Suspense is never in the ledger, so a refund posts nothing.
ALTER TABLE provider_payments
    DROP CONSTRAINT provider_payments_status_check,
    ADD CONSTRAINT provider_payments_status_check CHECK (status IN ('posted', 'suspense', 'split', 'refunded')),
    ADD COLUMN matched_by text CHECK (matched_by IN ('control_number', 'invoice', 'admission', 'payer_phone', 'bursar')),
    ADD CONSTRAINT provider_payments_matched_when_settled CHECK (matched_by IS NULL OR status IN ('posted', 'split')),
    ADD COLUMN refund_reference text CHECK (length(refund_reference) BETWEEN 1 AND 60),
    ADD COLUMN refund_reason text CHECK (length(refund_reason) BETWEEN 1 AND 200),
    ADD CONSTRAINT provider_payments_refund_said CHECK ((status = 'refunded') = (refund_reference IS NOT NULL AND refund_reason IS NOT NULL));
GRANT UPDATE (matched_by, refund_reference, refund_reason) ON provider_payments TO kilele_app;

CREATE TABLE provider_payment_parts (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    item_id      uuid NOT NULL,
    payment_id   uuid NOT NULL,
    student_id   uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (tenant_id, item_id, student_id),
    UNIQUE (tenant_id, payment_id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES provider_payments (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('provider_payment_parts');
GRANT SELECT, INSERT ON provider_payment_parts TO kilele_app;
