-- Student imports (upload → preview → all-or-nothing commit) and year-end promotion.

-- An uploaded file waiting for its preview and confirmation. The content holds personal
-- data (guardian phones), so it is stored encrypted (kilele::audit::pii) and wiped once
-- the import is committed; stale uploads are purged after a day.
CREATE TABLE import_uploads (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    uploaded_by   uuid NOT NULL,
    file_name     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('csv', 'xlsx')),
    content_enc   bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    committed_at  timestamptz,
    imported      integer,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
);

-- A year-end promotion of one level, kept move by move so it can be undone until the new
-- year's first term starts.
CREATE TABLE promotion_batches (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    level_id      uuid NOT NULL,
    from_year_id  uuid NOT NULL,
    to_year_id    uuid NOT NULL,
    created_by    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    undone_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, level_id) REFERENCES levels (tenant_id, id),
    FOREIGN KEY (tenant_id, from_year_id) REFERENCES academic_years (tenant_id, id),
    FOREIGN KEY (tenant_id, to_year_id) REFERENCES academic_years (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
-- One live promotion per level and year.
CREATE UNIQUE INDEX promotion_batches_live ON promotion_batches (tenant_id, level_id, from_year_id) WHERE undone_at IS NULL;

CREATE TABLE promotion_moves (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    batch_id       uuid NOT NULL,
    student_id     uuid NOT NULL,
    from_stream_id uuid NOT NULL,
    to_stream_id   uuid,            -- NULL: graduated
    PRIMARY KEY (tenant_id, batch_id, student_id),
    FOREIGN KEY (tenant_id, batch_id) REFERENCES promotion_batches (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, from_stream_id) REFERENCES streams (tenant_id, id),
    FOREIGN KEY (tenant_id, to_stream_id) REFERENCES streams (tenant_id, id)
);

SELECT kilele_enable_tenant_rls(t) FROM unnest(ARRAY['import_uploads', 'promotion_batches', 'promotion_moves']::regclass[]) AS t;
