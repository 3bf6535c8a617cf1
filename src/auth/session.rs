//! A staff member's console session: the desktop login's connections to the four
//! databases plus the token the OLTP database's sign-in function issued.
//!
//! Everything a staff member reads from or changes on the platform goes through a
//! [`Session`]: [`Session::begin`] opens a transaction on one database with the token
//! (OLTP) or a ticket (the other three) set for it, and the database's views and
//! functions decide what that staff member may see and do. The desktop login itself can
//! do nothing else, so whatever client is used with the credentials a desktop holds, the
//! database enforces the role. The [`Staff`] kept here is the database's answer at
//! sign-in, used for messages and for hiding what the role cannot do; it is never the
//! check.
//!
//! Tickets for the queue, OLAP and notifications databases are minted by OLTP (which
//! re-checks the staff member each time) and live 60 seconds; a session asks for new
//! ones when less than 20 seconds remain.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use super::{AuthError, ClientInfo, Staff};
use crate::cache::{self, CacheError};
use crate::central::{Central, DbKind};

/// The `_sync_meta` key under which a CLI keeps its session in the staff member's cache.
const KEPT_SESSION: &str = "cli_session";

/// A secret string: never printed, compared or logged.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
struct Tickets {
    queue: Secret,
    olap: Secret,
    notifications: Secret,
    /// Seconds since the epoch.
    expires: f64,
}

impl Tickets {
    /// Reads the answer of `penguin_console_api.tickets()`.
    fn from_answer(answer: &serde_json::Value) -> Result<Tickets, AuthError> {
        let get = |k: &str| {
            answer
                .get(k)
                .and_then(|v| v.as_str())
                .map(Secret::new)
                .ok_or_else(|| AuthError::Protocol(format!("no {k} ticket in the answer")))
        };
        Ok(Tickets {
            queue: get("queue")?,
            olap: get("olap")?,
            notifications: get("notifications")?,
            expires: answer.get("expires").and_then(|v| v.as_f64()).unwrap_or(0.0),
        })
    }
}

/// A signed-in staff member's session with the platform.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    central: Central,
    token: Secret,
    staff: Staff,
    client: ClientInfo,
    expires: Option<DateTime<Utc>>,
    /// Held while tickets are minted, so concurrent users of the session mint once.
    tickets: tokio::sync::Mutex<Option<Tickets>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("staff", &self.inner.staff.email()).finish_non_exhaustive()
    }
}

/// What the database says of the asking staff member (`penguin_console_api.whoami()`).
#[derive(Debug, Clone, serde::Deserialize)]
struct Whoami {
    user_id: uuid::Uuid,
    email: Option<String>,
    name: Option<String>,
    role: String,
    perms: Vec<String>,
    expires: Option<DateTime<Utc>>,
}

impl Session {
    /// Signs in through the OLTP database's sign-in function over `central` (the
    /// desktop login's pools). The answer for an unknown email and for a wrong password
    /// is the same.
    pub async fn sign_in(
        central: Central,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Session, AuthError> {
        let answer: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.sign_in($1, $2, $3, $4)")
            .bind(email.trim())
            .bind(password)
            .bind(&client.ip)
            .bind(&client.user_agent)
            .fetch_one(&central.oltp)
            .await
            .map_err(AuthError::from)?;
        if answer.get("ok").and_then(|v| v.as_bool()) != Some(true) {
            return Err(match answer.get("error").and_then(|v| v.as_str()) {
                Some("locked") => AuthError::Locked {
                    until: answer
                        .get("until")
                        .and_then(|v| v.as_str())
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_else(Utc::now),
                },
                _ => AuthError::BadCredentials,
            });
        }
        let token = answer
            .get("token")
            .and_then(|v| v.as_str())
            .map(Secret::new)
            .ok_or_else(|| AuthError::Protocol("the sign-in answer has no token".into()))?;
        Session::resume(central, token, client).await
    }

    /// A session for a token issued earlier (the CLI keeps none; tests and a desktop
    /// that reconnects do): asks the database who it belongs to.
    pub async fn resume(central: Central, token: Secret, client: &ClientInfo) -> Result<Session, AuthError> {
        Session::open(central, token, client, false).await
    }

    /// [`Session::resume`]; with `tickets`, the other databases' tickets come in the same
    /// round trip (a command that syncs at once needs them). A ticket carries what the
    /// staff member may see when it is minted, so only a command that uses them at once
    /// asks for them here.
    async fn open(central: Central, token: Secret, client: &ClientInfo, tickets: bool) -> Result<Session, AuthError> {
        let mut tx = central.oltp.begin().await.map_err(AuthError::from)?;
        set_token(&mut tx, token.expose()).await?;
        let (who, tickets): (serde_json::Value, Option<serde_json::Value>) = sqlx::query_as(if tickets {
            "SELECT penguin_console_api.whoami(), penguin_console_api.tickets(true)"
        } else {
            "SELECT penguin_console_api.whoami(), NULL::jsonb"
        })
        .fetch_one(&mut *tx)
        .await
        .map_err(AuthError::from)?;
        tx.commit().await.map_err(AuthError::from)?;
        let tickets = tickets.map(|t| Tickets::from_answer(&t)).transpose()?;
        let who: Whoami =
            serde_json::from_value(who).map_err(|e| AuthError::Protocol(format!("unreadable whoami: {e}")))?;
        let staff = Staff::from_server(
            who.user_id,
            who.email.unwrap_or_default(),
            who.name,
            who.role,
            who.perms.into_iter().collect::<BTreeSet<_>>(),
        );
        Ok(Session {
            inner: Arc::new(Inner {
                central,
                token,
                staff,
                client: client.clone(),
                expires: who.expires,
                tickets: tokio::sync::Mutex::new(tickets),
            }),
        })
    }

    /// Keeps this session's token in its staff member's encrypted cache (`0600`, under the
    /// cache key), so the CLI's next run resumes it ([`Session::resume_kept`]) instead of
    /// checking the password again — one bcrypt check per run was most of a short
    /// command's time. The platform's idle and absolute timeouts still end it, a
    /// suspension or role change refuses it on its next statement, and `sign-out` ends
    /// it at once.
    pub fn keep_in(&self, cache_path: &Path) -> Result<(), CacheError> {
        cache::open_write(cache_path)?
            .execute(
                "INSERT INTO _sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [KEPT_SESSION, self.inner.token.expose()],
            )
            .map(|_| ())
            .map_err(CacheError::sql("keeping the session"))
    }

    /// The session kept in `email`'s cache at `cache_path` (unlocked by the caller), when
    /// the database still accepts it for that staff member; a refused one is forgotten.
    pub async fn resume_kept(central: Central, cache_path: &Path, email: &str, client: &ClientInfo) -> Option<Session> {
        let token: String = {
            let conn = cache::open_read(cache_path).ok()?;
            cache::owned_by(&conn, cache_path, email).ok()?;
            conn.query_row("SELECT value FROM _sync_meta WHERE key = ?1", [KEPT_SESSION], |r| r.get(0)).ok()?
        };
        match Session::open(central, Secret::new(token), client, true).await {
            Ok(session) if session.staff().email().eq_ignore_ascii_case(email.trim()) => Some(session),
            _ => {
                Session::forget_kept(cache_path);
                None
            }
        }
    }

    /// Removes the session kept in the cache at `cache_path`, if any.
    pub fn forget_kept(cache_path: &Path) {
        if let Ok(conn) = cache::open_write(cache_path) {
            let _ = conn.execute("DELETE FROM _sync_meta WHERE key = ?1", [KEPT_SESSION]);
        }
    }

    /// The staff member as the database described them at sign-in.
    pub fn staff(&self) -> &Staff {
        &self.inner.staff
    }

    /// Where requests come from (recorded by the sign-in function).
    pub fn client(&self) -> &ClientInfo {
        &self.inner.client
    }

    /// When the session ends at the latest.
    pub fn expires(&self) -> Option<DateTime<Utc>> {
        self.inner.expires
    }

    /// The desktop login's pools (for streaming reads that manage their own
    /// transactions, such as the sync; set the token with [`Session::authorize`]).
    pub fn central(&self) -> &Central {
        &self.inner.central
    }

    /// Opens a transaction on `db` authorised as this staff member.
    pub async fn begin(&self, db: DbKind) -> Result<Transaction<'static, Postgres>, AuthError> {
        let token = self.token_for(db, true).await?;
        let mut tx = self.inner.central.pool(db).begin().await.map_err(AuthError::from)?;
        set_token(&mut tx, token.expose()).await?;
        Ok(tx)
    }

    /// Sets this session's token for the current transaction of `conn` (which must be
    /// inside a transaction). `activity` false for background work, which does not keep
    /// an idle session alive.
    pub async fn authorize(&self, conn: &mut sqlx::PgConnection, db: DbKind, activity: bool) -> Result<(), AuthError> {
        let token = self.token_for(db, activity).await?;
        set_token(conn, token.expose()).await
    }

    /// The token to present to `db`: the session token on OLTP, a fresh ticket elsewhere.
    async fn token_for(&self, db: DbKind, activity: bool) -> Result<Secret, AuthError> {
        if db == DbKind::Oltp {
            return Ok(self.inner.token.clone());
        }
        let now = Utc::now().timestamp() as f64;
        let mut current = self.inner.tickets.lock().await;
        let tickets = match current.as_ref() {
            Some(t) if t.expires - now > 20.0 => t.clone(),
            _ => {
                let t = self.fetch_tickets(activity).await?;
                *current = Some(t.clone());
                t
            }
        };
        drop(current);
        Ok(match db {
            DbKind::Queue => tickets.queue,
            DbKind::Olap => tickets.olap,
            DbKind::Notifications => tickets.notifications,
            DbKind::Oltp => self.inner.token.clone(),
        })
    }

    async fn fetch_tickets(&self, activity: bool) -> Result<Tickets, AuthError> {
        let mut tx = self.inner.central.oltp.begin().await.map_err(AuthError::from)?;
        set_token(&mut tx, self.inner.token.expose()).await?;
        let answer: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.tickets($1)")
            .bind(activity)
            .fetch_one(&mut *tx)
            .await
            .map_err(AuthError::from)?;
        tx.commit().await.map_err(AuthError::from)?;
        Tickets::from_answer(&answer)
    }

    /// Checks with the database that the session is still valid (and keeps it alive
    /// when `activity`): an ended session gives [`AuthError::SessionEnded`].
    pub async fn check(&self, activity: bool) -> Result<(), AuthError> {
        *self.inner.tickets.lock().await = None;
        self.token_for(DbKind::Queue, activity).await.map(|_| ())
    }

    /// Ends the session on the server (best effort: an unreachable server lets the
    /// session expire on its own).
    pub async fn sign_out(&self) {
        if let Ok(mut tx) = self.inner.central.oltp.begin().await {
            if set_token(&mut tx, self.inner.token.expose()).await.is_ok()
                && sqlx::query("SELECT penguin_console_api.sign_out()").execute(&mut *tx).await.is_ok()
            {
                let _ = tx.commit().await;
            }
        }
    }
}

async fn set_token(conn: &mut sqlx::PgConnection, token: &str) -> Result<(), AuthError> {
    sqlx::query("SELECT set_config('penguin_console.token', $1, true)")
        .bind(token)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(AuthError::from)
}
