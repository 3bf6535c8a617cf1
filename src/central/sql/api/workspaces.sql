-- Workspace deletion, OLTP only: preview, soft delete (30-day grace), restore, purge.
-- See src/workspaces.rs. Refusals: 42501 (permission or scope), PM400 bad input, PM404
-- not found, PM409 wrong state, PM412 the typed name does not match.
--
-- A soft delete records a `penguin_console.workspace_deletions` row signed with this
-- database's key (`sig`, over company_id|deleted_at|purge_after). Restore and purge
-- refuse a row whose signature does not match: a row inserted or edited by hand (a
-- purge date moved forward, a row for an active workspace) never deletes anything. The
-- watcher (src/alerts/watch.rs, PurgeSource) raises an alert for every such row.

-- The signature of a deletion: `deletion:<company_id>|<deleted_at>|<purge_after>`, the
-- times as text in UTC (fixed time zone and date style, so every client agrees).
CREATE OR REPLACE FUNCTION penguin_console.deletion_sig(company_id uuid, deleted_at timestamptz, purge_after timestamptz)
RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' AS $$
    SELECT penguin_console.sign('deletion', $1::text || '|' || $2::text || '|' || $3::text)
$$;

-- Whether a deletion row was written by the console (its signature matches).
CREATE OR REPLACE FUNCTION penguin_console.deletion_signed(d penguin_console.workspace_deletions) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT d.sig IS NOT NULL AND d.sig = penguin_console.deletion_sig(d.company_id, d.deleted_at, d.purge_after)
$$;

-- Deletion rows the console must not act on: not signed by it, or for a workspace that
-- is not in the deleted state. For the watcher's alert (run with the owner's rights).
CREATE OR REPLACE FUNCTION penguin_console.deletion_problems()
RETURNS TABLE (company_id uuid, tenant_id uuid, name text, workspace_status text, purge_after timestamptz, problem text)
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
    SELECT d.company_id, d.tenant_id, COALESCE(co.name, d.name), co.status::text, d.purge_after,
           CASE WHEN NOT penguin_console.deletion_signed(d) THEN 'unsigned' ELSE 'not_deleted' END
    FROM penguin_console.workspace_deletions d LEFT JOIN public.companies co ON co.id = d.company_id
    WHERE NOT penguin_console.deletion_signed(d) OR co.status IS DISTINCT FROM 'deleted'
    ORDER BY d.company_id
$$;

-- UTC, RFC 3339 with microseconds (as chrono writes it).
CREATE OR REPLACE FUNCTION penguin_console.rfc3339(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
$$;

-- What a workspace holds (what a purge deletes).
CREATE OR REPLACE FUNCTION penguin_console.workspace_counts(ws uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
    SELECT jsonb_build_object(
        'campaigns', (SELECT count(*) FROM public.campaigns WHERE company_id = ws),
        'active_campaigns', (SELECT count(*) FROM public.campaigns WHERE company_id = ws AND status IN ('sending', 'scheduled')),
        'sequence_steps', (SELECT count(*) FROM public.campaign_sequence_steps s JOIN public.campaigns k ON k.id = s.campaign_id
                           WHERE k.company_id = ws),
        'domains', (SELECT count(*) FROM public.domains WHERE company_id = ws),
        'email_accounts', (SELECT count(*) FROM public.email_accounts e JOIN public.domains d ON d.id = e.domain_id
                           WHERE d.company_id = ws),
        'members', (SELECT count(*) FROM penguin_console.workspace_members WHERE company_id = ws))
$$;

-- The workspace's tenant, after checking it exists and is within the asking staff
-- member's scope.
CREATE OR REPLACE FUNCTION penguin_console.require_workspace(c penguin_console.staff_ctx, ws uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    tenant uuid;
BEGIN
    SELECT co.tenant_id INTO tenant FROM public.companies co WHERE co.id = ws;
    IF NOT FOUND THEN
        SELECT d.tenant_id INTO tenant FROM penguin_console.workspace_deletions d WHERE d.company_id = ws;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no workspace %s', ws);
        END IF;
    END IF;
    PERFORM penguin_console.require_tenant(c, tenant);
    RETURN tenant;
END $$;

-- What deleting a workspace would affect: its counts and the tenant's plan usage.
CREATE OR REPLACE FUNCTION penguin_console_api.workspaces_preview(workspace_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.delete');
    tenant uuid := penguin_console.require_workspace(c, workspace_id);
    w record;
    b record;
BEGIN
    SELECT co.name, co.tenant_id INTO w FROM public.companies co WHERE co.id = workspace_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no workspace %s', workspace_id);
    END IF;
    SELECT p.name, p.max_domains, p.max_email_accounts,
           (SELECT count(*) FROM public.domains d WHERE d.tenant_id = tenant) AS domains,
           (SELECT count(*) FROM public.email_accounts e WHERE e.tenant_id = tenant) AS accounts
      INTO b
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT s.plan_id FROM public.subscriptions s WHERE s.tenant_id = tenant
                         ORDER BY s.created DESC, s.id LIMIT 1) s ON true
      LEFT JOIN public.plans p ON p.id = s.plan_id;
    RETURN penguin_console.workspace_counts(workspace_id) || jsonb_build_object(
        'workspace_id', workspace_id, 'name', w.name, 'tenant_id', tenant,
        'plan', b.name, 'max_domains', b.max_domains, 'max_email_accounts', b.max_email_accounts,
        'domains_used', b.domains, 'email_accounts_used', b.accounts,
        'purge_after', penguin_console.rfc3339(now() + make_interval(hours => 24 * 30)));
END $$;

-- Soft-deletes a workspace: its name typed exactly, sending and scheduled campaigns
-- paused, status 'deleted', a signed deletion row with the 30-day grace period.
CREATE OR REPLACE FUNCTION penguin_console_api.workspaces_soft_delete(workspace_id uuid, confirm_name text, reason text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.delete');
    tenant uuid := penguin_console.require_workspace(c, workspace_id);
    w record;
    why text := NULLIF(left(btrim(COALESCE(reason, '')), 1000), '');
    counts jsonb;
    paused uuid[];
    deleted_at timestamptz := now();
    purge_after timestamptz := now() + make_interval(hours => 24 * 30);
BEGIN
    SELECT co.name, co.status INTO w FROM public.companies co WHERE co.id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no workspace %s', $1);
    END IF;
    IF w.status = 'deleted' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this workspace is already deleted; restore or purge it';
    END IF;
    IF EXISTS (SELECT 1 FROM penguin_console.workspace_deletions d WHERE d.company_id = $1) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'this active workspace already has a deletion record that the console did not make; '
                      'it is left for a database administrator to investigate (the watcher raised an alert)';
    END IF;
    IF confirm_name IS NULL OR btrim(confirm_name) <> btrim(w.name) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM412', MESSAGE = 'the confirmation does not match: type the workspace''s name exactly';
    END IF;
    counts := penguin_console.workspace_counts($1);
    WITH p AS (
        UPDATE public.campaigns k SET status = 'paused', updated = now()
        WHERE k.company_id = $1 AND k.status IN ('sending', 'scheduled') RETURNING k.id)
    SELECT COALESCE(array_agg(p.id ORDER BY p.id), '{}') INTO paused FROM p;
    UPDATE public.companies co SET status = 'deleted', updated = now() WHERE co.id = $1;
    INSERT INTO penguin_console.workspace_deletions
        (company_id, tenant_id, name, previous_status, paused_campaigns, deleted_at, purge_after, deleted_by, reason, sig)
    VALUES ($1, tenant, w.name, w.status, paused, deleted_at, purge_after, COALESCE(c.user_id::text, c.email), why,
            penguin_console.deletion_sig($1, deleted_at, purge_after));
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'workspace.deleted', 'workspace', $1::text, tenant::text,
        jsonb_build_object('status', w.status, 'name', w.name),
        jsonb_build_object('status', 'deleted', 'purge_after', penguin_console.rfc3339(purge_after),
                           'paused_campaigns', to_jsonb(paused), 'campaigns', counts->'campaigns',
                           'domains', counts->'domains', 'email_accounts', counts->'email_accounts'),
        why);
    RETURN jsonb_build_object('campaigns_paused', cardinality(paused), 'purge_after', penguin_console.rfc3339(purge_after));
END $$;

-- Restores a soft-deleted workspace within its grace period: the previous status back,
-- and exactly the campaigns the deletion paused (and nobody changed since) resumed.
CREATE OR REPLACE FUNCTION penguin_console_api.workspaces_restore(workspace_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.delete');
    tenant uuid := penguin_console.require_workspace(c, workspace_id);
    d penguin_console.workspace_deletions;
    resumed integer;
BEGIN
    SELECT * INTO d FROM penguin_console.workspace_deletions x WHERE x.company_id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'this workspace is not deleted';
    END IF;
    IF NOT penguin_console.deletion_signed(d) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = 'the deletion record of this workspace was not made by the console (its signature does not match); '
                      'it is neither restored nor purged, and is left for a database administrator to investigate';
    END IF;
    IF d.purge_after <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = format('the 30-day grace period ended on %s; the workspace can only be purged now',
                             penguin_console.rfc3339(d.purge_after));
    END IF;
    UPDATE public.companies co SET status = COALESCE(d.previous_status, 'active'), updated = now() WHERE co.id = $1;
    UPDATE public.campaigns k SET status = 'sending', updated = now()
    WHERE k.id = ANY(d.paused_campaigns) AND k.company_id = $1 AND k.status = 'paused';
    GET DIAGNOSTICS resumed = ROW_COUNT;
    DELETE FROM penguin_console.workspace_deletions x WHERE x.company_id = $1;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'workspace.restored', 'workspace', $1::text, d.tenant_id::text,
        jsonb_build_object('status', 'deleted'),
        jsonb_build_object('status', d.previous_status, 'resumed_campaigns', resumed), NULL);
    RETURN jsonb_build_object('resumed_campaigns', resumed);
END $$;

-- Purges one soft-deleted workspace whose grace period is over, as `c` (a staff member
-- through workspaces_purge, or the watcher's service identity with the owner's rights).
-- Refuses a deletion row the console did not sign and a workspace that is not deleted:
-- nothing is deleted then. The platform's foreign keys cascade: campaigns -> sequence
-- steps, domains -> email accounts. Leads belong to the tenant and stay.
CREATE OR REPLACE FUNCTION penguin_console.workspace_purge(c penguin_console.staff_ctx, ws uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    d penguin_console.workspace_deletions;
    st text;
    counts jsonb;
    report jsonb;
BEGIN
    SELECT * INTO d FROM penguin_console.workspace_deletions x WHERE x.company_id = ws FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'only a soft-deleted workspace can be purged; delete it first';
    END IF;
    IF NOT penguin_console.deletion_signed(d) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = format('purge refused: the deletion record of workspace %s was not made by the console (its signature '
                             'does not match); the workspace is left intact', ws);
    END IF;
    SELECT co.status INTO st FROM public.companies co WHERE co.id = ws FOR UPDATE;
    IF FOUND AND st IS DISTINCT FROM 'deleted' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = format('purge refused: workspace %s is not in the deleted state (status %s); the workspace is left intact',
                             ws, COALESCE(st, 'none'));
    END IF;
    IF d.purge_after > now() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = format('the grace period runs until %s; restore it or wait', penguin_console.rfc3339(d.purge_after));
    END IF;
    counts := penguin_console.workspace_counts(ws);
    DELETE FROM penguin_console.workspace_members m WHERE m.company_id = ws;
    DELETE FROM penguin_console.workspace_deletions x WHERE x.company_id = ws;
    DELETE FROM public.companies co WHERE co.id = ws;
    report := jsonb_build_object('workspace_id', ws, 'name', d.name, 'campaigns', counts->'campaigns',
        'sequence_steps', counts->'sequence_steps', 'domains', counts->'domains',
        'email_accounts', counts->'email_accounts', 'members', counts->'members');
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'workspace.purged', 'workspace', ws::text, d.tenant_id::text,
        jsonb_build_object('name', d.name, 'status', 'deleted'), report, NULL);
    RETURN report;
END $$;

-- The identity of a server-side tool (the watcher's purge), for workspace_purge and its
-- audit entry. Owner's rights only: the desktop login cannot call it.
CREATE OR REPLACE FUNCTION penguin_console.service_ctx(who text, role text, perms text[], agent text)
RETURNS penguin_console.staff_ctx
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT ROW(NULL, who, who, role, perms, NULL, true, true, true, NULL, NULL, NULL, agent)::penguin_console.staff_ctx
$$;

-- Purges one soft-deleted workspace whose grace period is over.
CREATE OR REPLACE FUNCTION penguin_console_api.workspaces_purge(workspace_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.delete');
BEGIN
    PERFORM penguin_console.require_workspace(c, workspace_id);
    RETURN penguin_console.workspace_purge(c, workspace_id);
END $$;

-- The soft-deleted workspaces within the asking staff member's scope whose grace period
-- is over and that the console may purge (signed, still deleted), oldest first.
CREATE OR REPLACE FUNCTION penguin_console_api.workspaces_due() RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('workspaces.delete');
BEGIN
    RETURN QUERY
    SELECT d.company_id FROM penguin_console.workspace_deletions d JOIN public.companies co ON co.id = d.company_id
    WHERE d.purge_after <= now() AND co.status = 'deleted' AND penguin_console.deletion_signed(d)
      AND (c.detail_all OR d.tenant_id = ANY(COALESCE(c.tenants, '{}')))
    ORDER BY d.purge_after, d.company_id;
END $$;
