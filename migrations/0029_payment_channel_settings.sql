-- The bursar's page of payment channels (issue 10: channels "managed by the accountant with a
-- permission, audited"): opening and closing a school's channels and setting the addresses a
-- provider calls from is a permission of its own, which accountants hold. Secrets and
-- application credentials stay with the operator's `kilele payments channel`.
INSERT INTO permissions (code, scope, description) VALUES
    ('finance.channels.manage', 'school', 'Open or close the school''s payment channels and set the addresses providers call from');
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, 'finance.channels.manage' FROM roles r WHERE r.code = 'accountant'
ON CONFLICT DO NOTHING;
