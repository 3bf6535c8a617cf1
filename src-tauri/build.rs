//! Generates the Tauri context from the app's `tauri.conf.json`.
//!
//! The file lives at the repository root; `src-tauri/tauri.conf.json` is a symlink to
//! it. Both this script and `generate_context!` read it through the symlink, so every
//! path in the config is relative to `src-tauri/` — the same base the Tauri CLI uses
//! (run with `TAURI_APP_PATH=$PWD/src-tauri`), so one config serves plain cargo and the
//! CLI alike.

fn main() {
    let attributes = tauri_build::Attributes::new().config_path("tauri.conf.json");
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build script failed: {error:#}");
    }
}
