-- OLTP only: tenant administration the platform's OLTP schema guide has no place for.
-- See src/tenant_admin/ for how each table is used.

-- Per-tenant feature flags. The platform's `feature_flags` is platform-wide (one row per
-- key, a global on/off and a rollout percentage); the tenant-management docs want
-- per-tenant toggles ("Feature Flags Table: per-tenant feature toggles") but define no
-- table. One row per tenant and flag that staff set explicitly; no row = the platform's
-- value applies.
CREATE TABLE IF NOT EXISTS penguin_console.tenant_feature_flags (
    tenant_id         uuid NOT NULL,
    flag_key          text NOT NULL,
    enabled           boolean NOT NULL,
    changed_by        text NOT NULL,
    changed_by_email  text NOT NULL,
    changed           timestamptz NOT NULL DEFAULT now(),
    reason            text,
    PRIMARY KEY (tenant_id, flag_key)
);

-- Plan and billing overrides. The route spec names a `tenant_overrides` table "checked
-- before billing" that the schema guide lacks. kind: 'plan' (custom monthly price and/or
-- limits), 'comp' (free until `expires`), 'trial' (trial extended until `expires`).
-- Limits are NULL where the plan's own limit applies. Rows are never updated except to
-- revoke them, so the table is also the history.
CREATE TABLE IF NOT EXISTS penguin_console.tenant_overrides (
    id                       uuid PRIMARY KEY,
    tenant_id                uuid NOT NULL,
    kind                     text NOT NULL CHECK (kind IN ('plan', 'comp', 'trial')),
    plan_id                  uuid,
    price_monthly            integer CHECK (price_monthly >= 0),
    max_users                integer CHECK (max_users >= 0),
    max_domains              integer CHECK (max_domains >= 0),
    max_campaigns_per_month  integer CHECK (max_campaigns_per_month >= 0),
    max_email_accounts       integer CHECK (max_email_accounts >= 0),
    max_emails_per_month     integer CHECK (max_emails_per_month >= 0),
    max_contacts             integer CHECK (max_contacts >= 0),
    max_storage_gb           integer CHECK (max_storage_gb >= 0),
    starts                   timestamptz NOT NULL DEFAULT now(),
    expires                  timestamptz,
    reason                   text NOT NULL,
    created_by               text NOT NULL,
    created_by_email         text NOT NULL,
    created                  timestamptz NOT NULL DEFAULT now(),
    revoked                  timestamptz,
    revoked_by               text,
    CHECK (kind = 'plan' OR expires IS NOT NULL),
    CHECK (expires IS NULL OR expires > starts)
);
CREATE INDEX IF NOT EXISTS tenant_overrides_tenant ON penguin_console.tenant_overrides (tenant_id, kind, created);

-- Support access ("view as tenant"): a time-limited, reasoned grant per staff member.
CREATE TABLE IF NOT EXISTS penguin_console.support_access_grants (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    staff_id     text NOT NULL,
    staff_email  text NOT NULL,
    reason       text NOT NULL,
    ticket       text NOT NULL,
    opened       timestamptz NOT NULL DEFAULT now(),
    expires      timestamptz NOT NULL,
    closed       timestamptz,
    views        integer NOT NULL DEFAULT 0,
    CHECK (expires > opened)
);
CREATE INDEX IF NOT EXISTS support_access_grants_staff ON penguin_console.support_access_grants (staff_id, opened);
