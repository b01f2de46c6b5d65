-- Statements of the wallets too (issue 10): M-Pesa's, Airtel Money's and Tigo Pesa's reports of
-- the school's till or biller account reconcile like the banks' statements. A line the
-- provider never notified can be taken into Kilele by the bursar; it is kept in the inbox as
-- a delivery of its own kind ('statement'), like every payment Kilele takes.
ALTER TABLE bank_statements DROP CONSTRAINT bank_statements_provider_check;
ALTER TABLE bank_statements ADD CONSTRAINT bank_statements_provider_check
    CHECK (provider IN ('nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo'));

ALTER TABLE payment_inbox DROP CONSTRAINT payment_inbox_kind_check;
ALTER TABLE payment_inbox ADD CONSTRAINT payment_inbox_kind_check
    CHECK (kind IN ('notification', 'validation', 'reversal', 'statement'));

-- A wallet's receipt keeps its case (M-Pesa's are mixed: `G27DEn1DLoQ3`) while a bursar's slip
-- reference is written upper-case: the same reference for the same child is one payment
-- whatever its case, or a wallet's payment could post beside the slip recorded by hand.
CREATE UNIQUE INDEX payments_reference_once_any_case ON payments (tenant_id, channel, upper(reference), student_id)
    WHERE reference IS NOT NULL;
