-- Academic structure and people (issue: school admin console).
-- Same tenancy rules as 0002: tenant_id NOT NULL, composite keys, RLS enabled + forced.

-- GiST exclusion over (tenant_id, date range) needs equality on uuid in a GiST index.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Per-school settings that shape data entry.
CREATE TABLE school_settings (
    tenant_id        uuid PRIMARY KEY REFERENCES tenants (id),
    -- Admission number pattern: {PREFIX}, {YYYY} (intake year), {NNNN} (serial, zero-padded
    -- to the number of N's).
    admission_prefix text NOT NULL DEFAULT 'ADM' CHECK (admission_prefix ~ '^[A-Z0-9]{1,10}$'),
    admission_format text NOT NULL DEFAULT '{PREFIX}/{YYYY}/{NNNN}',
    terms_per_year   integer NOT NULL DEFAULT 2 CHECK (terms_per_year IN (2, 3))
);

ALTER TABLE academic_years
    ADD COLUMN starts_on date,
    ADD COLUMN ends_on date,
    ADD CONSTRAINT academic_years_dates CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on > starts_on);

-- Terms: no two terms of one school overlap; at most one is current.
CREATE TABLE terms (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    academic_year_id uuid NOT NULL,
    number           integer NOT NULL CHECK (number BETWEEN 1 AND 3),
    starts_on        date NOT NULL,
    ends_on          date NOT NULL,
    is_current       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, academic_year_id, number),
    FOREIGN KEY (tenant_id, academic_year_id) REFERENCES academic_years (tenant_id, id) ON DELETE CASCADE,
    CHECK (ends_on > starts_on),
    CONSTRAINT terms_no_overlap EXCLUDE USING gist (tenant_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
);
CREATE UNIQUE INDEX terms_one_current ON terms (tenant_id) WHERE is_current;

-- A-level subject combinations (PCM, PCB, CBG, HGL, HKL, EGM …) are data, per school.
CREATE TABLE subject_combinations (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id        uuid NOT NULL DEFAULT gen_random_uuid(),
    code      text NOT NULL CHECK (code ~ '^[A-Z]{2,6}$'),
    name      text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

CREATE TABLE combination_subjects (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    combination_id uuid NOT NULL,
    subject_id     uuid NOT NULL,
    PRIMARY KEY (tenant_id, combination_id, subject_id),
    FOREIGN KEY (tenant_id, combination_id) REFERENCES subject_combinations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, subject_id) REFERENCES school_subjects (tenant_id, id)
);

-- Which subjects a level takes; a stream may add optional ones of its own.
CREATE TABLE level_subjects (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    level_id   uuid NOT NULL,
    subject_id uuid NOT NULL,
    compulsory boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, level_id, subject_id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, subject_id) REFERENCES school_subjects (tenant_id, id)
);

ALTER TABLE students
    ADD COLUMN status_reason text,
    ADD COLUMN combination_id uuid,
    ADD COLUMN photo_key text,
    -- Encrypted (AES-256-GCM envelope with key id; see kilele::audit::pii).
    ADD COLUMN national_id_enc bytea,
    ADD COLUMN medical_notes_enc bytea,
    ADD CONSTRAINT students_combination_fk FOREIGN KEY (tenant_id, combination_id) REFERENCES subject_combinations (tenant_id, id);
CREATE INDEX students_names ON students (tenant_id, lower(last_name), lower(first_name));

-- Enrolment history: one row per student per academic year.
CREATE TABLE enrolments (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    student_id       uuid NOT NULL,
    academic_year_id uuid NOT NULL,
    stream_id        uuid NOT NULL,
    outcome          text CHECK (outcome IN ('promoted', 'repeated', 'graduated', 'transferred', 'left')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, student_id, academic_year_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, academic_year_id) REFERENCES academic_years (tenant_id, id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id)
);

-- Guardian phone numbers are personal data: stored encrypted, found through a keyed blind
-- index (HMAC), never in plain text. (Pre-production: plain numbers are dropped, not moved.)
ALTER TABLE guardians
    DROP COLUMN phone,
    ADD COLUMN phone_enc bytea,
    ADD COLUMN phone_bidx bytea;
CREATE INDEX guardians_phone_bidx ON guardians (tenant_id, phone_bidx);

SELECT kilele_enable_tenant_rls(t) FROM unnest(ARRAY[
    'school_settings', 'terms', 'subject_combinations', 'combination_subjects', 'level_subjects', 'enrolments'
]::regclass[]) AS t;

-- Permissions for the admin console's academic and people pages.
INSERT INTO permissions (code, scope, description) VALUES
    ('school.academics.manage', 'school', 'Set up the calendar, classes, subjects and teacher allocations'),
    ('students.read',           'school', 'List and search students and guardians'),
    ('students.manage',         'school', 'Add, import, edit, promote students and link guardians'),
    ('students.pii.read',       'school', 'See protected personal data (IDs, medical notes, guardian phones)');

-- Existing schools' admins get them (new schools get them from the code's defaults).
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, p.code
  FROM roles r
 CROSS JOIN (VALUES ('school.academics.manage'), ('students.read'), ('students.manage'), ('students.pii.read')) AS p(code)
 WHERE r.code = 'school_admin'
ON CONFLICT DO NOTHING;
