-- Notifications for the transactional-email service (password resets, invitations,
-- removal notices). Functions on OLTP queue them in OLTP's outbox in the action's own
-- transaction (penguin_console.notify); desktops relay them to the notifications
-- database, which verifies OLTP's signature (see relay.sql). Applied to OLTP and to the
-- notifications database; each defines what it needs.

DO $body$
BEGIN
IF penguin_console.this_db() = 'oltp' THEN
    -- Queues a notification in the caller's transaction; returns its id.
    CREATE OR REPLACE FUNCTION penguin_console.notify(c penguin_console.staff_ctx, user_id uuid, tenant_id uuid,
                                                      kind text, title text, message text) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
    DECLARE
        id uuid := gen_random_uuid();
        n jsonb := jsonb_build_object('user_id', user_id, 'tenant_id', tenant_id, 'kind', kind, 'title', title,
                                      'message', message);
    BEGIN
        INSERT INTO penguin_console.notification_outbox (id, notification, sig, actor)
        VALUES (id, n, penguin_console.sign('notification', id::text || '|' || n::text), COALESCE(c.user_id::text, c.email));
        RETURN id;
    END $$;

    -- The notifications the asking staff member queued, waiting for relay.
    CREATE OR REPLACE FUNCTION penguin_console_api.notifications_pending(max_rows integer DEFAULT 500)
    RETURNS TABLE (id uuid, notification text, sig text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console_api.ctx();
    BEGIN
        RETURN QUERY
            SELECT o.id, o.notification::text, o.sig FROM penguin_console.notification_outbox o
            WHERE o.sig IS NOT NULL AND (o.actor = COALESCE(c.user_id::text, c.email) OR 'audit.read' = ANY(c.perms))
            ORDER BY o.created, o.id LIMIT LEAST(GREATEST(max_rows, 1), 5000);
    END $$;
END IF;

IF penguin_console.this_db() = 'notifications' THEN
    -- Inserts notifications relayed from OLTP (verified with OLTP's key) once each, as
    -- e-mails for the transactional-email service; answers with a receipt.
    CREATE OR REPLACE FUNCTION penguin_console_api.notifications_deliver(entries jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    DECLARE
        c penguin_console.staff_ctx := penguin_console_api.ctx();
        e record;
        n jsonb;
        ids jsonb := '[]'::jsonb;
    BEGIN
        FOR e IN SELECT * FROM jsonb_to_recordset(entries) AS x(id uuid, notification text, sig text) LOOP
            IF penguin_console.sign('notification', e.id::text || '|' || e.notification, 'oltp') IS DISTINCT FROM e.sig THEN
                RAISE EXCEPTION USING ERRCODE = 'PM400',
                    MESSAGE = format('notification %s is not signed by the OLTP database (forged or altered); nothing was delivered', e.id);
            END IF;
            n := e.notification::jsonb;
            INSERT INTO public.notifications (id, user_id, tenant_id, type, title, message, channel)
            VALUES (e.id, (n->>'user_id')::uuid, (n->>'tenant_id')::uuid, n->>'kind', n->>'title', n->>'message', 'email')
            ON CONFLICT (id) DO NOTHING;
            ids := ids || to_jsonb(e.id::text);
        END LOOP;
        RETURN penguin_console.receipt('notification', 'oltp', ids);
    END $$;
END IF;
END $body$;
