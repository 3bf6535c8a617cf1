//! The desktop app's state and operations, free of Tauri so it can be tested and
//! reused: the Tauri commands in `src-tauri` are one-line adapters over [`App`].
//!
//! [`App`] holds the selected connection profile, the desktop login's connection to the
//! platform (when reachable), and the signed-in staff member's [`Session`]. Reads come
//! from the cache, which holds only what the staff member's role may see (the sync
//! reads the database's role-scoped views); actions call the database's functions
//! through the session, which check the permission again whatever the UI shows. The
//! library's own checks here give clear messages before asking. The state sits behind
//! a std `Mutex` that is never held across an `.await`: operations copy what they need
//! out.
//!
//! An offline sign-in (against the verifier in the cache) reads the cache only: it has
//! no session, so every action asks for an online sign-in.
//!
//! Sign-out ends the session on the server and drops the connection pools (which hold
//! the desktop login's password) and the passwords kept for this session only.

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

use crate::audit::{self, AuditFilter, AuditPage, ExportFormat};
use crate::auth::{self, masking, permissions, ClientInfo, Session, Staff};
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
            email: s.email().to_string(),
            name: s.name().map(str::to_owned),
            role: s.role().to_string(),
            permissions: s.permissions().iter().cloned().collect(),
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
    /// Something to tell the staff member once (their cache was wiped or expired, or
    /// its key lives for this session only).
    pub notice: Option<String>,
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
    /// The desktop login's pools.
    central: Option<Central>,
    offline_reason: Option<String>,
    /// The online session (None after an offline sign-in).
    session: Option<Session>,
    /// The staff member of an offline sign-in: reads the cache only.
    offline_staff: Option<Staff>,
    /// Passwords kept for this session only, per profile.
    session_secrets: HashMap<String, HashMap<DbKind, String>>,
    cancel: Option<Cancel>,
    /// The demo profile's fake Stripe, started on first use (see [`finance`]).
    demo_stripe: Option<Arc<crate::stripe::fake::FakeStripe>>,
    /// The Monitoring screen's last report, merged area by area (see [`monitor`]).
    last_monitor: Option<crate::monitor::MonitorReport>,
    /// The signed-in staff member's cache (its key registered with `cache::unlock`).
    cache: Option<PathBuf>,
    /// Caches whose key lives for this session only: deleted at sign-out and exit.
    session_caches: Vec<PathBuf>,
    /// Something the staff member should read once (a cache wiped or expired).
    notice: Option<String>,
}

/// The desktop app's state.
pub struct App {
    dirs: AppDirs,
    state: Mutex<State>,
    client: ClientInfo,
}

const NOT_SIGNED_IN: &str = "sign in first";

/// A cache not written for this many days is deleted when its profile is selected
/// (`[cache] max_offline_days` in the profile changes it).
pub const DEFAULT_MAX_OFFLINE_DAYS: u32 = 14;

impl Drop for App {
    /// Caches whose key lived for this session only cannot be read again: delete them.
    fn drop(&mut self) {
        for path in self.state().session_caches.drain(..) {
            let _ = cache::delete(&path);
        }
    }
}

impl App {
    /// A new app over `dirs`.
    pub fn new(dirs: AppDirs) -> App {
        let client = ClientInfo {
            ip: None,
            user_agent: Some(format!("penguin-admin-desktop/{} ({})", env!("CARGO_PKG_VERSION"), std::env::consts::OS)),
        };
        if let Err(e) = cache::protect_dir(&dirs.data) {
            tracing::warn!(error = %e, "could not make the cache directory private");
        }
        App { dirs, state: Mutex::new(State::default()), client }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn profiles_dir(&self) -> PathBuf {
        self.dirs.config.join("profiles")
    }

    /// The signed-in staff member's cache of profile `name` (a path that does not exist
    /// when nobody is signed in).
    fn cache_path(&self, name: &str) -> PathBuf {
        self.state().cache.clone().unwrap_or_else(|| self.dirs.data.join(name).join("nobody-signed-in.sqlite"))
    }

    fn staff(&self) -> Result<Staff, AppError> {
        let st = self.state();
        st.session
            .as_ref()
            .map(|s| s.staff().clone())
            .or_else(|| st.offline_staff.clone())
            .ok_or_else(|| AppError::new(ErrorCode::NotSignedIn, NOT_SIGNED_IN))
    }

    /// The online session every central read and action goes through.
    fn session(&self) -> Result<Session, AppError> {
        let st = self.state();
        match (&st.session, &st.offline_staff) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(_)) => Err(AppError::new(
                ErrorCode::Offline,
                "offline: you signed in without the platform. Cached data stays available; actions and syncs need an online sign-in (reconnect, then sign in again)",
            )),
            (None, None) => Err(AppError::new(ErrorCode::NotSignedIn, NOT_SIGNED_IN)),
        }
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
            cache: None,
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
        let max_days = profile.cache.as_ref().map(|c| c.max_offline_days).unwrap_or(DEFAULT_MAX_OFFLINE_DAYS);
        let expired =
            cache::expire_stale(&self.dirs.data.join(&profile.name), Duration::from_secs(u64::from(max_days) * 86_400));
        {
            let mut st = self.state();
            if !expired.is_empty() {
                st.notice = Some(format!(
                    "{} cache{} not used for more than {max_days} days {} deleted; sign in online to sync again",
                    expired.len(),
                    if expired.len() == 1 { "" } else { "s" },
                    if expired.len() == 1 { "was" } else { "were" }
                ));
            }
            st.profile = Some(profile);
            st.central = None;
            st.session = None;
            st.offline_staff = None;
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

    /// The desktop login's pools (reconnecting when needed).
    async fn desktop(&self) -> Result<Central, AppError> {
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
        let cache_path = cache::staff_path(&self.dirs.data, &profile.name, email);
        let mut notice = None;
        let (session, staff, key) = match self.desktop().await {
            Ok(central) => {
                // The offline verifier is slow by design: computed while the platform checks the password.
                let pw = password.to_string();
                let verifier = tokio::task::spawn_blocking(move || auth::offline::verifier(&pw));
                let session = Session::sign_in(central, email, password, &self.client).await?;
                let staff = session.staff().clone();
                let key = cache::key::obtain(&profile.name, staff.email(), true)?;
                cache::unlock(&cache_path, key.key.clone());
                let verifier = verifier.await.map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
                let (path, s) = (cache_path.clone(), staff.clone());
                let claimed = tokio::task::spawn_blocking(move || {
                    let claim = cache::claim(&path, s.email(), &s.digest(), true)?;
                    auth::offline::store(&path, &s, &verifier?)?;
                    Ok::<_, cache::CacheError>(claim)
                })
                .await
                .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
                match claimed {
                    Ok(cache::Claim::Wiped(why)) => notice = Some(why),
                    Ok(_) => {}
                    Err(e) => {
                        cache::lock(&cache_path);
                        session.sign_out().await;
                        return Err(e.into());
                    }
                }
                (Some(session), staff, key)
            }
            Err(e) if e.code == ErrorCode::Offline => {
                if !cache_path.exists() {
                    return Err(AppError::new(
                        ErrorCode::Offline,
                        format!("the platform is unreachable and {} has not signed in on this computer before; sign in once while online", email.trim()),
                    ));
                }
                let key = cache::key::obtain(&profile.name, email, false)?;
                cache::unlock(&cache_path, key.key.clone());
                let (path, email, pw) = (cache_path.clone(), email.to_string(), password.to_string());
                let staff = tokio::task::spawn_blocking(move || auth::offline::sign_in(&path, &email, &pw))
                    .await
                    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
                    .map_err(|e| {
                        cache::lock(&cache_path);
                        match e {
                            auth::offline::OfflineError::Auth(a) => AppError::from(a),
                            auth::offline::OfflineError::Cache(c) => AppError::from(c),
                            other => AppError::new(ErrorCode::Offline, other.to_string()),
                        }
                    })?;
                (None, staff, key)
            }
            Err(e) => return Err(e),
        };
        let info = StaffInfo::from(&staff);
        let mut st = self.state();
        st.offline_staff = session.is_none().then_some(staff);
        st.session = session;
        if key.source == cache::key::KeySource::Session && !st.session_caches.contains(&cache_path) {
            st.session_caches.push(cache_path.clone());
            notice.get_or_insert_with(|| {
                "no OS keyring is available: the cache's key lives for this session only, and the cache is deleted when you sign out or close the app".into()
            });
        }
        st.cache = Some(cache_path);
        st.notice = notice;
        Ok(info)
    }

    /// Signs out: ends the session on the server, forgets the staff member, the
    /// connections and session-only secrets.
    pub async fn sign_out(&self) {
        let session = self.state().session.take();
        if let Some(session) = session {
            session.sign_out().await;
        }
        let mut st = self.state();
        if let Some(path) = st.cache.take() {
            cache::lock(&path);
        }
        for path in st.session_caches.drain(..) {
            if let Err(e) = cache::delete(&path) {
                tracing::warn!(error = %e, "could not delete a session-only cache");
            }
        }
        st.offline_staff = None;
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
            let staff = st.session.as_ref().map(|s| s.staff().clone()).or_else(|| st.offline_staff.clone());
            (st.profile.clone(), staff, st.central.is_some(), st.offline_reason.clone(), st.cancel.is_some())
        };
        let (last_sync, data_as_of) = profile
            .as_ref()
            .and_then(|p| cache::open_read(&self.cache_path(&p.name)).ok())
            .map(|c| (last_sync(&c), oldest_as_of(&c)))
            .unwrap_or((None, None));
        let notice = self.state().notice.clone();
        AppStatus {
            notice,
            profile: profile.map(|p| p.name),
            signed_in: staff.as_ref().map(StaffInfo::from),
            online,
            offline_reason,
            last_sync,
            data_as_of,
            syncing,
        }
    }

    /// Syncs the selected profile's cache as the signed-in staff member sees the
    /// platform; delivers pending audit entries first.
    pub async fn sync(&self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Result<SyncSummary, AppError> {
        let session = self.session()?;
        session.staff().require(permissions::SYNC_RUN)?;
        let profile = self.selected()?;
        self.desktop().await?;
        let cancel = Cancel::default();
        {
            let mut st = self.state();
            if st.cancel.is_some() {
                return Err(AppError::new(ErrorCode::Conflict, "a sync is already running"));
            }
            st.cancel = Some(cancel.clone());
        }
        audit::after_action(&session).await;
        let result = sync::sync(
            &session,
            &self.cache_path(&profile.name),
            Some(Arc::new(move |p: &Progress| progress(p.clone()))),
            &cancel,
            true,
        )
        .await
        .map_err(AppError::from);
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
        let mut detail = tenants::detail(&self.read_cache()?, id)?.ok_or_else(|| {
            if staff.sandbox_only() {
                AppError::new(ErrorCode::Forbidden, format!("your role ({}) sees sandbox tenants only", staff.role()))
            } else {
                AppError::new(ErrorCode::NotFound, format!("no tenant with id {id} in the cache"))
            }
        })?;
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
        let session = self.session()?;
        let revocation = match session_id {
            Some(id) => members::revoke_session(&session, user_id, id).await?,
            None => members::revoke_all_sessions(&session, user_id).await?,
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
        let change = members::change_role(&self.session()?, tenant_id, user_id, role).await?;
        self.sync_after_action().await;
        Ok(change)
    }

    /// Syncs after an action so every screen shows it; best effort, as the action
    /// stands anyway and the next sync picks it up. A sync already running (a scheduled
    /// one) may have taken its snapshot before the action committed, so this one waits
    /// for it to end and then syncs again.
    async fn sync_after_action(&self) {
        let waited = std::time::Instant::now();
        loop {
            match self.sync(|_| {}).await {
                Err(e) if e.code == ErrorCode::Conflict && waited.elapsed() < Duration::from_secs(120) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the sync after an action failed; the next sync will show it");
                    return;
                }
                Ok(_) => return,
            }
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
        let session = self.session()?;
        let count = write_atomically(&path, |file| {
            audit::export(&self.read_cache()?, &staff, &f, format, file).map_err(AppError::from)
        })?;
        let details = serde_json::json!({ "rows": count, "format": format, "filter": f });
        audit::record_event(&session, "audit.exported", "audit_log", "-", None, &details).await?;
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
