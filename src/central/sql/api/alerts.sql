-- Staff actions on alerts, notifications database only: acknowledge, resolve by hand,
-- notes, silences. Each needs `alerts.manage`, locks the alert (or silence), records the
-- staff member from the verified context (never from the client), queues the follow-up
-- PagerDuty/email notifications where the alert paged, and writes its audit entry in the
-- same transaction (relayed to OLAP after commit). The alert feed itself is read from the
-- synced cache (see sync/policy.rs: what an alert puts at risk is withheld from roles
-- that do not see every tenant). Refusals: 42501 permission, PM400 bad input, PM404 not
-- found, PM409 wrong state.

-- Locks an alert; PM404 when there is none.
CREATE OR REPLACE FUNCTION penguin_console.lock_alert(alert uuid) RETURNS penguin_console.alerts
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    a penguin_console.alerts;
BEGIN
    SELECT * INTO a FROM penguin_console.alerts WHERE penguin_console.alerts.id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('alert %s', $1);
    END IF;
    RETURN a;
END $$;

-- Queues `event` (acknowledge / resolve) on each channel a trigger was queued on. Email
-- has no acknowledge: the on-call list hears of the trigger and the resolve.
CREATE OR REPLACE FUNCTION penguin_console.alert_follow_up(alert uuid, event text) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
    INSERT INTO penguin_console.alert_notifications (id, alert_id, channel, event, next_attempt_at)
    SELECT gen_random_uuid(), n.alert_id, n.channel, $2, now()
      FROM penguin_console.alert_notifications n
     WHERE n.alert_id = $1 AND n.event = 'trigger' AND ($2 <> 'acknowledge' OR n.channel = 'pagerduty')
    ON CONFLICT (alert_id, channel, event) DO NOTHING
$$;

-- Adds a note by the asking staff member; returns its id.
CREATE OR REPLACE FUNCTION penguin_console.alert_note(c penguin_console.staff_ctx, alert uuid, body text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, penguin_console AS $$
DECLARE
    note uuid := gen_random_uuid();
BEGIN
    IF NULLIF(btrim(body), '') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the note is empty';
    END IF;
    IF char_length(btrim(body)) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'a note is at most 4,000 characters';
    END IF;
    INSERT INTO penguin_console.alert_notes (id, alert_id, author, body) VALUES (note, $2, c.email, btrim($3));
    RETURN note;
END $$;

-- Acknowledges a firing alert: someone is on it. Queues a PagerDuty acknowledge (same
-- dedup key) if the alert paged.
CREATE OR REPLACE FUNCTION penguin_console_api.alerts_acknowledge(alert uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('alerts.manage');
    a penguin_console.alerts := penguin_console.lock_alert($1);
BEGIN
    IF a.state = 'acknowledged' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409',
            MESSAGE = format('the alert is already acknowledged by %s', COALESCE(a.acknowledged_by, '?'));
    ELSIF a.state <> 'firing' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'the alert is resolved; there is nothing to acknowledge';
    END IF;
    UPDATE penguin_console.alerts x SET state = 'acknowledged', acknowledged_by = c.email, acknowledged_at = now(),
           updated = now()
     WHERE x.id = $1;
    PERFORM penguin_console.alert_follow_up($1, 'acknowledge');
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'alert.acknowledged', 'alert', $1::text, NULL,
        jsonb_build_object('state', 'firing'),
        jsonb_build_object('state', 'acknowledged', 'fingerprint', a.fingerprint));
    RETURN jsonb_build_object('state', 'acknowledged', 'acknowledged_by', c.email);
END $$;

-- Resolves an alert by hand (if its check reports the condition again, that is a new
-- alert), with an optional reason kept as a note. Queues resolve notifications on the
-- channels it paged on.
CREATE OR REPLACE FUNCTION penguin_console_api.alerts_resolve(alert uuid, reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('alerts.manage');
    a penguin_console.alerts := penguin_console.lock_alert($1);
    why text := NULLIF(btrim(reason), '');
BEGIN
    IF a.state = 'resolved' THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = 'the alert is already resolved';
    END IF;
    UPDATE penguin_console.alerts x SET state = 'resolved', resolved_by = c.email, resolved_at = now(), updated = now()
     WHERE x.id = $1;
    IF why IS NOT NULL THEN
        PERFORM penguin_console.alert_note(c, $1, why);
    END IF;
    PERFORM penguin_console.alert_follow_up($1, 'resolve');
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'alert.resolved', 'alert', $1::text, NULL,
        jsonb_build_object('state', a.state),
        jsonb_build_object('state', 'resolved', 'fingerprint', a.fingerprint), why);
    RETURN jsonb_build_object('state', 'resolved', 'resolved_by', c.email);
END $$;

-- Adds a note to an alert (any state); returns the note's id.
CREATE OR REPLACE FUNCTION penguin_console_api.alerts_add_note(alert uuid, body text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('alerts.manage');
    a penguin_console.alerts := penguin_console.lock_alert($1);
    note uuid;
BEGIN
    note := penguin_console.alert_note(c, $1, $2);
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'alert.note_added', 'alert', $1::text, NULL, NULL,
        jsonb_build_object('note_id', note), btrim($2));
    RETURN note;
END $$;

-- Creates a silence: critical alerts it matches during its window do not page. Matchers
-- are globs (`*`, `?`) on the source, fingerprint and subject; at least one. Returns its id.
CREATE OR REPLACE FUNCTION penguin_console_api.alerts_create_silence(source_glob text, fingerprint_glob text,
    subject_glob text, starts timestamptz, ends timestamptz, reason text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('alerts.manage');
    src text := NULLIF(btrim(source_glob), '');
    fp text := NULLIF(btrim(fingerprint_glob), '');
    subj text := NULLIF(btrim(subject_glob), '');
    why text := NULLIF(btrim(reason), '');
    sid uuid := gen_random_uuid();
BEGIN
    IF src IS NULL AND fp IS NULL AND subj IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400',
            MESSAGE = 'a silence needs at least one matcher (source, fingerprint or subject); use `*` to match anything';
    END IF;
    IF starts IS NULL OR ends IS NULL OR ends <= starts THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'the silence must end after it starts';
    END IF;
    IF why IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'give a reason for the silence (maintenance, ticket…)';
    END IF;
    IF greatest(length(src), length(fp), length(subj)) > 500 OR length(why) > 4000 THEN
        RAISE EXCEPTION USING ERRCODE = 'PM400', MESSAGE = 'a matcher is at most 500 characters and the reason 4,000';
    END IF;
    INSERT INTO penguin_console.alert_silences (id, source, fingerprint, subject, starts_at, ends_at, reason, created_by)
    VALUES (sid, src, fp, subj, starts, ends, why, c.email);
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'alert.silence_created', 'alert_silence', sid::text, NULL, NULL,
        jsonb_build_object('source', src, 'fingerprint', fp, 'subject', subj, 'starts_at', starts, 'ends_at', ends),
        why);
    RETURN sid;
END $$;

-- Ends a silence now (alerts it covered page on the next reconcile if still critical).
CREATE OR REPLACE FUNCTION penguin_console_api.alerts_expire_silence(silence uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, penguin_console, public AS $$
DECLARE
    c penguin_console.staff_ctx := penguin_console.require('alerts.manage');
    s penguin_console.alert_silences;
    ended timestamptz;
BEGIN
    SELECT * INTO s FROM penguin_console.alert_silences x WHERE x.id = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'PM404', MESSAGE = format('silence %s', $1);
    END IF;
    IF s.ends_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'PM409', MESSAGE = format('the silence already ended at %s UTC',
            to_char(s.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'));
    END IF;
    UPDATE penguin_console.alert_silences x SET ends_at = GREATEST(now(), x.starts_at + interval '1 microsecond'),
           expired_by = c.email
     WHERE x.id = $1
    RETURNING x.ends_at INTO ended;
    PERFORM penguin_console.touch(c);
    PERFORM penguin_console.audit(c, 'alert.silence_expired', 'alert_silence', $1::text, NULL,
        jsonb_build_object('ends_at', s.ends_at), jsonb_build_object('ends_at', ended));
    RETURN jsonb_build_object('ends_at', ended);
END $$;
