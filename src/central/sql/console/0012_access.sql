-- Every database: what enforced access needs (see src/central/sql/api/access.sql and
-- docs/ARCHITECTURE.md). Only the definer functions read these tables; the desktop
-- login has no privilege on the penguin_console schema.

-- One HMAC key per database, and every database holds all four: a database signs its own
-- tokens and tickets with its own key (a ticket for one database is refused by the
-- others), OLTP mints tickets for the other three, and OLAP / notifications verify the
-- audit and notification entries relayed to them from the database that wrote them.
CREATE TABLE IF NOT EXISTS penguin_console.access_keys (
    db       text PRIMARY KEY CHECK (db IN ('oltp', 'queue', 'olap', 'notifications')),
    key      bytea NOT NULL CHECK (length(key) >= 32),
    created  timestamptz NOT NULL DEFAULT now()
);

-- Which database this is (`db`), written by install.
CREATE TABLE IF NOT EXISTS penguin_console.access_settings (
    name   text PRIMARY KEY,
    value  text NOT NULL
);

-- The audit outbox gains an order (relays ask for entries after a sequence number) and
-- a signature (the OLAP database verifies each relayed entry before it chains it).
ALTER TABLE penguin_console.audit_outbox ADD COLUMN IF NOT EXISTS seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE penguin_console.audit_outbox ADD COLUMN IF NOT EXISTS sig text;
ALTER TABLE penguin_console.audit_outbox ADD COLUMN IF NOT EXISTS actor text;
CREATE UNIQUE INDEX IF NOT EXISTS audit_outbox_seq ON penguin_console.audit_outbox (seq);
