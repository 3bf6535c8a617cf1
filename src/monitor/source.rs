//! The monitoring checks as a source of the headless watcher ([`crate::alerts::watch`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use super::{check_areas, Area, MonitorSecrets, MonitorSettings, Reader};
use crate::alerts::watch::{CheckSource, SourceFuture};
use crate::auth::Staff;
use crate::central::Central;

/// How often the blocklists are asked: they rate-limit, and a listing changes slowly.
pub const DNSBL_EVERY: Duration = Duration::from_secs(15 * 60);

/// Runs every configured check each tick, except the DNS blocklists, which run every
/// [`DNSBL_EVERY`]. A tick without them leaves their alerts as they are (the source is
/// not listed as completed), so a listing is neither resolved nor re-raised in between.
pub struct MonitorSource {
    settings: MonitorSettings,
    secrets: MonitorSecrets,
    staff: Staff,
    last_dnsbl: Mutex<Option<DateTime<Utc>>>,
}

impl MonitorSource {
    /// Checks as the profile's service identity over the owner's connection
    /// (`monitoring.read`, no personal data; records blocklist results).
    pub fn new(profile: &str, settings: MonitorSettings, secrets: MonitorSecrets) -> MonitorSource {
        MonitorSource { settings, secrets, staff: Staff::service(profile), last_dnsbl: Mutex::new(None) }
    }
}

impl CheckSource for MonitorSource {
    fn name(&self) -> &str {
        "monitor"
    }

    fn run<'a>(&'a self, central: &'a Central, now: DateTime<Utc>) -> SourceFuture<'a> {
        Box::pin(async move {
            let mut last = self.last_dnsbl.lock().await;
            let dnsbl_due = last.is_none_or(|t| now - t >= chrono::Duration::from_std(DNSBL_EVERY).unwrap_or_default());
            let areas: Vec<Area> = Area::ALL.iter().copied().filter(|a| *a != Area::Dnsbl || dnsbl_due).collect();
            let report = check_areas(Reader::Service(central, &self.staff), &self.settings, &self.secrets, &areas)
                .await
                .map_err(|e| e.to_string())?;
            if dnsbl_due {
                *last = Some(now);
            }
            Ok(report.run)
        })
    }
}
