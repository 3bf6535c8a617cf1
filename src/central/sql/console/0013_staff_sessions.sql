-- OLTP only: console sessions of staff members, and sign-in failures per email.

-- One row per sign-in. The session token names this row; every use re-reads it, so
-- revoking it, or the staff member losing their account or role, ends the session at
-- the next statement. `role_id` is the role at sign-in: a role change ends the session.
CREATE TABLE IF NOT EXISTS penguin_console.staff_sessions (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL,
    role_id       integer NOT NULL,
    created       timestamptz NOT NULL DEFAULT now(),
    last_used     timestamptz NOT NULL DEFAULT now(),
    expires       timestamptz NOT NULL,
    idle_minutes  integer NOT NULL CHECK (idle_minutes > 0),
    revoked       timestamptz,
    revoked_why   text,
    client_host   text,
    client_agent  text
);
CREATE INDEX IF NOT EXISTS staff_sessions_user ON penguin_console.staff_sessions (user_id, created);

-- Consecutive failures per email (known or not, so a lock does not reveal who is staff).
CREATE TABLE IF NOT EXISTS penguin_console.staff_login_failures (
    email         text PRIMARY KEY,
    failed_count  integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated       timestamptz NOT NULL DEFAULT now()
);

-- Soft-deleted workspaces carry a signature made by the deletion function, so a row
-- written by hand is told apart from a deletion done through the console.
ALTER TABLE penguin_console.workspace_deletions ADD COLUMN IF NOT EXISTS sig text;
