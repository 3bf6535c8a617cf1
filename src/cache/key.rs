//! Where a cache's key comes from, and what is bound to it.
//!
//! Each staff member's cache has its own random key (32 bytes, in SQLCipher's raw-key
//! form `x'…'`, so no derivation is needed to open it), kept in the OS
//! keyring (service `penguin-admin`, account `PROFILE/cache/EMAIL`). Where there is no
//! keyring (the watcher on a server, CI), `PENGUIN_ADMIN_CACHE_KEY` gives the key; with
//! neither, the key lives in memory for this session only and the cache is deleted when
//! the session ends ([`KeySource::Session`]).

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{key_of, CacheError};
use crate::auth::Secret;
use crate::profiles::KEYRING_SERVICE;

/// The environment variable a headless machine gives the cache key in.
pub const ENV_KEY: &str = "PENGUIN_ADMIN_CACHE_KEY";

/// Where a cache key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The OS keyring.
    Keyring,
    /// `PENGUIN_ADMIN_CACHE_KEY`.
    Environment,
    /// Made for this session only: the cache is deleted when it ends.
    Session,
}

/// A cache key and its source.
#[derive(Debug, Clone)]
pub struct CacheKey {
    /// The passphrase given to SQLCipher.
    pub key: Secret,
    /// Where it came from.
    pub source: KeySource,
}

fn entry(profile: &str, email: &str) -> Option<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("{profile}/cache/{}", email.trim().to_lowercase())).ok()
}

/// A new random 256-bit key, in SQLCipher's raw-key form (`x'` 64 hex digits `'`).
pub fn random_key() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("x'{}'", hex::encode(bytes))
}

/// The key of `email`'s cache for `profile`. With `create`, a missing key is made (and
/// stored in the keyring when there is one); without, a missing key is an error (an
/// offline sign-in cannot open a cache whose key is gone).
pub fn obtain(profile: &str, email: &str, create: bool) -> Result<CacheKey, CacheError> {
    if let Ok(k) = std::env::var(ENV_KEY) {
        if !k.is_empty() {
            return Ok(CacheKey { key: Secret::new(k), source: KeySource::Environment });
        }
    }
    let entry = entry(profile, email);
    match entry.as_ref().map(|e| e.get_password()) {
        Some(Ok(k)) => return Ok(CacheKey { key: Secret::new(k), source: KeySource::Keyring }),
        Some(Err(keyring::Error::NoEntry)) if create => {
            let k = random_key();
            if entry.as_ref().is_some_and(|e| e.set_password(&k).is_ok()) {
                return Ok(CacheKey { key: Secret::new(k), source: KeySource::Keyring });
            }
            return Ok(CacheKey { key: Secret::new(k), source: KeySource::Session });
        }
        _ if create => return Ok(CacheKey { key: Secret::new(random_key()), source: KeySource::Session }),
        _ => {}
    }
    Err(CacheError::KeyMissing(email.trim().to_lowercase()))
}

/// An HMAC-SHA256 (hex) of `data` under a key derived from the cache's key, so a row
/// the cache holds can be bound to that cache (the offline verifier). `None` when the
/// cache is not encrypted.
pub fn mac(path: &Path, data: &str) -> Option<String> {
    let key = key_of(path)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(format!("offline-verifier:{}", key.expose()).as_bytes()).ok()?;
    m.update(data.as_bytes());
    Some(hex::encode(m.finalize().into_bytes()))
}
