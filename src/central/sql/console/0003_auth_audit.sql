-- Staff sign-in bookkeeping (OLTP) and the audit outbox (every database).
-- Applied by `penguin-admin install` to the databases named in install.rs.

-- Every staff sign-in attempt, successful or not (never the password).
CREATE TABLE IF NOT EXISTS penguin_console.staff_sign_in_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid,
    email       text NOT NULL,
    succeeded   boolean NOT NULL,
    reason      text,
    ip_address  text,
    user_agent  text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS staff_sign_in_attempts_user ON penguin_console.staff_sign_in_attempts (user_id, at);

-- Consecutive failures and the lock they caused (5 failures lock for 15 minutes).
CREATE TABLE IF NOT EXISTS penguin_console.staff_lockouts (
    user_id       uuid PRIMARY KEY,
    failed_count  integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated       timestamptz NOT NULL DEFAULT now()
);
