//! A user's sessions and sign-in activity, read from the cache.
//!
//! ## Where the data comes from
//! - Sessions: Nile's `auth.sessions`. Nile's table records no device, browser or IP;
//!   when the platform adds `ip_address` / `user_agent` columns the cache carries them
//!   (the sync follows the real schema) and they are shown, otherwise
//!   [`UserSessions::device_info_recorded`] is false and the screen says so.
//! - Which sessions can be revoked: a database session (an opaque token) stops working
//!   the moment its row is revoked. A row whose token is a JWT (Nile's JWT session
//!   strategy: `eyJ…` with three dot-separated parts) is checked by signature alone,
//!   so revoking the row cannot stop it before `expires_at`; such rows say so in
//!   [`SessionRow::revocable_before_expiry`] and [`SessionRow::note`].
//! - Sign-ins: every session is a successful sign-in; failures and lockouts come from
//!   the platform's `admin_system_events` (`login_failed`, `login_lockout`, with
//!   `details.failed_attempts`, `details.lock_minutes`, `details.ip_address`). The
//!   platform keeps no other per-attempt log.
//! - Lockout: `tenant_policies.max_login_attempts` (default 5) per tenant. A user is
//!   locked while an unresolved `login_lockout` event is inside its lock window
//!   (`lock_minutes`, default 15); otherwise the failed count is the `login_failed`
//!   events since the last successful sign-in or lockout.

use rusqlite::Connection;

use super::{has_column, has_table, DEFAULT_LOCK_MINUTES};
use crate::auth::masking;
use crate::cache::CacheError;

/// Sign-ins listed at most.
pub const SIGN_IN_LIMIT: usize = 50;
/// `max_login_attempts` when the tenant has no policy row (the platform's default).
pub const DEFAULT_MAX_LOGIN_ATTEMPTS: i64 = 5;

/// How a session is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SessionKind {
    /// An opaque token looked up in `auth.sessions`: revocation is immediate.
    Database,
    /// A signed JWT: valid until it expires whatever the table says.
    Jwt,
}

/// An active session.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionRow {
    /// `auth.sessions.id`.
    pub id: String,
    /// Database or JWT.
    pub kind: SessionKind,
    /// Device family from the user agent (Windows, Mac, iPhone, Android, Linux), if recorded.
    pub device: Option<String>,
    /// Browser from the user agent, if recorded.
    pub browser: Option<String>,
    /// IP address, if recorded (masked for support).
    pub ip: Option<String>,
    /// Sign-in time (UTC).
    pub created: Option<String>,
    /// Last activity (`updated_at`, refreshed by Nile on use) (UTC).
    pub last_active: Option<String>,
    /// Expiry (UTC).
    pub expires: Option<String>,
    /// Whether revoking it ends it now.
    pub revocable_before_expiry: bool,
    /// Revoked already: only a JWT is listed then, because it stays valid until expiry.
    pub revoked: bool,
    /// Plain words for the screen when it cannot be revoked before expiry.
    pub note: Option<String>,
}

/// A user's active sessions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UserSessions {
    /// Not expired and either not revoked or a revoked JWT (still usable), newest first.
    pub active: Vec<SessionRow>,
    /// Whether the platform's sessions table records device and IP at all.
    pub device_info_recorded: bool,
}

/// Outcome of a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SignInOutcome {
    /// A session was issued.
    Succeeded,
    /// Wrong credentials.
    Failed,
    /// The attempt locked the account.
    Locked,
}

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SignInRow {
    /// When (UTC).
    pub at: String,
    /// Outcome.
    pub outcome: SignInOutcome,
    /// IP address, if recorded (masked for support).
    pub ip: Option<String>,
    /// Device family, if recorded.
    pub device: Option<String>,
    /// Browser, if recorded.
    pub browser: Option<String>,
    /// Tenant the event names, if any.
    pub tenant_id: Option<String>,
}

/// Failed attempts and lock state of the user in one tenant, against its policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LockoutState {
    /// Tenant.
    pub tenant_id: String,
    /// `tenant_policies.max_login_attempts` (default 5).
    pub max_login_attempts: i64,
    /// Consecutive failures counted now.
    pub failed_attempts: i64,
    /// Attempts left before a lock (0 when locked).
    pub attempts_left: i64,
    /// Locked now.
    pub locked: bool,
    /// When the lock ends (UTC), if locked.
    pub locked_until: Option<String>,
}

/// Sign-in activity of a user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SignInActivity {
    /// The last sign-ins, newest first (at most 50).
    pub recent: Vec<SignInRow>,
    /// Per tenant the user belongs to.
    pub lockouts: Vec<LockoutState>,
}

/// `(device, browser)` from a user agent string, by the usual markers.
pub fn device_and_browser(ua: &str) -> (Option<String>, Option<String>) {
    let device = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Macintosh", "Mac"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(m, _)| ua.contains(m))
    .map(|(_, d)| d.to_string());
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .iter()
            .find(|(m, _)| ua.contains(m))
            .map(|(_, b)| b.to_string())
            .or_else(|| (!ua.is_empty()).then(|| "Other".to_string()));
    (device, browser)
}

/// SQL (over alias `s`) that is 1 for a JWT session: the `token_kind` the sync's view
/// computes (the token itself never reaches the cache), or a JWT-looking token in a
/// cache that holds one; `0` without either column.
fn jwt_expr(conn: &Connection) -> Result<&'static str, CacheError> {
    Ok(if has_column(conn, "auth_sessions", "token_kind")? {
        "(s.token_kind = 'jwt')"
    } else if has_column(conn, "auth_sessions", "session_token")? {
        "(s.session_token LIKE 'eyJ%.%.%')"
    } else {
        "0"
    })
}

fn optional_col(conn: &Connection, table: &str, names: &[&str]) -> Result<Option<String>, CacheError> {
    for n in names {
        if has_column(conn, table, n)? {
            return Ok(Some(format!("s.\"{n}\"")));
        }
    }
    Ok(None)
}

/// The active sessions of `user_id`.
pub(crate) fn read_sessions(conn: &Connection, user_id: &str, masked: bool) -> Result<UserSessions, CacheError> {
    if !has_table(conn, "auth_sessions")? {
        return Ok(UserSessions { active: Vec::new(), device_info_recorded: false });
    }
    let ip = optional_col(conn, "auth_sessions", &["ip_address", "ip"])?;
    let ua = optional_col(conn, "auth_sessions", &["user_agent"])?;
    let device_info_recorded = ip.is_some() || ua.is_some();
    let sql = format!(
        "SELECT s.id, {jwt}, {ip}, {ua}, s.created_at, s.updated_at, s.expires_at, s.deleted_at IS NOT NULL
         FROM auth_sessions s
         WHERE s.user_id = ?1 AND (s.deleted_at IS NULL OR {jwt})
           AND s.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         ORDER BY s.created_at DESC",
        jwt = jwt_expr(conn)?,
        ip = ip.as_deref().unwrap_or("NULL"),
        ua = ua.as_deref().unwrap_or("NULL"),
    );
    let mut stmt = conn.prepare(&sql).map_err(CacheError::sql("reading sessions"))?;
    let active = stmt
        .query_map([user_id], |r| {
            let jwt = r.get::<_, i64>(1)? != 0;
            let ip: Option<String> = r.get(2)?;
            let ua: Option<String> = r.get(3)?;
            let (device, browser) = ua.as_deref().map(device_and_browser).unwrap_or((None, None));
            let expires: Option<String> = r.get(6)?;
            let revoked = r.get::<_, i64>(7)? != 0;
            Ok(SessionRow {
                id: r.get(0)?,
                kind: if jwt { SessionKind::Jwt } else { SessionKind::Database },
                device,
                browser,
                ip: if masked { ip.as_deref().map(masking::ip) } else { ip },
                created: r.get(4)?,
                last_active: r.get(5)?,
                revocable_before_expiry: !jwt,
                revoked,
                note: jwt.then(|| jwt_note(expires.as_deref(), revoked)),
                expires,
            })
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(CacheError::sql("reading sessions"))?;
    Ok(UserSessions { active, device_info_recorded })
}

/// What the screen says about a JWT session.
pub fn jwt_note(expires: Option<&str>, revoked: bool) -> String {
    format!(
        "{}This is a JWT session: the token is checked by its signature alone, so revoking it cannot end it before it \
         expires ({}). Suspend the account or change the password to stop new sign-ins meanwhile.",
        if revoked { "Revoked, but still usable. " } else { "" },
        expires.unwrap_or("expiry unknown")
    )
}

struct Event {
    at: String,
    kind: String,
    tenant: Option<String>,
    failed: Option<i64>,
    resolved: bool,
    ip: Option<String>,
    ua: Option<String>,
    locked_now: bool,
    locked_until: Option<String>,
}

/// The sign-in activity of `user_id` in `tenants` (the tenants the viewer may see).
pub(crate) fn read_sign_ins(
    conn: &Connection,
    user_id: &str,
    tenants: &[String],
    masked: bool,
) -> Result<SignInActivity, CacheError> {
    let mut recent: Vec<SignInRow> = Vec::new();
    let mut successes: Vec<String> = Vec::new();
    if has_table(conn, "auth_sessions")? {
        let ip = optional_col(conn, "auth_sessions", &["ip_address", "ip"])?;
        let ua = optional_col(conn, "auth_sessions", &["user_agent"])?;
        let sql = format!(
            "SELECT s.created_at, {}, {} FROM auth_sessions s WHERE s.user_id = ?1 AND s.created_at IS NOT NULL
             ORDER BY s.created_at DESC LIMIT {SIGN_IN_LIMIT}",
            ip.as_deref().unwrap_or("NULL"),
            ua.as_deref().unwrap_or("NULL")
        );
        let mut stmt = conn.prepare(&sql).map_err(CacheError::sql("reading sign-ins"))?;
        let rows = stmt
            .query_map([user_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?))
            })
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(CacheError::sql("reading sign-ins"))?;
        for (at, ip, ua) in rows {
            let (device, browser) = ua.as_deref().map(device_and_browser).unwrap_or((None, None));
            successes.push(at.clone());
            recent.push(SignInRow { at, outcome: SignInOutcome::Succeeded, ip, device, browser, tenant_id: None });
        }
    }
    let mut events: Vec<Event> = Vec::new();
    if has_table(conn, "admin_system_events")? {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT e.created_at, e.event_type, e.tenant_id, json_extract(e.details, '$.failed_attempts'),
                        json_extract(e.details, '$.lock_minutes'), COALESCE(e.is_resolved, 0),
                        json_extract(e.details, '$.ip_address'), json_extract(e.details, '$.user_agent'),
                        julianday(e.created_at) + COALESCE(json_extract(e.details, '$.lock_minutes'), {DEFAULT_LOCK_MINUTES}) / 1440.0
                            > julianday('now'),
                        strftime('%Y-%m-%dT%H:%M:%SZ', julianday(e.created_at)
                            + COALESCE(json_extract(e.details, '$.lock_minutes'), {DEFAULT_LOCK_MINUTES}) / 1440.0)
                 FROM admin_system_events e
                 WHERE e.user_id = ?1 AND e.event_type IN ('login_failed', 'login_lockout')
                 ORDER BY e.created_at DESC LIMIT 500"
            ))
            .map_err(CacheError::sql("reading sign-in events"))?;
        events = stmt
            .query_map([user_id], |r| {
                Ok(Event {
                    at: r.get(0)?,
                    kind: r.get(1)?,
                    tenant: r.get(2)?,
                    failed: r.get(3)?,
                    resolved: r.get::<_, i64>(5)? != 0,
                    ip: r.get(6)?,
                    ua: r.get(7)?,
                    locked_now: r.get::<_, i64>(8)? != 0,
                    locked_until: r.get(9)?,
                })
            })
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(CacheError::sql("reading sign-in events"))?;
    }
    for e in events.iter().filter(|e| e.tenant.as_ref().is_none_or(|t| tenants.contains(t))) {
        let (device, browser) = e.ua.as_deref().map(device_and_browser).unwrap_or((None, None));
        recent.push(SignInRow {
            at: e.at.clone(),
            outcome: if e.kind == "login_lockout" { SignInOutcome::Locked } else { SignInOutcome::Failed },
            ip: e.ip.clone(),
            device,
            browser,
            tenant_id: e.tenant.clone(),
        });
    }
    recent.sort_by(|a, b| b.at.cmp(&a.at));
    recent.truncate(SIGN_IN_LIMIT);
    if masked {
        for r in &mut recent {
            r.ip = r.ip.as_deref().map(masking::ip);
        }
    }
    let last_success = successes.iter().max().cloned().unwrap_or_default();
    let mut lockouts = Vec::new();
    for tenant in tenants {
        let max = max_login_attempts(conn, tenant)?;
        let mine = |e: &&Event| e.tenant.as_ref().is_none_or(|t| t == tenant);
        let lock = events.iter().filter(mine).find(|e| e.kind == "login_lockout" && !e.resolved && e.locked_now);
        let state = match lock {
            Some(l) => LockoutState {
                tenant_id: tenant.clone(),
                max_login_attempts: max,
                failed_attempts: l.failed.unwrap_or(max),
                attempts_left: 0,
                locked: true,
                locked_until: l.locked_until.clone(),
            },
            None => {
                // Failures since the last success or the last lockout (which reset the count).
                let last_lock = events.iter().filter(mine).filter(|e| e.kind == "login_lockout").map(|e| &e.at).max();
                let since = last_lock.filter(|l| **l > last_success).cloned().unwrap_or_else(|| last_success.clone());
                let failed =
                    events.iter().filter(mine).filter(|e| e.kind == "login_failed" && e.at > since).count() as i64;
                LockoutState {
                    tenant_id: tenant.clone(),
                    max_login_attempts: max,
                    failed_attempts: failed,
                    attempts_left: (max - failed).max(0),
                    locked: false,
                    locked_until: None,
                }
            }
        };
        lockouts.push(state);
    }
    Ok(SignInActivity { recent, lockouts })
}

fn max_login_attempts(conn: &Connection, tenant: &str) -> Result<i64, CacheError> {
    if !has_table(conn, "tenant_policies")? {
        return Ok(DEFAULT_MAX_LOGIN_ATTEMPTS);
    }
    let v: Option<i64> = conn
        .query_row("SELECT max_login_attempts FROM tenant_policies WHERE tenant_id = ?1", [tenant], |r| r.get(0))
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })
        .map_err(CacheError::sql("reading the tenant's policy"))?;
    Ok(v.unwrap_or(DEFAULT_MAX_LOGIN_ATTEMPTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_device_and_browser_from_user_agents() {
        let chrome_win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_and_browser(chrome_win), (Some("Windows".into()), Some("Chrome".into())));
        let edge =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(device_and_browser(edge), (Some("Mac".into()), Some("Edge".into())));
        let iphone =
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1";
        assert_eq!(device_and_browser(iphone), (Some("iPhone".into()), Some("Safari".into())));
        assert_eq!(device_and_browser(""), (None, None));
    }
}
