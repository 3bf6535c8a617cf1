-- Tenant administration, OLTP only: per-tenant feature flags, plan and billing
-- overrides, test tenant provisioning, and support access ("view as tenant"). See
-- src/tenant_admin/. Refusals: 42501 (permission or scope), PM400 bad input, PM404 not
-- found, PM403 a support-access grant that is missing, someone else's, closed or expired.

-- The context, after checking the staff member holds one of `perms` (42501 naming the
-- first otherwise).
CREATE OR REPLACE FUNCTION penguin_console.require_any(perms text[]) RETURNS penguin_console.staff_ctx
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
BEGIN
    IF NOT (c.perms && perms) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) does not allow this (needs the `%s` permission)', c.role, perms[1]);
    END IF;
    RETURN c;
END $$;

-- A reason for the audit log: trimmed, at most 1000 characters; PM400 when empty.
CREATE OR REPLACE FUNCTION penguin_console.audit_reason(v text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v IS NULL OR btrim(v) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'give a reason; it is recorded in the audit log';
    END IF;
    RETURN left(btrim(v), 1000);
END $$;

-- ---------------------------------------------------------------------------------
-- Feature flags per tenant.

-- Turns `flag_key` on or off for one tenant, or back to the platform's value (NULL).
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_set_flag(tenant_id uuid, flag_key text, enabled boolean, reason text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.manage');
    why text;
    k text := btrim(COALESCE(flag_key, ''));
    platform boolean;
    prior boolean;
    changed timestamptz := now();
BEGIN
    PERFORM penguin_console.require_tenant(c, $1);
    why := penguin_console.audit_reason(reason);
    IF NOT EXISTS (SELECT 1 FROM public.tenants t WHERE t.id = $1) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no tenant %s', $1);
    END IF;
    SELECT COALESCE(f.is_enabled, false) INTO platform FROM public.feature_flags f WHERE f.key = k;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404',
            MESSAGE = format('no feature flag `%s` on the platform; `penguin-admin tenant flags --tenant ID` lists them', k);
    END IF;
    -- One change at a time per tenant and flag (the row may not exist yet).
    PERFORM pg_advisory_xact_lock(hashtextextended('tenant_flag:' || $1::text || ':' || k, 0));
    SELECT x.enabled INTO prior FROM penguin_console.tenant_feature_flags x
     WHERE x.tenant_id = $1 AND x.flag_key = k FOR UPDATE;
    IF $3 IS NOT NULL THEN
        INSERT INTO penguin_console.tenant_feature_flags AS x (tenant_id, flag_key, enabled, changed_by, changed_by_email, reason)
        VALUES ($1, k, $3, COALESCE(c.user_id::text, c.email), c.email, why)
        ON CONFLICT ON CONSTRAINT tenant_feature_flags_pkey DO UPDATE SET enabled = EXCLUDED.enabled,
            changed_by = EXCLUDED.changed_by, changed_by_email = EXCLUDED.changed_by_email,
            reason = EXCLUDED.reason, changed = now()
        RETURNING x.changed INTO changed;
    ELSE
        DELETE FROM penguin_console.tenant_feature_flags x WHERE x.tenant_id = $1 AND x.flag_key = k;
    END IF;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.feature_flag.set', 'tenant', $1::text, $1::text,
        jsonb_build_object('flag', k, 'tenant_setting', prior, 'enabled', COALESCE(prior, platform)),
        jsonb_build_object('flag', k, 'tenant_setting', $3, 'enabled', COALESCE($3, platform)),
        why);
    RETURN jsonb_build_object('tenant_id', $1, 'key', k, 'before', prior, 'after', $3, 'enabled', COALESCE($3, platform),
                              'changed_by', c.email, 'changed_at', penguin_console.rfc3339(changed));
END $$;

-- ---------------------------------------------------------------------------------
-- Plan and billing overrides (see src/tenant_admin/overrides.rs for the rules).

-- An override as the library's `Override` (JSON).
CREATE OR REPLACE FUNCTION penguin_console.override_json(o penguin_console.tenant_overrides) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT jsonb_build_object(
        'id', o.id, 'tenant_id', o.tenant_id, 'kind', o.kind, 'price_monthly_cents', o.price_monthly,
        'limits', jsonb_build_object('max_users', o.max_users, 'max_domains', o.max_domains,
                                     'max_campaigns_per_month', o.max_campaigns_per_month,
                                     'max_email_accounts', o.max_email_accounts,
                                     'max_emails_per_month', o.max_emails_per_month,
                                     'max_contacts', o.max_contacts, 'max_storage_gb', o.max_storage_gb),
        'starts', penguin_console.utc_micros(o.starts), 'expires', penguin_console.utc_micros(o.expires),
        'reason', o.reason, 'created_by', o.created_by_email, 'created', penguin_console.utc_micros(o.created),
        'revoked', penguin_console.utc_micros(o.revoked))
$$;

-- The effect of a tenant's overrides now (for the audit entry): of each kind, the
-- newest override in effect applies.
CREATE OR REPLACE FUNCTION penguin_console.override_effect(tenant uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    WITH o AS (
        SELECT * FROM penguin_console.tenant_overrides x
        WHERE x.tenant_id = tenant AND x.starts <= now() AND (x.expires IS NULL OR x.expires > now())
          AND (x.revoked IS NULL OR x.revoked > now())),
    newest AS (SELECT DISTINCT ON (o.kind) o.* FROM o ORDER BY o.kind, o.created DESC, o.id::text DESC),
    plan AS (SELECT * FROM newest WHERE kind = 'plan')
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM penguin_console.tenant_overrides x WHERE x.tenant_id = tenant)
        THEN jsonb_build_object('overrides_in_effect', '[]'::jsonb)
        ELSE jsonb_build_object(
            'overrides_in_effect', COALESCE((SELECT jsonb_agg(n.id ORDER BY n.created DESC) FROM newest n), '[]'::jsonb),
            'price_override_cents', (SELECT p.price_monthly FROM plan p),
            'limits_override', jsonb_build_object(
                'max_users', (SELECT p.max_users FROM plan p),
                'max_domains', (SELECT p.max_domains FROM plan p),
                'max_campaigns_per_month', (SELECT p.max_campaigns_per_month FROM plan p),
                'max_email_accounts', (SELECT p.max_email_accounts FROM plan p),
                'max_emails_per_month', (SELECT p.max_emails_per_month FROM plan p),
                'max_contacts', (SELECT p.max_contacts FROM plan p),
                'max_storage_gb', (SELECT p.max_storage_gb FROM plan p)),
            'comped_until', (SELECT penguin_console.utc_micros(n.expires) FROM newest n WHERE n.kind = 'comp'),
            'trial_until', (SELECT penguin_console.utc_micros(n.expires) FROM newest n WHERE n.kind = 'trial'))
    END
$$;

-- Adds an override. `limits`: the seven custom limits in the order max_users,
-- max_domains, max_campaigns_per_month, max_email_accounts, max_emails_per_month,
-- max_contacts, max_storage_gb (NULL = the plan's).
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_add_override(
    tenant_id uuid, kind text, price_cents bigint, limits bigint[], expires timestamptz, reason text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.manage');
    why text;
    k text := lower(btrim(COALESCE(kind, '')));
    lim bigint[] := COALESCE(limits, '{}');
    plan uuid;
    prior jsonb;
    created penguin_console.tenant_overrides;
BEGIN
    PERFORM penguin_console.require_tenant(c, $1);
    why := penguin_console.audit_reason(reason);
    IF k NOT IN ('plan', 'comp', 'trial') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not plan, comp or trial', kind);
    END IF;
    IF cardinality(lim) > 7 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'an override has seven limits at most';
    END IF;
    lim := lim || array_fill(NULL::bigint, ARRAY[7 - cardinality(lim)]);
    IF k = 'plan' THEN
        IF price_cents IS NULL AND (SELECT bool_and(l IS NULL) FROM unnest(lim) l) THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'a plan override needs a custom price or at least one custom limit';
        END IF;
    ELSE
        IF $5 IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('a %s needs an end date (YYYY-MM-DD)',
                CASE WHEN k = 'comp' THEN 'comp' ELSE 'trial extension' END);
        END IF;
        IF price_cents IS NOT NULL OR (SELECT bool_or(l IS NOT NULL) FROM unnest(lim) l) THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'comps and trials carry no price or limits; add a plan override for those';
        END IF;
    END IF;
    IF price_cents NOT BETWEEN 0 AND 2147483647
       OR (SELECT bool_or(l NOT BETWEEN 0 AND 2147483647) FROM unnest(lim) l) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'prices and limits must be between 0 and 2147483647';
    END IF;
    IF $5 IS NOT NULL AND $5 <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('the end date %s UTC is already past; give a future date',
            to_char($5 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'));
    END IF;
    SELECT (SELECT s.plan_id FROM public.subscriptions s WHERE s.tenant_id = t.id ORDER BY s.created DESC, s.id LIMIT 1)
      INTO plan FROM public.tenants t WHERE t.id = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no tenant %s', $1);
    END IF;
    -- Overrides of one tenant change one at a time (the effect before and after is exact).
    PERFORM 1 FROM public.tenants t WHERE t.id = $1 FOR UPDATE;
    prior := penguin_console.override_effect($1);
    INSERT INTO penguin_console.tenant_overrides AS x (id, tenant_id, kind, plan_id, price_monthly, max_users, max_domains,
        max_campaigns_per_month, max_email_accounts, max_emails_per_month, max_contacts, max_storage_gb, starts, expires,
        reason, created_by, created_by_email)
    VALUES (gen_random_uuid(), $1, k, plan, price_cents::integer, lim[1]::integer, lim[2]::integer, lim[3]::integer,
            lim[4]::integer, lim[5]::integer, lim[6]::integer, lim[7]::integer, now(), $5, why,
            COALESCE(c.user_id::text, c.email), c.email)
    RETURNING x.* INTO created;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.override.added', 'tenant', $1::text, $1::text, prior,
        jsonb_build_object('override', penguin_console.override_json(created), 'effect', penguin_console.override_effect($1)),
        why);
    RETURN penguin_console.override_json(created);
END $$;

-- Revokes an override from now on.
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_revoke_override(override_id uuid, reason text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.manage');
    why text := penguin_console.audit_reason(reason);
    tenant uuid;
    prior jsonb;
    revoked penguin_console.tenant_overrides;
BEGIN
    SELECT x.tenant_id INTO tenant FROM penguin_console.tenant_overrides x WHERE x.id = $1 AND x.revoked IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no override %s that is not already revoked', $1);
    END IF;
    PERFORM penguin_console.require_tenant(c, tenant);
    PERFORM 1 FROM public.tenants t WHERE t.id = tenant FOR UPDATE;
    PERFORM 1 FROM penguin_console.tenant_overrides x WHERE x.id = $1 AND x.revoked IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no override %s that is not already revoked', $1);
    END IF;
    prior := penguin_console.override_effect(tenant);
    UPDATE penguin_console.tenant_overrides x SET revoked = now(), revoked_by = COALESCE(c.user_id::text, c.email)
    WHERE x.id = $1 RETURNING x.* INTO revoked;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.override.revoked', 'tenant', tenant::text, tenant::text, prior,
        jsonb_build_object('override', $1, 'effect', penguin_console.override_effect(tenant)), why);
    RETURN penguin_console.override_json(revoked);
END $$;

-- ---------------------------------------------------------------------------------
-- Test tenant provisioning.

-- `Acme QA #1` -> `acme-qa-1` (at most 60 characters).
CREATE OR REPLACE FUNCTION penguin_console.slug(v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(btrim(regexp_replace(lower(COALESCE(v, '')), '[^a-z0-9]+', '-', 'g'), '-'), 60)
$$;

-- A required text field: trimmed, not empty, at most `max` characters.
CREATE OR REPLACE FUNCTION penguin_console.required_field(what text, v text, max integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v IS NULL OR btrim(v) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('the %s is empty', what);
    END IF;
    IF char_length(btrim(v)) > max THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('the %s is longer than %s characters', what, max);
    END IF;
    RETURN btrim(v);
END $$;

-- Whether an e-mail address is on a domain reserved for tests and documentation
-- (RFC 2606 / RFC 6761: .test, .example, .invalid, .localhost, example.com/net/org).
CREATE OR REPLACE FUNCTION penguin_console.reserved_email(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(v) ~ '@([^@]+\.)?(test|example|invalid|localhost)$'
        OR lower(v) ~ '@([^@]+\.)?example\.(com|net|org)$'
$$;

-- Creates a test tenant: the tenant, a new owner user, a workspace, a subscription to
-- an active plan, its billing e-mail, and (a sandbox) its sandbox_tenants row. A sandbox
-- needs tenants.provision_sandbox (qa) or tenants.manage; anything else tenants.manage.
-- A role without pii.view gives an owner address on a reserved test domain, so the
-- form cannot tell it whether a real person's address is a platform user.
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_provision(
    tenant_name text, owner_email text, owner_name text, workspace_name text, plan_slug text, sandbox boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := CASE WHEN COALESCE(sandbox, true)
        THEN penguin_console.require_any(ARRAY['tenants.provision_sandbox', 'tenants.manage'])
        ELSE penguin_console.require('tenants.manage') END;
    tname text := penguin_console.required_field('tenant name', tenant_name, 200);
    oname text := penguin_console.required_field('owner''s name', owner_name, 200);
    wname text := penguin_console.required_field('workspace name', workspace_name, 100);
    addr text := lower(penguin_console.required_field('owner''s email', owner_email, 320));
    slug_in text := lower(btrim(COALESCE(plan_slug, '')));
    is_sandbox boolean := COALESCE(sandbox, true);
    p record;
    tenant uuid := gen_random_uuid();
    owner uuid := gen_random_uuid();
    ws uuid := gen_random_uuid();
    sub uuid := gen_random_uuid();
    ws_slug text;
    period_end timestamptz := now() + interval '1 month';
    out jsonb;
BEGIN
    IF addr !~ '^[^@\s]+@[^@\s]+$' OR split_part(addr, '@', 2) NOT LIKE '%.%'
       OR split_part(addr, '@', 2) LIKE '.%' OR split_part(addr, '@', 2) LIKE '%.' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not an email address', addr);
    END IF;
    IF NOT c.pii AND NOT penguin_console.reserved_email(addr) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = 'give the test tenant''s owner an address on a test domain (such as name@qa.example or name@example.test)';
    END IF;
    SELECT pl.id, pl.name INTO p FROM public.plans pl WHERE pl.slug = slug_in AND COALESCE(pl.is_active, true);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no active plan with slug `%s`', slug_in);
    END IF;
    -- Two provisions with the same address cannot both pass the check below.
    PERFORM pg_advisory_xact_lock(hashtextextended('provision:' || addr, 0));
    IF EXISTS (SELECT 1 FROM public.users u WHERE lower(u.email) = addr AND u.deleted IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = format('a user with the email %s already exists; give the test tenant''s owner a new address', addr);
    END IF;
    ws_slug := ltrim(penguin_console.slug(wname) || '-' || left(replace(tenant::text, '-', ''), 8), '-');
    INSERT INTO public.tenants (id, name) VALUES (tenant, tname);
    INSERT INTO public.users (id, name, email, email_verified) VALUES (owner, oname, addr, now());
    INSERT INTO public.tenant_users (tenant_id, user_id, roles, email) VALUES (tenant, owner, '{owner}', addr);
    INSERT INTO public.companies (id, tenant_id, name, workspace_name) VALUES (ws, tenant, wname, ws_slug);
    INSERT INTO public.subscriptions (id, tenant_id, plan_id, status, current_period_start, current_period_end,
                                      billing_contact_user_id)
    VALUES (sub, tenant, p.id, 'active', now(), period_end, owner);
    INSERT INTO public.tenant_config (tenant_id, billing_email) VALUES (tenant, addr);
    IF is_sandbox THEN
        INSERT INTO penguin_console.sandbox_tenants (tenant_id, created_by) VALUES (tenant, c.user_id);
    END IF;
    out := jsonb_build_object('tenant_id', tenant, 'owner_user_id', owner, 'workspace_id', ws, 'workspace_slug', ws_slug,
        'subscription_id', sub, 'plan', p.name, 'sandbox', is_sandbox,
        'current_period_end', penguin_console.rfc3339(period_end));
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.provisioned', 'tenant', tenant::text, tenant::text, NULL,
        jsonb_build_object('tenant_name', tname, 'owner_email', addr, 'workspace_name', wname, 'plan', slug_in,
                           'created', out),
        CASE WHEN is_sandbox THEN 'sandbox test tenant' ELSE 'test tenant (not a sandbox)' END);
    RETURN out;
END $$;

-- ---------------------------------------------------------------------------------
-- Support access ("view as tenant"). While a grant of a support agent is open, ctx()
-- puts its tenant in the agent's detail scope (signin.sql), so the role-scoped views
-- show that tenant's members, workspaces, sessions and settings (masked) at the next
-- sync, and nothing of it once the grant is closed or expired.

-- A grant as the library's `SupportGrant` (JSON).
CREATE OR REPLACE FUNCTION penguin_console.grant_json(g penguin_console.support_access_grants) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT jsonb_build_object('id', g.id, 'tenant_id', g.tenant_id, 'staff_email', g.staff_email, 'reason', g.reason,
        'ticket', g.ticket, 'opened', penguin_console.utc_micros(g.opened), 'expires', penguin_console.utc_micros(g.expires),
        'closed', penguin_console.utc_micros(g.closed), 'views', g.views)
$$;

-- Opens support access to a tenant: a reason of 10 characters or more, a ticket
-- (`ABC-123` or `#123`), 1 to 480 minutes (default 60).
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_open_support(tenant_id uuid, reason text, ticket text, minutes integer)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.view_as');
    t text := upper(btrim(COALESCE(ticket, '')));
    why text := btrim(COALESCE(reason, ''));
    mins integer := COALESCE(minutes, 60);
    g penguin_console.support_access_grants;
BEGIN
    IF c.user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'support access is opened by a staff member, not a service';
    END IF;
    IF NOT c.list_all AND NOT ($1 = ANY(COALESCE(c.tenants, '{}'))) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) cannot act on tenant %s (outside the tenants it may see)', c.role, $1);
    END IF;
    IF t !~ '^#[0-9]{1,12}$' AND t !~ '^[A-Z][A-Z0-9]{1,9}-[0-9]{1,12}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = format('`%s` is not a ticket reference; give the ticket as PROJECT-123 or #123', btrim(COALESCE(ticket, '')));
    END IF;
    IF char_length(why) < 10 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = 'give a reason of at least 10 characters (what the customer asked, what you will check)';
    END IF;
    IF mins NOT BETWEEN 1 AND 480 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = format('support access lasts 1 to 480 minutes (8 hours); %s was asked', mins);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.tenants x WHERE x.id = $1 AND x.deleted IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no tenant %s', $1);
    END IF;
    INSERT INTO penguin_console.support_access_grants AS x (id, tenant_id, staff_id, staff_email, reason, ticket, expires)
    VALUES (gen_random_uuid(), $1, c.user_id::text, c.email, left(why, 1000), t, now() + make_interval(mins => mins))
    RETURNING x.* INTO g;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.support_access.opened', 'tenant', $1::text, $1::text, NULL,
        jsonb_build_object('grant_id', g.id, 'ticket', g.ticket, 'expires', penguin_console.utc_micros(g.expires),
                           'minutes', mins),
        g.ticket || ' — ' || g.reason);
    RETURN penguin_console.grant_json(g);
END $$;

-- Locks a grant and checks it lets the asking staff member view now (PM403 otherwise).
CREATE OR REPLACE FUNCTION penguin_console.valid_grant(c penguin_console.staff_ctx, gid uuid)
RETURNS penguin_console.support_access_grants
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    g penguin_console.support_access_grants;
BEGIN
    SELECT * INTO g FROM penguin_console.support_access_grants x WHERE x.id = gid FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM403', MESSAGE = 'no such support-access grant; open one with a reason and ticket';
    END IF;
    IF c.user_id IS NULL OR g.staff_id IS DISTINCT FROM c.user_id::text THEN
        RAISE EXCEPTION USING ERRCODE = 'PM403',
            MESSAGE = 'this support-access grant was opened by someone else; open your own with a reason and ticket';
    END IF;
    IF g.closed IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM403',
            MESSAGE = format('support access was closed at %s UTC; open a new one with a reason and ticket',
                             to_char(g.closed AT TIME ZONE 'UTC', 'HH24:MI'));
    END IF;
    IF g.expires <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM403',
            MESSAGE = format('support access expired at %s UTC; open a new one with a reason and ticket',
                             to_char(g.expires AT TIME ZONE 'UTC', 'HH24:MI'));
    END IF;
    RETURN g;
END $$;

-- Records one view under a valid grant of the asking staff member; returns the grant
-- with this view counted.
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_support_view(grant_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.view_as');
    g penguin_console.support_access_grants := penguin_console.valid_grant(c, grant_id);
BEGIN
    UPDATE penguin_console.support_access_grants x SET views = x.views + 1 WHERE x.id = g.id RETURNING x.* INTO g;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.support_access.viewed', 'tenant', g.tenant_id::text, g.tenant_id::text, NULL,
        jsonb_build_object('grant_id', g.id, 'ticket', g.ticket, 'view', g.views), g.ticket || ' — ' || g.reason);
    RETURN penguin_console.grant_json(g);
END $$;

-- Closes a grant of the asking staff member before it expires.
CREATE OR REPLACE FUNCTION penguin_console_api.tenant_admin_close_support(grant_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('tenants.view_as');
    g penguin_console.support_access_grants := penguin_console.valid_grant(c, grant_id);
    closed penguin_console.support_access_grants;
BEGIN
    UPDATE penguin_console.support_access_grants x SET closed = now() WHERE x.id = g.id RETURNING x.* INTO closed;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'tenant.support_access.closed', 'tenant', g.tenant_id::text, g.tenant_id::text,
        jsonb_build_object('grant_id', g.id, 'expires', penguin_console.utc_micros(g.expires)),
        jsonb_build_object('grant_id', closed.id, 'closed', penguin_console.utc_micros(closed.closed), 'views', closed.views),
        closed.ticket);
    RETURN penguin_console.grant_json(closed);
END $$;
