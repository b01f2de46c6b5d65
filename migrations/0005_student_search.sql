-- Finding a student instantly: by name, admission number or guardian phone.
--
-- Under forced row-level security the planner may only use a condition for an index scan
-- when every function in it is LEAKPROOF (otherwise it must run after the tenant policy).
-- lower(), LIKE and the pg_trgm operators are not leakproof, so expression or trigram
-- indexes on lower(name) are never used by kilele_app. Instead the lower-cased names are
-- stored (generated columns, collation "C" so that a prefix is a byte range) and searched
-- with plain comparisons, which are leakproof:
--   search_last >= 'mus' AND search_last < 'mut'
-- Guardian phones are found through guardians_phone_bidx (0003); bytea equality is
-- leakproof too.
ALTER TABLE students
    ADD COLUMN search_first     text COLLATE "C" GENERATED ALWAYS AS (lower(first_name)) STORED,
    ADD COLUMN search_middle    text COLLATE "C" GENERATED ALWAYS AS (lower(middle_name)) STORED,
    ADD COLUMN search_last      text COLLATE "C" GENERATED ALWAYS AS (lower(last_name)) STORED,
    ADD COLUMN search_admission text COLLATE "C" GENERATED ALWAYS AS (upper(admission_no)) STORED;

CREATE INDEX students_search_first ON students (tenant_id, search_first);
CREATE INDEX students_search_middle ON students (tenant_id, search_middle);
-- Also the list order (family name, then first name).
CREATE INDEX students_search_last ON students (tenant_id, search_last, search_first);
CREATE INDEX students_search_admission ON students (tenant_id, search_admission);
