-- Results (issue 7): grading schemes as data, a term's assessments per level, mark sheets
-- (stream × subject × term) with their workflow, marks, published results and tamper flags.
-- Same tenancy rules as 0002: tenant_id NOT NULL, composite keys and foreign keys, RLS
-- enabled and forced; grants written next to the tables (0008: no default privileges).

-- A school's grading schemes. `definition` is the scheme as `results::SchemeDraft` (JSON),
-- checked by `GradingScheme::parse` on every read and write. Presets live in the code and are
-- copied here the first time a school uses one; a frozen scheme is never changed again (a
-- new version is made instead), which the trigger below enforces even against the app.
CREATE TABLE grading_schemes (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    key        text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    version    integer NOT NULL CHECK (version >= 1),
    name       text NOT NULL,
    definition jsonb NOT NULL,
    frozen     boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key, version)
);

CREATE FUNCTION grading_scheme_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.frozen AND (NEW.definition IS DISTINCT FROM OLD.definition OR NEW.key <> OLD.key
                     OR NEW.version <> OLD.version OR NOT NEW.frozen) THEN
    RAISE EXCEPTION 'grading scheme % v% is frozen: make a new version', OLD.key, OLD.version
      USING ERRCODE = 'check_violation', CONSTRAINT = 'grading_schemes_frozen';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION grading_scheme_frozen() FROM PUBLIC;
CREATE TRIGGER grading_schemes_frozen BEFORE UPDATE ON grading_schemes
    FOR EACH ROW EXECUTE FUNCTION grading_scheme_frozen();

-- How a level's assessments combine in a term (`results::AssessmentSetDraft`, JSON) and the
-- scheme that grades them. Written the first time marks are saved for the level and term
-- (from the defaults), editable by the admin until marks exist.
CREATE TABLE term_assessments (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id    uuid NOT NULL,
    level_id   uuid NOT NULL,
    definition jsonb NOT NULL,
    scheme_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, term_id, level_id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES grading_schemes (tenant_id, id)
);

-- One subject's marks for one stream in one term, and where it is in the workflow:
-- draft → submitted (teacher) → approved or returned (approver) → published (with its class).
CREATE TABLE mark_sheets (
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id           uuid NOT NULL,
    stream_id         uuid NOT NULL,
    subject_id        uuid NOT NULL,
    status            text NOT NULL DEFAULT 'draft'
                      CHECK (status IN ('draft', 'submitted', 'approved', 'returned', 'published')),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    status_changed_by uuid,
    return_comment    text CHECK (return_comment IS NULL OR length(return_comment) BETWEEN 1 AND 1000),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, term_id, stream_id, subject_id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES school_subjects (tenant_id, id),
    FOREIGN KEY (tenant_id, status_changed_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX mark_sheets_term_stream ON mark_sheets (tenant_id, term_id, stream_id);

-- One entry: a score in hundredths, or ABS / EX. A cleared entry is deleted (audited).
-- `revision` counts the writes of the entry: a save names the revision it was typed over,
-- so two teachers never silently overwrite each other.
CREATE TABLE marks (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    sheet_id         uuid NOT NULL,
    student_id       uuid NOT NULL,
    assessment       text NOT NULL CHECK (assessment ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    score_hundredths integer CHECK (score_hundredths BETWEEN 0 AND 100000),
    special          text CHECK (special IN ('ABS', 'EX')),
    revision         integer NOT NULL CHECK (revision >= 1),
    written_by       uuid NOT NULL,
    written_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, sheet_id, student_id, assessment),
    CHECK ((score_hundredths IS NULL) <> (special IS NULL)),
    FOREIGN KEY (tenant_id, sheet_id) REFERENCES mark_sheets (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, written_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX marks_student ON marks (tenant_id, student_id);

-- A class's (level's) results for a term, published: the computed results are kept as they
-- were published (`results` per student, JSON), so what parents read never moves.
CREATE TABLE result_publications (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id      uuid NOT NULL,
    level_id     uuid NOT NULL,
    scheme_id    uuid NOT NULL,
    published_at timestamptz NOT NULL,
    published_by uuid NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, term_id, level_id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, scheme_id) REFERENCES grading_schemes (tenant_id, id),
    FOREIGN KEY (tenant_id, published_by) REFERENCES users (tenant_id, id)
);

CREATE TABLE published_results (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    publication_id uuid NOT NULL,
    student_id     uuid NOT NULL,
    result         jsonb NOT NULL,
    PRIMARY KEY (tenant_id, publication_id, student_id),
    FOREIGN KEY (tenant_id, publication_id) REFERENCES result_publications (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id)
);
CREATE INDEX published_results_student ON published_results (tenant_id, student_id);

-- Tamper flags for the head teacher, with their evidence; raised once per fingerprint.
CREATE TABLE result_flags (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id     uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('changed_after_approval', 'burst', 'outside_allocation', 'score_jump')),
    fingerprint text NOT NULL,
    sheet_id    uuid,
    student_id  uuid,
    writer_id   uuid,
    evidence    jsonb NOT NULL,
    raised_at   timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by uuid,
    resolution  text CHECK (resolution IS NULL OR length(resolution) BETWEEN 1 AND 1000),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, kind, fingerprint),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL)),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, sheet_id) REFERENCES mark_sheets (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, writer_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, resolved_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX result_flags_open ON result_flags (tenant_id, raised_at) WHERE resolved_at IS NULL;

SELECT kilele_enable_tenant_rls(t) FROM unnest(ARRAY[
    'grading_schemes', 'term_assessments', 'mark_sheets', 'marks', 'result_publications',
    'published_results', 'result_flags'
]::regclass[]) AS t;

-- The web process: exactly the statements the code runs.
GRANT SELECT, INSERT, UPDATE ON grading_schemes, term_assessments, mark_sheets, result_flags TO kilele_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON marks TO kilele_app;
GRANT SELECT, INSERT ON result_publications, published_results TO kilele_app;
-- The worker scores the audited mark writes for tamper flags (it reads the audit log already)
-- and checks every mark against the log.
GRANT SELECT ON marks TO kilele_worker;
GRANT SELECT, INSERT ON result_flags TO kilele_worker;

INSERT INTO permissions (code, scope, description) VALUES
    ('results.enter',   'school', 'Enter and submit marks for my allocated subjects'),
    ('results.approve', 'school', 'See every mark sheet, approve or return submitted ones, see broadsheets'),
    ('results.publish', 'school', 'Publish a class''s approved results to parents and students'),
    ('results.amend',   'school', 'Change an approved mark, with a reason (raises a flag)'),
    ('results.flags',   'school', 'See and resolve tamper flags');

-- Existing schools' roles get them (new schools get them from the code's defaults).
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, p.code
  FROM roles r
  JOIN (VALUES ('teacher', 'results.enter'),
               ('school_admin', 'results.approve'), ('school_admin', 'results.publish'),
               ('school_admin', 'results.amend'), ('school_admin', 'results.flags')) AS p(role, code)
    ON p.role = r.code
ON CONFLICT DO NOTHING;
