//! Connection profiles: a small TOML file naming the platform's four databases.
//!
//! ```toml
//! [databases]
//! oltp = "postgres://console@db.internal:5432/oltp?sslmode=require"
//! queue = "postgres://console@db.internal:5432/queue?sslmode=require"
//! olap = "postgres://console@olap.internal:5432/olap?sslmode=require"
//! notifications = "postgres://console@db.internal:5432/notifications?sslmode=require"
//! ```
//!
//! Passwords never live in the file: they are read from the OS keyring (service
//! `penguin-admin`, account `PROFILE/DATABASE`), except for a throwaway demo cluster,
//! whose `[demo]` section names its directory: the demo's desktop-login password sits
//! there in a file only its owner reads. A URL that carries a password in any form
//! (`user:pass@` or `?password=`) is refused so a secret cannot end up in a config file
//! by accident.
//!
//! A desktop's profile names the **desktop login** (see `central::install`), which can
//! do nothing without a staff member's session. Server-side tools (install, the
//! watcher, the demo's seeding) use [`Profile::owner_targets`]: for a demo, the
//! cluster's superuser over its private socket; otherwise the profile's own login,
//! which on a server is the platform's service login.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::central::{CentralError, DbKind, DbTarget};
use crate::demo::cluster::Cluster;

/// The keyring service under which database passwords are stored.
pub const KEYRING_SERVICE: &str = "penguin-admin";

/// Errors loading or saving a profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No such file or named profile.
    #[error(
        "profile `{0}` not found (looked for {1}); create one with `penguin-admin demo up` or write the TOML file"
    )]
    NotFound(String, String),
    /// The file is not valid TOML or lacks required keys.
    #[error("profile {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What was wrong, with the line where known.
        reason: String,
    },
    /// A database URL is unusable.
    #[error("profile {path}: {source}")]
    BadUrl {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: CentralError,
    },
    /// The keyring could not be read.
    #[error("could not read the password of the {db} database from the OS keyring: {reason}")]
    Keyring {
        /// Which database.
        db: DbKind,
        /// The keyring's answer.
        reason: String,
    },
    /// The Stripe key could not be read or stored.
    #[error("the Stripe secret key of this profile could not be used from the OS keyring: {0}")]
    StripeKey(String),
    /// File system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The four database URLs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DatabaseUrls {
    /// OLTP database URL.
    pub oltp: String,
    /// Queue database URL.
    pub queue: String,
    /// OLAP database URL.
    pub olap: String,
    /// Notifications database URL.
    pub notifications: String,
}

impl DatabaseUrls {
    /// The URL of one database.
    pub fn get(&self, kind: DbKind) -> &str {
        match kind {
            DbKind::Oltp => &self.oltp,
            DbKind::Queue => &self.queue,
            DbKind::Olap => &self.olap,
            DbKind::Notifications => &self.notifications,
        }
    }
}

/// A connection profile as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The platform's databases.
    pub databases: DatabaseUrls,
    /// Present when the profile points at a throwaway demo cluster of this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<Cluster>,
    /// Stripe, if the console should sync it (`[stripe] api_base = "https://api.stripe.com"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<StripeSettings>,
    /// Monitoring sources and thresholds (`[monitor]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::monitor::MonitorSettings>,
    /// Where critical alerts go (`[alerts]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<crate::alerts::AlertSettings>,
    /// The local cache (`[cache]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSettings>,
    /// Where the profile was loaded from (not stored).
    #[serde(skip)]
    pub path: PathBuf,
    /// The profile's name: its file stem (not stored).
    #[serde(skip)]
    pub name: String,
}

/// The profile's `[stripe]` section. The secret key is not here: it lives in the OS
/// keyring under account `PROFILE/stripe` ([`Profile::set_stripe_key`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// `https://api.stripe.com`, or the address of a fake.
    pub api_base: String,
}

/// The profile's `[cache]` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// A cache not written for this many days (a laptop that stayed offline) is deleted
    /// when the profile is next selected. Default 14.
    pub max_offline_days: u32,
}

/// The keyring account suffix of the Stripe secret key.
pub const STRIPE_ACCOUNT: &str = "stripe";

/// The directory holding named profiles (`~/.config/penguin-admin/profiles`).
pub fn profiles_dir() -> PathBuf {
    dirs::config_dir().unwrap_or_else(std::env::temp_dir).join("penguin-admin").join("profiles")
}

/// Resolves `name_or_path`: an existing file path, or a name in [`profiles_dir`].
pub fn resolve(name_or_path: &str) -> PathBuf {
    let as_path = Path::new(name_or_path);
    if name_or_path.contains('/') || name_or_path.ends_with(".toml") || as_path.is_file() {
        as_path.to_path_buf()
    } else {
        profiles_dir().join(format!("{name_or_path}.toml"))
    }
}

impl Profile {
    /// Loads and validates a profile by name or path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        let path = resolve(name_or_path);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProfileError::NotFound(name_or_path.into(), path.display().to_string()))
            }
            Err(e) => return Err(ProfileError::Io { context: format!("reading {}", path.display()), source: e }),
        };
        Self::parse(&text, &path)
    }

    /// Parses profile text; `path` names it in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let shown = path.display().to_string();
        let mut profile: Profile = toml::from_str(text)
            .map_err(|e| ProfileError::Malformed { path: shown.clone(), reason: describe_toml_error(text, &e) })?;
        for kind in DbKind::ALL {
            let url = profile.databases.get(kind);
            DbTarget::parse(kind, url, None).map_err(|source| ProfileError::BadUrl { path: shown.clone(), source })?;
            let parsed = url::Url::parse(url).ok();
            let in_userinfo = parsed.as_ref().and_then(|u| u.password()).is_some();
            let in_query = parsed.as_ref().is_some_and(|u| {
                u.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("passfile"))
            });
            if in_userinfo || in_query {
                return Err(ProfileError::Malformed {
                    path: shown,
                    reason: format!(
                        "the {kind} URL contains a password; remove it and store it in the OS keyring with \
                         `penguin-admin profile set-password`"
                    ),
                });
            }
        }
        profile.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        profile.path = path.to_path_buf();
        Ok(profile)
    }

    /// The profile of a throwaway demo cluster, to be saved at `path` (named after it).
    pub fn for_demo(cluster: &Cluster, path: &Path) -> Profile {
        Profile {
            databases: DatabaseUrls {
                oltp: cluster.desktop_url(DbKind::Oltp),
                queue: cluster.desktop_url(DbKind::Queue),
                olap: cluster.desktop_url(DbKind::Olap),
                notifications: cluster.desktop_url(DbKind::Notifications),
            },
            demo: Some(cluster.clone()),
            stripe: None,
            monitor: None,
            alerts: None,
            cache: None,
            path: path.to_path_buf(),
            name: path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        }
    }

    /// Writes the profile to `path` (creating parent directories).
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ProfileError::Io { context: format!("creating {}", parent.display()), source: e })?;
        }
        let text = toml::to_string_pretty(self)
            .map_err(|e| ProfileError::Malformed { path: path.display().to_string(), reason: e.to_string() })?;
        std::fs::write(path, text)
            .map_err(|e| ProfileError::Io { context: format!("writing {}", path.display()), source: e })
    }

    /// Connection targets for the four databases, with passwords from the keyring.
    pub fn targets(&self) -> Result<[DbTarget; 4], ProfileError> {
        self.targets_with(&std::collections::HashMap::new())
    }

    /// Like [`Profile::targets`], preferring passwords held for this session only
    /// (when the keyring cannot store them).
    pub fn targets_with(
        &self,
        session: &std::collections::HashMap<DbKind, String>,
    ) -> Result<[DbTarget; 4], ProfileError> {
        // A demo that is gone has no password file either: connecting then fails as
        // unreachable, which is what it is.
        let demo_password = self.demo.as_ref().map(|cluster| cluster.read_desktop_password());
        let target = |kind: DbKind| -> Result<DbTarget, ProfileError> {
            let password = if let Some(pw) = &demo_password {
                pw.clone()
            } else if let Some(pw) = session.get(&kind) {
                Some(pw.clone())
            } else {
                self.password(kind)?
            };
            DbTarget::parse(kind, self.databases.get(kind), password.as_deref())
                .map_err(|source| ProfileError::BadUrl { path: self.path.display().to_string(), source })
        };
        Ok([target(DbKind::Oltp)?, target(DbKind::Queue)?, target(DbKind::Olap)?, target(DbKind::Notifications)?])
    }

    /// Connection targets with the owner's rights, for server-side tools: a demo's
    /// superuser over the cluster's private socket, otherwise the profile's own login.
    pub fn owner_targets(&self) -> Result<[DbTarget; 4], ProfileError> {
        let Some(cluster) = &self.demo else { return self.targets() };
        let target = |kind: DbKind| {
            DbTarget::parse(kind, &cluster.url(kind), None)
                .map_err(|source| ProfileError::BadUrl { path: self.path.display().to_string(), source })
        };
        Ok([target(DbKind::Oltp)?, target(DbKind::Queue)?, target(DbKind::Olap)?, target(DbKind::Notifications)?])
    }

    fn keyring_entry(&self, kind: DbKind) -> Result<keyring::Entry, ProfileError> {
        keyring::Entry::new(KEYRING_SERVICE, &format!("{}/{}", self.name, kind.key()))
            .map_err(|e| ProfileError::Keyring { db: kind, reason: e.to_string() })
    }

    /// The stored password of one database, `None` when none is stored.
    ///
    /// A keyring that is not available at all (no Secret Service on a headless
    /// server) also gives `None`: the server then asks for a password and the
    /// connection error says so.
    pub fn password(&self, kind: DbKind) -> Result<Option<String>, ProfileError> {
        match self.keyring_entry(kind)?.get_password() {
            Ok(pw) => Ok(Some(pw)),
            Err(keyring::Error::NoEntry)
            | Err(keyring::Error::PlatformFailure(_))
            | Err(keyring::Error::NoStorageAccess(_)) => Ok(None),
            Err(e) => Err(ProfileError::Keyring { db: kind, reason: e.to_string() }),
        }
    }

    /// Stores the password of one database in the keyring.
    pub fn set_password(&self, kind: DbKind, password: &str) -> Result<(), ProfileError> {
        self.keyring_entry(kind)?
            .set_password(password)
            .map_err(|e| ProfileError::Keyring { db: kind, reason: e.to_string() })
    }
}

impl Profile {
    fn stripe_entry(&self) -> Result<keyring::Entry, ProfileError> {
        keyring::Entry::new(KEYRING_SERVICE, &format!("{}/{STRIPE_ACCOUNT}", self.name))
            .map_err(|e| ProfileError::StripeKey(e.to_string()))
    }

    /// The Stripe secret key stored for this profile, `None` when none is stored or
    /// the keyring is unavailable.
    pub fn stripe_key(&self) -> Result<Option<String>, ProfileError> {
        match self.stripe_entry()?.get_password() {
            Ok(k) => Ok(Some(k)),
            Err(keyring::Error::NoEntry)
            | Err(keyring::Error::PlatformFailure(_))
            | Err(keyring::Error::NoStorageAccess(_)) => Ok(None),
            Err(e) => Err(ProfileError::StripeKey(e.to_string())),
        }
    }

    /// Stores the Stripe secret key of this profile in the keyring.
    pub fn set_stripe_key(&self, key: &str) -> Result<(), ProfileError> {
        self.stripe_entry()?.set_password(key).map_err(|e| ProfileError::StripeKey(e.to_string()))
    }
}

/// Renders a TOML error with its line number, without echoing the file's content.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[databases]
oltp = "postgres://console@db:5432/oltp"
queue = "postgres://console@db:5432/queue"
olap = "postgres://console@db:5432/olap"
notifications = "postgres://console@db:5432/notifications"
"#;

    #[test]
    fn parses_a_good_profile_and_names_it_after_the_file() {
        let p = Profile::parse(GOOD, Path::new("/x/prod.toml")).expect("valid");
        assert_eq!(p.name, "prod");
        assert_eq!(p.databases.get(DbKind::Olap), "postgres://console@db:5432/olap");
    }

    #[test]
    fn refuses_missing_database_with_line_context() {
        let text = GOOD.replace("olap = \"postgres://console@db:5432/olap\"\n", "");
        let err = Profile::parse(&text, Path::new("p.toml")).expect_err("olap missing").to_string();
        assert!(err.contains("olap"), "{err}");
    }

    #[test]
    fn refuses_a_password_in_a_url() {
        let text = GOOD.replace("console@db:5432/oltp", "console:secret@db:5432/oltp");
        let err = Profile::parse(&text, Path::new("p.toml")).expect_err("password").to_string();
        assert!(err.contains("keyring"), "{err}");
        assert!(!err.contains("secret"), "the secret must not be echoed: {err}");
    }

    #[test]
    fn refuses_a_password_in_the_query_too() {
        for form in ["?password=secret", "?sslmode=require&PASSWORD=secret", "?passfile=/tmp/secret"] {
            let text = GOOD.replace("console@db:5432/queue\"", &format!("console@db:5432/queue{form}\""));
            let err = Profile::parse(&text, Path::new("p.toml")).expect_err(form).to_string();
            assert!(err.contains("queue URL contains a password"), "{form}: {err}");
            assert!(!err.contains("secret"), "the secret must not be echoed: {err}");
        }
    }

    #[test]
    fn refuses_a_non_postgres_url() {
        let text = GOOD.replace("postgres://console@db:5432/queue", "mysql://db/queue");
        let err = Profile::parse(&text, Path::new("p.toml")).expect_err("scheme").to_string();
        assert!(err.contains("queue") && err.contains("mysql"), "{err}");
    }

    #[test]
    fn malformed_toml_reports_the_line() {
        let err = Profile::parse("[databases]\noltp = \n", Path::new("p.toml")).expect_err("bad").to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
