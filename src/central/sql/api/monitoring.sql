-- Monitoring reads that live outside the queue database, every database: the PostgreSQL
-- health of each (pg_stat views); OLTP: the sending IPs (blocklist checks, the SMTP
-- server of each IP) and recording blocklist results; OLAP: the analytics totals of the
-- sending figures. Same shape as queue.sql: `penguin_console.monitor_*(…, scope, masked)`
-- hold the SQL (the watcher calls them over the owner's connection), and the
-- `penguin_console_api.monitoring_*` wrappers check `monitoring.read` and apply the asking
-- staff member's scope and masking.

-- This database's health: connections, cache hit ratio, replication, and the queries
-- running longer than `slow_seconds` (their text masked for `masked`, then cut to 200
-- characters so no address is cut in half and left readable).
CREATE OR REPLACE FUNCTION penguin_console.monitor_pg_health(slow_seconds double precision, scope text[], masked boolean)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'connections', (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'),
        'connections_this_db', (SELECT count(*) FROM pg_catalog.pg_stat_activity
                                 WHERE backend_type = 'client backend' AND datname = current_database()),
        'max_connections', current_setting('max_connections')::bigint,
        'blks_hit', (SELECT blks_hit FROM pg_catalog.pg_stat_database WHERE datname = current_database()),
        'blks_read', (SELECT blks_read FROM pg_catalog.pg_stat_database WHERE datname = current_database()),
        'replica_lag_seconds', CASE WHEN pg_is_in_recovery()
                                    THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END,
        'slow_queries', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'pid', a.pid, 'user', a.usename::text, 'state', a.state,
                       'seconds', COALESCE(extract(epoch FROM now() - a.query_start)::float8, 0),
                       'query', left(CASE WHEN masked THEN penguin_console_api.mask_text(COALESCE(a.query, ''))
                                          ELSE COALESCE(a.query, '') END, 200))
                   ORDER BY a.query_start)
              FROM pg_catalog.pg_stat_activity a
             WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
               AND a.state IS NOT NULL AND a.state <> 'idle'
               AND a.query_start < now() - make_interval(secs => slow_seconds)), '[]'::jsonb),
        'replicas', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'name', COALESCE(r.application_name, ''), 'address', r.client_addr::text, 'state', r.state,
                       'replay_lag_seconds', extract(epoch FROM r.replay_lag)::float8)
                   ORDER BY r.application_name)
              FROM pg_catalog.pg_stat_replication r), '[]'::jsonb))
$$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_pg_health(slow_seconds double precision) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    IF slow_seconds IS NULL OR slow_seconds <= 0 OR slow_seconds = 'NaN'::float8 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the slow-query threshold must be a positive number of seconds';
    END IF;
    RETURN penguin_console.monitor_pg_health(slow_seconds, NULL, NOT c.pii);
END $$;

DO $body$
BEGIN
IF penguin_console.this_db() = 'oltp' THEN
    -- The sending IPs within `scope` (NULL = all; otherwise those assigned to a domain of a
    -- tenant in it, as the sync's smtp_ip_addresses view), with their SMTP server.
    CREATE OR REPLACE FUNCTION penguin_console.monitor_smtp_ips(scope uuid[], masked boolean)
    RETURNS TABLE (id uuid, ip_address text, status text, reputation_state text, provider_blacklist_status jsonb,
                   server text, region text)
    LANGUAGE sql STABLE AS $$
        SELECT i.id, i.ip_address::text, i.status::text, i.reputation_state::text, i.provider_blacklist_status,
               v.ip_address::text, v.region::text
          FROM public.smtp_ip_addresses i LEFT JOIN public.vps_instances v ON v.id = i.vps_instance_id
         WHERE scope IS NULL OR EXISTS (
                   SELECT 1 FROM public.domain_ip_assignments a JOIN public.domains d ON d.id = a.domain_id
                    WHERE a.smtp_ip_address_id = i.id AND d.tenant_id = ANY(scope))
         ORDER BY i.ip_address, i.id
    $$;

    CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_smtp_ips()
    RETURNS TABLE (id uuid, ip_address text, status text, reputation_state text, provider_blacklist_status jsonb,
                   server text, region text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
    BEGIN
        RETURN QUERY SELECT * FROM penguin_console.monitor_smtp_ips(penguin_console_api.list_scope(), NOT c.pii);
    END $$;

    -- How bad a listing is: critical for Spamhaus ZEN (SBL, CSS, XBL, DROP) and Barracuda,
    -- warning for a PBL-only ZEN listing and for any other zone (src/monitor/dnsbl.rs).
    CREATE OR REPLACE FUNCTION penguin_console.dnsbl_severity(zone text, meanings jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE
            WHEN zone = 'zen.spamhaus.org' AND jsonb_typeof(meanings) = 'array' AND jsonb_array_length(meanings) > 0
                 AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(meanings) m WHERE m <> 'PBL') THEN 'warning'
            WHEN zone IN ('zen.spamhaus.org', 'b.barracudacentral.org') THEN 'critical'
            ELSE 'warning' END
    $$;

    -- Records blocklist results: `results` is {"zones": [every zone checked], "ips": [{"id":
    -- smtp_ip_addresses.id, "results": {zone: {"status": "listed"|"clean", "codes": [...],
    -- "meanings": [...], "checked_at": "..."}}}]} with the definitive answers only (a failed
    -- lookup says nothing). Under the row's lock: the answers replace those zones' entries
    -- of provider_blacklist_status (other keys kept), and reputation_state is derived from
    -- every checked zone's listing (a failed lookup's zone keeps its stored answer): the
    -- check owns the state while the stored state is the one it derived last time (kept
    -- under `dnsbl_reputation_state`) or empty; a state someone else set is only made worse.
    -- Returns [{id, ip, reputation_state, listed: [zones]}] for the IPs recorded.
    CREATE OR REPLACE FUNCTION penguin_console.dnsbl_record(results jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        zones text[];
        item jsonb;
        answer record;
        row_ record;
        fresh jsonb;
        merged jsonb;
        worst int;
        derived text;
        state text;
        ranks constant text[] := ARRAY['good', 'fair', 'poor', 'critical'];
        out jsonb := '[]'::jsonb;
    BEGIN
        IF jsonb_typeof(results->'zones') IS DISTINCT FROM 'array' OR jsonb_typeof(results->'ips') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'blocklist results need "zones" and "ips" arrays';
        END IF;
        zones := ARRAY(SELECT jsonb_array_elements_text(results->'zones'));
        IF cardinality(zones) > 100 OR EXISTS (SELECT 1 FROM unnest(zones) z WHERE z !~ '^[a-z0-9-]+(\.[a-z0-9-]+)+$' OR length(z) > 253) THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'blocklist zones are lower-case DNS names';
        END IF;
        FOR item IN SELECT * FROM jsonb_array_elements(results->'ips') ORDER BY value->>'id' LOOP
            fresh := '{}'::jsonb;
            FOR answer IN SELECT key, value FROM jsonb_each(COALESCE(item->'results', '{}'::jsonb)) LOOP
                IF NOT (answer.key = ANY(zones)) OR answer.value->>'status' NOT IN ('listed', 'clean')
                   OR jsonb_typeof(answer.value->'codes') IS DISTINCT FROM 'array'
                   OR jsonb_typeof(answer.value->'meanings') IS DISTINCT FROM 'array' THEN
                    RAISE EXCEPTION USING ERRCODE = 'PM400',
                        MESSAGE = format('a blocklist answer for %s is not a listed/clean result of a checked zone', answer.key);
                END IF;
                fresh := fresh || jsonb_build_object(answer.key, jsonb_build_object(
                    'status', answer.value->>'status', 'codes', answer.value->'codes',
                    'meanings', answer.value->'meanings', 'checked_at', answer.value->'checked_at'));
            END LOOP;
            CONTINUE WHEN fresh = '{}'::jsonb;
            SELECT i.id, i.ip_address, i.reputation_state, COALESCE(i.provider_blacklist_status, '{}'::jsonb) AS stored
              INTO row_ FROM public.smtp_ip_addresses i WHERE i.id = (item->>'id')::uuid FOR UPDATE;
            CONTINUE WHEN NOT FOUND;
            merged := row_.stored || fresh;
            SELECT max(array_position(ranks, CASE penguin_console.dnsbl_severity(z, merged->z->'meanings')
                                                 WHEN 'critical' THEN 'critical' ELSE 'poor' END))
              INTO worst FROM unnest(zones) z WHERE merged->z->>'status' = 'listed';
            derived := ranks[COALESCE(worst, 1)];
            state := CASE
                WHEN row_.reputation_state IS NULL THEN derived
                WHEN row_.reputation_state = row_.stored->>'dnsbl_reputation_state' THEN derived
                WHEN COALESCE(array_position(ranks, derived::text), 1) > COALESCE(array_position(ranks, row_.reputation_state::text), 1) THEN derived
                ELSE row_.reputation_state END;
            UPDATE public.smtp_ip_addresses i
               SET provider_blacklist_status = COALESCE(i.provider_blacklist_status, '{}'::jsonb) || fresh
                       || jsonb_build_object('dnsbl_reputation_state', derived),
                   reputation_state = state, last_reputation_check = now(), updated = now()
             WHERE i.id = row_.id;
            out := out || jsonb_build_array(jsonb_build_object(
                'id', row_.id, 'ip', row_.ip_address, 'reputation_state', state,
                'listed', (SELECT COALESCE(jsonb_agg(z ORDER BY z), '[]'::jsonb) FROM unnest(zones) z
                            WHERE merged->z->>'status' = 'listed')));
        END LOOP;
        RETURN out;
    END $$;

    -- Records blocklist results from a staff member's desktop (see dnsbl_record). Needs
    -- `alerts.manage` (support and qa open Monitoring without writing to the platform);
    -- only IPs the staff member sees; one audit entry per run.
    CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_dnsbl_record(results jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console.require('alerts.manage');
        scope uuid[] := penguin_console_api.list_scope();
        recorded jsonb;
    BEGIN
        IF length(COALESCE(results::text, '')) > 2000000 THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'too many blocklist results for one run';
        END IF;
        IF scope IS NOT NULL AND EXISTS (
               SELECT 1 FROM jsonb_array_elements(COALESCE(results->'ips', '[]'::jsonb)) x
                WHERE NOT EXISTS (SELECT 1 FROM penguin_console.monitor_smtp_ips(scope, true) s
                                   WHERE s.id::text = x->>'id')) THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = format('your role (%s) cannot record results for sending IPs outside the tenants it may see', c.role);
        END IF;
        recorded := penguin_console.dnsbl_record(results);
        IF jsonb_array_length(recorded) > 0 THEN
            PERFORM penguin_console.touch(c);
            PERFORM penguin_console.audit(c, 'ip.reputation_recorded', 'smtp_ip_addresses', 'dnsbl', NULL, NULL,
                jsonb_build_object('zones', results->'zones', 'ips', recorded));
        END IF;
        RETURN recorded;
    END $$;
END IF;

IF penguin_console.this_db() = 'olap' THEN
    -- Campaign analytics of the last 30 days by day (UTC), zero-filled, for the workspaces
    -- in `scope` (NULL = all).
    CREATE OR REPLACE FUNCTION penguin_console.monitor_campaign_days(scope text[], masked boolean)
    RETURNS TABLE (day date, sent bigint, delivered bigint, bounced bigint)
    LANGUAGE sql STABLE AS $$
        WITH d AS (SELECT generate_series(date_trunc('day', now(), 'UTC') - interval '29 days',
                                          date_trunc('day', now(), 'UTC'), interval '1 day') AS day)
        SELECT (d.day AT TIME ZONE 'UTC')::date, coalesce(sum(c.sent), 0)::bigint,
               coalesce(sum(c.delivered), 0)::bigint, coalesce(sum(c.bounced), 0)::bigint
          FROM d LEFT JOIN public.campaign_analytics c
               ON date_trunc('day', c.updated, 'UTC') = d.day AND (scope IS NULL OR c.company_id::text = ANY(scope))
         GROUP BY d.day ORDER BY d.day
    $$;

    -- Mailbox analytics totals of rows updated in the last 30 days, for `scope`.
    CREATE OR REPLACE FUNCTION penguin_console.monitor_mailbox_totals(scope text[], masked boolean)
    RETURNS TABLE (sent bigint, delivered bigint, bounced bigint)
    LANGUAGE sql STABLE AS $$
        SELECT coalesce(sum(m.sent), 0)::bigint, coalesce(sum(m.delivered), 0)::bigint, coalesce(sum(m.bounced), 0)::bigint
          FROM public.mailbox_analytics m
         WHERE m.updated >= date_trunc('day', now(), 'UTC') - interval '29 days'
           AND (scope IS NULL OR m.company_id::text = ANY(scope))
    $$;

    -- OLAP has no tenants: a role that sees only some tenants sees their workspaces' rows.
    CREATE OR REPLACE FUNCTION penguin_console.analytics_scope(c penguin_console.staff_ctx) RETURNS text[]
    LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN c.list_all THEN NULL ELSE COALESCE(c.companies, '{}')::text[] END
    $$;

    CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_campaign_days()
    RETURNS TABLE (day date, sent bigint, delivered bigint, bounced bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
    BEGIN
        RETURN QUERY SELECT * FROM penguin_console.monitor_campaign_days(penguin_console.analytics_scope(c), NOT c.pii);
    END $$;

    CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_mailbox_totals()
    RETURNS TABLE (sent bigint, delivered bigint, bounced bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
    BEGIN
        RETURN QUERY SELECT * FROM penguin_console.monitor_mailbox_totals(penguin_console.analytics_scope(c), NOT c.pii);
    END $$;
END IF;
END $body$;
