-- Enforced access, every database: what the sync reads besides the role-scoped views
-- (which install generates, see src/sync/policy.rs). Re-applied by every install.

-- The change log (keys only; the views decide what of each row a role sees).
CREATE OR REPLACE VIEW penguin_console_api.sync_changes AS
    SELECT c.xid, c.tbl, c.pk FROM penguin_console.sync_changes c
    WHERE (SELECT penguin_console_api.can('sync.run'));

-- Changes below the horizon were pruned.
CREATE OR REPLACE VIEW penguin_console_api.sync_horizon AS
    SELECT h.horizon FROM penguin_console.sync_horizon h
    WHERE (SELECT penguin_console_api.can('sync.run'));

-- Records the snapshot a cache now holds and prunes the change log below the oldest
-- snapshot still in use (30 days).
CREATE OR REPLACE FUNCTION penguin_console_api.sync_register(cache_id uuid, snap text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
BEGIN
    PERFORM penguin_console.require('sync.run');
    INSERT INTO penguin_console.sync_clients (client_id, snapshot, last_seen) VALUES (cache_id, snap::pg_snapshot, now())
    ON CONFLICT ON CONSTRAINT sync_clients_pkey DO UPDATE SET snapshot = EXCLUDED.snapshot, last_seen = now();
    WITH h AS (SELECT min(pg_snapshot_xmin(c.snapshot)) AS x FROM penguin_console.sync_clients c
               WHERE c.last_seen > now() - interval '30 days'),
         d AS (DELETE FROM penguin_console.sync_changes WHERE xid < (SELECT x FROM h))
    UPDATE penguin_console.sync_horizon SET horizon = GREATEST(horizon, (SELECT x FROM h))
    WHERE (SELECT x FROM h) IS NOT NULL;
END $$;
