-- Enforced access, every database: tokens, the staff context every view and function
-- checks, masking, and the audit outbox writer. Re-applied by every `install`
-- (CREATE OR REPLACE), so a newer console updates it in place.
--
-- {crypto} is replaced by install with the schema pgcrypto lives in.
--
-- How a statement is authorised
-- - The client sets `penguin_console.token` for its transaction (SET LOCAL). On OLTP it
--   is the staff member's console session token; on the other three databases a ticket
--   that OLTP minted seconds before (see signin.sql), signed with that database's key.
-- - `penguin_console_api.ctx()` verifies it and returns who is asking and what they may
--   see. On OLTP it re-reads the session, the staff member and their role on every
--   transaction, so a suspension, removal or role change applies to the next statement.
--   The verified context is remembered for the rest of the transaction in a GUC signed
--   with the database's key (a client cannot forge it, and it names the backend and the
--   transaction's start, so it cannot be replayed elsewhere).
-- - Views call ctx() through scalar sub-selects, which PostgreSQL evaluates once per
--   query (an InitPlan), so a million-row view costs one verification.

CREATE SCHEMA IF NOT EXISTS penguin_console_api;

DO $$ BEGIN
    CREATE TYPE penguin_console.staff_ctx AS (
        user_id     uuid,
        email       text,
        name        text,
        role        text,
        perms       text[],
        session_id  uuid,
        -- sees personal data unmasked
        pii         boolean,
        -- sees every tenant in the tenant list (otherwise only `tenants`)
        list_all    boolean,
        -- sees every tenant's members, workspaces, sessions and settings
        detail_all  boolean,
        -- when not detail_all: the tenants whose details are visible (support grants,
        -- sandbox tenants for qa), and their workspaces (for OLAP, which has no tenants)
        tenants     uuid[],
        companies   uuid[],
        host        text,
        agent       text
    );
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION penguin_console.this_db() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT value FROM penguin_console.access_settings WHERE name = 'db'
$$;

-- UTC with microseconds and `Z`, the cache's format (text order is time order).
CREATE OR REPLACE FUNCTION penguin_console.utc_micros(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- HMAC-SHA256 of `purpose:payload` with the key of database `db` (this one by default), hex.
CREATE OR REPLACE FUNCTION penguin_console.sign(purpose text, payload text, db text DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console, {crypto} AS $$
    SELECT encode(hmac(convert_to(purpose || ':' || payload, 'UTF8'), k.key, 'sha256'), 'hex')
    FROM penguin_console.access_keys k WHERE k.db = COALESCE($3, penguin_console.this_db())
$$;

-- A signed token: base64(payload) '.' signature. Newlines of base64 are removed.
CREATE OR REPLACE FUNCTION penguin_console.make_token(payload jsonb, db text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    body text := translate(encode(convert_to(payload::text, 'UTF8'), 'base64'), E'\n', '');
    sig text := penguin_console.sign('token', body, db);
BEGIN
    IF sig IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM500', MESSAGE = 'the console''s keys are missing on this database; run `penguin-admin install` again';
    END IF;
    RETURN body || '.' || sig;
END $$;

-- Verifies a token signed with this database's key and not expired; its payload, or an
-- error saying why not.
CREATE OR REPLACE FUNCTION penguin_console.read_token(token text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    dot int := length(token) - position('.' IN reverse(token)) + 1;
    body text;
    payload jsonb;
BEGIN
    IF token IS NULL OR position('.' IN token) = 0 OR length(token) > 65536 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'your console session is not valid (malformed token); sign in again';
    END IF;
    body := substr(token, 1, dot - 1);
    IF penguin_console.sign('token', body) IS DISTINCT FROM substr(token, dot + 1) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401',
            MESSAGE = 'your console session is not valid on the ' || penguin_console.this_db() || ' database (the token was not signed by it); sign in again';
    END IF;
    BEGIN
        payload := convert_from(decode(body, 'base64'), 'UTF8')::jsonb;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'your console session is not valid (unreadable token); sign in again';
    END;
    IF payload->>'db' IS DISTINCT FROM penguin_console.this_db() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401',
            MESSAGE = 'this token was made for the ' || COALESCE(payload->>'db', '?') || ' database, not ' || penguin_console.this_db() || '; sign in again';
    END IF;
    IF (payload->>'exp')::float8 < extract(epoch FROM clock_timestamp()) THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401',
            MESSAGE = CASE WHEN payload->>'k' = 'ticket'
                           THEN 'the access ticket for the ' || penguin_console.this_db() || ' database has expired; ask OLTP for a new one'
                           ELSE 'your console session has expired; sign in again' END;
    END IF;
    RETURN payload;
END $$;

-- The session part of the context (OLTP defines it in signin.sql; elsewhere tickets
-- carry the context and this is never called).
CREATE OR REPLACE FUNCTION penguin_console.session_ctx(sid uuid) RETURNS penguin_console.staff_ctx
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'console sessions are verified on the OLTP database only';
END $$;

-- Who is asking. Raises PM401 when nobody valid is.
CREATE OR REPLACE FUNCTION penguin_console_api.ctx() RETURNS penguin_console.staff_ctx
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    tok text := current_setting('penguin_console.token', true);
    cached text := current_setting('penguin_console.ctx_cache', true);
    stamp text;
    payload jsonb;
    c penguin_console.staff_ctx;
    body text;
BEGIN
    IF tok IS NULL OR tok = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'not signed in: sign in to the console first';
    END IF;
    stamp := pg_backend_pid()::text || '/' || extract(epoch FROM now())::text || '/' || md5(tok);
    IF cached IS NOT NULL AND cached <> '' AND position('|' IN cached) > 0 THEN
        body := substr(cached, position('|' IN cached) + 1);
        IF split_part(cached, '|', 1) = penguin_console.sign('ctx', stamp || body) THEN
            RETURN jsonb_populate_record(NULL::penguin_console.staff_ctx, body::jsonb);
        END IF;
    END IF;
    payload := penguin_console.read_token(tok);
    IF penguin_console.this_db() = 'oltp' THEN
        IF payload->>'k' IS DISTINCT FROM 'session' THEN
            RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'this is not a console session token; sign in again';
        END IF;
        c := penguin_console.session_ctx((payload->>'sid')::uuid);
    ELSE
        IF payload->>'k' IS DISTINCT FROM 'ticket' THEN
            RAISE EXCEPTION USING ERRCODE = 'PM401', MESSAGE = 'this database accepts tickets minted by OLTP only; sign in again';
        END IF;
        c := jsonb_populate_record(NULL::penguin_console.staff_ctx, payload->'ctx');
    END IF;
    body := to_jsonb(c)::text;
    PERFORM set_config('penguin_console.ctx_cache', penguin_console.sign('ctx', stamp || body) || '|' || body, true);
    RETURN c;
END $$;

-- Whether the asking staff member holds `perm` (false when nobody is signed in).
CREATE OR REPLACE FUNCTION penguin_console_api.can(perm text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
    SELECT perm = ANY((penguin_console_api.ctx()).perms)
$$;

-- Personal data unmasked for the asking staff member.
CREATE OR REPLACE FUNCTION penguin_console_api.pii() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
    SELECT COALESCE((penguin_console_api.ctx()).pii, false)
$$;

-- Tenants in the tenant list: NULL = every tenant.
CREATE OR REPLACE FUNCTION penguin_console_api.list_scope() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
    SELECT CASE WHEN c.list_all THEN NULL ELSE COALESCE(c.tenants, '{}') END FROM penguin_console_api.ctx() c
$$;

-- Tenants whose details are visible: NULL = every tenant.
CREATE OR REPLACE FUNCTION penguin_console_api.detail_scope() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
    SELECT CASE WHEN c.detail_all THEN NULL ELSE COALESCE(c.tenants, '{}') END FROM penguin_console_api.ctx() c
$$;

-- Workspaces whose details are visible: NULL = every workspace.
CREATE OR REPLACE FUNCTION penguin_console_api.company_scope() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
    SELECT CASE WHEN c.detail_all THEN NULL ELSE COALESCE(c.companies, '{}') END FROM penguin_console_api.ctx() c
$$;

-- The context, after checking the permission; raises 42501 with the role and permission.
CREATE OR REPLACE FUNCTION penguin_console.require(perm text) RETURNS penguin_console.staff_ctx
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
BEGIN
    IF NOT (perm = ANY(c.perms)) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) does not allow this (needs the `%s` permission)', c.role, perm);
    END IF;
    RETURN c;
END $$;

-- Raises PM403 (a forbidden tenant, said plainly) unless the tenant's details are visible.
CREATE OR REPLACE FUNCTION penguin_console.require_tenant(c penguin_console.staff_ctx, tenant uuid) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, penguin_console AS $$
BEGIN
    IF NOT c.detail_all AND NOT (tenant = ANY(COALESCE(c.tenants, '{}'))) THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = format('your role (%s) cannot act on tenant %s (outside the tenants it may see)', c.role, tenant);
    END IF;
END $$;

-- ---------------------------------------------------------------------------------
-- Masking, done here so masked values never leave the server. Same shapes as the
-- desktop's own masking (src/auth/masking.rs): enough to tell rows apart, nothing that
-- identifies a person.

-- alice.moreau@acme.test -> a•••@•••.test
CREATE OR REPLACE FUNCTION penguin_console_api.mask_email(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN v IS NULL THEN NULL
        WHEN v = '' THEN ''
        WHEN position('@' IN v) = 0 THEN '•••'
        ELSE left(v, 1) || '•••@•••' || COALESCE(substring(v FROM '(\.[^.@]*)$'), '')
    END
$$;

-- Alice Moreau -> A. M.
CREATE OR REPLACE FUNCTION penguin_console_api.mask_name(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN NULL ELSE
        (SELECT string_agg(upper(left(w, 1)) || '.', ' ' ORDER BY n)
         FROM regexp_split_to_table(btrim(v), '\s+') WITH ORDINALITY AS t(w, n) WHERE w <> '')
    END
$$;

-- 203.0.113.45 -> 203.0.113.•  (IPv6 keeps its first three groups)
CREATE OR REPLACE FUNCTION penguin_console_api.mask_ip(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN v IS NULL THEN NULL
        WHEN v ~ '^\d+\.\d+\.\d+\.\d+' THEN substring(v FROM '^(\d+\.\d+\.\d+)\.') || '.•'
        WHEN v ~ '^[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F]*:' THEN substring(v FROM '^([0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F]*):') || ':•••'
        ELSE '•••'
    END
$$;

-- Machine-written text (errors, logs, payloads): e-mail addresses, IP addresses, phone
-- numbers and long tokens are masked; the rest stays readable for diagnosis.
CREATE OR REPLACE FUNCTION penguin_console_api.mask_text(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN NULL ELSE
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(v,
            -- e-mail addresses: first letter and top-level domain kept
            '([A-Za-z0-9])[A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+(\.[A-Za-z]{2,})', '\1•••@•••\2', 'g'),
            -- phone numbers: 8+ digits with spaces, dashes or brackets, not part of an id
            '(?<![0-9A-Za-z.-])\+?\d[\d ()-]{6,}\d(?![0-9A-Za-z-])', '•••', 'g'),
            -- IPv4 addresses: the host part
            '(?<![0-9.])(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}(?![0-9])', '\1.•', 'g'),
            -- long tokens (API keys, session tokens); UUIDs are ids and stay
            '[A-Za-z0-9_]{32,}', '•••', 'g')
    END
$$;

-- The same masking applied to every string value of a JSON document (keys, numbers and
-- the document's shape stay as they are).
CREATE OR REPLACE FUNCTION penguin_console_api.mask_json(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    out jsonb;
BEGIN
    CASE jsonb_typeof(v)
        WHEN 'string' THEN RETURN to_jsonb(penguin_console_api.mask_text(v #>> '{}'));
        WHEN 'object' THEN
            SELECT COALESCE(jsonb_object_agg(e.key, penguin_console_api.mask_json(e.value)), '{}'::jsonb)
              INTO out FROM jsonb_each(v) e;
            RETURN out;
        WHEN 'array' THEN
            SELECT COALESCE(jsonb_agg(penguin_console_api.mask_json(e.value) ORDER BY e.n), '[]'::jsonb)
              INTO out FROM jsonb_array_elements(v) WITH ORDINALITY e(value, n);
            RETURN out;
        ELSE RETURN v;
    END CASE;
END $$;

-- ---------------------------------------------------------------------------------
-- The audit outbox writer every action function calls in its own transaction. The
-- identity comes from the verified context, never from the client; the entry carries
-- the time of the action and the client's host, and is signed so the OLAP database
-- can tell a relayed entry from a forged one.
CREATE OR REPLACE FUNCTION penguin_console.audit(
    c penguin_console.staff_ctx, action text, resource_type text, resource_id text, tenant_id text,
    old_values jsonb, new_values jsonb, notes text DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    id uuid := gen_random_uuid();
    entry jsonb := jsonb_build_object(
        'admin_user_id', COALESCE(c.user_id::text, c.email),
        'actor_role', c.role,
        'action', action,
        'resource_type', resource_type,
        'resource_id', resource_id,
        'tenant_id', COALESCE(tenant_id, '-'),
        'old_values', old_values,
        'new_values', new_values,
        'ip_address', c.host,
        'user_agent', c.agent,
        'notes', notes,
        'at', penguin_console.utc_micros(clock_timestamp()),
        'db', penguin_console.this_db());
BEGIN
    INSERT INTO penguin_console.audit_outbox (id, entry, sig, actor)
    VALUES (id, entry, penguin_console.sign('audit', id::text || '|' || entry::text), COALESCE(c.user_id::text, c.email));
    RETURN id;
END $$;

-- Records an event the desktop reports (an export written, a support view opened).
-- Only these kinds, always with the verified identity.
CREATE OR REPLACE FUNCTION penguin_console_api.record_event(
    action text, resource_type text, resource_id text, tenant_id text, details jsonb, notes text DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
BEGIN
    IF action NOT IN ('audit.exported', 'team.exported', 'workspace.exported', 'payments.exported',
                      'reconciliation.exported', 'invoice.pdf_downloaded', 'tenant.support_viewed') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not an event the console records this way', action);
    END IF;
    IF length(COALESCE(details::text, '')) > 100000 OR length(COALESCE(notes, '')) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the event is too large to record';
    END IF;
    PERFORM penguin_console.touch(c);
    RETURN penguin_console.audit(c, action, resource_type, resource_id, tenant_id, NULL, details, notes);
END $$;

-- Marks the session used (idle timeout); OLTP only, a no-op elsewhere.
CREATE OR REPLACE FUNCTION penguin_console.touch(c penguin_console.staff_ctx) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
BEGIN
    IF penguin_console.this_db() = 'oltp' AND c.session_id IS NOT NULL THEN
        UPDATE penguin_console.staff_sessions SET last_used = now() WHERE id = c.session_id;
    END IF;
END $$;
