-- OLTP only: what the console needs and the platform's schema lacks.

-- Tenants that exist for testing; the qa role sees only these. The platform has no
-- such flag, so the console keeps the list (test tenant provisioning adds to it).
CREATE TABLE IF NOT EXISTS penguin_console.sandbox_tenants (
    tenant_id   uuid PRIMARY KEY,
    created_by  uuid,
    created     timestamptz NOT NULL DEFAULT now()
);
