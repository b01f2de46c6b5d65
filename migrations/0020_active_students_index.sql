-- Counting a stream's (or a school's) active students without reading the students
-- themselves (issue 6, page throughput). The teacher's home, the classes pages, the admin's
-- home and the mark sheets count `status = 'active'` students per stream; with only
-- `students_stream` each count read every student's row to check its status (a 250-student
-- stream: 250 heap visits, about half of the teacher home's query). This partial index answers
-- the counts from the index alone (an index-only scan once the table is vacuumed).
CREATE INDEX students_active_in_stream ON students (tenant_id, stream_id) WHERE status = 'active';
