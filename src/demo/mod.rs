//! The demo: a throwaway PostgreSQL cluster with the platform's tables, the console's
//! schema and deterministic demo data, described by a connection profile.

pub mod cluster;
mod redis;
pub mod seed;

use std::path::Path;

use crate::auth::{AuthError, ClientInfo, Session};
use crate::central::{install, Central, CentralError};
use crate::profiles::{Profile, ProfileError};
use cluster::{Cluster, ClusterError};
use seed::{SeedError, SeedOptions, SeedProgress, SeedReport};

/// Errors bringing a demo up or down.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A demo is already running for that profile.
    #[error("a demo cluster is already running for {path} (port {port}); stop it with `penguin-admin demo down --profile {path}` or pass --replace")]
    AlreadyRunning {
        /// The profile file.
        path: String,
        /// Its port.
        port: u16,
    },
    /// The profile is not a demo profile.
    #[error("{0} is not a demo profile; only throwaway demo clusters can be stopped this way")]
    NotDemo(String),
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A database step failed.
    #[error(transparent)]
    Central(#[from] CentralError),
    /// Seeding failed.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The profile could not be written or read.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The audit chain could not be started.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The demo's health history could not be computed.
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
    /// Signing in a demo staff account failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Installs the console on a throwaway cluster (owner's pools), the desktop login with
/// the cluster's desktop password.
pub async fn install_console(cluster: &Cluster, central: &Central) -> Result<install::InstallReport, DemoError> {
    let options = install::InstallOptions { desktop_password: Some(cluster.desktop_password()?), ..Default::default() };
    Ok(install::install_with(central, &options).await?)
}

/// Signs in the demo's staff account of `role` (`ROLE@penguinmails.demo`) through the
/// desktop login of `profile`, as a desktop would.
pub async fn staff_session(profile: &Profile, role: &str) -> Result<Session, DemoError> {
    let central = Central::connect(&profile.targets()?, 4).await?;
    let client = ClientInfo { ip: Some("127.0.0.1".into()), user_agent: Some("penguin-admin-demo".into()) };
    Ok(Session::sign_in(central, &format!("{role}@penguinmails.demo"), seed::DEMO_PASSWORD, &client).await?)
}

/// Starts a cluster, creates the platform's tables, seeds them, installs the console's
/// schema and writes the profile to `path`. On failure the cluster is removed again.
///
/// The console's schema is installed after seeding: on a fresh cluster that is
/// equivalent, and bulk loads do not go through the sync triggers.
pub async fn up(
    path: &Path,
    options: &SeedOptions,
    replace: bool,
    progress: &(dyn Fn(SeedProgress) + Send + Sync),
) -> Result<(Profile, SeedReport), DemoError> {
    if let Ok(existing) = Profile::load(&path.to_string_lossy()) {
        if let Some(running) = existing.demo.filter(|c| c.dir.exists()) {
            if !replace {
                return Err(DemoError::AlreadyRunning { path: path.display().to_string(), port: running.port });
            }
            running.stop()?;
        }
    }
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .map_err(|e| ClusterError::Tool { tool: "pg_ctl".into(), output: e.to_string() })??;
    let result = populate(&cluster, path, options, progress).await;
    if result.is_err() {
        let _ = cluster.stop();
    }
    result
}

async fn populate(
    cluster: &Cluster,
    path: &Path,
    options: &SeedOptions,
    progress: &(dyn Fn(SeedProgress) + Send + Sync),
) -> Result<(Profile, SeedReport), DemoError> {
    let mut profile = Profile::for_demo(cluster, path);
    let central = Central::connect(&profile.owner_targets()?, 4).await?;
    central.create_platform_schema().await?;
    let report = seed::seed(&central, options, progress).await?;
    install_console(cluster, &central).await?;
    // The platform has no sandbox flag: the demo's QA tenants are marked in the
    // console's own table, which is what the qa role is limited to.
    sqlx::query(
        "INSERT INTO penguin_console.sandbox_tenants (tenant_id) SELECT id FROM tenants WHERE name LIKE 'QA Sandbox%'
         ON CONFLICT DO NOTHING",
    )
    .execute(&central.oltp)
    .await
    .map_err(CentralError::sql("marking the sandbox tenants"))?;
    // Workspace roles live in the console's own table (the platform's schema has none):
    // owners and admins administer every workspace of their tenant; members get a role in
    // three workspaces out of four, one in three of them as viewers (deterministic).
    sqlx::query(
        "INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role)
         SELECT c.id, tu.user_id, c.tenant_id,
                CASE WHEN tu.roles && ARRAY['owner', 'admin'] THEN 'admin'
                     WHEN abs(hashtext(c.id::text || tu.user_id::text)) % 3 = 0 THEN 'viewer' ELSE 'member' END
         FROM companies c JOIN tenant_users tu ON tu.tenant_id = c.tenant_id
         WHERE tu.deleted IS NULL
           AND (tu.roles && ARRAY['owner', 'admin'] OR abs(hashtext(c.id::text || tu.user_id::text)) % 4 <> 0)
         ON CONFLICT DO NOTHING",
    )
    .execute(&central.oltp)
    .await
    .map_err(CentralError::sql("giving the demo's members workspace roles"))?;
    // Health history for the days the demo has analytics for (the declining workspaces
    // show up as drops and crossings into red).
    let today = options.now.date_naive();
    for back in (0..14).rev() {
        crate::health::compute(&central, &crate::auth::Staff::service("demo"), today - chrono::Duration::days(back))
            .await?;
    }
    crate::audit::chain_existing(&central).await?;
    // Redis where installed: the queue's hybrid half and the Monitoring screen's Redis tile.
    let c = cluster.clone();
    if let Ok(Some(port)) = tokio::task::spawn_blocking(move || redis::start(&c)).await {
        let url = format!("redis://127.0.0.1:{port}");
        if let Err(e) = redis::load_queues(&central, &url).await {
            tracing::warn!(error = %e, "could not load the demo's Redis queues");
        }
        profile.monitor = Some(crate::monitor::MonitorSettings { redis_url: Some(url), ..Default::default() });
    }
    central.oltp.close().await;
    profile.save(path)?;
    Ok((profile, report))
}

/// Stops the demo cluster of the profile at `path` and removes both.
pub fn down(path: &Path) -> Result<Cluster, DemoError> {
    let profile = Profile::load(&path.to_string_lossy())?;
    let cluster = profile.demo.ok_or_else(|| DemoError::NotDemo(path.display().to_string()))?;
    cluster.stop()?;
    std::fs::remove_file(path)
        .map_err(|e| ProfileError::Io { context: format!("removing {}", path.display()), source: e })?;
    Ok(cluster)
}
