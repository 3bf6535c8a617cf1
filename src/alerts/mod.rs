//! Alerts: one model for every monitoring source.
//!
//! A check run ([`CheckRun`]) reports the [`Condition`]s it found. A condition's
//! fingerprint names a persisting problem, so a problem seen on every run is one alert,
//! not thousands; an alert whose source was checked and whose condition is gone is
//! resolved automatically.

mod condition;

pub use condition::{CheckRun, Condition, Severity, Subject};

use serde::{Deserialize, Serialize};

/// The profile's `[alerts]` section: where critical alerts are paged and mailed.
/// Secrets (the PagerDuty routing key, the SMTP relay password) live in the OS keyring.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {}
