-- How a provider's payment found its student (issue 10, reconciliation): by the control number
-- quoted, an invoice number or an admission number quoted instead, the payer's phone (a
-- guardian's with one child, through the blind index), or the bursar assigning it from
-- suspense. Empty for payments taken before this was kept (all by control number).
ALTER TABLE provider_payments
    ADD COLUMN matched_by text CHECK (matched_by IN ('control_number', 'invoice', 'admission', 'payer_phone', 'bursar')),
    ADD CONSTRAINT provider_payments_matched_when_posted CHECK (matched_by IS NULL OR status = 'posted');
GRANT UPDATE (matched_by) ON provider_payments TO kilele_app;
