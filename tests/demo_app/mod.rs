//! A seeded throwaway demo behind an [`App`], shared by the tests of the desktop app's
//! operations (tests/app*.rs): scale 1, synced once by super_admin, nobody signed in.
#![allow(dead_code, clippy::unwrap_used)]

use penguin_admin::app::{App, AppDirs};
use penguin_admin::demo::{self, seed};

/// Every demo staff account's password.
pub const PW: &str = seed::DEMO_PASSWORD;

/// The app on the demo; dropping it stops the demo's PostgreSQL.
pub struct Demo {
    pub app: App,
    pub dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = demo::down(&self.dir.path().join("config/profiles/demo.toml"));
    }
}

impl Demo {
    /// Signs whoever is signed in out and `<role>@penguinmails.demo` in, then syncs
    /// their own cache (each staff member has one), as the desktop does after sign-in.
    pub async fn sign_in_as(&self, role: &str) {
        self.app.sign_out().await;
        self.app.select_profile("demo").await.unwrap();
        self.app.sign_in(&format!("{role}@penguinmails.demo"), PW).await.unwrap();
        self.app.sync(|_| {}).await.unwrap();
    }
}

/// Starts the demo, syncs it into the cache as super_admin and signs out.
pub async fn demo_app() -> Demo {
    // No OS keyring here: the caches' key comes from the environment, as on a server
    // (without it every sign-out would delete the cache, its key living for the session).
    std::env::set_var(penguin_admin::cache::key::ENV_KEY, "app-tests-cache-key");
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(AppDirs { config: dir.path().join("config"), data: dir.path().join("data") });
    app.start_demo(1, |_| {}).await.expect("demo starts");
    app.select_profile("demo").await.unwrap();
    let d = Demo { app, dir };
    d.app.sign_in("super_admin@penguinmails.demo", PW).await.unwrap();
    d.app.sync(|_| {}).await.unwrap();
    d.app.sign_out().await;
    d.app.select_profile("demo").await.unwrap();
    d
}
