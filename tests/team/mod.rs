//! A hand-written team on top of `common::small_fixture`, shared by tests/users.rs and
//! tests/members.rs. Everything the tests expect is written down here.
//!
//! Tenants: Acme Outreach (b1, Pro monthly, max_login_attempts 5 by default) and
//! Globex Growth (b2, Enterprise, max_login_attempts 3, the QA sandbox).
//!
//! | user | name        | email              | tenant roles               | state                          |
//! |------|-------------|--------------------|----------------------------|--------------------------------|
//! | c1   | Alice Moreau| alice@acme.test    | Acme owner                 | verified, 1 live DB session    |
//! | c2   | Bob Stone   | bob@acme.test      | Acme member                | verified, locked (5 failures)  |
//! | c3   | Carol Diaz  | carol@globex.test  | Globex owner               | verified                       |
//! | c4   | Dave Invited| dave@acme.test     | Acme member                | invited (never verified)       |
//! | c5   | Erin Walsh  | erin@acme.test     | Acme member, Globex admin  | verified, 2 failures in Globex |
//! | c6   | Ana Carter  | ana@acme.test      | Acme member                | verified                       |
//!
//! Bob's sessions: s1 live DB token (Chrome on Windows, 203.0.113.45, created 2 h ago),
//! s2 live JWT (Safari on iPhone, created 1 h ago), s3 expired (created 40 days ago),
//! s4 revoked (created 3 days ago). Alice: s5 live DB (created 10 min ago).
//! Erin: s6 expired (created 2 days ago), then two `login_failed` in Globex 1 h ago.
//! Bob: one unresolved `login_lockout` (Acme, failed_attempts 5) 5 minutes ago.
//! Workspaces: Bob admin of Acme EU (d1), viewer of Acme US (d2); Alice member of d1;
//! Carol admin of Globex (d3). Sessions carry `ip_address` / `user_agent` columns the
//! platform added (the cache follows the real schema).
#![allow(dead_code, clippy::unwrap_used)]

use penguin_admin::central::Central;

pub const ACME: &str = "00000000-0000-0000-0000-0000000000b1";
pub const GLOBEX: &str = "00000000-0000-0000-0000-0000000000b2";
pub const ALICE: &str = "00000000-0000-0000-0000-0000000000c1";
pub const BOB: &str = "00000000-0000-0000-0000-0000000000c2";
pub const CAROL: &str = "00000000-0000-0000-0000-0000000000c3";
pub const DAVE: &str = "00000000-0000-0000-0000-0000000000c4";
pub const ERIN: &str = "00000000-0000-0000-0000-0000000000c5";
pub const ANA: &str = "00000000-0000-0000-0000-0000000000c6";
pub const ACME_EU: &str = "00000000-0000-0000-0000-0000000000d1";
pub const ACME_US: &str = "00000000-0000-0000-0000-0000000000d2";
pub const GLOBEX_WS: &str = "00000000-0000-0000-0000-0000000000d3";
pub const BOB_DB_SESSION: &str = "00000000-0000-0000-0000-0000000000f1";
pub const BOB_JWT_SESSION: &str = "00000000-0000-0000-0000-0000000000f2";
pub const ALICE_SESSION: &str = "00000000-0000-0000-0000-0000000000f5";

pub const CHROME_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
pub const SAFARI_IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1";

pub async fn team_fixture(central: &Central) {
    crate::common::small_fixture(central).await;
    sqlx::raw_sql(&format!(
        "UPDATE users SET email_verified = now() - interval '30 days';
         INSERT INTO users (id, name, email, email_verified) VALUES
           ('{DAVE}', 'Dave Invited', 'dave@acme.test', NULL),
           ('{ERIN}', 'Erin Walsh', 'erin@acme.test', now() - interval '20 days'),
           ('{ANA}', 'Ana Carter', 'ana@acme.test', now() - interval '20 days');
         INSERT INTO tenant_users (tenant_id, user_id, roles, email) VALUES
           ('{ACME}', '{DAVE}', '{{member}}', 'dave@acme.test'),
           ('{ACME}', '{ERIN}', '{{member}}', 'erin@acme.test'),
           ('{GLOBEX}', '{ERIN}', '{{admin}}', 'erin@acme.test'),
           ('{ACME}', '{ANA}', '{{member}}', 'ana@acme.test');
         INSERT INTO tenant_policies (tenant_id, max_login_attempts) VALUES ('{GLOBEX}', 3);
         INSERT INTO penguin_console.sandbox_tenants (tenant_id) VALUES ('{GLOBEX}');
         INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role) VALUES
           ('{ACME_EU}', '{BOB}', '{ACME}', 'admin'),
           ('{ACME_US}', '{BOB}', '{ACME}', 'viewer'),
           ('{ACME_EU}', '{ALICE}', '{ACME}', 'member'),
           ('{GLOBEX_WS}', '{CAROL}', '{GLOBEX}', 'admin');
         ALTER TABLE auth.sessions ADD COLUMN ip_address text, ADD COLUMN user_agent text;
         INSERT INTO auth.sessions (id, session_token, user_id, expires_at, created_at, updated_at, deleted_at, ip_address, user_agent) VALUES
           ('{BOB_DB_SESSION}', 'opaque-token-bob-1', '{BOB}', now() + interval '6 hours', now() - interval '2 hours',
            now() - interval '5 minutes', NULL, '203.0.113.45', '{CHROME_WINDOWS}'),
           ('{BOB_JWT_SESSION}', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl', '{BOB}', now() + interval '7 hours',
            now() - interval '1 hour', now() - interval '1 hour', NULL, '198.51.100.7', '{SAFARI_IPHONE}'),
           ('00000000-0000-0000-0000-0000000000f3', 'opaque-token-bob-3', '{BOB}', now() - interval '39 days',
            now() - interval '40 days', now() - interval '40 days', NULL, '203.0.113.45', '{CHROME_WINDOWS}'),
           ('00000000-0000-0000-0000-0000000000f4', 'opaque-token-bob-4', '{BOB}', now() + interval '1 day',
            now() - interval '3 days', now() - interval '2 days', now() - interval '2 days', '203.0.113.45', '{CHROME_WINDOWS}'),
           ('{ALICE_SESSION}', 'opaque-token-alice', '{ALICE}', now() + interval '8 hours', now() - interval '10 minutes',
            now() - interval '10 minutes', NULL, '192.0.2.10', '{CHROME_WINDOWS}'),
           ('00000000-0000-0000-0000-0000000000f6', 'opaque-token-erin', '{ERIN}', now() - interval '1 day',
            now() - interval '2 days', now() - interval '2 days', NULL, NULL, NULL);
         INSERT INTO auth.credentials (id, user_id, method, payload, deleted) VALUES
           ('00000000-0000-0000-0000-0000000000a7', '{BOB}', 'EMAIL_PASSWORD', '{{\"crypt\": \"$2b$10$x\"}}', NULL),
           ('00000000-0000-0000-0000-0000000000a8', '{BOB}', 'EMAIL_PASSWORD', '{{\"crypt\": \"$2b$10$old\"}}',
            now() - interval '90 days');"
    ))
    .execute(&central.oltp)
    .await
    .unwrap();
    sqlx::raw_sql(&format!(
        "INSERT INTO admin_system_events (created_at, event_type, severity, description, details, tenant_id, user_id) VALUES
           (now() - interval '5 minutes', 'login_lockout', 'medium',
            'Account locked for 15 minutes after 5 failed sign-ins (bob@acme.test)',
            '{{\"failed_attempts\": 5, \"lock_minutes\": 15, \"ip_address\": \"203.0.113.99\"}}', '{ACME}', '{BOB}'),
           (now() - interval '61 minutes', 'login_failed', 'low', 'Failed sign-in', '{{}}', '{GLOBEX}', '{ERIN}'),
           (now() - interval '60 minutes', 'login_failed', 'low', 'Failed sign-in', '{{}}', '{GLOBEX}', '{ERIN}');"
    ))
    .execute(&central.notifications)
    .await
    .unwrap();
}

/// A staff account that can sign in with `password` (for the CLI's `--as`), with the
/// standard role's default permissions. Staff members act through real sessions:
/// `Platform::session(role)` signs in `ROLE@penguin.test` the same way.
pub async fn staff_account(central: &Central, role: &str, email: &str, password: &str) {
    crate::common::staff_account(central, role, email, password).await;
}
