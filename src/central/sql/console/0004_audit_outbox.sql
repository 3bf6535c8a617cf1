-- Audit entries written in the same transaction as the change they describe, on the
-- database where the change happens; delivered to the OLAP admin_audit_log right after
-- commit (and retried by every sync until delivered). See src/audit.rs.
CREATE TABLE IF NOT EXISTS penguin_console.audit_outbox (
    id       uuid PRIMARY KEY,
    entry    jsonb NOT NULL,
    created  timestamptz NOT NULL DEFAULT now()
);
