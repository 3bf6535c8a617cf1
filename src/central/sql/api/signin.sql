-- Enforced access, OLTP only: sign-in, console sessions, and tickets for the other
-- three databases. Re-applied by every install. {crypto} = pgcrypto's schema.
--
-- Sign-in verifies the platform's own credentials (Nile's auth.credentials, bcrypt)
-- here, applies the lockout (5 failures lock for 15 minutes) per email whether or not
-- the email belongs to staff, answers unknown emails exactly as wrong passwords (same
-- answer, a bcrypt comparison either way), and returns a console session token.

-- An integer setting from system_config (value is JSON: a number or a numeric string).
CREATE OR REPLACE FUNCTION penguin_console.config_int(k text, fallback integer) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    v jsonb;
BEGIN
    IF to_regclass('public.system_config') IS NULL THEN
        RETURN fallback;
    END IF;
    EXECUTE 'SELECT value FROM public.system_config WHERE key = $1' INTO v USING k;
    IF v IS NULL THEN
        RETURN fallback;
    END IF;
    RETURN GREATEST((v #>> '{}')::integer, 1);
EXCEPTION WHEN OTHERS THEN
    RETURN fallback;
END $$;

-- Why the staff member behind a session may not act any more, or NULL when they may.
CREATE OR REPLACE FUNCTION penguin_console.staff_refusal(uid uuid, role_at_sign_in integer) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    r record;
BEGIN
    SELECT u.deleted, m.role_id, sr.name AS role,
           EXISTS (SELECT 1 FROM penguin_console.user_suspensions s WHERE s.user_id = u.id) AS suspended,
           EXISTS (SELECT 1 FROM auth.credentials c WHERE c.user_id = u.id AND c.method = 'EMAIL_PASSWORD' AND c.deleted IS NULL) AS has_password
      INTO r
      FROM public.users u LEFT JOIN public.staff_members m ON m.user_id = u.id
      LEFT JOIN public.staff_roles sr ON sr.id = m.role_id
     WHERE u.id = uid;
    IF NOT FOUND OR r.deleted IS NOT NULL THEN
        RETURN 'your account no longer exists';
    ELSIF r.role_id IS NULL THEN
        RETURN 'you are no longer a staff member';
    ELSIF r.suspended OR NOT r.has_password THEN
        RETURN 'your account is suspended';
    ELSIF role_at_sign_in IS NOT NULL AND r.role_id <> role_at_sign_in THEN
        RETURN format('your staff role changed (now %s)', COALESCE(r.role, '?'));
    END IF;
    RETURN NULL;
END $$;

-- The context of a console session, re-read from the tables on every call.
CREATE OR REPLACE FUNCTION penguin_console.session_ctx(sid uuid) RETURNS penguin_console.staff_ctx
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    s penguin_console.staff_sessions;
    why text;
    c penguin_console.staff_ctx;
BEGIN
    SELECT * INTO s FROM penguin_console.staff_sessions WHERE id = sid;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'your console session has ended; sign in again';
    ELSIF s.revoked IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401',
            MESSAGE = 'your console session was ended (' || COALESCE(s.revoked_why, 'signed out') || '); sign in again';
    ELSIF s.expires <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401',
            MESSAGE = format('your console session has expired (sessions last %s hours); sign in again',
                             round(extract(epoch FROM s.expires - s.created) / 3600));
    ELSIF s.last_used < now() - make_interval(mins => s.idle_minutes) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401',
            MESSAGE = format('your console session ended after %s minutes without activity; sign in again', s.idle_minutes);
    END IF;
    why := penguin_console.staff_refusal(s.user_id, s.role_id);
    IF why IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = why || '; sign in again';
    END IF;
    SELECT u.id, u.email, u.name, sr.name,
           ARRAY(SELECT p.name::text FROM public.staff_role_permissions rp JOIN public.permissions p ON p.id = rp.permission_id
                 WHERE rp.role_id = m.role_id AND p.name IS NOT NULL ORDER BY p.name)
      INTO c.user_id, c.email, c.name, c.role, c.perms
      FROM public.users u JOIN public.staff_members m ON m.user_id = u.id JOIN public.staff_roles sr ON sr.id = m.role_id
     WHERE u.id = s.user_id;
    c.session_id := s.id;
    c.host := s.client_host;
    c.agent := s.client_agent;
    c.pii := 'pii.view' = ANY(c.perms);
    c.list_all := 'tenants.read' = ANY(c.perms);
    c.detail_all := 'tenants.details' = ANY(c.perms);
    IF NOT c.detail_all THEN
        c.tenants := ARRAY(
            SELECT g.tenant_id FROM penguin_console.support_access_grants g
             WHERE 'tenants.view_as' = ANY(c.perms) AND g.staff_id = c.user_id::text AND g.closed IS NULL AND g.expires > now()
            UNION
            SELECT x.tenant_id FROM penguin_console.sandbox_tenants x WHERE 'tenants.read_sandbox' = ANY(c.perms));
        c.companies := ARRAY(SELECT co.id FROM public.companies co WHERE co.tenant_id = ANY(c.tenants));
    END IF;
    RETURN c;
END $$;

-- The stored bcrypt hash in the form pgcrypto's crypt() accepts ($2b$/$2y$ -> $2a$, the
-- same algorithm for passwords under 72 bytes); NULL for anything else.
CREATE OR REPLACE FUNCTION penguin_console.bcrypt_hash(h text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN h ~ '^\$2[aby]\$\d\d\$' THEN '$2a$' || substr(h, 5) ELSE NULL END
$$;

-- Signs a staff member in. Never raises for a refusal (so the failure count it writes
-- is kept): returns {ok, error, until} or {ok, token, ...}.
CREATE OR REPLACE FUNCTION penguin_console_api.sign_in(email text, password text, host text DEFAULT NULL, agent text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public, {crypto} AS $$
DECLARE
    key text := lower(btrim(left(COALESCE(email, ''), 320)));
    f penguin_console.staff_login_failures;
    cand record;
    stored text;
    ok boolean;
    max_failures constant integer := 5;
    lock_minutes constant integer := 15;
    sid uuid := gen_random_uuid();
    hours integer := penguin_console.config_int('console.session_absolute_hours', 12);
    idle integer := penguin_console.config_int('console.session_idle_minutes', 30);
    expires timestamptz;
    why text;
    perms text[];
BEGIN
    host := left(host, 255);
    agent := left(agent, 255);
    INSERT INTO penguin_console.staff_login_failures (email) VALUES (key) ON CONFLICT DO NOTHING;
    SELECT * INTO f FROM penguin_console.staff_login_failures WHERE staff_login_failures.email = key FOR UPDATE;
    IF f.locked_until IS NOT NULL AND f.locked_until > now() THEN
        INSERT INTO penguin_console.staff_sign_in_attempts (user_id, email, succeeded, reason, ip_address, user_agent)
        VALUES (NULL, key, false, 'locked', host, agent);
        RETURN jsonb_build_object('ok', false, 'error', 'locked', 'until', f.locked_until);
    END IF;
    IF f.locked_until IS NOT NULL THEN
        f.failed_count := 0; -- the lock has expired: count afresh
    END IF;

    SELECT u.id, m.role_id,
           (SELECT c.payload->>'crypt' FROM auth.credentials c
             WHERE c.user_id = u.id AND c.method = 'EMAIL_PASSWORD' AND c.deleted IS NULL
             ORDER BY c.created DESC LIMIT 1) AS hash
      INTO cand
      FROM public.users u JOIN public.staff_members m ON m.user_id = u.id
     WHERE lower(u.email) = key AND u.deleted IS NULL
     LIMIT 1;
    stored := penguin_console.bcrypt_hash(cand.hash);
    -- Compare against a dummy hash when there is nothing to compare with, so an unknown
    -- email costs the same bcrypt round as a known one.
    ok := crypt(COALESCE(password, ''), COALESCE(stored, (SELECT value FROM penguin_console.access_settings WHERE name = 'dummy_hash')))
          = COALESCE(stored, '-') AND stored IS NOT NULL AND length(COALESCE(password, '')) BETWEEN 1 AND 1024;
    IF ok THEN
        why := penguin_console.staff_refusal(cand.id, NULL);
        ok := why IS NULL;
    END IF;
    IF NOT ok THEN
        f.failed_count := f.failed_count + 1;
        UPDATE penguin_console.staff_login_failures
           SET failed_count = f.failed_count,
               locked_until = CASE WHEN f.failed_count >= max_failures THEN now() + make_interval(mins => lock_minutes) END,
               updated = now()
         WHERE staff_login_failures.email = key
        RETURNING locked_until INTO f.locked_until;
        INSERT INTO penguin_console.staff_sign_in_attempts (user_id, email, succeeded, reason, ip_address, user_agent)
        VALUES (cand.id, key, false, CASE WHEN cand.id IS NULL THEN 'unknown_email' WHEN why IS NOT NULL THEN 'refused' ELSE 'bad_password' END, host, agent);
        IF f.locked_until IS NOT NULL THEN
            RETURN jsonb_build_object('ok', false, 'error', 'locked', 'until', f.locked_until);
        END IF;
        RETURN jsonb_build_object('ok', false, 'error', 'bad_credentials');
    END IF;

    UPDATE penguin_console.staff_login_failures SET failed_count = 0, locked_until = NULL, updated = now()
     WHERE staff_login_failures.email = key;
    INSERT INTO penguin_console.staff_sign_in_attempts (user_id, email, succeeded, reason, ip_address, user_agent)
    VALUES (cand.id, key, true, 'ok', host, agent);
    expires := now() + make_interval(hours => hours);
    INSERT INTO penguin_console.staff_sessions (id, user_id, role_id, expires, idle_minutes, client_host, client_agent)
    VALUES (sid, cand.id, cand.role_id, expires, idle, host, agent);
    RETURN jsonb_build_object(
        'ok', true,
        'token', penguin_console.make_token(jsonb_build_object('v', 1, 'k', 'session', 'db', 'oltp', 'sid', sid,
                                                               'exp', extract(epoch FROM expires))),
        'expires', expires,
        'idle_minutes', idle);
END $$;

-- The asking staff member, their permissions and scope, and their session's limits.
CREATE OR REPLACE FUNCTION penguin_console_api.whoami() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
    s penguin_console.staff_sessions;
BEGIN
    SELECT * INTO s FROM penguin_console.staff_sessions WHERE id = c.session_id;
    RETURN to_jsonb(c) || jsonb_build_object('expires', s.expires, 'idle_minutes', s.idle_minutes, 'last_used', s.last_used);
END $$;

-- Tickets for the queue, OLAP and notifications databases: the current context, signed
-- with each database's key, valid 60 seconds. `activity` false for background work
-- (a scheduled sync), which does not keep an idle session alive.
CREATE OR REPLACE FUNCTION penguin_console_api.tickets(activity boolean DEFAULT true) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
    exp float8 := extract(epoch FROM clock_timestamp()) + 60;
    out jsonb := jsonb_build_object('expires', exp);
    db text;
BEGIN
    IF activity THEN
        PERFORM penguin_console.touch(c);
    END IF;
    FOREACH db IN ARRAY ARRAY['queue', 'olap', 'notifications'] LOOP
        out := out || jsonb_build_object(db, penguin_console.make_token(
            jsonb_build_object('v', 1, 'k', 'ticket', 'db', db, 'exp', exp, 'ctx', to_jsonb(c)), db));
    END LOOP;
    RETURN out;
END $$;

-- Ends the asking session.
CREATE OR REPLACE FUNCTION penguin_console_api.sign_out() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    sid uuid;
BEGIN
    BEGIN
        sid := (penguin_console_api.ctx()).session_id;
    EXCEPTION WHEN SQLSTATE 'PM401' THEN
        RETURN; -- already ended
    END;
    UPDATE penguin_console.staff_sessions SET revoked = now(), revoked_why = 'signed out' WHERE id = sid AND revoked IS NULL;
END $$;
