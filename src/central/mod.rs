//! The platform's central PostgreSQL databases: connections, the platform's schema
//! (created only by the demo and the tests) and the console's own schema (`install`).
//!
//! The platform runs four separate databases (OLTP, queue, OLAP, notifications); a
//! connection profile names each and [`Central`] holds one pool per database.

pub mod install;

use std::fmt;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;

/// Errors reaching or preparing the central databases.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// The URL in the profile is not a PostgreSQL URL.
    #[error("the {db} database URL is invalid ({reason}); expected postgres://USER@HOST:PORT/DATABASE")]
    BadUrl {
        /// Which database.
        db: DbKind,
        /// What was wrong.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot reach the {db} database at {host}: {cause}")]
    Unreachable {
        /// Which database.
        db: DbKind,
        /// host:port as configured.
        host: String,
        /// Human cause (refused, timed out, wrong password…).
        cause: String,
        /// Not reached at all (as opposed to reached and refusing).
        network: bool,
    },
    /// A statement failed.
    #[error("{context}: {source}")]
    Sql {
        /// What the console was doing.
        context: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

/// Removes any `user:password@` part from text that may quote a URL, so an error message
/// never shows a secret.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'').unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("•••@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

impl CentralError {
    /// Whether the server could not be reached at all (refused, timed out, no route) —
    /// as opposed to reached and refusing (a wrong password, an unknown database).
    pub fn is_network(&self) -> bool {
        matches!(self, CentralError::Unreachable { network: true, .. })
    }

    /// Wraps a driver error with what the console was doing.
    pub fn sql(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let context = context.into();
        move |source| CentralError::Sql { context, source }
    }
}

/// One of the platform's four databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// Operational database: tenants, users, workspaces, billing references, staff.
    Oltp,
    /// Job queue database (PostgreSQL half of the hybrid queue).
    Queue,
    /// Analytics warehouse and the admin audit log.
    Olap,
    /// Notifications and admin system events.
    Notifications,
}

impl DbKind {
    /// All four, in the order they are synced.
    pub const ALL: [DbKind; 4] = [DbKind::Oltp, DbKind::Queue, DbKind::Olap, DbKind::Notifications];

    /// The profile key and cache prefix of this database.
    pub fn key(self) -> &'static str {
        match self {
            DbKind::Oltp => "oltp",
            DbKind::Queue => "queue",
            DbKind::Olap => "olap",
            DbKind::Notifications => "notifications",
        }
    }

    /// Parses a profile key.
    pub fn from_key(key: &str) -> Option<Self> {
        DbKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The platform's DDL for this database (demo and tests only).
    pub fn platform_sql(self) -> &'static str {
        match self {
            DbKind::Oltp => include_str!("sql/platform/oltp.sql"),
            DbKind::Queue => include_str!("sql/platform/queue.sql"),
            DbKind::Olap => include_str!("sql/platform/olap.sql"),
            DbKind::Notifications => include_str!("sql/platform/notifications.sql"),
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbKind::Oltp => "OLTP",
            DbKind::Queue => "queue",
            DbKind::Olap => "OLAP",
            DbKind::Notifications => "notifications",
        })
    }
}

/// A connection target for one database: the parsed URL plus an optional password
/// that came from the keyring rather than the URL.
#[derive(Clone)]
pub struct DbTarget {
    /// Which database.
    pub kind: DbKind,
    /// Parsed connection options (password included when known).
    pub options: PgConnectOptions,
    /// `host:port` for messages.
    pub display_host: String,
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the options: they may hold the password.
        write!(f, "DbTarget({} at {})", self.kind, self.display_host)
    }
}

impl DbTarget {
    /// Parses `url` for database `kind`; `password`, when given, overrides the URL's.
    pub fn parse(kind: DbKind, url: &str, password: Option<&str>) -> Result<Self, CentralError> {
        let bad = |reason: String| CentralError::BadUrl { db: kind, reason: redact_userinfo(&reason) };
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(CentralError::BadUrl {
                db: kind,
                reason: format!("scheme `{}` is not postgres", parsed.scheme()),
            });
        }
        // A socket directory may be given as ?host=/path, with no host in the authority.
        let socket_host = parsed.query_pairs().find(|(k, _)| k == "host").map(|(_, v)| v.into_owned());
        if parsed.host_str().unwrap_or("").is_empty() && socket_host.is_none() {
            return Err(CentralError::BadUrl { db: kind, reason: "no host".into() });
        }
        if parsed.path().trim_start_matches('/').is_empty() {
            return Err(CentralError::BadUrl { db: kind, reason: "no database name".into() });
        }
        let mut options: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| bad(e.to_string()))?;
        if let Some(pw) = password {
            options = options.password(pw);
        }
        options = options
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(5))
            .application_name("penguin-admin");
        let display_host = format!(
            "{}:{}",
            socket_host.or_else(|| parsed.host_str().map(str::to_owned)).unwrap_or_default(),
            parsed.port().unwrap_or(5432)
        );
        Ok(DbTarget { kind, options, display_host })
    }

    /// Opens a pool, turning connection failures into a message naming the host.
    ///
    /// The server is first reached at the socket level, so a refused or unreachable
    /// server is reported at once (a pool retries a refused connection until its
    /// timeout and reports only that). The pool then opens its first connection at
    /// once, so a wrong password is reported precisely and the first query finds a
    /// connection ready: one authenticated connection per database, not a probe and
    /// then the pool's own.
    pub async fn connect(&self, max_connections: u32) -> Result<PgPool, CentralError> {
        const WITHIN: Duration = Duration::from_secs(10);
        tokio::time::timeout(WITHIN, self.reach())
            .await
            .map_err(|_| self.unreachable(sqlx::Error::PoolTimedOut))?
            .map_err(|e| self.unreachable(sqlx::Error::Io(e)))?;
        tokio::time::timeout(
            WITHIN,
            PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(WITHIN)
                .connect_with(self.options.clone()),
        )
        .await
        .map_err(|_| self.unreachable(sqlx::Error::PoolTimedOut))?
        .map_err(|e| self.unreachable(e))
    }

    /// Opens (and closes) a plain socket to the server: TCP, or the Unix socket when the
    /// target names a socket directory. PostgreSQL logs nothing for a connection that
    /// sends nothing.
    async fn reach(&self) -> std::io::Result<()> {
        let (host, port) = (self.options.get_host(), self.options.get_port());
        let socket_dir = self.options.get_socket().map(|p| p.display().to_string());
        match socket_dir.or_else(|| host.starts_with('/').then(|| host.to_string())) {
            Some(dir) => tokio::net::UnixStream::connect(format!("{dir}/.s.PGSQL.{port}")).await.map(drop),
            None => tokio::net::TcpStream::connect((host, port)).await.map(drop),
        }
    }

    /// Describes a connection failure in words an operator can act on.
    pub fn unreachable(&self, e: sqlx::Error) -> CentralError {
        let cause = match &e {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (is PostgreSQL running and listening on that port?)".to_string()
                }
                _ => io.to_string(),
            },
            sqlx::Error::PoolTimedOut => "timed out after 10 s (check the host, port and firewall)".to_string(),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("28P01") => {
                    "password authentication failed (check the user and the password in the keyring; the console's desktop login exists once the platform's DBA has run `penguin-admin install`)".into()
                }
                Some("28000") => format!("access denied: {}", db.message()),
                Some("3D000") => format!("{} (check the database name in the profile)", db.message()),
                _ => db.message().to_string(),
            },
            sqlx::Error::Tls(t) => format!("TLS failed: {t}"),
            other => redact_userinfo(&other.to_string()),
        };
        let network = matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut);
        CentralError::Unreachable { db: self.kind, host: self.display_host.clone(), cause, network }
    }
}

/// One pool per platform database.
#[derive(Clone, Debug)]
pub struct Central {
    /// OLTP database.
    pub oltp: PgPool,
    /// Queue database.
    pub queue: PgPool,
    /// OLAP database.
    pub olap: PgPool,
    /// Notifications database.
    pub notifications: PgPool,
}

impl Central {
    /// Connects to all four databases concurrently.
    pub async fn connect(targets: &[DbTarget; 4], max_connections: u32) -> Result<Self, CentralError> {
        let [a, b, c, d] = targets;
        let (oltp, queue, olap, notifications) = tokio::try_join!(
            a.connect(max_connections),
            b.connect(max_connections),
            c.connect(max_connections),
            d.connect(max_connections)
        )?;
        Ok(Central { oltp, queue, olap, notifications })
    }

    /// The pool of one database.
    pub fn pool(&self, kind: DbKind) -> &PgPool {
        match kind {
            DbKind::Oltp => &self.oltp,
            DbKind::Queue => &self.queue,
            DbKind::Olap => &self.olap,
            DbKind::Notifications => &self.notifications,
        }
    }

    /// Creates the platform's tables on empty databases (demo and tests only).
    pub async fn create_platform_schema(&self) -> Result<(), CentralError> {
        for kind in DbKind::ALL {
            sqlx::raw_sql(kind.platform_sql())
                .execute(self.pool(kind))
                .await
                .map_err(CentralError::sql(format!("creating the platform's {kind} tables")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_never_reaches_a_message() {
        assert_eq!(
            redact_userinfo("cannot reach redis://admin:s3cret@cache:6379/0 (refused)"),
            "cannot reach redis://•••@cache:6379/0 (refused)"
        );
        assert_eq!(redact_userinfo("http://prom:9090/api"), "http://prom:9090/api");
        assert_eq!(
            redact_userinfo("a postgres://u:p@h/db and https://x:y@z"),
            "a postgres://•••@h/db and https://•••@z"
        );
    }
}
