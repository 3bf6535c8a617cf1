//! `penguin-admin watch`: the headless watcher (runs the checks on an interval, raises and
//! resolves alerts, pages) for a server, e.g. as a systemd service.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use penguin_admin::alerts::watch::{HealthSource, PurgeSource, WatchConfig, Watcher};
use penguin_admin::alerts::{Channels, Secrets};
use penguin_admin::central::Central;
use penguin_admin::monitor::source::MonitorSource;
use penguin_admin::profiles::Profile;

/// Arguments of `penguin-admin watch`.
#[derive(Args)]
pub struct WatchArgs {
    /// Profile name (in the OS config directory) or path to a profile TOML file.
    #[arg(long)]
    profile: String,
    /// A TOML file whose `[monitor]` and `[alerts]` sections replace the profile's.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run one tick and exit (for cron, or to try a configuration).
    #[arg(long)]
    once: bool,
    /// Seconds between ticks.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    interval: u64,
}

/// Runs the watcher until Ctrl-C or SIGTERM (or after one tick with `--once`).
pub async fn run(args: WatchArgs) -> Result<()> {
    let mut profile = Profile::load(&args.profile)?;
    if let Some(path) = &args.config {
        let config = WatchConfig::load(path)?;
        if config.monitor.is_some() {
            profile.monitor = config.monitor;
        }
        if config.alerts.is_some() {
            profile.alerts = config.alerts;
        }
    }
    let settings = profile.alerts.clone().unwrap_or_default();
    let secrets = Secrets::load(&profile)?;
    let channels = Channels::new(&settings, &secrets).context("configuring the alert channels")?;
    if channels.enabled().is_empty() {
        tracing::warn!("no [alerts.pagerduty] or [alerts.email] configured: alerts are recorded but nobody is paged");
    }
    let central = Central::connect(&profile.owner_targets()?, 4).await?;
    let monitor = MonitorSource::new(
        &profile.name,
        profile.monitor.clone().unwrap_or_default(),
        penguin_admin::monitor::secrets(&profile)?,
    );
    let watcher = Watcher::new(central, channels)
        .with_source(Arc::new(HealthSource::new(&profile.name)))
        .with_source(Arc::new(PurgeSource::new(&profile.name)))
        .with_source(Arc::new(monitor));
    if args.once {
        let report = watcher.tick(chrono::Utc::now()).await?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let shutdown = shutdown_signal()?;
    eprintln!("watching {} every {} s (Ctrl-C to stop)", profile.name, args.interval);
    watcher.run(Duration::from_secs(args.interval), shutdown).await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (what systemd sends on stop). The handlers are installed now, not
/// when first awaited, so a signal that arrives once the loop has announced itself is caught.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
