-- PenguinMails notifications database, as documented in
-- penguinmails-docs/implementation-technical/database-infrastructure/notifications-database/schema-guide.md.

CREATE TABLE notifications (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID,
    tenant_id UUID NOT NULL,
    type VARCHAR(100) NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    channel VARCHAR(20) CHECK (channel IN ('in_app', 'email', 'push')),
    is_read BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    read_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX idx_notifications_user_tenant_created ON notifications(user_id, tenant_id, created_at DESC);
CREATE INDEX idx_notifications_unread ON notifications(user_id, tenant_id, is_read, created_at DESC) WHERE is_read = false;

CREATE TABLE admin_system_events (
    id BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    event_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    description TEXT NOT NULL,
    details JSONB,
    tenant_id UUID,
    user_id UUID,
    is_resolved BOOLEAN DEFAULT FALSE,
    resolved_at TIMESTAMPTZ,
    resolved_by UUID
);
CREATE INDEX idx_admin_system_events_created ON admin_system_events(created_at DESC);
CREATE INDEX idx_admin_system_events_tenant ON admin_system_events(tenant_id, created_at DESC);
CREATE INDEX idx_admin_system_events_severity ON admin_system_events(severity, created_at DESC);
