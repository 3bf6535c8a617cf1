//! # PenguinMails Admin Console — desktop shell
//!
//! A thin Tauri v2 shell over the `penguin_admin` library: it holds one
//! [`penguin_admin::app::App`] in Tauri's managed state, registers the commands the
//! React UI (`ui/`) calls through generated, typed bindings, and logs to a rotating
//! file. Every decision (permissions, masking, audit, sync) lives in the library.
//!
//! ## Layout
//! - [`commands`]: the IPC commands, one-line adapters to the library.
//! - [`bindings`]: the command registry and the TypeScript bindings test.
//! - [`exports`]: where exported files are written.
//! - [`logging`]: the rotating log file.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod bindings;
mod commands;
mod exports;
mod logging;
mod team;

use penguin_admin::app::{App, AppDirs};
use tauri::Manager;

fn main() {
    let registry = bindings::builder();
    let handler = registry.invoke_handler();
    let result = tauri::Builder::default()
        .manage(App::new(AppDirs::from_os()))
        .invoke_handler(move |invoke| {
            tracing::debug!(command = invoke.message.command(), "command");
            handler(invoke)
        })
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = logging::init(&log_dir)?;
            app.manage(guard);
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "started");
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"));
    if let Err(error) = result {
        tracing::error!(%error, "the app stopped with an error");
        eprintln!("penguin-admin-desktop: {error}");
        std::process::exit(1);
    }
}
