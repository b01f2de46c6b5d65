-- What a report card prints besides marks (issue 8). First, about each student: attendance (days present
-- of the days the school was open that term), conduct, the class teacher's comment and the
-- head teacher's. One row per student and term, written from the stream's remarks page by
-- the stream's class teacher (attendance, conduct, their comment) and by those who print
-- cards (everything, the head teacher's comment too); read by the worker when it prints.
CREATE TABLE report_card_remarks (
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    term_id               uuid NOT NULL,
    student_id            uuid NOT NULL,
    days_open             integer CHECK (days_open BETWEEN 1 AND 200),
    days_present          integer CHECK (days_present >= 0),
    conduct               text CHECK (length(conduct) <= 40),
    class_teacher_comment text CHECK (length(class_teacher_comment) <= 400),
    head_teacher_comment  text CHECK (length(head_teacher_comment) <= 400),
    updated_by            uuid NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, term_id, student_id),
    CONSTRAINT report_card_remarks_days CHECK (days_present IS NULL OR (days_open IS NOT NULL AND days_present <= days_open)),
    FOREIGN KEY (tenant_id, term_id) REFERENCES terms (tenant_id, id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES students (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);
SELECT kilele_enable_tenant_rls('report_card_remarks');

GRANT SELECT, INSERT, UPDATE ON report_card_remarks TO kilele_app;
GRANT SELECT ON report_card_remarks TO kilele_worker;

-- The school's logo at the top of its cards: a PNG or JPEG kept through the storage layer
-- (`<tenant>/school/<random>.<ext>`), uploaded from the report-cards page.
ALTER TABLE school_settings ADD COLUMN logo_key text;
