-- Money actions sent to Stripe (refunds, retries, cancellations…): a journal written
-- BEFORE the request goes out, in the same transaction as its "requested" audit entry,
-- and completed after Stripe answers with its "done" entry. The row's id is the
-- request's Idempotency-Key, so a pending action whose answer was lost is replayed
-- with the same key and Stripe acts once. See src/finance/actions.rs.
CREATE TABLE IF NOT EXISTS penguin_console.money_actions (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL,
    target        text NOT NULL,
    tenant_id     text,
    method        text NOT NULL,
    path          text NOT NULL,
    form          jsonb NOT NULL,
    actor_id      text NOT NULL,
    actor_email   text NOT NULL,
    actor_role    text NOT NULL,
    reason        text,
    before        jsonb,
    state         text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    result        jsonb,
    error         text,
    created       timestamptz NOT NULL DEFAULT now(),
    completed     timestamptz
);
CREATE INDEX IF NOT EXISTS money_actions_pending ON penguin_console.money_actions (created) WHERE state = 'pending';
