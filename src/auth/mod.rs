//! Staff identity, sign-in and permissions.
//!
//! Staff sign in as platform users who have a `staff_members` row. The check happens in
//! the OLTP database: its sign-in function ([`Session::sign_in`]) verifies the
//! platform's own password hash (Nile's `auth.credentials`, bcrypt), applies the
//! lockout (five failures lock an email for 15 minutes, whether or not it belongs to
//! staff, with the same answer either way) and issues a console session token. Every
//! read and action then goes through the database's role-scoped views and functions
//! with that token ([`session`]): the database re-checks the staff member and their
//! permission on every transaction.
//!
//! A [`Staff`] is what the database said of the staff member at sign-in. The library
//! uses it for clear messages, previews and masking decisions before asking the
//! database; it is never the check. It is built only here: from the database's answer,
//! from the offline verifier in the (encrypted) cache, or as the service identity of
//! server-side tools.

pub mod masking;
pub mod offline;
pub mod permissions;
pub mod session;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use permissions::Permission;
pub use session::{Secret, Session};

/// Consecutive failures that lock an account.
pub const MAX_FAILED_ATTEMPTS: i32 = 5;
/// How long a lock lasts.
pub const LOCK_MINUTES: i64 = 15;

/// Sign-in and permission errors.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email, not a staff member, or wrong password (deliberately not told
    /// apart, and without a count of attempts left).
    #[error("wrong email or password")]
    BadCredentials,
    /// Too many failures.
    #[error("this account is locked after {MAX_FAILED_ATTEMPTS} failed sign-ins until {until} (UTC); try again then or ask a super admin")]
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
    /// The role lacks the permission (checked before asking the database).
    #[error("your role ({role}) does not allow this (needs the `{permission}` permission)")]
    Forbidden {
        /// The permission needed.
        permission: &'static str,
        /// The staff member's role.
        role: String,
    },
    /// The database refused: the role lacks the permission or the data is outside what
    /// the role may see. The database's own words.
    #[error("{0}")]
    Denied(String),
    /// The console session ended (expired, idle, revoked, the staff member suspended,
    /// removed or given another role): sign in again.
    #[error("{0}")]
    SessionEnded(String),
    /// The console's schema is missing or older than this build.
    #[error("the console's schema on the platform's databases is missing or out of date; run `penguin-admin install --profile PROFILE`")]
    NotInstalled,
    /// The database answered something this build does not understand.
    #[error("unexpected answer from the database: {0}")]
    Protocol(String),
    /// The database failed.
    #[error("sign-in failed: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        refusal(&e).unwrap_or(match &e {
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("42P01" | "42883" | "3F000")) => {
                AuthError::NotInstalled
            }
            _ => AuthError::Database(e),
        })
    }
}

/// The database's refusal carried by `e`, if it is one: an ended session (SQLSTATE
/// PM401) or a denied permission (42501). Domain errors use it so a refusal reaches
/// the user as such, with the database's message.
pub fn refusal(e: &sqlx::Error) -> Option<AuthError> {
    let sqlx::Error::Database(d) = e else { return None };
    match d.code().as_deref() {
        Some("PM401") => Some(AuthError::SessionEnded(d.message().to_string())),
        Some("42501") => Some(AuthError::Denied(d.message().to_string())),
        _ => None,
    }
}

/// A business-rule refusal raised by a console function (SQLSTATE PM400 bad input,
/// PM404 not found, PM409 conflict), with the function's message.
pub fn rule_violation(e: &sqlx::Error) -> Option<(RuleKind, String)> {
    let sqlx::Error::Database(d) = e else { return None };
    let kind = match d.code().as_deref() {
        Some("PM400") => RuleKind::BadInput,
        Some("PM404") => RuleKind::NotFound,
        Some("PM409") => RuleKind::Conflict,
        _ => return None,
    };
    Some((kind, d.message().to_string()))
}

/// The kinds of business-rule refusal a console function raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// PM400: the input is invalid.
    BadInput,
    /// PM404: no such thing.
    NotFound,
    /// PM409: the target is not in a state the action applies to.
    Conflict,
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
/// Built only in this module (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    user_id: Option<uuid::Uuid>,
    email: String,
    name: Option<String>,
    role: String,
    permissions: BTreeSet<String>,
}

impl Staff {
    /// The staff member the database described.
    pub(crate) fn from_server(
        user_id: uuid::Uuid,
        email: String,
        name: Option<String>,
        role: String,
        permissions: BTreeSet<String>,
    ) -> Staff {
        Staff { user_id: Some(user_id), email, name, role, permissions }
    }

    /// The staff member a journal recorded as the author of a pending action, for
    /// attribution only: no permission.
    pub(crate) fn recorded(user_id: Option<uuid::Uuid>, email: String, role: String) -> Staff {
        Staff { user_id, email, name: None, role, permissions: BTreeSet::new() }
    }

    /// `users.id`, or `None` for the service identity.
    pub fn user_id(&self) -> Option<uuid::Uuid> {
        self.user_id
    }
    /// Email (or `service:PROFILE`).
    pub fn email(&self) -> &str {
        &self.email
    }
    /// Display name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Role name.
    pub fn role(&self) -> &str {
        &self.role
    }
    /// Permission names granted to the role.
    pub fn permissions(&self) -> &BTreeSet<String> {
        &self.permissions
    }

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

    /// The service identity with `extra` permissions (the watcher's purge).
    pub fn service_with(profile: &str, extra: &[Permission]) -> Staff {
        let mut staff = Staff::service(profile);
        staff.permissions.extend(extra.iter().map(|p| p.name.to_string()));
        staff
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

    /// A digest of the role and its permissions: a cache made under another digest is
    /// wiped at sign-in.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = format!("{}|{}", self.role, self.permissions.iter().cloned().collect::<Vec<_>>().join(","));
        hex::encode(Sha256::digest(text.as_bytes()))
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
