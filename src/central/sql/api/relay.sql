-- Relays, every database: the audit outbox of each database is delivered to the OLAP
-- admin_audit_log (and chained there), OLTP's notification outbox to the notifications
-- database. A desktop relays the entries its staff member wrote (a role with audit.read
-- relays everyone's); the watcher, with the owner's rights, relays whatever is left.
--
-- A relay cannot forge, alter or drop an entry: each entry is signed by the function that
-- wrote it with its database's key and verified by the receiving database, which answers
-- with a receipt signed with its own key; only that receipt removes entries from the
-- outbox. Re-delivering is harmless (each outbox id is delivered once).

-- The entries waiting in this database's audit outbox that the asking staff member may
-- relay: theirs, or every entry for a role with audit.read.
CREATE OR REPLACE FUNCTION penguin_console_api.audit_pending(max_rows integer DEFAULT 500)
RETURNS TABLE (id uuid, entry text, sig text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
BEGIN
    RETURN QUERY
        SELECT o.id, o.entry::text, o.sig FROM penguin_console.audit_outbox o
        WHERE o.sig IS NOT NULL AND (o.actor = COALESCE(c.user_id::text, c.email) OR 'audit.read' = ANY(c.perms))
        ORDER BY o.seq LIMIT LEAST(GREATEST(max_rows, 1), 5000);
END $$;

-- Removes the outbox entries a receipt of the receiving database names.
-- receipt = {"db": "olap", "kind": "audit", "ids": [...], "sig": "..."}
CREATE OR REPLACE FUNCTION penguin_console_api.relay_ack(receipt jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
    ids jsonb := receipt->'ids';
    n integer;
BEGIN
    IF receipt->>'kind' NOT IN ('audit', 'notification')
       OR penguin_console.sign('receipt', (receipt->>'kind') || '|' || penguin_console.this_db() || '|' || ids::text, receipt->>'db')
          IS DISTINCT FROM receipt->>'sig' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'this delivery receipt was not signed by the receiving database; nothing removed';
    END IF;
    IF receipt->>'kind' = 'audit' THEN
        DELETE FROM penguin_console.audit_outbox WHERE id IN (SELECT (x #>> '{}')::uuid FROM jsonb_array_elements(ids) x);
    ELSE
        DELETE FROM penguin_console.notification_outbox WHERE id IN (SELECT (x #>> '{}')::uuid FROM jsonb_array_elements(ids) x);
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- The signed receipt this database gives for `ids` relayed from database `src`.
CREATE OR REPLACE FUNCTION penguin_console.receipt(kind text, src text, ids jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, penguin_console AS $$
    SELECT jsonb_build_object('db', penguin_console.this_db(), 'kind', kind, 'ids', ids,
                              'sig', penguin_console.sign('receipt', kind || '|' || src || '|' || ids::text))
$$;
