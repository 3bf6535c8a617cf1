//! Staff identity, sign-in and permissions.
//!
//! Staff sign in as platform users who have a `staff_members` row, with the password
//! hash the platform stores in Nile's `auth.credentials` (argon2id for accounts the
//! demo creates; bcrypt, as Nile writes it, is accepted too). Every attempt is recorded
//! in `penguin_console.staff_sign_in_attempts`; five consecutive failures lock the
//! account for 15 minutes (`penguin_console.staff_lockouts`, row-locked so concurrent
//! attempts count correctly). Permissions come from the role's rows in
//! `staff_role_permissions`, so a custom role needs no code change.
//!
//! Every library entry point that reads or changes data takes a [`Staff`] and calls
//! [`Staff::require`] first; the UI hiding a button is a convenience, not the check.

pub mod masking;
pub mod offline;
pub mod permissions;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgPool, Row};

use permissions::Permission;

/// Consecutive failures that lock an account.
pub const MAX_FAILED_ATTEMPTS: i32 = 5;
/// How long a lock lasts.
pub const LOCK_MINUTES: i64 = 15;

/// Sign-in and permission errors.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email, not a staff member, or wrong password (deliberately not told apart).
    #[error(
        "wrong email or password ({remaining} attempts left before the account is locked for {LOCK_MINUTES} minutes)"
    )]
    BadCredentials {
        /// Attempts left before the lock.
        remaining: i32,
    },
    /// Too many failures.
    #[error("this account is locked after {MAX_FAILED_ATTEMPTS} failed sign-ins until {until} (UTC); try again then or ask a super admin")]
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
    /// The role lacks the permission.
    #[error("your role ({role}) does not allow this (needs the `{permission}` permission)")]
    Forbidden {
        /// The permission needed.
        permission: &'static str,
        /// The staff member's role.
        role: String,
    },
    /// The console's schema is missing or older than this build.
    #[error("the console's schema on the OLTP database is missing or out of date; run `penguin-admin install --profile PROFILE`")]
    NotInstalled,
    /// The database failed.
    #[error("sign-in failed: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => AuthError::NotInstalled,
            _ => AuthError::Database(e),
        }
    }
}

/// Where a request comes from, recorded with sign-ins and audit entries.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's IP address, if known.
    pub ip: Option<String>,
    /// The client: "penguin-admin-desktop/0.1 (Linux)", "penguin-admin-cli/0.1".
    pub user_agent: Option<String>,
}

/// A signed-in staff member (or the profile's service identity). Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// `users.id`, or `None` for the service identity.
    pub user_id: Option<uuid::Uuid>,
    /// Email (or `service:PROFILE`).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Role name.
    pub role: String,
    /// Permission names granted to the role.
    pub permissions: BTreeSet<String>,
}

impl Staff {
    /// The identity service commands (sync, the monitoring watcher) run under.
    pub fn service(profile: &str) -> Staff {
        Staff {
            user_id: None,
            email: format!("service:{profile}"),
            name: Some(format!("{profile} service")),
            role: "service".into(),
            permissions: [permissions::SYNC_RUN, permissions::MONITORING_READ]
                .iter()
                .map(|p| p.name.to_string())
                .collect(),
        }
    }

    /// Whether the role grants `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(p.name)
    }

    /// Refuses unless the role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), AuthError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AuthError::Forbidden { permission: p.name, role: self.role.clone() })
        }
    }

    /// Refuses unless the role grants any of `ps`.
    pub fn require_any(&self, ps: &[Permission]) -> Result<(), AuthError> {
        match ps.iter().find(|p| self.can(**p)) {
            Some(_) => Ok(()),
            None => Err(AuthError::Forbidden {
                permission: ps.first().map(|p| p.name).unwrap_or(""),
                role: self.role.clone(),
            }),
        }
    }

    /// Whether personal data must be masked for this viewer.
    pub fn masked(&self) -> bool {
        !self.can(permissions::PII_VIEW)
    }

    /// Whether this viewer sees sandbox tenants only.
    pub fn sandbox_only(&self) -> bool {
        !self.can(permissions::TENANTS_READ) && self.can(permissions::TENANTS_READ_SANDBOX)
    }

    /// The value written to `admin_audit_log.admin_user_id`.
    pub fn audit_id(&self) -> String {
        self.user_id.map(|u| u.to_string()).unwrap_or_else(|| self.email.clone())
    }
}

/// Verifies `password` against a stored hash (argon2id PHC string or bcrypt).
pub fn verify_password(password: &str, stored: &str) -> bool {
    if stored.starts_with("$argon2") {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(stored)
            .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    } else if stored.starts_with("$2") {
        bcrypt::verify(password, stored).unwrap_or(false)
    } else {
        false
    }
}

struct Candidate {
    user_id: uuid::Uuid,
    email: String,
    name: Option<String>,
    role: String,
    role_id: i32,
    hash: Option<String>,
}

/// Signs a staff member in against the OLTP database.
pub async fn sign_in(oltp: &PgPool, email: &str, password: &str, client: &ClientInfo) -> Result<Staff, AuthError> {
    let email = email.trim();
    let mut tx = oltp.begin().await?;
    let candidate = sqlx::query(
        "SELECT u.id, u.email, u.name, r.name AS role, r.id AS role_id,
                (SELECT c.payload->>'crypt' FROM auth.credentials c
                 WHERE c.user_id = u.id AND c.method = 'EMAIL_PASSWORD' AND c.deleted IS NULL
                 ORDER BY c.created DESC LIMIT 1) AS hash
         FROM users u JOIN staff_members s ON s.user_id = u.id JOIN staff_roles r ON r.id = s.role_id
         WHERE lower(u.email) = lower($1) AND u.deleted IS NULL",
    )
    .bind(email)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| Candidate {
        user_id: r.get("id"),
        email: r.get::<Option<String>, _>("email").unwrap_or_default(),
        name: r.get("name"),
        role: r.get::<Option<String>, _>("role").unwrap_or_default(),
        role_id: r.get("role_id"),
        hash: r.get("hash"),
    });
    let Some(c) = candidate else {
        record_attempt(&mut tx, None, email, false, "unknown_email", client).await?;
        tx.commit().await?;
        // Same answer as a wrong password: do not reveal who is staff.
        return Err(AuthError::BadCredentials { remaining: MAX_FAILED_ATTEMPTS - 1 });
    };

    sqlx::query("INSERT INTO penguin_console.staff_lockouts (user_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(c.user_id)
        .execute(&mut *tx)
        .await?;
    let lock = sqlx::query(
        "SELECT failed_count, locked_until, now() AS now FROM penguin_console.staff_lockouts WHERE user_id = $1 FOR UPDATE",
    )
    .bind(c.user_id)
    .fetch_one(&mut *tx)
    .await?;
    let now: DateTime<Utc> = lock.get("now");
    let locked_until: Option<DateTime<Utc>> = lock.get("locked_until");
    let mut failed: i32 = lock.get("failed_count");
    if let Some(until) = locked_until {
        if until > now {
            record_attempt(&mut tx, Some(c.user_id), email, false, "locked", client).await?;
            tx.commit().await?;
            return Err(AuthError::Locked { until });
        }
        failed = 0; // the lock has expired: start counting afresh
    }

    let hash = c.hash.clone().unwrap_or_default();
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash)).await.unwrap_or(false);
    if !ok {
        failed += 1;
        let until = (failed >= MAX_FAILED_ATTEMPTS).then(|| now + Duration::minutes(LOCK_MINUTES));
        sqlx::query("UPDATE penguin_console.staff_lockouts SET failed_count = $2, locked_until = $3, updated = now() WHERE user_id = $1")
            .bind(c.user_id)
            .bind(failed)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        record_attempt(&mut tx, Some(c.user_id), email, false, "bad_password", client).await?;
        tx.commit().await?;
        return Err(match until {
            Some(until) => AuthError::Locked { until },
            None => AuthError::BadCredentials { remaining: MAX_FAILED_ATTEMPTS - failed },
        });
    }

    sqlx::query("UPDATE penguin_console.staff_lockouts SET failed_count = 0, locked_until = NULL, updated = now() WHERE user_id = $1")
        .bind(c.user_id)
        .execute(&mut *tx)
        .await?;
    record_attempt(&mut tx, Some(c.user_id), email, true, "ok", client).await?;
    let permissions: BTreeSet<String> = sqlx::query_scalar::<_, Option<String>>(
        "SELECT p.name FROM staff_role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = $1",
    )
    .bind(c.role_id)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .flatten()
    .collect::<BTreeSet<String>>();
    tx.commit().await?;
    Ok(Staff { user_id: Some(c.user_id), email: c.email, name: c.name, role: c.role, permissions })
}

async fn record_attempt(
    tx: &mut sqlx::PgConnection,
    user_id: Option<uuid::Uuid>,
    email: &str,
    succeeded: bool,
    reason: &str,
    client: &ClientInfo,
) -> Result<(), sqlx::Error> {
    // Bounded: an attacker must not be able to store megabytes per attempt.
    let email: String = email.chars().take(320).collect();
    sqlx::query(
        "INSERT INTO penguin_console.staff_sign_in_attempts (user_id, email, succeeded, reason, ip_address, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(email)
    .bind(succeeded)
    .bind(reason)
    .bind(&client.ip)
    .bind(&client.user_agent)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
