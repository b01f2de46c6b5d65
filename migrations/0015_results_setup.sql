-- Results set-up (issue 7): who may change how a class's term is marked and graded: its
-- assessments (until marks exist), the grading scheme it uses (until it is published), and
-- the school's own grading schemes (copies of presets; a frozen one gets a new version).
-- No new table: grading_schemes and term_assessments (0012) already grant the app role
-- SELECT, INSERT, UPDATE, and the trigger keeps frozen schemes frozen.
INSERT INTO permissions (code, scope, description) VALUES
    ('results.setup', 'school', 'Set a term''s assessments and grading scheme per class; copy and edit grading schemes');

-- Existing schools' admins get it (new schools get it from the code's defaults).
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, 'results.setup' FROM roles r WHERE r.code = 'school_admin'
ON CONFLICT DO NOTHING;
