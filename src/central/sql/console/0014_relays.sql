-- Relays of the audit and notification outboxes by the desktops themselves (see
-- src/central/sql/api/relay.sql): entries are signed by the function that writes them,
-- verified by the database that receives them, and removed from the outbox only on a
-- receipt signed by the receiving database.

-- OLTP's notification outbox gains a signature and the staff member who caused it.
DO $$ BEGIN
    IF to_regclass('penguin_console.notification_outbox') IS NOT NULL THEN
        ALTER TABLE penguin_console.notification_outbox ADD COLUMN IF NOT EXISTS sig text;
        ALTER TABLE penguin_console.notification_outbox ADD COLUMN IF NOT EXISTS actor text;
    END IF;
END $$;
