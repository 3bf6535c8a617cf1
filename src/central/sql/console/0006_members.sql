-- OLTP only: team data the platform's OLTP schema guide does not define, and the
-- outbox for transactional emails the console's member actions ask for.
-- See src/members/mod.rs for why each table exists.

-- Workspace membership with workspace roles (admin / member / viewer). The platform's
-- architecture page sketches a `workspace_members` table, but the OLTP schema guide
-- (which the console follows) has none, so the console keeps it here.
CREATE TABLE IF NOT EXISTS penguin_console.workspace_members (
    company_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    tenant_id   uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, user_id)
);
CREATE INDEX IF NOT EXISTS workspace_members_user ON penguin_console.workspace_members (user_id);

-- Suspended accounts. Suspension soft-deletes the user's Nile credentials (so the
-- platform's own sign-in refuses them) and revokes their sessions; the ids of the
-- credentials it disabled are kept so reactivation restores exactly those.
CREATE TABLE IF NOT EXISTS penguin_console.user_suspensions (
    user_id         uuid PRIMARY KEY,
    suspended_at    timestamptz NOT NULL DEFAULT now(),
    suspended_by    text NOT NULL,
    reason          text,
    credential_ids  uuid[] NOT NULL DEFAULT '{}'
);

-- Notifications for the transactional-email service, written in the same transaction
-- as the action that causes them; delivered to the notifications database's
-- `notifications` table (id = this id, so a retried delivery inserts nothing twice).
CREATE TABLE IF NOT EXISTS penguin_console.notification_outbox (
    id            uuid PRIMARY KEY,
    notification  jsonb NOT NULL,
    created       timestamptz NOT NULL DEFAULT now()
);
