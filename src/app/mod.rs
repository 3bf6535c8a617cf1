//! The desktop app's state and operations, free of Tauri so it can be tested and
//! reused: the Tauri commands in `src-tauri` are one-line adapters over [`App`].
//!
//! [`App`] holds the selected connection profile, the connection to the platform (when
//! reachable), and the signed-in staff member. Every read and action checks the staff
//! member's permission here, whatever the UI shows. The state sits behind a std
//! `Mutex` that is never held across an `.await`: operations copy what they need out.
//!
//! Sign-out drops the staff identity, the connection pools (which hold database
//! passwords) and the passwords kept for this session only.

mod error;
mod finance;
mod monitor;
mod team;
mod tenant_admin;
mod workspaces;

pub use error::{AppError, ErrorCode};
pub use finance::{FinanceStatus, TrendChart};
pub use monitor::MonitorSnapshot;
pub use team::MemberEmail;
pub use tenant_admin::TenantAdminView;
pub use workspaces::WorkspaceHealth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::audit::{self, AuditEntry, AuditFilter, AuditPage, ExportFormat};
use crate::auth::{self, masking, permissions, ClientInfo, Staff};
use crate::central::{Central, DbKind};
use crate::members::{self, Revocation, RoleChange, TenantRole};
use crate::profiles::{DatabaseUrls, Profile};
use crate::sync::{self, Cancel, Progress};
use crate::tenants::{self, PaletteHit, TenantDetail, TenantPage, TenantQuery};
use crate::users::{self, UserDetail, UserPage, UserQuery};
use crate::{cache, demo};

/// Where the app keeps its files.
#[derive(Debug, Clone)]
pub struct AppDirs {
    /// Non-secret settings: `profiles/NAME.toml`.
    pub config: PathBuf,
    /// Caches: `NAME.sqlite`.
    pub data: PathBuf,
}

impl AppDirs {
    /// The OS's config and data directories, `penguin-admin` inside each.
    pub fn from_os() -> AppDirs {
        AppDirs {
            config: dirs::config_dir().unwrap_or_else(std::env::temp_dir).join("penguin-admin"),
            data: dirs::data_dir().unwrap_or_else(std::env::temp_dir).join("penguin-admin"),
        }
    }
}

/// One database of a profile, as shown (never with its password).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DbEndpoint {
    /// oltp / queue / olap / notifications.
    pub db: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u32,
    /// Database name.
    pub database: String,
    /// User.
    pub user: String,
    /// TLS mode (`sslmode`).
    pub tls: String,
}

/// A profile in the picker.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProfileSummary {
    /// Name.
    pub name: String,
    /// A throwaway demo cluster of this machine.
    pub is_demo: bool,
    /// Its databases.
    pub databases: Vec<DbEndpoint>,
    /// Its cache file.
    pub cache_path: String,
    /// When it was last synced (UTC), if ever.
    pub last_sync: Option<String>,
}

/// One database of a new profile, as typed in the form.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DbEndpointInput {
    /// oltp / queue / olap / notifications.
    pub db: String,
    /// Host name or IP.
    pub host: String,
    /// 1–65535.
    pub port: u32,
    /// Database name.
    pub database: String,
    /// User.
    pub user: String,
    /// Password (stored in the OS keyring, never in a file).
    pub password: String,
    /// disable / prefer / require / verify-full.
    pub tls: String,
}

/// The "Connect to the platform" form.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewProfile {
    /// Profile name (letters, digits, `-`, `_`).
    pub name: String,
    /// The four databases.
    pub databases: Vec<DbEndpointInput>,
    /// Keep the passwords in memory for this session only (when the keyring is unavailable).
    pub session_only_secrets: bool,
}

/// The signed-in staff member, as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StaffInfo {
    /// `users.id`.
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub role: String,
    /// Granted permissions.
    pub permissions: Vec<String>,
    /// Personal data is masked for this role.
    pub masked: bool,
    /// Sees sandbox tenants only.
    pub sandbox_only: bool,
}

impl From<&Staff> for StaffInfo {
    fn from(s: &Staff) -> Self {
        StaffInfo {
            user_id: s.audit_id(),
            email: s.email.clone(),
            name: s.name.clone(),
            role: s.role.clone(),
            permissions: s.permissions.iter().cloned().collect(),
            masked: s.masked(),
            sandbox_only: s.sandbox_only(),
        }
    }
}

/// What the status area shows.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AppStatus {
    /// Selected profile.
    pub profile: Option<String>,
    /// Signed-in staff member.
    pub signed_in: Option<StaffInfo>,
    /// The platform's databases are reachable.
    pub online: bool,
    /// Why not, when offline.
    pub offline_reason: Option<String>,
    /// When the last sync finished (UTC).
    pub last_sync: Option<String>,
    /// The oldest snapshot time among cached tables (UTC): how old the data is.
    pub data_as_of: Option<String>,
    /// A sync is running.
    pub syncing: bool,
}

/// Summary of a sync for the UI.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncSummary {
    /// Tables synced.
    pub tables: u32,
    /// Rows written.
    pub rows_written: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Duration.
    pub duration_ms: u64,
}

#[derive(Default)]
struct State {
    profile: Option<Profile>,
    central: Option<Central>,
    offline_reason: Option<String>,
    staff: Option<Staff>,
    /// Passwords kept for this session only, per profile.
    session_secrets: HashMap<String, HashMap<DbKind, String>>,
    cancel: Option<Cancel>,
    /// The demo profile's fake Stripe, started on first use (see [`finance`]).
    demo_stripe: Option<Arc<crate::stripe::fake::FakeStripe>>,
    /// The Monitoring screen's last report, merged area by area (see [`monitor`]).
    last_monitor: Option<crate::monitor::MonitorReport>,
}

/// The desktop app's state.
pub struct App {
    dirs: AppDirs,
    state: Mutex<State>,
    client: ClientInfo,
}

const NOT_SIGNED_IN: &str = "sign in first";

impl App {
    /// A new app over `dirs`.
    pub fn new(dirs: AppDirs) -> App {
        let client = ClientInfo {
            ip: None,
            user_agent: Some(format!("penguin-admin-desktop/{} ({})", env!("CARGO_PKG_VERSION"), std::env::consts::OS)),
        };
        App { dirs, state: Mutex::new(State::default()), client }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn profiles_dir(&self) -> PathBuf {
        self.dirs.config.join("profiles")
    }

    fn cache_path(&self, name: &str) -> PathBuf {
        self.dirs.data.join(format!("{name}.sqlite"))
    }

    fn staff(&self) -> Result<Staff, AppError> {
        self.state().staff.clone().ok_or_else(|| AppError::new(ErrorCode::NotSignedIn, NOT_SIGNED_IN))
    }

    fn selected(&self) -> Result<Profile, AppError> {
        self.state()
            .profile
            .clone()
            .ok_or_else(|| AppError::new(ErrorCode::NotSignedIn, "choose a connection profile first"))
    }

    fn read_cache(&self) -> Result<rusqlite::Connection, AppError> {
        let profile = self.selected()?;
        Ok(cache::open_read(&self.cache_path(&profile.name))?)
    }

    /// Every profile on this machine.
    pub fn profiles(&self) -> Result<Vec<ProfileSummary>, AppError> {
        let dir = self.profiles_dir();
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                if let Ok(p) = Profile::load(&path.to_string_lossy()) {
                    out.push(self.summary(&p));
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn summary(&self, p: &Profile) -> ProfileSummary {
        let cache_path = self.cache_path(&p.name);
        let last_sync = cache::open_read(&cache_path).ok().and_then(|c| last_sync(&c));
        ProfileSummary {
            name: p.name.clone(),
            is_demo: p.demo.is_some(),
            databases: DbKind::ALL.iter().map(|k| endpoint(*k, p.databases.get(*k))).collect(),
            cache_path: cache_path.display().to_string(),
            last_sync,
        }
    }

    /// Validates and saves a new profile; passwords go to the keyring (or, if asked,
    /// stay in memory for this session). Nothing is written when anything is invalid.
    pub fn create_profile(&self, input: NewProfile) -> Result<ProfileSummary, AppError> {
        let name = input.name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AppError::bad_input("the profile name must be 1–64 letters, digits, '-' or '_'"));
        }
        let path = self.profiles_dir().join(format!("{name}.toml"));
        if path.exists() {
            return Err(AppError::new(ErrorCode::Conflict, format!("a profile named `{name}` already exists")));
        }
        let mut urls: HashMap<DbKind, String> = HashMap::new();
        let mut passwords: HashMap<DbKind, String> = HashMap::new();
        for d in &input.databases {
            let kind =
                DbKind::from_key(&d.db).ok_or_else(|| AppError::bad_input(format!("unknown database `{}`", d.db)))?;
            urls.insert(kind, endpoint_url(kind, d)?);
            if !d.password.is_empty() {
                passwords.insert(kind, d.password.clone());
            }
        }
        let url = |k: DbKind| -> Result<String, AppError> {
            urls.get(&k).cloned().ok_or_else(|| AppError::bad_input(format!("the {k} database is missing")))
        };
        let profile = Profile {
            databases: DatabaseUrls {
                oltp: url(DbKind::Oltp)?,
                queue: url(DbKind::Queue)?,
                olap: url(DbKind::Olap)?,
                notifications: url(DbKind::Notifications)?,
            },
            demo: None,
            stripe: None,
            monitor: None,
            alerts: None,
            path: path.clone(),
            name: name.to_string(),
        };
        // Validate exactly as loading will.
        let text = toml::to_string(&profile).map_err(|e| AppError::bad_input(e.to_string()))?;
        Profile::parse(&text, &path)?;
        if input.session_only_secrets {
            self.state().session_secrets.insert(name.to_string(), passwords);
        } else {
            for (kind, pw) in &passwords {
                profile.set_password(*kind, pw).map_err(|e| {
                    AppError::new(
                        ErrorCode::KeyringUnavailable,
                        format!("{e}. You can keep the passwords for this session only instead."),
                    )
                })?;
            }
        }
        profile.save(&path)?;
        Ok(self.summary(&profile))
    }

    /// Starts the throwaway demo database (seeded) and saves it as the `demo` profile.
    pub async fn start_demo(
        &self,
        scale: u32,
        progress: impl Fn(Progress) + Send + Sync + 'static,
    ) -> Result<ProfileSummary, AppError> {
        if !(1..=100).contains(&scale) {
            return Err(AppError::bad_input("the demo scale must be between 1 and 100"));
        }
        let path = self.profiles_dir().join("demo.toml");
        let options = demo::seed::SeedOptions { scale, seed: 42, now: chrono::Utc::now() };
        let on_seed = move |s: demo::seed::SeedProgress| {
            progress(Progress { table: s.step.to_string(), done: s.done, total: s.total })
        };
        let (profile, _) = demo::up(&path, &options, true, &on_seed).await?;
        Ok(self.summary(&profile))
    }

    /// Selects a profile and tries to reach its databases (offline is not an error).
    pub async fn select_profile(&self, name: &str) -> Result<AppStatus, AppError> {
        let path = self.profiles_dir().join(format!("{name}.toml"));
        let profile = Profile::load(&path.to_string_lossy())?;
        {
            let mut st = self.state();
            st.profile = Some(profile);
            st.central = None;
            st.staff = None;
            st.offline_reason = None;
            st.last_monitor = None;
        }
        self.reconnect().await;
        Ok(self.status())
    }

    /// (Re)connects to the selected profile's databases; records why when it cannot.
    async fn reconnect(&self) -> Option<Central> {
        let (profile, secrets) = {
            let st = self.state();
            let profile = st.profile.clone()?;
            let secrets = st.session_secrets.get(&profile.name).cloned().unwrap_or_default();
            (profile, secrets)
        };
        let result = match profile.targets_with(&secrets) {
            Ok(targets) => match tokio::time::timeout(Duration::from_secs(8), Central::connect(&targets, 4)).await {
                Ok(Ok(c)) => Ok(c),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the platform's databases did not answer within 8 s".to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        let mut st = self.state();
        match result {
            Ok(central) => {
                st.central = Some(central.clone());
                st.offline_reason = None;
                Some(central)
            }
            Err(reason) => {
                st.central = None;
                st.offline_reason = Some(reason);
                None
            }
        }
    }

    async fn central(&self) -> Result<Central, AppError> {
        if let Some(c) = self.state().central.clone() {
            return Ok(c);
        }
        match self.reconnect().await {
            Some(c) => Ok(c),
            None => {
                let reason = self.state().offline_reason.clone().unwrap_or_default();
                Err(AppError::new(
                    ErrorCode::Offline,
                    format!("offline: {reason}. Cached data stays available; actions need the platform."),
                ))
            }
        }
    }

    /// Signs a staff member in against the platform; when it is unreachable, against
    /// the verifier remembered from the last online sign-in (read-only use of the cache).
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<StaffInfo, AppError> {
        if email.trim().is_empty() || password.is_empty() {
            return Err(AppError::bad_input("enter your email and password"));
        }
        let profile = self.selected()?;
        let cache_path = self.cache_path(&profile.name);
        let staff = match self.central().await {
            Ok(central) => {
                let staff = auth::sign_in(&central.oltp, email, password, &self.client).await?;
                let (path, s, pw) = (cache_path.clone(), staff.clone(), password.to_string());
                let remembered = tokio::task::spawn_blocking(move || auth::offline::remember(&path, &s, &pw)).await;
                if !matches!(remembered, Ok(Ok(()))) {
                    tracing::warn!("could not remember the sign-in for offline use");
                }
                staff
            }
            Err(e) if e.code == ErrorCode::Offline => {
                let (email, pw) = (email.to_string(), password.to_string());
                tokio::task::spawn_blocking(move || auth::offline::sign_in(&cache_path, &email, &pw))
                    .await
                    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
                    .map_err(|e| match e {
                        auth::offline::OfflineError::Auth(a) => AppError::from(a),
                        other => AppError::new(ErrorCode::Offline, other.to_string()),
                    })?
            }
            Err(e) => return Err(e),
        };
        let info = StaffInfo::from(&staff);
        self.state().staff = Some(staff);
        Ok(info)
    }

    /// Signs out: forgets the staff member, the connections and session-only secrets.
    pub fn sign_out(&self) {
        let mut st = self.state();
        st.staff = None;
        st.central = None;
        st.session_secrets.clear();
        st.last_monitor = None;
        if let Some(c) = st.cancel.take() {
            c.cancel();
        }
    }

    /// What the status area shows.
    pub fn status(&self) -> AppStatus {
        let (profile, staff, online, offline_reason, syncing) = {
            let st = self.state();
            (st.profile.clone(), st.staff.clone(), st.central.is_some(), st.offline_reason.clone(), st.cancel.is_some())
        };
        let (last_sync, data_as_of) = profile
            .as_ref()
            .and_then(|p| cache::open_read(&self.cache_path(&p.name)).ok())
            .map(|c| (last_sync(&c), oldest_as_of(&c)))
            .unwrap_or((None, None));
        AppStatus {
            profile: profile.map(|p| p.name),
            signed_in: staff.as_ref().map(StaffInfo::from),
            online,
            offline_reason,
            last_sync,
            data_as_of,
            syncing,
        }
    }

    /// Syncs the selected profile's cache; delivers pending audit entries first.
    pub async fn sync(&self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Result<SyncSummary, AppError> {
        let staff = self.staff()?;
        staff.require(permissions::SYNC_RUN)?;
        let profile = self.selected()?;
        let central = self.central().await?;
        let cancel = Cancel::default();
        {
            let mut st = self.state();
            if st.cancel.is_some() {
                return Err(AppError::new(ErrorCode::Conflict, "a sync is already running"));
            }
            st.cancel = Some(cancel.clone());
        }
        if let Err(e) = audit::deliver(&central).await {
            tracing::warn!(error = %e, "audit outbox delivery failed; it will be retried");
        }
        let secrets = self.state().session_secrets.get(&profile.name).cloned().unwrap_or_default();
        let result = match profile.targets_with(&secrets) {
            Ok(targets) => sync::sync(
                &targets,
                &self.cache_path(&profile.name),
                Some(Arc::new(move |p: &Progress| progress(p.clone()))),
                &cancel,
            )
            .await
            .map_err(AppError::from),
            Err(e) => Err(e.into()),
        };
        self.state().cancel = None;
        if let Err(e) = &result {
            if e.code == ErrorCode::Offline {
                let mut st = self.state();
                st.central = None;
                st.offline_reason = Some(e.message.clone());
            }
        }
        let report = result?;
        Ok(SyncSummary {
            tables: report.tables.len() as u32,
            rows_written: report.tables.iter().map(|t| t.rows_written).sum(),
            rows_deleted: report.tables.iter().map(|t| t.rows_deleted).sum(),
            duration_ms: report.duration_ms,
        })
    }

    /// Cancels a running sync (the cache keeps its previous state).
    pub fn cancel_sync(&self) {
        if let Some(c) = self.state().cancel.as_ref() {
            c.cancel();
        }
    }

    /// The tenant list (qa: sandbox tenants only).
    pub fn tenants(&self, mut q: TenantQuery) -> Result<TenantPage, AppError> {
        let staff = self.staff()?;
        staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
        q.sandbox_only = q.sandbox_only || staff.sandbox_only();
        Ok(tenants::list(&self.read_cache()?, &q)?)
    }

    /// One tenant's detail, masked for roles without `pii.view`.
    pub fn tenant_detail(&self, id: &str) -> Result<TenantDetail, AppError> {
        let staff = self.staff()?;
        staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
        let mut detail = tenants::detail(&self.read_cache()?, id)?
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no tenant with id {id} in the cache")))?;
        if staff.sandbox_only() && !detail.sandbox {
            return Err(AppError::new(ErrorCode::Forbidden, "your role (qa) sees sandbox tenants only"));
        }
        if staff.masked() {
            for m in &mut detail.members {
                m.name = m.name.as_deref().map(masking::name);
                m.email = m.email.as_deref().map(masking::email);
            }
        }
        Ok(detail)
    }

    /// Users across all tenants (support: masked; qa: sandbox tenants only).
    pub fn users(&self, q: UserQuery) -> Result<UserPage, AppError> {
        let staff = self.staff()?;
        Ok(users::search(&self.read_cache()?, &staff, &q)?)
    }

    /// One user's profile, tenants, workspaces, sessions, sign-ins and audit trail.
    pub fn user_detail(&self, id: &str) -> Result<UserDetail, AppError> {
        let staff = self.staff()?;
        Ok(users::detail(&self.read_cache()?, &staff, id)?)
    }

    /// Revokes one session of a user, or all of them (`session_id` = `None`), then syncs
    /// so every screen shows it. The sync is best effort: the revocation stands anyway.
    pub async fn revoke_sessions(&self, user_id: &str, session_id: Option<&str>) -> Result<Revocation, AppError> {
        let staff = self.staff()?;
        let central = self.central().await?;
        let revocation = match session_id {
            Some(session) => members::revoke_session(&central, &staff, &self.client, user_id, session).await?,
            None => members::revoke_all_sessions(&central, &staff, &self.client, user_id).await?,
        };
        self.sync_after_action().await;
        Ok(revocation)
    }

    /// Changes a member's tenant role (the tenant always keeps an owner; the member's
    /// sessions are revoked so the new role applies at once), then syncs.
    pub async fn change_member_role(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: TenantRole,
    ) -> Result<RoleChange, AppError> {
        let staff = self.staff()?;
        let central = self.central().await?;
        let change = members::change_role(&central, &staff, &self.client, tenant_id, user_id, role).await?;
        self.sync_after_action().await;
        Ok(change)
    }

    /// Syncs after an action so every screen shows it; best effort, as the action
    /// stands anyway and the next sync picks it up.
    async fn sync_after_action(&self) {
        if let Err(e) = self.sync(|_| {}).await {
            tracing::warn!(error = %e, "the sync after an action failed; the next sync will show it");
        }
    }

    /// The Ctrl+K palette: tenants, users and workspaces by name, email or id.
    pub fn palette(&self, text: &str) -> Result<Vec<PaletteHit>, AppError> {
        let staff = self.staff()?;
        staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
        let conn = self.read_cache()?;
        let mut hits = tenants::palette(&conn, text, 30)?;
        if staff.sandbox_only() {
            let sandbox = tenants::sandbox_ids(&conn)?;
            hits.retain(|h| h.tenant_id.as_ref().is_some_and(|t| sandbox.contains(t)));
        }
        if staff.masked() {
            // Users are found by what was typed, but shown masked.
            for h in hits.iter_mut().filter(|h| h.kind == "user") {
                h.label = masking::text(&h.label)
                    .split_whitespace()
                    .map(|w| if w.contains('@') { w.to_string() } else { masking::name(w) })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        Ok(hits)
    }

    /// The audit log from the cache.
    pub fn audit(&self, f: AuditFilter) -> Result<AuditPage, AppError> {
        let staff = self.staff()?;
        Ok(audit::list(&self.read_cache()?, &staff, &f)?)
    }

    /// Exports the filtered audit log to `path` (written whole or not at all), and
    /// records the export in the audit log. Needs the platform, to record it.
    pub async fn export_audit(&self, f: AuditFilter, format: ExportFormat, path: PathBuf) -> Result<u64, AppError> {
        let staff = self.staff()?;
        staff.require(permissions::AUDIT_READ)?;
        let central = self.central().await?;
        let count = write_atomically(&path, |file| {
            audit::export(&self.read_cache()?, &staff, &f, format, file).map_err(AppError::from)
        })?;
        let mut tx = central.olap.begin().await.map_err(|e| AppError::new(ErrorCode::Offline, e.to_string()))?;
        let entry = AuditEntry {
            action: "audit.exported".into(),
            resource_type: "audit_log".into(),
            resource_id: "-".into(),
            tenant_id: None,
            new_values: Some(serde_json::json!({ "rows": count, "format": format, "filter": f })),
            ..Default::default()
        };
        audit::record(&mut tx, &staff, &self.client, &entry).await?;
        tx.commit().await.map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        audit::deliver(&central).await?;
        Ok(count)
    }
}

/// Writes a file through a temporary sibling renamed into place, so a failure never
/// leaves a half-written export.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let tmp = path.with_extension("partial");
    let io = |e: std::io::Error| AppError::bad_input(format!("cannot write {}: {e}", path.display()));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    match write(&mut file).and_then(|v| file.sync_all().map_err(io).map(|_| v)) {
        Ok(v) => {
            std::fs::rename(&tmp, path).map_err(io)?;
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn last_sync(conn: &rusqlite::Connection) -> Option<String> {
    conn.query_row("SELECT max(synced_at) FROM _sync_tables", [], |r| r.get(0)).ok().flatten()
}

fn oldest_as_of(conn: &rusqlite::Connection) -> Option<String> {
    conn.query_row("SELECT min(as_of) FROM _sync_tables", [], |r| r.get(0)).ok().flatten()
}

fn endpoint(kind: DbKind, url: &str) -> DbEndpoint {
    let parsed = url::Url::parse(url).ok();
    let tls = parsed
        .as_ref()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "sslmode").map(|(_, v)| v.into_owned()))
        .unwrap_or_else(|| "prefer".into());
    DbEndpoint {
        db: kind.key().into(),
        host: parsed.as_ref().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default(),
        port: parsed.as_ref().and_then(|u| u.port()).unwrap_or(5432) as u32,
        database: parsed.as_ref().map(|u| u.path().trim_start_matches('/').to_string()).unwrap_or_default(),
        user: parsed.as_ref().map(|u| u.username().to_string()).unwrap_or_default(),
        tls,
    }
}

/// Validates one database of the form and builds its URL (without the password).
fn endpoint_url(kind: DbKind, d: &DbEndpointInput) -> Result<String, AppError> {
    let host = d.host.trim();
    let field = |what: &str| AppError::bad_input(format!("{kind} database: {what}"));
    if host.is_empty() {
        return Err(field("the host is empty"));
    }
    if host.len() > 253 || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(field("the host must be a host name or an IP address"));
    }
    if !(1..=65535).contains(&d.port) {
        return Err(field("the port must be between 1 and 65535"));
    }
    if d.database.trim().is_empty() || d.database.len() > 63 {
        return Err(field("the database name must be 1–63 characters"));
    }
    if d.user.trim().is_empty() || d.user.len() > 63 {
        return Err(field("the user must be 1–63 characters"));
    }
    if !matches!(d.tls.as_str(), "disable" | "prefer" | "require" | "verify-ca" | "verify-full") {
        return Err(field("TLS mode must be disable, prefer, require, verify-ca or verify-full"));
    }
    let mut url = url::Url::parse("postgres://placeholder/").map_err(|e| field(&e.to_string()))?;
    url.set_host(Some(host)).map_err(|e| field(&format!("invalid host ({e})")))?;
    url.set_port(Some(d.port as u16)).map_err(|_| field("invalid port"))?;
    url.set_username(d.user.trim()).map_err(|_| field("invalid user"))?;
    url.set_path(d.database.trim());
    url.query_pairs_mut().append_pair("sslmode", &d.tls);
    Ok(url.to_string())
}
