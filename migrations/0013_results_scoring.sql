-- The tamper scoring job (`results.flags`, run by the worker as kilele_worker) also checks
-- score jumps: it reads the term and the one before it (terms), each level's assessments
-- for those terms (term_assessments), their sheets with the level of each sheet's stream
-- (mark_sheets, streams) and their marks (already granted in 0012). Reads only.
GRANT SELECT ON terms, streams, term_assessments, mark_sheets TO kilele_worker;
