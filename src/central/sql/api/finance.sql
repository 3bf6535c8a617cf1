-- The money journal, OLTP only (see src/finance/actions.rs). A change made in Stripe
-- cannot share a transaction with the database, so each money action is journaled here
-- BEFORE its request goes out (state `pending`, the exact request, a "requested" audit
-- entry) and completed after Stripe answers (succeeded / failed, with the "done" entry).
-- The action's id is the request's Idempotency-Key: a pending action whose answer was
-- lost is replayed with the same key and Stripe acts once.
--
-- The identity always comes from ctx(): the journal's actor columns and both audit
-- entries name the verified staff member. The permission depends on the kind of action
-- (penguin_console.money_kind). Refusals: 42501 (permission or scope), PM400 bad input,
-- PM404 not found, PM409 already completed.

-- What each kind of money action is: the permission it needs, its audit action and
-- resource type, the request it sends (`{target}` is the target's id) and whether a
-- reason is required. Raises PM400 for a kind the console does not know.
CREATE OR REPLACE FUNCTION penguin_console.money_kind(kind text,
    OUT perm text, OUT audit_action text, OUT resource_type text, OUT method text, OUT path text, OUT needs_reason boolean)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, penguin_console AS $$
BEGIN
    SELECT k.perm, k.audit_action, k.resource_type, k.method, k.path, k.needs_reason
      INTO perm, audit_action, resource_type, method, path, needs_reason
      FROM (VALUES
        ('refund', 'payments.refund', 'payment.refunded', 'payment', 'POST', '/v1/refunds', true),
        ('retry_payment', 'payments.refund', 'invoice.payment_retried', 'invoice', 'POST', '/v1/invoices/{target}/pay', false),
        ('resend_invoice', 'invoices.manage', 'invoice.resent', 'invoice', 'POST', '/v1/invoices/{target}/send', false),
        ('create_invoice', 'invoices.manage', 'invoice.created', 'invoice', 'POST', '/v1/invoices', true),
        ('add_invoice_item', 'invoices.manage', 'invoice.item_added', 'invoice', 'POST', '/v1/invoiceitems', true),
        ('finalize_invoice', 'invoices.manage', 'invoice.finalized', 'invoice', 'POST', '/v1/invoices/{target}/finalize', true),
        ('discard_invoice', 'invoices.manage', 'invoice.discarded', 'invoice', 'DELETE', '/v1/invoices/{target}', true),
        ('cancel_subscription', 'subscriptions.manage', 'subscription.canceled', 'subscription', 'DELETE', '/v1/subscriptions/{target}', true),
        ('cancel_subscription_at_period_end', 'subscriptions.manage', 'subscription.cancel_scheduled', 'subscription', 'POST', '/v1/subscriptions/{target}', true),
        ('pause_subscription', 'subscriptions.manage', 'subscription.paused', 'subscription', 'POST', '/v1/subscriptions/{target}', true),
        ('apply_coupon', 'subscriptions.manage', 'subscription.coupon_applied', 'subscription', 'POST', '/v1/subscriptions/{target}', true),
        ('change_plan', 'subscriptions.manage', 'subscription.plan_changed', 'subscription', 'POST', '/v1/subscriptions/{target}', true)
      ) AS k(kind, perm, audit_action, resource_type, method, path, needs_reason)
     WHERE k.kind = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not a money action the console knows', $1);
    END IF;
END $$;

-- The value of `key` in a request form ([[key, value], …]), the first one; NULL if absent.
CREATE OR REPLACE FUNCTION penguin_console.form_value(form jsonb, key text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT p->>1 FROM jsonb_array_elements(form) WITH ORDINALITY AS x(p, n) WHERE p->>0 = key ORDER BY n LIMIT 1
$$;

-- Records a pending money action after checking the permission its kind needs and the
-- tenant's scope; writes its "requested" audit entry; returns the action's id, which the
-- client sends as the request's Idempotency-Key. `form` is the request's parameters as
-- [[key, value], …]; `before` the state the client saw (Stripe's live state where it
-- read it), kept in the journal and the audit entry.
CREATE OR REPLACE FUNCTION penguin_console_api.finance_journal(
    kind text, target text, tenant text, method text, path text, form jsonb, reason text, before jsonb
) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    k record := penguin_console.money_kind($1);
    c penguin_console.staff_ctx := penguin_console.require(k.perm);
    action_id uuid := gen_random_uuid();
    why text := NULLIF(btrim(COALESCE($7, '')), '');
    expected text;
    amount text;
BEGIN
    IF $2 IS NULL OR $2 !~ '^[A-Za-z0-9_]{1,255}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not a Stripe id', $2);
    END IF;
    IF $3 IS NOT NULL THEN
        IF $3 !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('`%s` is not a tenant id', $3);
        END IF;
        PERFORM penguin_console.require_tenant(c, $3::uuid);
    END IF;
    expected := replace(k.path, '{target}', $2);
    IF $4 IS DISTINCT FROM k.method OR $5 IS DISTINCT FROM expected THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = format('a %s of %s is sent as %s %s, not %s %s', $1, $2, k.method, expected, $4, $5);
    END IF;
    IF $6 IS NULL OR jsonb_typeof($6) <> 'array' OR length($6::text) > 65536
       OR EXISTS (SELECT 1 FROM jsonb_array_elements($6) p
                  WHERE jsonb_typeof(p) <> 'array' OR jsonb_array_length(p) <> 2
                     OR jsonb_typeof(p->0) <> 'string' OR jsonb_typeof(p->1) <> 'string') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the request must be a list of [name, value] text pairs (at most 64 kB)';
    END IF;
    IF length(COALESCE($8::text, '')) > 65536 OR length(COALESCE(why, '')) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the reason (4,000 characters) or the state before (64 kB) is too long';
    END IF;
    IF k.needs_reason AND why IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('a %s needs a reason (it goes into the audit log)', replace($1, '_', ' '));
    END IF;
    -- The request acts on the target it names.
    IF $1 = 'refund' THEN
        IF penguin_console.form_value($6, 'charge') IS DISTINCT FROM $2 THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('the refund request must name charge %s', $2);
        END IF;
        amount := penguin_console.form_value($6, 'amount');
        IF amount IS NULL OR amount !~ '^[1-9][0-9]{0,15}$' THEN
            RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'a refund needs a positive amount in minor units';
        END IF;
    ELSIF $1 = 'create_invoice' AND penguin_console.form_value($6, 'customer') IS DISTINCT FROM $2 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('the invoice must be for customer %s', $2);
    ELSIF $1 = 'add_invoice_item' AND penguin_console.form_value($6, 'invoice') IS DISTINCT FROM $2 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = format('the invoice item must be added to invoice %s', $2);
    END IF;
    -- Whoever the request says asked for it is the staff member asking.
    IF penguin_console.form_value($6, 'metadata[requested_by]') IS DISTINCT FROM c.email
       AND EXISTS (SELECT 1 FROM jsonb_array_elements($6) p WHERE p->>0 = 'metadata[requested_by]') THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'metadata[requested_by] must be your own e-mail address';
    END IF;
    INSERT INTO penguin_console.money_actions
        (id, kind, target, tenant_id, method, path, form, actor_id, actor_email, actor_role, reason, before, state)
    VALUES (action_id, $1, $2, $3, k.method, expected, $6, COALESCE(c.user_id::text, c.email), COALESCE(c.email, ''),
            c.role, why, $8, 'pending');
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, k.audit_action || '.requested', k.resource_type, $2, $3, $8,
        jsonb_build_object('state', 'pending', 'action_id', action_id, 'request', $6), why);
    RETURN action_id;
END $$;

-- Completes a pending money action with Stripe's answer: `succeeded` with Stripe's
-- result, or failed with Stripe's refusal (which changed nothing); writes the "done"
-- entry. Only the staff member who started it, or (a resume) someone holding the
-- permission its kind needs, may complete it. Returns {kind, target, state, requested_by}.
CREATE OR REPLACE FUNCTION penguin_console_api.finance_complete(action_id uuid, succeeded boolean, result jsonb, error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console_api.ctx();
    me text := COALESCE(c.user_id::text, c.email);
    a penguin_console.money_actions;
    k record;
    new_state text := CASE WHEN $2 THEN 'succeeded' ELSE 'failed' END;
    err text := CASE WHEN $2 THEN NULL ELSE left(COALESCE(NULLIF($4, ''), 'refused by Stripe'), 4000) END;
    res jsonb := CASE WHEN $2 THEN $3 ELSE NULL END;
    done jsonb;
BEGIN
    IF $1 IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'which action, and did Stripe accept it?';
    END IF;
    SELECT * INTO a FROM penguin_console.money_actions m WHERE m.id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('no money action %s', $1);
    END IF;
    k := penguin_console.money_kind(a.kind);
    IF a.actor_id IS DISTINCT FROM me THEN
        IF NOT (k.perm = ANY(c.perms)) THEN
            RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format(
                'money action %s was started by %s; completing it for them needs the `%s` permission, which your role (%s) does not have',
                a.id, a.actor_email, k.perm, c.role);
        END IF;
        IF a.tenant_id IS NOT NULL THEN
            PERFORM penguin_console.require_tenant(c, a.tenant_id::uuid);
        END IF;
    END IF;
    IF a.state <> 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = format('money action %s is already completed (%s)', a.id, a.state);
    END IF;
    IF length(COALESCE(res::text, '')) > 65536 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'Stripe''s result is too large to record (64 kB); record its summary';
    END IF;
    UPDATE penguin_console.money_actions m
       SET state = new_state, result = res, error = err, completed = now(), completed_by = me
     WHERE m.id = a.id;
    PERFORM penguin_console.touch(c);
    done := jsonb_build_object('state', new_state, 'action_id', a.id, 'stripe', res, 'error', err);
    IF a.actor_id IS DISTINCT FROM me THEN
        done := done || jsonb_build_object('requested_by', a.actor_id, 'requested_by_role', a.actor_role);
    END IF;
    PERFORM penguin_console.audit(c, CASE WHEN $2 THEN k.audit_action ELSE k.audit_action || '.failed' END,
        k.resource_type, a.target, a.tenant_id, a.before, done, a.reason);
    RETURN jsonb_build_object('kind', a.kind, 'target', a.target, 'state', new_state, 'requested_by', a.actor_id);
END $$;

-- The pending money actions the asking staff member may complete (their own, and those
-- of kinds whose permission they hold, within their tenant scope), oldest first, with
-- everything needed to replay the request with the same Idempotency-Key.
CREATE OR REPLACE FUNCTION penguin_console_api.finance_pending()
RETURNS TABLE (id uuid, kind text, target text, tenant_id text, method text, path text, form jsonb, reason text,
               before jsonb, actor_id text, actor_email text, actor_role text, created timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
    SELECT a.id, a.kind, a.target, a.tenant_id, a.method, a.path, a.form, a.reason, a.before,
           a.actor_id, a.actor_email, a.actor_role, a.created
      FROM penguin_console.money_actions a, penguin_console_api.ctx() c
     WHERE a.state = 'pending'
       AND (a.actor_id = COALESCE(c.user_id::text, c.email)
            OR ((penguin_console.money_kind(a.kind)).perm = ANY(c.perms)
                AND (c.detail_all OR a.tenant_id IS NULL OR a.tenant_id = ANY(COALESCE(c.tenants, '{}')::text[]))))
     ORDER BY a.created, a.id
$$;
