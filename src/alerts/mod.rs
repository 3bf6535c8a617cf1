//! Alerts: one model for every monitoring source.
//!
//! A check run ([`CheckRun`]) reports the [`Condition`]s it found. A condition's
//! fingerprint names a persisting problem, so a problem seen on every run is one alert,
//! not thousands; an alert whose source was checked and whose condition is gone is
//! resolved automatically.
//!
//! - [`reconcile`] turns a check run into alerts in `penguin_console.alerts` (notifications
//!   database) and queues the pages of new critical alerts that no silence covers;
//! - [`deliver_pending`] sends queued notifications (PagerDuty Events API v2, email to the
//!   on-call list), recording each outcome and retrying failures with backoff;
//! - [`acknowledge`], [`resolve`], [`add_note`], [`create_silence`], [`expire_silence`]
//!   are the staff actions: functions of the notifications database (permission
//!   `alerts.manage`, audited), called with the staff member's session;
//! - [`feed`], [`detail`] and [`silences`] read the synced cache (permission `monitoring.read`);
//! - [`watch`] is the headless watcher's loop with pluggable check sources.
//!
//! ## Several watchers, one page
//! Watchers coordinate only through the database: [`reconcile`] runs under a
//! transaction-scoped advisory lock; the partial unique index on the fingerprint of open
//! alerts makes a persisting condition one row (`INSERT … ON CONFLICT`); a notification is
//! unique per alert, channel and event; and [`deliver_pending`] claims each notification
//! with `FOR UPDATE SKIP LOCKED`, so two watchers never send the same one.

mod actions;
mod at_risk;
mod condition;
mod deliver;
mod email;
mod feed;
pub mod pagerduty;
pub mod pagerduty_fake;
mod reconcile;
pub mod watch;

pub use actions::{acknowledge, add_note, create_silence, expire_silence, resolve, NewSilence};
pub use at_risk::{at_risk, AtRisk, CampaignAtRisk, TenantAtRisk, WorkspaceAtRisk};
pub use condition::{CheckRun, Condition, Severity, Subject};
pub use deliver::{deliver_pending, Channels, DeliveryReport};
pub use email::Mailer;
pub use feed::{detail, feed, silences, AlertDetail, AlertRow, FeedFilter, NoteRow, NotificationRow, SilenceRow};
pub use reconcile::{reconcile, silence_matches, Channel, ReconcileReport};

use serde::{Deserialize, Serialize};

use crate::profiles::{Profile, KEYRING_SERVICE};

/// Keyring account suffix of the PagerDuty routing key (`PROFILE/pagerduty`).
pub const PAGERDUTY_ACCOUNT: &str = "pagerduty";
/// Keyring account suffix of the SMTP relay password (`PROFILE/smtp-relay`).
pub const SMTP_ACCOUNT: &str = "smtp-relay";
/// Environment variable that overrides the keyring's routing key (headless servers).
pub const PAGERDUTY_KEY_ENV: &str = "PENGUIN_PAGERDUTY_ROUTING_KEY";
/// Environment variable that overrides the keyring's SMTP relay password.
pub const SMTP_PASSWORD_ENV: &str = "PENGUIN_SMTP_PASSWORD";

/// The profile's `[alerts]` section: where critical alerts are paged and mailed.
/// Secrets (the PagerDuty routing key, the SMTP relay password) live in the OS keyring.
///
/// ```toml
/// [alerts.pagerduty]
/// api_base = "https://events.pagerduty.com"   # the default
///
/// [alerts.email]
/// on_call = ["oncall@example.com"]
/// smtp_host = "smtp.internal"
/// smtp_port = 587
/// from = "alerts@example.com"
/// starttls = true
/// username = "alerts"
///
/// [alerts.retry]
/// max_attempts = 10
/// first_backoff_secs = 30
/// max_backoff_secs = 3600
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// Page critical alerts through PagerDuty (routing key in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutySettings>,
    /// Mail critical alerts to the on-call list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSettings>,
    /// How failed notifications are retried.
    #[serde(default)]
    pub retry: RetryPolicy,
}

/// `[alerts.pagerduty]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySettings {
    /// Events API base URL (`https://events.pagerduty.com`, or a fake's address).
    #[serde(default = "default_pagerduty_base")]
    pub api_base: String,
}

impl Default for PagerDutySettings {
    fn default() -> Self {
        PagerDutySettings { api_base: default_pagerduty_base() }
    }
}

fn default_pagerduty_base() -> String {
    "https://events.pagerduty.com".into()
}

/// `[alerts.email]`: the SMTP relay and the on-call list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// Who gets the alert mails.
    pub on_call: Vec<String>,
    /// The relay's host name.
    pub smtp_host: String,
    /// Its port (587 by default).
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// The sender address.
    pub from: String,
    /// Require STARTTLS (default true); `false` only for a relay on a trusted local network.
    #[serde(default = "default_true")]
    pub starttls: bool,
    /// User name for SMTP AUTH; its password is in the keyring (`PROFILE/smtp-relay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_true() -> bool {
    true
}

/// `[alerts.retry]`: exponential backoff for failed notifications.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts before a notification is given up as failed.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    #[serde(default = "default_first_backoff")]
    pub first_backoff_secs: u64,
    /// Longest wait between attempts.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: default_attempts(),
            first_backoff_secs: default_first_backoff(),
            max_backoff_secs: default_max_backoff(),
        }
    }
}

fn default_attempts() -> u32 {
    10
}
fn default_first_backoff() -> u64 {
    30
}
fn default_max_backoff() -> u64 {
    3600
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1-based).
    pub fn backoff(&self, attempts: u32) -> chrono::Duration {
        let factor = 1u64 << attempts.saturating_sub(1).min(20);
        let secs = self.first_backoff_secs.saturating_mul(factor).min(self.max_backoff_secs);
        chrono::Duration::seconds(secs as i64)
    }
}

/// Errors of the alerts.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// A database failed.
    #[error("alerts: {0}")]
    Database(sqlx::Error),
    /// The console's alert tables are missing.
    #[error(
        "the alert tables are missing on the notifications database; run `penguin-admin install --profile PROFILE`"
    )]
    NotInstalled,
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] crate::auth::AuthError),
    /// Writing the audit entry failed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// No such alert or silence.
    #[error("{0} not found (it may have been removed, or the cache is older than the database: sync and retry)")]
    NotFound(String),
    /// The action does not apply in the current state.
    #[error("{0}")]
    Conflict(String),
    /// Bad input from the caller.
    #[error("{0}")]
    BadInput(String),
    /// A channel is configured wrongly or its secret is missing.
    #[error("{0}")]
    Config(String),
}

impl AlertError {
    pub(crate) fn from_sqlx(e: sqlx::Error) -> AlertError {
        AlertError::from(e)
    }
}

impl From<sqlx::Error> for AlertError {
    /// A refusal of a console function (an ended session, a missing permission, bad
    /// input, not found, a conflict) reaches the user as such, with its message.
    fn from(e: sqlx::Error) -> Self {
        use crate::auth::{refusal, rule_violation, RuleKind};
        if let Some(refused) = refusal(&e) {
            return AlertError::Forbidden(refused);
        }
        match rule_violation(&e) {
            Some((RuleKind::BadInput, m)) => AlertError::BadInput(m),
            Some((RuleKind::NotFound, m)) => AlertError::NotFound(m),
            Some((RuleKind::Conflict, m)) => AlertError::Conflict(m),
            None => match &e {
                sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => AlertError::NotInstalled,
                _ => AlertError::Database(e),
            },
        }
    }
}

/// The secrets the channels need, read from the environment or the OS keyring.
#[derive(Clone, Default)]
pub struct Secrets {
    /// PagerDuty integration routing key (32 characters).
    pub pagerduty_routing_key: Option<String>,
    /// SMTP relay password.
    pub smtp_password: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("pagerduty_routing_key", &self.pagerduty_routing_key.as_ref().map(|_| "•••"))
            .field("smtp_password", &self.smtp_password.as_ref().map(|_| "•••"))
            .finish()
    }
}

fn keyring_get(profile: &Profile, account: &str) -> Result<Option<String>, AlertError> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, &format!("{}/{account}", profile.name))
        .map_err(|e| AlertError::Config(format!("the OS keyring cannot be used: {e}")))?;
    match entry.get_password() {
        Ok(v) => Ok(Some(v)),
        Err(keyring::Error::NoEntry)
        | Err(keyring::Error::PlatformFailure(_))
        | Err(keyring::Error::NoStorageAccess(_)) => Ok(None),
        Err(e) => Err(AlertError::Config(format!("reading `{}/{account}` from the OS keyring: {e}", profile.name))),
    }
}

fn keyring_set(profile: &Profile, account: &str, value: &str) -> Result<(), AlertError> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("{}/{account}", profile.name))
        .and_then(|e| e.set_password(value))
        .map_err(|e| AlertError::Config(format!("storing `{}/{account}` in the OS keyring: {e}", profile.name)))
}

impl Secrets {
    /// Reads the secrets: the environment variables [`PAGERDUTY_KEY_ENV`] and
    /// [`SMTP_PASSWORD_ENV`] first (a headless server without a keyring), then the OS
    /// keyring (`PROFILE/pagerduty`, `PROFILE/smtp-relay`).
    pub fn load(profile: &Profile) -> Result<Secrets, AlertError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let pagerduty_routing_key = match env(PAGERDUTY_KEY_ENV) {
            Some(v) => Some(v),
            None => keyring_get(profile, PAGERDUTY_ACCOUNT)?,
        };
        let smtp_password = match env(SMTP_PASSWORD_ENV) {
            Some(v) => Some(v),
            None => keyring_get(profile, SMTP_ACCOUNT)?,
        };
        Ok(Secrets { pagerduty_routing_key, smtp_password })
    }
}

/// Stores the profile's PagerDuty routing key in the OS keyring.
pub fn set_pagerduty_routing_key(profile: &Profile, key: &str) -> Result<(), AlertError> {
    pagerduty::validate_routing_key(key)?;
    keyring_set(profile, PAGERDUTY_ACCOUNT, key)
}

/// Stores the profile's SMTP relay password in the OS keyring.
pub fn set_smtp_password(profile: &Profile, password: &str) -> Result<(), AlertError> {
    keyring_set(profile, SMTP_ACCOUNT, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_with_defaults() {
        let s: AlertSettings = toml::from_str(
            "[pagerduty]\n[email]\non_call = [\"a@x.test\"]\nsmtp_host = \"relay\"\nfrom = \"alerts@x.test\"\n",
        )
        .expect("valid");
        assert_eq!(s.pagerduty.expect("pagerduty").api_base, "https://events.pagerduty.com");
        let email = s.email.expect("email");
        assert_eq!((email.smtp_port, email.starttls), (587, true));
        assert_eq!(s.retry.max_attempts, 10);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy { max_attempts: 5, first_backoff_secs: 30, max_backoff_secs: 100 };
        assert_eq!(p.backoff(1).num_seconds(), 30);
        assert_eq!(p.backoff(2).num_seconds(), 60);
        assert_eq!(p.backoff(3).num_seconds(), 100);
    }
}
