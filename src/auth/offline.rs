//! Signing in while the platform is unreachable, so cached data stays reviewable.
//!
//! After each online sign-in the cache file keeps, for that staff member, an argon2id
//! verifier of the password (salted afresh, never the platform's own hash) with the
//! role and permissions granted at that moment (`_staff_offline`). Offline, the
//! password is checked against it and the same five-failures / 15-minutes lock is
//! counted locally. An offline session can only read the cache: every action needs
//! the platform, where the real permission check runs again.

use std::collections::BTreeSet;
use std::path::Path;

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};

use super::{verify_password, AuthError, Staff, LOCK_MINUTES, MAX_FAILED_ATTEMPTS};
use crate::cache::{self, CacheError};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS _staff_offline (
    email TEXT PRIMARY KEY, user_id TEXT, name TEXT, role TEXT NOT NULL, permissions TEXT NOT NULL,
    verifier TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT, updated TEXT NOT NULL)";

/// Remembers a successful online sign-in in the cache at `path`.
pub fn remember(path: &Path, staff: &Staff, password: &str) -> Result<(), CacheError> {
    let salt = SaltString::generate(&mut OsRng);
    let verifier = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CacheError::Sql { context: format!("hashing ({e})"), source: rusqlite::Error::InvalidQuery })?;
    let conn = cache::open_write(path)?;
    conn.execute_batch(TABLE).map_err(CacheError::sql("preparing offline sign-in"))?;
    conn.execute(
        "INSERT OR REPLACE INTO _staff_offline (email, user_id, name, role, permissions, verifier, failed, locked_until, updated)
         VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6, 0, NULL, ?7)",
        params![
            staff.email,
            staff.user_id.map(|u| u.to_string()),
            staff.name,
            staff.role,
            serde_json::to_string(&staff.permissions).unwrap_or_default(),
            verifier,
            Utc::now().to_rfc3339()
        ],
    )
    .map_err(CacheError::sql("remembering the sign-in"))?;
    Ok(())
}

/// Errors of an offline sign-in.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// This person never signed in online on this machine with this profile.
    #[error(
        "the platform is unreachable and {0} has not signed in on this computer before; sign in once while online"
    )]
    Unknown(String),
    /// Wrong password or locked.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Checks `password` against the remembered verifier.
pub fn sign_in(path: &Path, email: &str, password: &str) -> Result<Staff, OfflineError> {
    let unknown = || OfflineError::Unknown(email.to_string());
    if !path.exists() {
        return Err(unknown());
    }
    let conn = cache::open_write(path)?;
    conn.execute_batch(TABLE).map_err(CacheError::sql("preparing offline sign-in"))?;
    let row = conn
        .query_row(
            "SELECT user_id, name, role, permissions, verifier, failed, locked_until FROM _staff_offline WHERE email = lower(?1)",
            [email.trim()],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i32>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .optional()
        .map_err(CacheError::sql("reading offline sign-in"))?;
    let Some((user_id, name, role, perms, verifier, mut failed, locked)) = row else { return Err(unknown()) };
    let now = Utc::now();
    if let Some(until) = locked.and_then(|l| DateTime::parse_from_rfc3339(&l).ok()).map(|t| t.with_timezone(&Utc)) {
        if until > now {
            return Err(AuthError::Locked { until }.into());
        }
        failed = 0;
    }
    if !verify_password(password, &verifier) {
        failed += 1;
        let until = (failed >= MAX_FAILED_ATTEMPTS).then(|| now + Duration::minutes(LOCK_MINUTES));
        conn.execute(
            "UPDATE _staff_offline SET failed = ?2, locked_until = ?3 WHERE email = lower(?1)",
            params![email.trim(), failed, until.map(|u| u.to_rfc3339())],
        )
        .map_err(CacheError::sql("counting a failed sign-in"))?;
        return Err(match until {
            Some(until) => AuthError::Locked { until },
            None => AuthError::BadCredentials { remaining: MAX_FAILED_ATTEMPTS - failed },
        }
        .into());
    }
    conn.execute("UPDATE _staff_offline SET failed = 0, locked_until = NULL WHERE email = lower(?1)", [email.trim()])
        .map_err(CacheError::sql("resetting failures"))?;
    let permissions: BTreeSet<String> = serde_json::from_str(&perms).unwrap_or_default();
    Ok(Staff {
        user_id: user_id.and_then(|u| uuid::Uuid::parse_str(&u).ok()),
        email: email.trim().to_lowercase(),
        name,
        role,
        permissions,
    })
}
