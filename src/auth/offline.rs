//! Signing in while the platform is unreachable, so cached data stays reviewable.
//!
//! After each online sign-in the staff member's own (encrypted) cache keeps an argon2id
//! verifier of the password (salted afresh, never the platform's own hash) with the
//! role and permissions granted at that moment (`_staff_offline`), bound to the cache's
//! key by an HMAC: a row edited or copied in is refused. Offline, the password is
//! checked against it and the same five-failures / 15-minutes lock is counted locally.
//! An offline sign-in grants reading the cache only — it holds no session, so every
//! action and every sync needs an online sign-in — and the cache holds only what the
//! role could see, so an edited permission grants nothing.

use std::collections::BTreeSet;
use std::path::Path;

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};

use super::{verify_password, AuthError, Secret, Staff, LOCK_MINUTES, MAX_FAILED_ATTEMPTS};
use crate::cache::{self, CacheError};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS _staff_offline (
    email TEXT PRIMARY KEY, user_id TEXT, name TEXT, role TEXT NOT NULL, permissions TEXT NOT NULL,
    verifier TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT, updated TEXT NOT NULL,
    mac TEXT)";

/// What the MAC of a verifier row covers.
fn signed_part(email: &str, user_id: Option<&str>, role: &str, permissions: &str, verifier: &str) -> String {
    serde_json::json!([email, user_id, role, permissions, verifier]).to_string()
}

/// An argon2id verifier of `password`, salted afresh. It is the slow part of
/// [`remember`] (tens of milliseconds, by design), so a sign-in computes it while the
/// platform checks the password, and stores it with [`store`] once that succeeded.
pub fn verifier(password: &str) -> Result<Secret, CacheError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| Secret::new(h.to_string()))
        .map_err(|e| CacheError::Sql { context: format!("hashing ({e})"), source: rusqlite::Error::InvalidQuery })
}

/// Remembers a successful online sign-in in the cache at `path`.
pub fn remember(path: &Path, staff: &Staff, password: &str) -> Result<(), CacheError> {
    store(path, staff, &verifier(password)?)
}

/// Stores `verifier` (from [`verifier`], for the password the platform just accepted)
/// as `staff`'s offline sign-in record in the cache at `path`.
pub fn store(path: &Path, staff: &Staff, verifier: &Secret) -> Result<(), CacheError> {
    let verifier = verifier.expose();
    let conn = cache::open_write(path)?;
    conn.execute_batch(TABLE).map_err(CacheError::sql("preparing offline sign-in"))?;
    let _ = conn.execute_batch("ALTER TABLE _staff_offline ADD COLUMN mac TEXT");
    let email = staff.email.to_lowercase();
    let user_id = staff.user_id.map(|u| u.to_string());
    let permissions = serde_json::to_string(&staff.permissions).unwrap_or_default();
    let mac = cache::key::mac(path, &signed_part(&email, user_id.as_deref(), &staff.role, &permissions, verifier));
    conn.execute(
        "INSERT OR REPLACE INTO _staff_offline (email, user_id, name, role, permissions, verifier, failed, locked_until, updated, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, NULL, ?7, ?8)",
        params![email, user_id, staff.name, staff.role, permissions, verifier, Utc::now().to_rfc3339(), mac],
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
    /// The verifier row was edited, copied from another cache, or written unprotected.
    #[error("the offline sign-in record of {0} in this cache has been tampered with; sign in online")]
    Tampered(String),
}

/// Checks `password` against the remembered verifier.
pub fn sign_in(path: &Path, email: &str, password: &str) -> Result<Staff, OfflineError> {
    let unknown = || OfflineError::Unknown(email.to_string());
    if !path.exists() {
        return Err(unknown());
    }
    let conn = cache::open_write(path)?;
    cache::owned_by(&conn, path, email)?;
    conn.execute_batch(TABLE).map_err(CacheError::sql("preparing offline sign-in"))?;
    let _ = conn.execute_batch("ALTER TABLE _staff_offline ADD COLUMN mac TEXT");
    let row = conn
        .query_row(
            "SELECT user_id, name, role, permissions, verifier, failed, locked_until, mac FROM _staff_offline WHERE email = lower(?1)",
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
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()
        .map_err(CacheError::sql("reading offline sign-in"))?;
    let Some((user_id, name, role, perms, verifier, mut failed, locked, mac)) = row else { return Err(unknown()) };
    let email_key = email.trim().to_lowercase();
    let expected = cache::key::mac(path, &signed_part(&email_key, user_id.as_deref(), &role, &perms, &verifier));
    if expected.is_none() || mac != expected {
        return Err(OfflineError::Tampered(email_key));
    }
    let now = Utc::now();
    if let Some(until) =
        locked.clone().and_then(|l| DateTime::parse_from_rfc3339(&l).ok()).map(|t| t.with_timezone(&Utc))
    {
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
            None => AuthError::BadCredentials,
        }
        .into());
    }
    if failed > 0 || locked.is_some() {
        conn.execute(
            "UPDATE _staff_offline SET failed = 0, locked_until = NULL WHERE email = lower(?1)",
            [email.trim()],
        )
        .map_err(CacheError::sql("resetting failures"))?;
    }
    let permissions: BTreeSet<String> = serde_json::from_str(&perms).unwrap_or_default();
    Ok(Staff {
        user_id: user_id.and_then(|u| uuid::Uuid::parse_str(&u).ok()),
        email: email.trim().to_lowercase(),
        name,
        role,
        permissions,
    })
}
