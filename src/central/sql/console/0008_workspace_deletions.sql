-- OLTP only: soft-deleted workspaces in their 30-day grace period (see src/workspaces.rs).
-- The workspace's `companies.status` is 'deleted' meanwhile; this row remembers what
-- restoring needs (the previous status, the campaigns the deletion paused).
CREATE TABLE IF NOT EXISTS penguin_console.workspace_deletions (
    company_id        uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    name              text NOT NULL,
    previous_status   text,
    paused_campaigns  uuid[] NOT NULL DEFAULT '{}',
    deleted_at        timestamptz NOT NULL DEFAULT now(),
    purge_after       timestamptz NOT NULL,
    deleted_by        text NOT NULL,
    reason            text
);
