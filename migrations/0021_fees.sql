-- Fees (issue 9): fee structures, discounts, instalments, invoices, control numbers, payments
-- recorded by the bursar, corrections, and the double-entry ledger every one of them posts to.
-- Same tenancy rules as 0002: tenant_id NOT NULL, composite keys and foreign keys, RLS enabled
-- and forced; grants written next to the tables (0008: no default privileges).
--
-- Money is bigint minor units (TZS cents) everywhere, never numeric or float.
--
-- The ledger is the truth and is append-only: journal entries and their lines cannot be
-- updated or deleted by anyone (grants and a trigger), and every entry must balance at commit
-- (a deferred constraint trigger), so a Rust bug cannot write half an entry. Balances are
-- always sums of lines; no table stores one.

INSERT INTO permissions (code, scope, description) VALUES
    ('finance.fees.manage', 'school', 'Set fee structures, instalment plans, discounts and fine rules; invoice a term'),
    ('finance.payments.record', 'school', 'Record cash and bank-slip payments and print their receipts'),
    ('finance.adjust', 'school', 'Credit notes, fine waivers, refunds and write-offs (each with a reason)');
-- Existing schools' accountants get them (new schools get them from the code's defaults).
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, p.code FROM roles r
  CROSS JOIN (VALUES ('finance.fees.manage'), ('finance.payments.record'), ('finance.adjust')) AS p (code)
 WHERE r.code = 'accountant'
ON CONFLICT DO NOTHING;

-- Control numbers are unique across every school (a bank or wallet posts by the number
-- alone), so each school has its own 4-digit prefix from one global sequence.
CREATE SEQUENCE control_prefix_seq MINVALUE 1001 MAXVALUE 9999 START 1001;

CREATE TABLE finance_settings (
    tenant_id            uuid PRIMARY KEY REFERENCES tenants (id),
    control_prefix       text NOT NULL UNIQUE CHECK (control_prefix ~ '^[1-9][0-9]{3}$'),
    -- The next student serial inside the prefix (6 digits).
    next_serial          integer NOT NULL DEFAULT 1 CHECK (next_serial BETWEEN 1 AND 1000000),
    next_invoice_no      bigint NOT NULL DEFAULT 1 CHECK (next_invoice_no > 0),
    next_receipt_no      bigint NOT NULL DEFAULT 1 CHECK (next_receipt_no > 0),
    next_credit_note_no  bigint NOT NULL DEFAULT 1 CHECK (next_credit_note_no > 0),
    -- Which debts a payment settles first.
    allocation           text NOT NULL DEFAULT 'oldest_first' CHECK (allocation IN ('oldest_first', 'current_term_first')),
    -- Sibling discounts in basis points (1 % = 100) of the whole invoice, by the child's rank
    -- among the active children of one family (the eldest pays in full).
    sibling_second_bp    integer NOT NULL DEFAULT 0 CHECK (sibling_second_bp BETWEEN 0 AND 10000),
    sibling_third_bp     integer NOT NULL DEFAULT 0 CHECK (sibling_third_bp BETWEEN 0 AND 10000),
    -- A student who joins after the term started: billed in full or for the days left.
    mid_term_joiners     text NOT NULL DEFAULT 'full' CHECK (mid_term_joiners IN ('full', 'pro_rata')),
    -- Late fine on an instalment still unpaid this many days after its due date (0: none).
    late_fine_minor      bigint NOT NULL DEFAULT 0 CHECK (late_fine_minor >= 0),
    late_fine_grace_days integer NOT NULL DEFAULT 7 CHECK (late_fine_grace_days BETWEEN 0 AND 365)
);
SELECT kilele_enable_tenant_rls('finance_settings');

-- Every student's payment reference: prefix, serial, two ISO 7064 mod 97-10 check digits.
CREATE TABLE student_accounts (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    student_id     uuid NOT NULL,
    control_number text NOT NULL CHECK (control_number ~ '^[1-9][0-9]{11}$'),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, student_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id)
);
-- Across schools: a provider's notification names only the number.
CREATE UNIQUE INDEX student_accounts_control_number ON student_accounts (control_number);
SELECT kilele_enable_tenant_rls('student_accounts');

CREATE TABLE fee_items (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    name      text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX fee_items_name ON fee_items (tenant_id, lower(name));
SELECT kilele_enable_tenant_rls('fee_items');

-- What a class (level), or one stream of it, pays for a term. A stream's structure wins over
-- its level's.
CREATE TABLE fee_structures (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id    uuid NOT NULL,
    level_id   uuid NOT NULL,
    stream_id  uuid,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT fee_structures_one_per_class UNIQUE NULLS NOT DISTINCT (tenant_id, term_id, level_id, stream_id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('fee_structures');

CREATE TABLE fee_structure_items (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    structure_id uuid NOT NULL,
    item_id      uuid NOT NULL,
    position     integer NOT NULL CHECK (position >= 0),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    -- Optional items (transport, meals) are billed only to the students who take them.
    compulsory   boolean NOT NULL,
    PRIMARY KEY (tenant_id, structure_id, item_id),
    FOREIGN KEY (tenant_id, structure_id) REFERENCES fee_structures (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, item_id) REFERENCES fee_items (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('fee_structure_items');

-- The instalment plan: shares in basis points that sum to 10,000 (checked before writing).
CREATE TABLE fee_instalments (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    structure_id uuid NOT NULL,
    seq          integer NOT NULL CHECK (seq BETWEEN 1 AND 12),
    share_bp     integer NOT NULL CHECK (share_bp BETWEEN 1 AND 10000),
    due_on       date NOT NULL,
    PRIMARY KEY (tenant_id, structure_id, seq),
    FOREIGN KEY (tenant_id, structure_id) REFERENCES fee_structures (tenant_id, id) ON DELETE CASCADE
);
SELECT kilele_enable_tenant_rls('fee_instalments');

-- Who takes an optional item in a term.
CREATE TABLE student_fee_options (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    student_id uuid NOT NULL,
    term_id    uuid NOT NULL,
    item_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, term_id, student_id, item_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES fee_items (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('student_fee_options');

-- Staff child, bursary, scholarship: a percentage or a fixed amount, of one item or the whole
-- invoice, for one term, with a reason and who approved it. Applied when the term is invoiced.
CREATE TABLE fee_discounts (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    student_id   uuid NOT NULL,
    term_id      uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('staff_child', 'bursary', 'scholarship', 'other')),
    item_id      uuid,
    percent_bp   integer CHECK (percent_bp BETWEEN 1 AND 10000),
    amount_minor bigint CHECK (amount_minor > 0),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
    approved_by  uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((percent_bp IS NULL) <> (amount_minor IS NULL)),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES fee_items (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX fee_discounts_term ON fee_discounts (tenant_id, term_id, student_id);
SELECT kilele_enable_tenant_rls('fee_discounts');

-- One request to invoice a term (whole school or one class): the worker's progress.
CREATE TABLE invoice_runs (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id      uuid NOT NULL,
    -- NULL: every class.
    level_id     uuid,
    requested_by uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    total        integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    done         integer NOT NULL DEFAULT 0 CHECK (done >= 0),
    failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    -- Students already invoiced for the term before this run (not billed twice).
    skipped      integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    -- Why students could not be invoiced (no fee structure for their class…): [{student, reason}].
    problems     jsonb NOT NULL DEFAULT '[]',
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX invoice_runs_term ON invoice_runs (tenant_id, requested_at DESC);
SELECT kilele_enable_tenant_rls('invoice_runs');

CREATE TABLE invoices (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    number       bigint NOT NULL CHECK (number > 0),
    student_id   uuid NOT NULL,
    term_id      uuid NOT NULL,
    structure_id uuid NOT NULL,
    run_id       uuid,
    issued_on    date NOT NULL,
    currency     text NOT NULL DEFAULT 'TZS' CHECK (currency = 'TZS'),
    gross_minor  bigint NOT NULL CHECK (gross_minor > 0),
    discount_minor bigint NOT NULL CHECK (discount_minor >= 0),
    net_minor    bigint NOT NULL CHECK (net_minor >= 0),
    -- Cancelled by a credit note (never deleted).
    cancelled    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    CHECK (net_minor = gross_minor - discount_minor),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, structure_id) REFERENCES fee_structures (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES invoice_runs (tenant_id, id)
);
-- A student is billed once per term: re-running an invoice run skips them. A cancelled
-- invoice frees the term for a corrected one.
CREATE UNIQUE INDEX invoices_once_per_term ON invoices (tenant_id, student_id, term_id) WHERE NOT cancelled;
CREATE INDEX invoices_term ON invoices (tenant_id, term_id);
CREATE INDEX invoices_student ON invoices (tenant_id, student_id);
CREATE INDEX invoices_structure ON invoices (tenant_id, structure_id);
SELECT kilele_enable_tenant_rls('invoices');

CREATE TABLE invoice_lines (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    invoice_id     uuid NOT NULL,
    line_no        integer NOT NULL CHECK (line_no > 0),
    item_id        uuid NOT NULL,
    description    text NOT NULL,
    gross_minor    bigint NOT NULL CHECK (gross_minor > 0),
    discount_minor bigint NOT NULL CHECK (discount_minor >= 0 AND discount_minor <= gross_minor),
    PRIMARY KEY (tenant_id, invoice_id, line_no),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES fee_items (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('invoice_lines');

CREATE TABLE invoice_instalments (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    invoice_id   uuid NOT NULL,
    seq          integer NOT NULL CHECK (seq BETWEEN 1 AND 12),
    due_on       date NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (tenant_id, invoice_id, seq),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('invoice_instalments');

-- Money received: by hand (cash, a bank slip) or, with the payments issue, from a provider.
CREATE TABLE payments (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    receipt_no   bigint NOT NULL CHECK (receipt_no > 0),
    student_id   uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     text NOT NULL DEFAULT 'TZS' CHECK (currency = 'TZS'),
    channel      text NOT NULL CHECK (channel IN ('cash', 'nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    reference    text CHECK (length(reference) BETWEEN 1 AND 60),
    paid_on      date NOT NULL,
    source       text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'provider')),
    recorded_by  uuid,
    recorded_at  timestamptz NOT NULL,
    -- Printed on the receipt: "ABCDE-FGHJK", like a report card's.
    verify_code  text NOT NULL CHECK (verify_code ~ '^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$'),
    -- The receipt's PDF in the storage layer, made on its first download and kept (a
    -- receipt is printed as it was when the money came in).
    receipt_key  text,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, receipt_no),
    -- A bank slip or transaction is posted once per student (one slip may pay for siblings:
    -- the bursar records each child's part with the same reference).
    CONSTRAINT payments_reference_once UNIQUE (tenant_id, channel, reference, student_id),
    CHECK (channel = 'cash' OR reference IS NOT NULL),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX payments_verify_code ON payments (verify_code);
CREATE INDEX payments_student ON payments (tenant_id, student_id, paid_on);
CREATE INDEX payments_recorded ON payments (tenant_id, recorded_at);
SELECT kilele_enable_tenant_rls('payments');

-- Corrections, each its own document with a reason and an approver.
CREATE TABLE credit_notes (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    number       bigint NOT NULL CHECK (number > 0),
    invoice_id   uuid NOT NULL,
    student_id   uuid NOT NULL,
    -- The whole invoice (it is cancelled; a fully discounted one for 0) or part of it.
    cancels      boolean NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0 OR (cancels AND amount_minor = 0)),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
    approved_by  uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX credit_notes_invoice ON credit_notes (tenant_id, invoice_id);
SELECT kilele_enable_tenant_rls('credit_notes');

CREATE TABLE late_fines (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    invoice_id   uuid NOT NULL,
    seq          integer NOT NULL,
    student_id   uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    applied_on   date NOT NULL,
    -- Waived: a reason and who waived it (the waiver posts its own entry).
    waived_by    uuid,
    waived_reason text CHECK (length(waived_reason) BETWEEN 3 AND 500),
    waived_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- One fine per overdue instalment, however often the job runs.
    UNIQUE (tenant_id, invoice_id, seq),
    CHECK ((waived_by IS NULL) = (waived_at IS NULL) AND (waived_by IS NULL) = (waived_reason IS NULL)),
    FOREIGN KEY (tenant_id, invoice_id, seq) REFERENCES invoice_instalments (tenant_id, invoice_id, seq),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, waived_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX late_fines_student ON late_fines (tenant_id, student_id);
SELECT kilele_enable_tenant_rls('late_fines');

-- Money paid back (from the student's credit first) and debts written off.
CREATE TABLE refunds (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    student_id   uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    channel      text NOT NULL CHECK (channel IN ('cash', 'nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    reference    text CHECK (length(reference) BETWEEN 1 AND 60),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
    approved_by  uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX refunds_student ON refunds (tenant_id, student_id);
SELECT kilele_enable_tenant_rls('refunds');

CREATE TABLE write_offs (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    student_id   uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
    approved_by  uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES users (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('write_offs');

-- The chart of accounts: made on first use. Receivable and credit are per student, income
-- per fee item, clearing per channel ('cash' is the cash box).
CREATE TABLE ledger_accounts (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    kind       text NOT NULL CHECK (kind IN ('receivable', 'credit', 'income', 'discounts', 'fines', 'clearing', 'suspense', 'write_offs')),
    student_id uuid,
    item_id    uuid,
    channel    text CHECK (channel IN ('cash', 'nmb', 'nbc', 'crdb', 'mpesa', 'airtel', 'tigo')),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT ledger_accounts_once UNIQUE NULLS NOT DISTINCT (tenant_id, kind, student_id, item_id, channel),
    CHECK ((kind IN ('receivable', 'credit')) = (student_id IS NOT NULL)),
    CHECK ((kind = 'income') = (item_id IS NOT NULL)),
    CHECK ((kind = 'clearing') = (channel IS NOT NULL)),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES fee_items (tenant_id, id)
);
-- A student's receivable and credit (the pages read balances by student).
CREATE INDEX ledger_accounts_student ON ledger_accounts (tenant_id, student_id);
SELECT kilele_enable_tenant_rls('ledger_accounts');

CREATE TABLE journal_entries (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Posting order (one sequence for every school: only its order matters).
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    kind        text NOT NULL CHECK (kind IN ('invoice', 'payment', 'credit_note', 'credit_applied', 'fine', 'fine_waiver', 'refund', 'write_off')),
    -- The source document (an invoice, payment, credit note, fine, refund or write-off);
    -- `ledger check` proves it exists. One entry per document and kind.
    source_id   uuid NOT NULL,
    student_id  uuid,
    memo        text NOT NULL,
    posted_on   date NOT NULL,
    posted_at   timestamptz NOT NULL,
    posted_by   uuid,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT journal_entries_once UNIQUE (tenant_id, kind, source_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, posted_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX journal_entries_student ON journal_entries (tenant_id, student_id, seq);
CREATE INDEX journal_entries_posted ON journal_entries (tenant_id, posted_on);
SELECT kilele_enable_tenant_rls('journal_entries');

-- Debits positive, credits negative: an entry balances when its lines sum to zero.
CREATE TABLE journal_lines (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    entry_id     uuid NOT NULL,
    line_no      integer NOT NULL CHECK (line_no > 0),
    account_id   uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
    PRIMARY KEY (tenant_id, entry_id, line_no),
    FOREIGN KEY (tenant_id, entry_id) REFERENCES journal_entries (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES ledger_accounts (tenant_id, id)
);
CREATE INDEX journal_lines_account ON journal_lines (tenant_id, account_id) INCLUDE (amount_minor);
SELECT kilele_enable_tenant_rls('journal_lines');

-- Balanced at commit: every entry has at least two lines summing to zero. Deferred, so the
-- lines of an entry may be inserted one by one; checked once per entry (the trigger on the
-- entry row), not once per line.
CREATE FUNCTION journal_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  total numeric;
BEGIN
  SELECT count(*), coalesce(sum(amount_minor), 0) INTO n, total
    FROM journal_lines WHERE tenant_id = NEW.tenant_id AND entry_id = NEW.id;
  IF n < 2 OR total <> 0 THEN
    RAISE EXCEPTION 'journal entry % does not balance: % lines summing to %', NEW.id, n, total
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balances';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER journal_entry_balances AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balances();

-- Lines may only be added to an entry of the same transaction (whose balance is still to be
-- checked): lines added to an old entry, even balanced ones, would move money between
-- accounts after the fact. Each entry records the transaction that posted it (set by a
-- trigger, so it cannot be supplied); txid_current() is the top-level transaction's id,
-- savepoints included.
ALTER TABLE journal_entries ADD COLUMN posted_in_tx bigint NOT NULL DEFAULT 0;
CREATE FUNCTION journal_entry_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.posted_in_tx := txid_current();
  RETURN NEW;
END
$$;
CREATE TRIGGER journal_entry_stamp BEFORE INSERT ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION journal_entry_stamp();
CREATE FUNCTION journal_line_in_new_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM journal_entries e
                  WHERE e.tenant_id = NEW.tenant_id AND e.id = NEW.entry_id AND e.posted_in_tx = txid_current()) THEN
    RAISE EXCEPTION 'journal line added to entry % of an earlier transaction', NEW.entry_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_lines_append_only';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER journal_line_in_new_entry BEFORE INSERT ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION journal_line_in_new_entry();

-- Append-only for everyone, the schema owner included (only disabling the trigger, as a
-- superuser, gets past it: what `ledger check` is for).
CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

-- Trigger functions are called by their triggers, never by the roles.
REVOKE ALL ON FUNCTION journal_entry_balances(), journal_entry_stamp(), journal_line_in_new_entry(), ledger_is_append_only() FROM PUBLIC;

-- The web process (the bursar's pages, server functions).
GRANT SELECT, INSERT, UPDATE ON finance_settings TO kilele_app;
GRANT USAGE ON SEQUENCE control_prefix_seq TO kilele_app, kilele_worker;
GRANT SELECT, INSERT ON student_accounts, fee_items, fee_discounts, invoice_runs, payments, credit_notes,
    refunds, write_offs, ledger_accounts, journal_entries, journal_lines TO kilele_app;
-- Structures are replaced item by item; the structure row is locked (UPDATE) while it is.
GRANT SELECT, INSERT, UPDATE ON fee_structures TO kilele_app;
GRANT SELECT, INSERT, DELETE ON fee_structure_items, fee_instalments, student_fee_options TO kilele_app;
GRANT SELECT, INSERT ON invoices, invoice_lines, invoice_instalments TO kilele_app;
GRANT UPDATE (cancelled) ON invoices TO kilele_app;
GRANT UPDATE (receipt_key) ON payments TO kilele_app;
GRANT UPDATE (status, finished_at) ON invoice_runs TO kilele_app;
GRANT SELECT ON late_fines TO kilele_app;
GRANT UPDATE (waived_by, waived_reason, waived_at) ON late_fines TO kilele_app;
-- The worker invoices a term and applies late fines.
GRANT SELECT, UPDATE ON invoice_runs TO kilele_worker;
GRANT SELECT, INSERT, UPDATE ON finance_settings TO kilele_worker;
GRANT SELECT, INSERT ON student_accounts, invoices, invoice_lines, invoice_instalments, late_fines,
    ledger_accounts, journal_entries, journal_lines TO kilele_worker;
GRANT SELECT ON fee_items, fee_structures, fee_structure_items, fee_instalments, student_fee_options, fee_discounts,
    terms, streams, student_guardians TO kilele_worker;

-- /verify/<code> for a receipt: anyone holding a printed receipt may check it. Returns what the
-- receipt prints (school, student, number, amount, date) and the school's id (the caller
-- refuses another school's receipt on a school's own address); nothing for an unknown code.
CREATE FUNCTION verify_receipt(code text)
RETURNS TABLE (school_id uuid, school text, student text, receipt_no bigint, amount_minor bigint, paid_on date, channel text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id, t.name, concat_ws(' ', s.first_name, s.middle_name, s.last_name), p.receipt_no, p.amount_minor, p.paid_on, p.channel
      FROM payments p
      JOIN tenants t ON t.id = p.tenant_id
      JOIN students s ON s.tenant_id = p.tenant_id AND s.id = p.student_id
     WHERE p.verify_code = upper(code)
$$;
REVOKE ALL ON FUNCTION verify_receipt(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION verify_receipt(text) TO kilele_app;
