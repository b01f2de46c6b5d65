-- Report cards (issue 8): a batch is one request to print a class's (level's) or a stream's
-- cards for a term; the worker renders each student's card (documents crate, typst), stores
-- the PDF through the storage layer and records it here, one commit per card, so progress is
-- visible while it runs and a restarted worker carries on where it stopped (a card recorded
-- for the batch is not redone). The newest card of a student and term is the one served.
-- Same tenancy rules as 0002: tenant_id NOT NULL, composite keys and foreign keys, RLS enabled
-- and forced; grants written next to the tables (0008: no default privileges).
INSERT INTO permissions (code, scope, description) VALUES
    ('report_cards.manage', 'school', 'Print report cards in bulk, follow and cancel batches, download any card or a class''s bundle');
-- Existing schools' admins get it (new schools get it from the code's defaults).
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, 'report_cards.manage' FROM roles r WHERE r.code = 'school_admin'
ON CONFLICT DO NOTHING;

CREATE TABLE report_card_batches (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id      uuid NOT NULL,
    level_id     uuid NOT NULL,
    -- NULL: every stream of the class.
    stream_id    uuid,
    requested_by uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    total        integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    done         integer NOT NULL DEFAULT 0 CHECK (done >= 0),
    failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    -- Every card of the batch in one ZIP, once it is done.
    bundle_key   text,
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX report_card_batches_term ON report_card_batches (tenant_id, term_id, requested_at DESC);
SELECT kilele_enable_tenant_rls('report_card_batches');

CREATE TABLE report_cards (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    batch_id     uuid NOT NULL,
    term_id      uuid NOT NULL,
    student_id   uuid NOT NULL,
    storage_key  text NOT NULL,
    -- SHA-256 of the PDF: what /verify/<code> shows, so a printed card can be checked.
    pdf_sha256   bytea NOT NULL CHECK (length(pdf_sha256) = 32),
    pdf_bytes    integer NOT NULL CHECK (pdf_bytes > 0),
    -- Printed on the card: 10 letters and digits without look-alikes, "ABCDE-FGHJK" (50 bits).
    verify_code  text NOT NULL CHECK (verify_code ~ '^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$'),
    -- As printed (the student may change stream later; /verify shows what the card says).
    class_name   text NOT NULL,
    term_label   text NOT NULL,
    generated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- One card per student in a batch: a restarted worker never makes a second.
    UNIQUE (tenant_id, batch_id, student_id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES report_card_batches (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id)
);
-- Codes are looked up without knowing the school (/verify): unique across schools.
CREATE UNIQUE INDEX report_cards_verify_code ON report_cards (verify_code);
-- A student's newest card of a term (portal, downloads).
CREATE INDEX report_cards_student ON report_cards (tenant_id, student_id, term_id, generated_at DESC);
SELECT kilele_enable_tenant_rls('report_cards');

-- Why a student's card could not be made (shown with the batch).
CREATE TABLE report_card_failures (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    batch_id   uuid NOT NULL,
    student_id uuid NOT NULL,
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    failed_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, batch_id, student_id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES report_card_batches (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('report_card_failures');

-- The web process asks for batches, cancels them, reads progress and cards.
GRANT SELECT, INSERT ON report_card_batches TO kilele_app;
GRANT UPDATE (status, finished_at) ON report_card_batches TO kilele_app;
GRANT SELECT ON report_cards, report_card_failures TO kilele_app;
-- The worker renders: reads what a card prints, records cards, failures and progress.
GRANT SELECT, UPDATE ON report_card_batches TO kilele_worker;
GRANT SELECT, INSERT ON report_cards TO kilele_worker;
GRANT SELECT, INSERT, DELETE ON report_card_failures TO kilele_worker;
GRANT SELECT ON result_publications, published_results, students, levels, academic_years, school_settings TO kilele_worker;

-- What a card prints at its top besides the school's name.
ALTER TABLE school_settings
    ADD COLUMN motto text CHECK (length(motto) <= 200),
    ADD COLUMN postal_address text CHECK (length(postal_address) <= 300);

-- /verify/<code>: anyone holding a printed card may check it. Returns only what the card
-- prints (school, student, class, term) and the PDF's hash and date, and the school's id (the
-- caller refuses another school's card on a school's own address; the id is not shown);
-- nothing for an unknown code. SECURITY DEFINER because the code names no school (RLS would hide every row).
CREATE FUNCTION verify_report_card(code text)
RETURNS TABLE (school_id uuid, school text, student text, class_name text, term_label text, generated_at timestamptz, pdf_sha256 text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id, t.name, concat_ws(' ', s.first_name, s.middle_name, s.last_name), c.class_name, c.term_label,
           c.generated_at, encode(c.pdf_sha256, 'hex')
      FROM report_cards c
      JOIN tenants t ON t.id = c.tenant_id
      JOIN students s ON s.tenant_id = c.tenant_id AND s.id = c.student_id
     WHERE c.verify_code = upper(code)
$$;
REVOKE ALL ON FUNCTION verify_report_card(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION verify_report_card(text) TO kilele_app;
