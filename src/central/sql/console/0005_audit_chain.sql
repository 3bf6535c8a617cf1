-- OLAP only: the hash chain over admin_audit_log, and which outbox entries have been
-- delivered (so a retried delivery never writes an entry twice).
-- Links are made in `seq` order; each hash covers the previous hash and the entry.
CREATE TABLE IF NOT EXISTS penguin_console.audit_chain (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audit_id   bigint NOT NULL UNIQUE,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
CREATE TABLE IF NOT EXISTS penguin_console.audit_delivered (
    outbox_id  uuid PRIMARY KEY,
    audit_id   bigint NOT NULL
);
