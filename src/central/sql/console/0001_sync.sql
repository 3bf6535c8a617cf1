-- The console's own objects on each platform database, created by
-- `penguin-admin install`. Everything lives in the `penguin_console` schema; the only
-- thing placed on the platform's own tables is a set of statement-level triggers
-- (penguin_console_sync_ins / _upd / _del / _trunc) that call log_changes().
-- Needs no superuser: the installing role must own the platform's tables or hold the
-- TRIGGER privilege on them.

-- One row per changed primary key, stamped with the writing transaction's id. The
-- sync pulls the keys whose transaction was not yet visible in its previous snapshot,
-- which is what makes long transactions that commit after a sync safe (see sync.rs).
CREATE TABLE IF NOT EXISTS penguin_console.sync_changes (
    xid  xid8  NOT NULL DEFAULT pg_current_xact_id(),
    tbl  text  NOT NULL,           -- 'schema.table'
    pk   jsonb                     -- primary key values as a JSON array; NULL = TRUNCATE
);
CREATE INDEX IF NOT EXISTS sync_changes_tbl_xid ON penguin_console.sync_changes (tbl, xid);

-- Each console cache that syncs from this database, with the snapshot it last took,
-- so the change log can be pruned below the oldest snapshot still in use.
CREATE TABLE IF NOT EXISTS penguin_console.sync_clients (
    client_id  uuid PRIMARY KEY,
    snapshot   pg_snapshot NOT NULL,
    last_seen  timestamptz NOT NULL DEFAULT now()
);

-- Changes below `horizon` have been pruned; a cache whose previous snapshot is older
-- than that reloads in full.
CREATE TABLE IF NOT EXISTS penguin_console.sync_horizon (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    horizon  xid8 NOT NULL
);
INSERT INTO penguin_console.sync_horizon (horizon) VALUES ('0'::xid8) ON CONFLICT DO NOTHING;

-- Statement-level trigger body. TG_ARGV[0] is the comma-separated list of the table's
-- quoted primary-key columns. Transition tables keep bulk loads (COPY) to one insert
-- per statement. SECURITY DEFINER so the platform's application roles need no grant
-- on this schema.
CREATE OR REPLACE FUNCTION penguin_console.log_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $fn$
DECLARE
    target text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
    keys   text := TG_ARGV[0];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO penguin_console.sync_changes (tbl, pk) VALUES (target, NULL);
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO penguin_console.sync_changes (tbl, pk)
                        SELECT $1, jsonb_build_array(%s) FROM new_rows', keys) USING target;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO penguin_console.sync_changes (tbl, pk)
                        SELECT $1, jsonb_build_array(%s) FROM old_rows', keys) USING target;
    ELSE
        EXECUTE format('INSERT INTO penguin_console.sync_changes (tbl, pk)
                        SELECT $1, k FROM (SELECT jsonb_build_array(%1$s) AS k FROM new_rows
                                           UNION SELECT jsonb_build_array(%1$s) FROM old_rows) s', keys)
            USING target;
    END IF;
    RETURN NULL;
END
$fn$;
