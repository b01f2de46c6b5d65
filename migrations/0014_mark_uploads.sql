-- Bulk upload of a mark sheet (issue 7): a marks file for one sheet (term × stream × subject),
-- checked when it is uploaded and kept here, for its uploader only, until the preview is
-- confirmed (never in a URL or the browser). `checked` is `results::upload::CheckedUpload`
-- (JSON): every error, or every filled cell with the stored text and revision it was checked
-- against, so that the commit can tell a cell changed since the preview. The commit keeps its
-- outcome (saved, or the conflicts that stopped it) and wipes the marks; uploads are deleted
-- once expired (a day), by the next upload of the school.
-- Same tenancy rules as 0002: tenant_id NOT NULL, composite keys and foreign keys, RLS enabled
-- and forced; grants written next to the table (0008: no default privileges).
CREATE TABLE mark_uploads (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id      uuid NOT NULL,
    stream_id    uuid NOT NULL,
    subject_id   uuid NOT NULL,
    uploaded_by  uuid NOT NULL,
    file_name    text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    checked      jsonb,
    outcome      jsonb,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    committed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    CHECK (expires_at > created_at),
    -- The marks are kept until the upload is saved, and only until then.
    CHECK ((committed_at IS NULL) = (checked IS NOT NULL)),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES streams (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES school_subjects (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
);
-- Purging the expired uploads of a school.
CREATE INDEX mark_uploads_expiry ON mark_uploads (tenant_id, expires_at);

SELECT kilele_enable_tenant_rls('mark_uploads');

-- The web process: exactly the statements the code runs (kept, read, confirmed, purged).
GRANT SELECT, INSERT, UPDATE, DELETE ON mark_uploads TO kilele_app;
