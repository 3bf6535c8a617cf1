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
    /// Signs whoever is signed in out and `<role>@penguinmails.demo` in.
    pub async fn sign_in_as(&self, role: &str) {
        self.app.sign_out();
        self.app.select_profile("demo").await.unwrap();
        self.app.sign_in(&format!("{role}@penguinmails.demo"), PW).await.unwrap();
    }
}

/// Starts the demo, syncs it into the cache as super_admin and signs out.
pub async fn demo_app() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(AppDirs { config: dir.path().join("config"), data: dir.path().join("data") });
    app.start_demo(1, |_| {}).await.expect("demo starts");
    app.select_profile("demo").await.unwrap();
    let d = Demo { app, dir };
    d.app.sign_in("super_admin@penguinmails.demo", PW).await.unwrap();
    d.app.sync(|_| {}).await.unwrap();
    d.app.sign_out();
    d.app.select_profile("demo").await.unwrap();
    d
}
