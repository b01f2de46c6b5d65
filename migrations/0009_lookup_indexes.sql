-- Lookup indexes that lead with tenant_id (issue 6, item 9).
--
-- Under row-level security the policy's current_setting(...) is unknown at plan time, so the
-- planner expects about one row per tenant filter. A lookup whose column has no index
-- beginning with (tenant_id, column) is then answered by scanning the whole table or by
-- nesting loops over a whole school: the parent home's children query was 400 students x 552
-- guardians. Every column a page looks rows up by gets such an index.

-- Parent home: the guardian records of the signed-in user.
CREATE INDEX guardians_user ON guardians (tenant_id, user_id);
-- Student home: the student record of the signed-in user.
CREATE INDEX students_user ON students (tenant_id, user_id);
-- Teacher home: the teacher's allocations.
CREATE INDEX teacher_allocations_teacher ON teacher_allocations (tenant_id, teacher_id);
-- Staff admin: a user's pending invitations (also replaced when re-inviting).
CREATE INDEX invitations_user ON invitations (tenant_id, user_id);
-- Promotion: a year's enrolments by class.
CREATE INDEX enrolments_year_stream ON enrolments (tenant_id, academic_year_id, stream_id);
