-- The audit log, OLAP only: delivery of relayed entries and the hash chain.

-- The canonical text of an entry that the chain hashes: its columns as text, as a JSON
-- array (the same form `penguin-admin audit verify` recomputes in Rust).
CREATE OR REPLACE FUNCTION penguin_console.audit_canonical(a public.admin_audit_log) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT '[' || array_to_string(ARRAY[
        COALESCE(to_json(a.id::text)::text, 'null'),
        COALESCE(to_json(penguin_console.utc_micros(a.creation_time))::text, 'null'),
        COALESCE(to_json(a.admin_user_id)::text, 'null'),
        COALESCE(to_json(a.action)::text, 'null'),
        COALESCE(to_json(a.resource_type)::text, 'null'),
        COALESCE(to_json(a.resource_id)::text, 'null'),
        COALESCE(to_json(a.tenant_id)::text, 'null'),
        COALESCE(to_json(a.old_values::text)::text, 'null'),
        COALESCE(to_json(a.new_values::text)::text, 'null'),
        COALESCE(to_json(a.ip_address)::text, 'null'),
        COALESCE(to_json(a.user_agent)::text, 'null'),
        COALESCE(to_json(a.notes)::text, 'null'),
        COALESCE(to_json(a.metadata::text)::text, 'null'),
        COALESCE(to_json(a.data_classification::text)::text, 'null'),
        COALESCE(to_json(a.retention_category::text)::text, 'null')], ',') || ']'
$$;

-- Chains every entry not chained yet, in id order. The caller holds the chain lock.
CREATE OR REPLACE FUNCTION penguin_console.audit_chain_pending() RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console, public, {crypto} AS $$
DECLARE
    prev text;
    a public.admin_audit_log;
    h text;
    n integer := 0;
BEGIN
    SELECT hash INTO prev FROM penguin_console.audit_chain ORDER BY seq DESC LIMIT 1;
    prev := COALESCE(prev, repeat('0', 64));
    FOR a IN SELECT l.* FROM public.admin_audit_log l
             WHERE NOT EXISTS (SELECT 1 FROM penguin_console.audit_chain c WHERE c.audit_id = l.id) ORDER BY l.id LOOP
        h := encode(digest(convert_to(prev || penguin_console.audit_canonical(a), 'UTF8'), 'sha256'), 'hex');
        INSERT INTO penguin_console.audit_chain (audit_id, prev_hash, hash) VALUES (a.id, prev, h);
        prev := h;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Delivers entries relayed from database `src` (as audit_pending returned them):
-- verifies each signature with `src`'s key, inserts it once, chains, and answers with a
-- receipt for relay_ack on `src`. A bad signature refuses the whole batch.
CREATE OR REPLACE FUNCTION penguin_console_api.audit_deliver(src text, entries jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
    e record;
    e_json jsonb;
    audit_id bigint;
    ids jsonb := '[]'::jsonb;
BEGIN
    IF src NOT IN ('oltp', 'queue', 'olap', 'notifications') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('unknown source database `%s`', src);
    END IF;
    PERFORM pg_advisory_xact_lock(280603412820); -- "AUDIT", shared with the Rust delivery
    FOR e IN SELECT * FROM jsonb_to_recordset(entries) AS x(id uuid, entry text, sig text) LOOP
        IF penguin_console.sign('audit', e.id::text || '|' || e.entry, src) IS DISTINCT FROM e.sig THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400',
                MESSAGE = format('audit entry %s relayed from the %s database is not signed by it (forged or altered); nothing was delivered', e.id, src);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM penguin_console.audit_delivered d WHERE d.outbox_id = e.id) THEN
            e_json := e.entry::jsonb;
            INSERT INTO public.admin_audit_log (creation_time, admin_user_id, action, resource_type, resource_id, tenant_id,
                                                old_values, new_values, ip_address, user_agent, notes, metadata,
                                                data_classification, retention_category)
            VALUES (COALESCE((e_json->>'at')::timestamptz, now()), e_json->>'admin_user_id', e_json->>'action',
                    e_json->>'resource_type', e_json->>'resource_id', e_json->>'tenant_id', e_json->'old_values',
                    e_json->'new_values', e_json->>'ip_address', e_json->>'user_agent', e_json->>'notes',
                    jsonb_build_object('source', 'penguin-admin', 'outbox_id', e.id::text, 'actor_role', e_json->>'actor_role',
                                       'db', src),
                    'internal', 'compliance')
            RETURNING id INTO audit_id;
            INSERT INTO penguin_console.audit_delivered (outbox_id, audit_id) VALUES (e.id, audit_id);
        END IF;
        ids := ids || to_jsonb(e.id::text);
    END LOOP;
    PERFORM penguin_console.audit_chain_pending();
    RETURN penguin_console.receipt('audit', src, ids);
END $$;
