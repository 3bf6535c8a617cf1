//! Logging to a daily-rotated file in the OS log directory (on Linux
//! `~/.local/share/com.penguinmails.admin/logs`), keeping a week of files.
//!
//! The shell logs which commands the UI calls (names only, at `debug`) and start-up
//! failures; the library logs its own work. Never command arguments: they carry
//! passwords, emails and search text typed about customers. `RUST_LOG` overrides the
//! default `info` level.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Log files kept before the oldest is deleted.
const KEEP_FILES: usize = 7;

/// Starts logging into `dir`. Keep the guard alive for the life of the app: dropping
/// it flushes and stops the writer thread.
pub fn init(dir: &Path) -> Result<WorkerGuard, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating the log directory {}: {e}", dir.display()))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("penguin-admin")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| format!("opening the log file in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("starting the logger: {e}"))?;
    Ok(guard)
}
