-- The job queue, queue database only: what the Monitoring screen reads live (the queues'
-- figures, jobs with their payloads and logs, sending figures) and the operators'
-- actions (pause/resume a queue, retry/delete a job, bulk retry/delete by filter).
--
-- Reads: `penguin_console.monitor_*(…, scope, masked)` hold the SQL once; the service
-- identity (the watcher, over the owner's connection) calls them with scope NULL, and the
-- `penguin_console_api.monitoring_*` wrappers call them for a staff member after
-- checking `monitoring.read`, with qa's scope (sandbox tenants' jobs only: a job's tenant
-- is payload->>'tenant_id'; `list_scope()`) and masking for roles without `pii.view`.
-- Aggregates (per-queue and sending figures) count only the jobs the role may see.
--
-- Actions need `queue.manage`, lock what they change, and write their audit entry in the
-- same transaction (relayed to OLAP after commit). Refusals: 42501 permission or scope,
-- PM400 bad input, PM404 not found, PM409 wrong state or a changed selection.

-- '%text%' for ILIKE, with the text's own wildcards escaped; NULL for no search.
CREATE OR REPLACE FUNCTION penguin_console.like_pattern(search text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN NULLIF(btrim(search), '') IS NULL THEN NULL
                ELSE '%' || replace(replace(replace(btrim(search), '\', '\\'), '%', '\%'), '_', '\_') || '%' END
$$;

-- Whether a job is visible to `scope` (tenant ids as text; NULL = every job).
CREATE OR REPLACE FUNCTION penguin_console.job_in_scope(j public.jobs, scope text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT scope IS NULL OR COALESCE((j.payload->>'tenant_id') = ANY(scope), false)
$$;

-- Whether a job is running for longer than `stuck_minutes`.
CREATE OR REPLACE FUNCTION penguin_console.job_stuck(j public.jobs, stuck_minutes integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(j.status = 'running' AND j.started < now() - make_interval(mins => stuck_minutes), false)
$$;

-- Whether a job matches the screen's filter as the asking role sees it: `q` queue, `st`
-- state (`stuck` = running longer than `stuck_minutes`), `search` text the payload or the
-- last error contains (case-insensitive; for a masked role, as masked, so a search matches
-- only what the role sees), within `scope`.
CREATE OR REPLACE FUNCTION penguin_console.job_matches(j public.jobs, q text, st text, search text,
    stuck_minutes integer, scope text[], masked boolean) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (q IS NULL OR j.queue_name = q)
       AND (st IS NULL OR (st = 'stuck' AND penguin_console.job_stuck(j, stuck_minutes))
                       OR (st <> 'stuck' AND j.status = st))
       AND penguin_console.job_in_scope(j, scope)
       AND (search IS NULL OR CASE WHEN masked
            THEN COALESCE(penguin_console_api.mask_json(j.payload)::text ILIKE penguin_console.like_pattern(search)
                          OR penguin_console_api.mask_text(j.last_error_message) ILIKE penguin_console.like_pattern(search), false)
            ELSE COALESCE(j.payload::text ILIKE penguin_console.like_pattern(search)
                          OR j.last_error_message ILIKE penguin_console.like_pattern(search), false) END)
$$;

-- Whether `action` applies to a job: a retry to failed or stuck jobs; a delete to jobs no
-- worker holds (queued, completed, failed, or stuck).
CREATE OR REPLACE FUNCTION penguin_console.job_eligible(j public.jobs, action text, stuck_minutes integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE action
        WHEN 'retry' THEN j.status = 'failed' OR penguin_console.job_stuck(j, stuck_minutes)
        WHEN 'delete' THEN j.status IN ('queued', 'completed', 'failed') OR penguin_console.job_stuck(j, stuck_minutes)
        ELSE false END
$$;

-- Checks a filter's arguments (PM400).
CREATE OR REPLACE FUNCTION penguin_console.check_job_filter(st text, stuck_minutes integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF st IS NOT NULL AND st NOT IN ('queued', 'migrated_to_redis', 'running', 'stuck', 'completed', 'failed') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = format('unknown job state %L: use queued, migrated_to_redis, running, stuck, completed or failed', st);
    END IF;
    IF stuck_minutes IS NULL OR stuck_minutes < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the stuck threshold must be at least one minute';
    END IF;
END $$;

-- ---------------------------------------------------------------------------------
-- Reads.

-- Per-queue figures (every queue; counts of the jobs within `scope`).
CREATE OR REPLACE FUNCTION penguin_console.monitor_queue_overview(stuck_minutes integer, scope text[], masked boolean)
RETURNS TABLE (name text, is_active boolean, active bigint, queued bigint, migrated bigint, done_1h bigint,
               done_24h bigint, failed bigint, stuck bigint)
LANGUAGE sql STABLE AS $$
    SELECT q.name::text, q.is_active,
           count(j.id) FILTER (WHERE j.status = 'running'),
           count(j.id) FILTER (WHERE j.status = 'queued'),
           count(j.id) FILTER (WHERE j.status = 'migrated_to_redis'),
           count(j.id) FILTER (WHERE j.status = 'completed' AND j.completed >= now() - interval '1 hour'),
           count(j.id) FILTER (WHERE j.status = 'completed' AND j.completed >= now() - interval '24 hours'),
           count(j.id) FILTER (WHERE j.status = 'failed'),
           count(j.id) FILTER (WHERE penguin_console.job_stuck(j, stuck_minutes))
      FROM public.job_queues q
      LEFT JOIN public.jobs j ON j.queue_name = q.name AND penguin_console.job_in_scope(j, scope)
     GROUP BY q.name, q.is_active
     ORDER BY q.name
$$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_queue_overview(stuck_minutes integer)
RETURNS TABLE (name text, is_active boolean, active bigint, queued bigint, migrated bigint, done_1h bigint,
               done_24h bigint, failed bigint, stuck bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    PERFORM penguin_console.check_job_filter(NULL, stuck_minutes);
    RETURN QUERY SELECT * FROM penguin_console.monitor_queue_overview(stuck_minutes,
        penguin_console_api.list_scope()::text[], NOT c.pii);
END $$;

-- A page of jobs matching the filter (or the one job `job`), newest first, masked for
-- `masked`.
CREATE OR REPLACE FUNCTION penguin_console.monitor_jobs(q text, st text, search text, stuck_minutes integer,
    lim bigint, skip bigint, job uuid, scope text[], masked boolean)
RETURNS TABLE (id uuid, queue_name text, status text, priority integer, payload jsonb, attempt_count integer,
               max_attempts integer, created timestamptz, started timestamptz, completed timestamptz,
               failed timestamptz, last_error_message text, stuck boolean)
LANGUAGE sql STABLE AS $$
    SELECT j.id, j.queue_name::text, j.status::text, j.priority,
           CASE WHEN masked THEN penguin_console_api.mask_json(j.payload) ELSE j.payload END,
           j.attempt_count, j.max_attempts, j.created, j.started, j.completed, j.failed,
           CASE WHEN masked THEN penguin_console_api.mask_text(j.last_error_message) ELSE j.last_error_message END,
           penguin_console.job_stuck(j, stuck_minutes)
      FROM public.jobs j
     WHERE (job IS NULL OR j.id = job)
       AND penguin_console.job_matches(j, q, st, search, stuck_minutes, scope, masked)
     ORDER BY coalesce(j.failed, j.started, j.created) DESC NULLS LAST, j.id
     LIMIT lim OFFSET skip
$$;

CREATE OR REPLACE FUNCTION penguin_console.monitor_jobs_count(q text, st text, search text, stuck_minutes integer,
    scope text[], masked boolean) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM public.jobs j WHERE penguin_console.job_matches(j, q, st, search, stuck_minutes, scope, masked)
$$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_jobs(queue text, state text, search text,
    stuck_minutes integer, lim bigint, skip bigint, job uuid DEFAULT NULL)
RETURNS TABLE (id uuid, queue_name text, status text, priority integer, payload jsonb, attempt_count integer,
               max_attempts integer, created timestamptz, started timestamptz, completed timestamptz,
               failed timestamptz, last_error_message text, stuck boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    PERFORM penguin_console.check_job_filter(state, stuck_minutes);
    RETURN QUERY SELECT * FROM penguin_console.monitor_jobs(queue, state, search, stuck_minutes,
        LEAST(GREATEST(COALESCE(lim, 50), 1), 10000), GREATEST(COALESCE(skip, 0), 0), job,
        penguin_console_api.list_scope()::text[], NOT c.pii);
END $$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_jobs_count(queue text, state text, search text,
    stuck_minutes integer) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    PERFORM penguin_console.check_job_filter(state, stuck_minutes);
    RETURN penguin_console.monitor_jobs_count(queue, state, search, stuck_minutes,
        penguin_console_api.list_scope()::text[], NOT c.pii);
END $$;

-- A job's attempts (`job_logs`), oldest first; nothing for a job outside `scope`.
CREATE OR REPLACE FUNCTION penguin_console.monitor_job_logs(job uuid, scope text[], masked boolean)
RETURNS TABLE (status text, attempt_number integer, log_message text, started timestamptz, finished timestamptz,
               duration_ms double precision)
LANGUAGE sql STABLE AS $$
    SELECT l.status::text, l.attempt_number,
           CASE WHEN masked THEN penguin_console_api.mask_text(l.log_message) ELSE l.log_message END,
           l.started, l.finished, (extract(epoch FROM l.duration) * 1000)::float8
      FROM public.job_logs l JOIN public.jobs j ON j.id = l.job_id
     WHERE l.job_id = job AND penguin_console.job_in_scope(j, scope)
     ORDER BY l.attempt_number NULLS LAST, coalesce(l.started, l.created), l.id
$$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_job_logs(job uuid)
RETURNS TABLE (status text, attempt_number integer, log_message text, started timestamptz, finished timestamptz,
               duration_ms double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    RETURN QUERY SELECT * FROM penguin_console.monitor_job_logs(job, penguin_console_api.list_scope()::text[], NOT c.pii);
END $$;

-- Emails sent (completed) and given up (failed) by the email-sending queues per `unit`
-- ('hour' or 'day', UTC) over the last `buckets` units, zero-filled.
CREATE OR REPLACE FUNCTION penguin_console.monitor_send_series(unit text, buckets integer, scope text[], masked boolean)
RETURNS TABLE (bucket timestamptz, sent bigint, failed bigint)
LANGUAGE sql STABLE AS $$
    WITH b AS (
        SELECT generate_series(date_trunc(unit, now(), 'UTC') - (buckets - 1) * ('1 ' || unit)::interval,
                               date_trunc(unit, now(), 'UTC'), ('1 ' || unit)::interval) AS bucket),
    ev AS (
        SELECT date_trunc(unit, CASE WHEN j.status = 'completed' THEN j.completed ELSE j.failed END, 'UTC') AS bucket,
               j.status
          FROM public.jobs j
         WHERE (j.queue_name = 'email-sending' OR j.queue_name LIKE 'email-sending:%')
           AND j.status IN ('completed', 'failed')
           AND CASE WHEN j.status = 'completed' THEN j.completed ELSE j.failed END
               >= date_trunc(unit, now(), 'UTC') - (buckets - 1) * ('1 ' || unit)::interval
           AND penguin_console.job_in_scope(j, scope))
    SELECT b.bucket, count(ev.bucket) FILTER (WHERE ev.status = 'completed'),
           count(ev.bucket) FILTER (WHERE ev.status = 'failed')
      FROM b LEFT JOIN ev ON ev.bucket = b.bucket
     GROUP BY b.bucket ORDER BY b.bucket
$$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_send_series(unit text, buckets integer)
RETURNS TABLE (bucket timestamptz, sent bigint, failed bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    IF unit IS NULL OR unit NOT IN ('hour', 'day') OR buckets IS NULL OR buckets NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'a sending series is 1 to 366 hours or days';
    END IF;
    RETURN QUERY SELECT * FROM penguin_console.monitor_send_series(unit, buckets,
        penguin_console_api.list_scope()::text[], NOT c.pii);
END $$;

-- Sends per sending IP (the payload's `smtp_ip`) over the last hour and 24 hours.
CREATE OR REPLACE FUNCTION penguin_console.monitor_send_per_ip(scope text[], masked boolean)
RETURNS TABLE (ip text, sent_1h bigint, failed_1h bigint, sent_24h bigint, failed_24h bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(j.payload->>'smtp_ip', ''),
           count(*) FILTER (WHERE j.status = 'completed' AND j.completed >= now() - interval '1 hour'),
           count(*) FILTER (WHERE j.status = 'failed' AND j.failed >= now() - interval '1 hour'),
           count(*) FILTER (WHERE j.status = 'completed' AND j.completed >= now() - interval '24 hours'),
           count(*) FILTER (WHERE j.status = 'failed' AND j.failed >= now() - interval '24 hours')
      FROM public.jobs j
     WHERE (j.queue_name = 'email-sending' OR j.queue_name LIKE 'email-sending:%')
       AND j.status IN ('completed', 'failed')
       AND coalesce(j.completed, j.failed) >= now() - interval '24 hours'
       AND penguin_console.job_in_scope(j, scope)
     GROUP BY 1
$$;

CREATE OR REPLACE FUNCTION penguin_console_api.monitoring_send_per_ip()
RETURNS TABLE (ip text, sent_1h bigint, failed_1h bigint, sent_24h bigint, failed_24h bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('monitoring.read');
BEGIN
    RETURN QUERY SELECT * FROM penguin_console.monitor_send_per_ip(penguin_console_api.list_scope()::text[], NOT c.pii);
END $$;

-- ---------------------------------------------------------------------------------
-- Actions.

-- Pauses (`active` false) or resumes a queue. Returns whether it changed (no audit entry
-- when it was already so). A role that sees only some tenants may not: the queue carries
-- every tenant's jobs.
CREATE OR REPLACE FUNCTION penguin_console_api.queue_set_active(queue text, active boolean, reason text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('queue.manage');
    was boolean;
BEGIN
    IF active IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'say whether the queue is to be paused or resumed';
    END IF;
    IF penguin_console_api.list_scope() IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) sees only some tenants; pausing or resuming a queue affects every tenant''s jobs', c.role);
    END IF;
    IF length(COALESCE(reason, '')) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the reason is at most 4,000 characters';
    END IF;
    SELECT q.is_active INTO was FROM public.job_queues q WHERE q.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no queue %L in job_queues', $1);
    END IF;
    IF was = active THEN
        RETURN false;
    END IF;
    UPDATE public.job_queues q SET is_active = $2 WHERE q.name = $1;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, CASE WHEN active THEN 'queue.resumed' ELSE 'queue.paused' END, 'queue', $1, NULL,
        jsonb_build_object('is_active', was), jsonb_build_object('is_active', active), NULLIF(btrim(reason), ''));
    RETURN true;
END $$;

-- Retries ('retry': back to queued, attempts reset; failed or stuck jobs only) or deletes
-- ('delete': with its logs; not a job a worker holds) one job.
CREATE OR REPLACE FUNCTION penguin_console_api.queue_job_action(job uuid, action text, stuck_minutes integer,
    reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('queue.manage');
    j public.jobs;
    done jsonb;
BEGIN
    IF action IS NULL OR action NOT IN ('retry', 'delete') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('%L is not a job action (retry or delete)', action);
    END IF;
    PERFORM penguin_console.check_job_filter(NULL, stuck_minutes);
    IF length(COALESCE(reason, '')) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the reason is at most 4,000 characters';
    END IF;
    SELECT * INTO j FROM public.jobs WHERE public.jobs.id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no job %s in the queue database', $1);
    END IF;
    IF NOT penguin_console.job_in_scope(j, penguin_console_api.list_scope()::text[]) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) cannot act on job %s (outside the tenants it may see)', c.role, $1);
    END IF;
    IF NOT COALESCE(penguin_console.job_eligible(j, action, stuck_minutes), false) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = CASE action
            WHEN 'retry' THEN format('job %s is %s: only failed or stuck jobs can be retried', $1, j.status)
            ELSE format('job %s is %s and a worker holds it; delete it once it failed or is stuck (running over %s minutes)',
                        $1, j.status, stuck_minutes) END;
    END IF;
    IF action = 'retry' THEN
        UPDATE public.jobs SET status = 'queued', attempt_count = 0, run_at = now(), started = NULL, completed = NULL,
               failed = NULL, updated = now()
         WHERE public.jobs.id = $1;
        done := jsonb_build_object('status', 'queued', 'attempt_count', 0);
    ELSE
        DELETE FROM public.jobs WHERE public.jobs.id = $1;
        done := jsonb_build_object('deleted', true);
    END IF;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, CASE action WHEN 'retry' THEN 'queue.job.retried' ELSE 'queue.job.deleted' END,
        'job', $1::text, j.payload->>'tenant_id',
        jsonb_build_object('status', j.status, 'queue', j.queue_name, 'attempt_count', j.attempt_count,
                           'last_error_message', j.last_error_message),
        done || jsonb_build_object('stuck_after_minutes', stuck_minutes), NULLIF(btrim(reason), ''));
    RETURN done;
END $$;

-- SHA-256 of the job ids in order, 16 bytes each: what a bulk preview shows and its apply
-- re-checks.
CREATE OR REPLACE FUNCTION penguin_console.job_digest(ids uuid[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(COALESCE((SELECT string_agg(uuid_send(u.i), ''::bytea ORDER BY u.n)
                                     FROM unnest(ids) WITH ORDINALITY AS u(i, n)), ''::bytea)), 'hex')
$$;

-- The ids (in order) of the jobs `action` would touch under the filter, as the asking
-- role sees them; locked when `locking` (a job changed meanwhile is re-checked).
CREATE OR REPLACE FUNCTION penguin_console.bulk_ids(c penguin_console.staff_ctx, q text, st text, search text,
    action text, stuck_minutes integer, locking boolean) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    scope text[] := penguin_console_api.list_scope()::text[];
    ids uuid[];
BEGIN
    IF action IS NULL OR action NOT IN ('retry', 'delete') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('%L is not a job action (retry or delete)', action);
    END IF;
    PERFORM penguin_console.check_job_filter(st, stuck_minutes);
    IF locking THEN
        SELECT COALESCE(array_agg(s.id ORDER BY s.id), '{}') INTO ids FROM (
            SELECT j.id FROM public.jobs j
             WHERE penguin_console.job_matches(j, q, st, search, stuck_minutes, scope, NOT c.pii)
               AND COALESCE(penguin_console.job_eligible(j, action, stuck_minutes), false)
             ORDER BY j.id FOR UPDATE) s;
    ELSE
        SELECT COALESCE(array_agg(j.id ORDER BY j.id), '{}') INTO ids FROM public.jobs j
         WHERE penguin_console.job_matches(j, q, st, search, stuck_minutes, scope, NOT c.pii)
           AND COALESCE(penguin_console.job_eligible(j, action, stuck_minutes), false);
    END IF;
    RETURN ids;
END $$;

-- How many jobs a bulk action would touch, and their digest: {count, digest}.
CREATE OR REPLACE FUNCTION penguin_console_api.queue_bulk_preview(queue text, state text, search text, action text,
    stuck_minutes integer) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('queue.manage');
    ids uuid[] := penguin_console.bulk_ids(c, queue, state, search, action, stuck_minutes, false);
BEGIN
    RETURN jsonb_build_object('count', cardinality(ids), 'digest', penguin_console.job_digest(ids));
END $$;

-- Applies a previewed bulk action: refuses (PM409, nothing changed) when the filter no
-- longer matches exactly the previewed jobs. One audit entry lists the jobs. Returns how
-- many jobs were touched.
CREATE OR REPLACE FUNCTION penguin_console_api.queue_bulk_apply(queue text, state text, search text, action text,
    stuck_minutes integer, expected_count bigint, expected_digest text, reason text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('queue.manage');
    ids uuid[];
    digest text;
    touched bigint;
BEGIN
    IF length(COALESCE(reason, '')) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the reason is at most 4,000 characters';
    END IF;
    ids := penguin_console.bulk_ids(c, queue, state, search, action, stuck_minutes, true);
    digest := penguin_console.job_digest(ids);
    IF cardinality(ids) IS DISTINCT FROM expected_count OR digest IS DISTINCT FROM lower(expected_digest) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = format(
            'the filter now matches %s jobs, not the %s previewed (or different ones); preview again',
            cardinality(ids), expected_count);
    END IF;
    IF action = 'retry' THEN
        UPDATE public.jobs SET status = 'queued', attempt_count = 0, run_at = now(), started = NULL, completed = NULL,
               failed = NULL, updated = now()
         WHERE public.jobs.id = ANY(ids);
    ELSE
        DELETE FROM public.jobs WHERE public.jobs.id = ANY(ids);
    END IF;
    GET DIAGNOSTICS touched = ROW_COUNT;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, CASE action WHEN 'retry' THEN 'queue.jobs.bulk_retried' ELSE 'queue.jobs.bulk_deleted' END,
        'job', 'bulk:' || digest, NULL,
        jsonb_build_object('filter', jsonb_build_object('queue', queue, 'state', state, 'search', search),
                           'count', cardinality(ids), 'stuck_after_minutes', stuck_minutes),
        jsonb_build_object('job_ids', to_jsonb(ids)), NULLIF(btrim(reason), ''));
    RETURN touched;
END $$;
