-- The bursar's page of payment channels (issue 10: channels "managed by the accountant with a
-- permission, audited"): closing a school's channels, opening again one the bursar closed, and
-- setting the addresses a bank calls from is a permission of its own, which accountants hold.
-- Secrets, wallet credentials and the wallets' addresses (for Tigo, which signs nothing, the
-- only proof a call is Tigo's) stay with the operator's `kilele payments channel`, and so does
-- opening a channel the operator closed (a leaked secret).
-- The page shows each channel's last delivery.
CREATE INDEX payment_inbox_provider ON payment_inbox (tenant_id, provider, received_at DESC);
ALTER TABLE payment_channels
    ADD COLUMN closed_by text CHECK (closed_by IN ('operator', 'bursar')),
    ADD CONSTRAINT payment_channels_closed_by CHECK (closed_by IS NULL OR NOT enabled);
INSERT INTO permissions (code, scope, description) VALUES
    ('finance.channels.manage', 'school', 'Open or close the school''s payment channels and set the addresses providers call from');
INSERT INTO role_permissions (tenant_id, role_id, permission_code)
SELECT r.tenant_id, r.id, 'finance.channels.manage' FROM roles r WHERE r.code = 'accountant'
ON CONFLICT DO NOTHING;
