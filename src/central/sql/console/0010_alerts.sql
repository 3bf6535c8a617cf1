-- Notifications database only: the alerts of every monitoring source (see src/alerts/).
-- A persisting problem is one open alert: the partial unique index on fingerprint lets
-- several watchers insert the same condition with ON CONFLICT and get one row.
CREATE TABLE IF NOT EXISTS penguin_console.alerts (
    id               uuid PRIMARY KEY,
    fingerprint      text NOT NULL,
    source           text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    subject_kind     text NOT NULL,
    subject          text NOT NULL,
    summary          text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    state            text NOT NULL DEFAULT 'firing' CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    resolved_at      timestamptz,
    acknowledged_by  text,
    acknowledged_at  timestamptz,
    -- NULL with resolved_at set: resolved automatically when the condition cleared.
    resolved_by      text,
    -- Whether a trigger was sent or queued (so a resolve is only sent for alerts that paged).
    paged            boolean NOT NULL DEFAULT false,
    silenced_by      uuid,
    at_risk          jsonb,
    updated          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_fingerprint
    ON penguin_console.alerts (fingerprint) WHERE state <> 'resolved';
CREATE INDEX IF NOT EXISTS alerts_last_seen ON penguin_console.alerts (last_seen);

CREATE TABLE IF NOT EXISTS penguin_console.alert_notes (
    id        uuid PRIMARY KEY,
    alert_id  uuid NOT NULL REFERENCES penguin_console.alerts(id) ON DELETE CASCADE,
    author    text NOT NULL,
    body      text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alert_notes_alert ON penguin_console.alert_notes (alert_id);

-- A silence matches an alert when every matcher it sets matches (globs with * and ?).
CREATE TABLE IF NOT EXISTS penguin_console.alert_silences (
    id           uuid PRIMARY KEY,
    source       text,
    fingerprint  text,
    subject      text,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    reason       text NOT NULL CHECK (length(reason) > 0),
    created_by   text NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    expired_by   text,
    CHECK (ends_at > starts_at),
    CHECK (source IS NOT NULL OR fingerprint IS NOT NULL OR subject IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS penguin_console.alert_notifications (
    id               uuid PRIMARY KEY,
    alert_id         uuid NOT NULL REFERENCES penguin_console.alerts(id) ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('pagerduty', 'email')),
    event            text NOT NULL CHECK (event IN ('trigger', 'acknowledge', 'resolve')),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    sent_at          timestamptz,
    created          timestamptz NOT NULL DEFAULT now(),
    -- One notification per alert, channel and event: a second watcher's insert is a no-op.
    UNIQUE (alert_id, channel, event)
);
CREATE INDEX IF NOT EXISTS alert_notifications_due
    ON penguin_console.alert_notifications (next_attempt_at) WHERE status = 'pending';
