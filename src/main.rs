//! `penguin-admin`: the console's command line. Every command is a thin wrapper over
//! the `penguin_admin` library, so the CLI, the desktop app and the tests share code.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use penguin_admin::auth::{self, permissions};
use penguin_admin::central::{install, Central, DbKind};
use penguin_admin::demo;
use penguin_admin::demo::seed::{self, SeedOptions};
use penguin_admin::health;
use penguin_admin::members::{self, import::RowAction};
use penguin_admin::profiles::{self, Profile};
use penguin_admin::tenants::{self, TenantQuery, TenantSort};
use penguin_admin::{bench, cache, sync};

#[path = "cli/finance.rs"]
mod finance_cli;
#[path = "cli/monitor.rs"]
mod monitor_cli;
#[path = "cli/tenant.rs"]
mod tenant_cli;
#[path = "cli/watch.rs"]
mod watch_cli;

/// The sync moves millions of short strings between a decoding thread and the SQLite
/// writer thread; glibc's allocator spends a quarter of the time on them (measured with
/// perf), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "penguin-admin",
    version,
    about = "PenguinMails Admin Console: sync, reads and admin actions from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A throwaway PostgreSQL cluster with demo data on this machine.
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// Install or upgrade the console's own schema, its API and the desktop login on a
    /// platform's databases (run by the platform's DBA with owner rights).
    Install {
        #[command(flatten)]
        profile: ProfileArg,
        /// The desktop login's name.
        #[arg(long, default_value = install::DESKTOP_ROLE)]
        desktop_login: String,
        /// Set the desktop login's password: read from PENGUIN_ADMIN_DESKTOP_PASSWORD or
        /// the terminal (a demo profile uses its own).
        #[arg(long)]
        set_desktop_password: bool,
    },
    /// Fill a profile's (empty) platform databases with demo data.
    Seed {
        #[command(flatten)]
        profile: ProfileArg,
        #[command(flatten)]
        size: SeedArgs,
    },
    /// Sync the platform's databases into the local cache, as a staff member sees them.
    Sync {
        #[command(flatten)]
        profile: ProfileArg,
        /// Sign in as this staff member (password from the terminal or PENGUIN_ADMIN_PASSWORD).
        #[arg(long = "as", value_name = "EMAIL")]
        as_staff: String,
        /// Cache file (default: the profile's cache in the OS data directory).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// End the console session a CLI run kept for a staff member (it also ends by itself
    /// after the platform's idle and absolute timeouts).
    SignOut {
        #[command(flatten)]
        profile: ProfileArg,
        /// The staff member.
        #[arg(long = "as", value_name = "EMAIL")]
        as_staff: String,
        /// Cache file (default: the profile's cache in the OS data directory).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// List tenants from the cache, as a staff member (who must sign in).
    Tenants {
        /// Cache file (default: the profile's cache).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// The profile.
        #[arg(long)]
        profile: String,
        /// Sign in as this staff member (password from the terminal or PENGUIN_ADMIN_PASSWORD):
        /// their role's permissions apply (qa sees sandbox tenants only).
        #[arg(long = "as", value_name = "EMAIL")]
        as_staff: String,
        /// Substring of a tenant's name or id, or a member's name or email.
        #[arg(long)]
        search: Option<String>,
        /// Sort by name, plan, status, members, workspaces, mrr or created.
        #[arg(long, default_value = "name", value_parser = parse_sort)]
        sort: TenantSort,
        /// Sort descending.
        #[arg(long)]
        desc: bool,
        /// Page size.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        /// Rows to skip.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Team members of a tenant: bulk import from CSV and export to CSV.
    Members {
        #[command(subcommand)]
        action: MembersAction,
    },
    /// Workspace health scores.
    Health {
        #[command(subcommand)]
        action: HealthAction,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Connection profile secrets.
    Profile {
        #[command(subcommand)]
        action: ProfileAction,
    },
    /// Tenant admin: per-tenant feature flags, plan and billing overrides, test tenants.
    Tenant {
        #[command(subcommand)]
        action: tenant_cli::TenantAction,
    },
    /// Stripe sync, payments, revenue (MRR) and reconciliation.
    Finance {
        #[command(subcommand)]
        action: finance_cli::FinanceAction,
    },
    /// The headless watcher: runs the checks on an interval, raises and resolves alerts, pages.
    Watch(watch_cli::WatchArgs),
    /// Infrastructure monitoring: one check cycle, queue figures and queue actions.
    Monitor {
        #[command(subcommand)]
        action: monitor_cli::MonitorAction,
    },
    /// Benchmarks (print figures and ratios; they assert nothing).
    Bench {
        #[command(subcommand)]
        action: BenchAction,
    },
}

#[derive(Subcommand)]
enum DemoAction {
    /// Start a private cluster, create the platform's tables, seed, install, write the profile.
    Up {
        #[command(flatten)]
        size: SeedArgs,
        /// Where to write the profile (default: the `demo` profile in the OS config directory).
        #[arg(long)]
        profile: Option<String>,
        /// Stop and replace a demo already running for this profile.
        #[arg(long)]
        replace: bool,
    },
    /// Stop the demo cluster and remove it.
    Down {
        /// The demo profile (default: `demo`).
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Subcommand)]
enum MembersAction {
    /// Validate every row, preview, and apply all-or-nothing (columns: email, name, tenant role,
    /// workspaces as "Name:role;Name:role"). Exits with an error listing line numbers if any row is wrong.
    Import {
        #[command(flatten)]
        profile: ProfileArg,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// CSV file.
        #[arg(long)]
        file: PathBuf,
        /// Preview only: write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Act as this staff member (password from the terminal or PENGUIN_ADMIN_PASSWORD).
        #[arg(long = "as", value_name = "EMAIL")]
        as_staff: String,
    },
    /// Write a tenant's members as CSV from the cache (masked for roles without pii.view).
    Export {
        #[command(flatten)]
        profile: ProfileArg,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cache file (default: the profile's cache).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Act as this staff member (password from the terminal or PENGUIN_ADMIN_PASSWORD).
        #[arg(long = "as", value_name = "EMAIL")]
        as_staff: String,
    },
}

#[derive(Subcommand)]
enum HealthAction {
    /// Score every workspace for a day (default: today, UTC) into the history and print the
    /// drops of 15+ points within 7 days and the crossings into red, as JSON. Runs as the
    /// profile's service identity (the headless watcher runs it daily).
    Compute {
        #[command(flatten)]
        profile: ProfileArg,
        /// Day to score, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: Option<chrono::NaiveDate>,
    },
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date; use YYYY-MM-DD"))
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the hash chain and report the first broken link, or "intact".
    Verify(ProfileArg),
}

#[derive(Subcommand)]
enum ProfileAction {
    /// Store a database password in the OS keyring (read from the terminal or standard input).
    SetPassword {
        #[command(flatten)]
        profile: ProfileArg,
        /// oltp, queue, olap or notifications.
        #[arg(long, value_parser = parse_db)]
        db: DbKind,
    },
}

#[derive(Subcommand)]
enum BenchAction {
    /// Initial sync of N payments against the psql \copy + sqlite3 .import floor, then an incremental sync.
    Sync {
        /// Payments to generate (the rest of the demo at the matching scale).
        #[arg(long, default_value_t = 10)]
        scale: u32,
    },
    /// The payments list and CSV export over N synthetic Stripe charges, with and without indexes.
    Payments {
        /// Charges to generate.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
    },
    /// The workspace list's first page and one day's health scores against baselines, at demo scale N.
    Workspaces {
        /// Demo scale (scale 10: 2,000 tenants, 6,000 workspaces).
        #[arg(long, default_value_t = 10)]
        scale: u32,
    },
}

#[derive(Args)]
struct ProfileArg {
    /// Profile name (in the OS config directory) or path to a profile TOML file.
    #[arg(long)]
    profile: String,
}

#[derive(Args)]
struct SeedArgs {
    /// Data volume: scale 1 is about 200 tenants, 2,000 users and 100,000 payments.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = parse_scale)]
    scale: u32,
    /// Random seed: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn parse_scale(s: &str) -> Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n as u32),
        Ok(n) => Err(format!("scale must be between 1 and 100, got {n}")),
        Err(_) => Err(format!("scale must be a whole number between 1 and 100, got `{s}`")),
    }
}

fn parse_sort(s: &str) -> Result<TenantSort, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown sort `{s}`; use name, plan, status, members, workspaces, mrr or created"))
}

fn parse_db(s: &str) -> Result<DbKind, String> {
    DbKind::from_key(s).ok_or_else(|| format!("unknown database `{s}`; use oltp, queue, olap or notifications"))
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PENGUIN_ADMIN_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli.command)) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo { action: DemoAction::Up { size, profile, replace } } => demo_up(size, profile, replace).await,
        Command::Demo { action: DemoAction::Down { profile } } => demo_down(profile),
        Command::Watch(args) => watch_cli::run(args).await,
        Command::Install { profile, desktop_login, set_desktop_password } => {
            let profile = Profile::load(&profile.profile)?;
            let central = Central::connect(&profile.owner_targets()?, 2).await?;
            let desktop_password = match (&profile.demo, set_desktop_password) {
                (Some(cluster), _) => Some(cluster.desktop_password()?),
                (None, true) => Some(match std::env::var("PENGUIN_ADMIN_DESKTOP_PASSWORD") {
                    Ok(pw) if !pw.is_empty() => pw,
                    _ => read_secret(&format!("Password for the desktop login {desktop_login}: "))?,
                }),
                (None, false) => None,
            };
            let options = install::InstallOptions { desktop_role: desktop_login, desktop_password };
            let report = install::install_with(&central, &options).await?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Seed { profile, size } => {
            let profile = Profile::load(&profile.profile)?;
            let central = Central::connect(&profile.owner_targets()?, 4).await?;
            seed_with_progress(&central, &size).await?;
            Ok(())
        }
        Command::Sync { profile, as_staff, cache, json } => {
            let profile = Profile::load(&profile.profile)?;
            let mine = open_staff_cache(&profile, &as_staff, cache, true).await?;
            let Some(session) = &mine.session else {
                bail!("the platform is unreachable: a sync needs it (the cache keeps its last state)")
            };
            sync_command(session, &mine.path, json).await
        }
        Command::SignOut { profile, as_staff, cache } => {
            let profile = Profile::load(&profile.profile)?;
            let path = cache.unwrap_or_else(|| cache::default_path(&profile.name, &as_staff));
            let central = Central::connect(&profile.targets()?, 1).await?;
            match kept_session(&profile, &as_staff, &path, &central).await {
                Some(session) => {
                    session.sign_out().await;
                    auth::Session::forget_kept(&path);
                    println!("signed out: {as_staff}'s console session has ended");
                }
                None => println!("{as_staff} has no console session kept on this computer"),
            }
            Ok(())
        }
        Command::Tenants { cache, profile, as_staff, search, sort, desc, limit, offset, json } => {
            let profile = Profile::load(&profile)?;
            let mine = open_staff_cache(&profile, &as_staff, cache, false).await?;
            let staff = &mine.staff;
            staff.require_any(&[permissions::TENANTS_READ, permissions::TENANTS_READ_SANDBOX])?;
            let sandbox_only = staff.sandbox_only();
            let conn = cache::open_read(&mine.path)?;
            let page = tenants::list(
                &conn,
                &TenantQuery { search, sort, descending: desc, limit: Some(limit), offset: Some(offset), sandbox_only },
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                print_tenants(&page);
            }
            Ok(())
        }
        Command::Members { action } => members_command(action).await,
        Command::Health { action: HealthAction::Compute { profile, date } } => {
            let profile = Profile::load(&profile.profile)?;
            let central = Central::connect(&profile.owner_targets()?, 2).await?;
            let day = date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let run = health::compute(&central, &auth::Staff::service(&profile.name), day).await?;
            println!("{}", serde_json::to_string_pretty(&run)?);
            Ok(())
        }
        Command::Audit { action: AuditAction::Verify(p) } => {
            let profile = Profile::load(&p.profile)?;
            let central = Central::connect(&profile.owner_targets()?, 2).await?;
            match penguin_admin::audit::verify(&central).await? {
                penguin_admin::audit::Verification::Intact { entries, unchained } => {
                    println!("intact ({entries} entries chained, {unchained} written since the last console action)");
                    Ok(())
                }
                penguin_admin::audit::Verification::Broken { audit_id, position, reason } => {
                    bail!("audit log broken at entry {audit_id} (link {position} of the chain): {reason}")
                }
            }
        }
        Command::Profile { action: ProfileAction::SetPassword { profile, db } } => {
            let profile = Profile::load(&profile.profile)?;
            let password = read_secret(&format!("Password for the {db} database of profile {}: ", profile.name))?;
            profile.set_password(db, &password)?;
            println!("stored in the OS keyring as {}/{}", profile.name, db.key());
            Ok(())
        }
        Command::Finance { action } => finance_cli::run(action).await,
        Command::Tenant { action } => tenant_cli::run(action).await,
        Command::Monitor { action } => monitor_cli::run(action).await,
        Command::Bench { action: BenchAction::Payments { rows } } => {
            let figures = penguin_admin::finance::bench::payments_at_scale(rows, &|line| println!("{line}"))?;
            println!("{}", serde_json::to_string_pretty(&figures)?);
            Ok(())
        }
        Command::Bench { action: BenchAction::Workspaces { scale } } => {
            let figures = bench::workspaces::workspaces(scale, &|line| println!("{line}")).await?;
            println!("\n{}", bench::workspaces::table(&figures));
            println!("{}", serde_json::to_string_pretty(&figures)?);
            Ok(())
        }
        Command::Bench { action: BenchAction::Sync { scale } } => {
            let figures = bench::sync_vs_floor(scale, &|line| println!("{line}")).await?;
            println!("{}", serde_json::to_string_pretty(&figures)?);
            Ok(())
        }
    }
}

async fn members_command(action: MembersAction) -> Result<()> {
    match action {
        MembersAction::Import { profile, tenant, file, dry_run, json, as_staff } => {
            let profile = Profile::load(&profile.profile)?;
            let session = sign_in_as(&profile, &as_staff).await?;
            let text = members::import::read_file(&file)?;
            let report = members::import::import(&session, &tenant, &text, dry_run).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for e in &report.errors {
                    println!("line {}: {}", e.line, e.message);
                }
                for p in report.plan.iter().filter(|p| p.action != RowAction::Unchanged) {
                    let ws: Vec<String> = p
                        .workspaces
                        .iter()
                        .map(|w| format!("{}: {} -> {}", w.workspace, w.old_role.as_deref().unwrap_or("-"), w.new_role))
                        .collect();
                    println!(
                        "line {}: {:?} {} ({} -> {}) {}",
                        p.line,
                        p.action,
                        p.email,
                        p.old_role.as_deref().unwrap_or("-"),
                        p.new_role,
                        ws.join(", ")
                    );
                }
                let verb = if report.applied { "applied" } else { "not applied" };
                println!(
                    "{} rows, {} changes, {} errors: {verb}",
                    report.rows,
                    report.plan.iter().filter(|p| p.action != RowAction::Unchanged).count(),
                    report.errors.len()
                );
            }
            if !report.errors.is_empty() {
                bail!("{} errors; nothing was written", report.errors.len());
            }
            Ok(())
        }
        MembersAction::Export { profile, tenant, out, cache, as_staff } => {
            let profile = Profile::load(&profile.profile)?;
            let mine = open_staff_cache(&profile, &as_staff, cache, false).await?;
            let staff = &mine.staff;
            let conn = cache::open_read(&mine.path)?;
            let rows = match &out {
                Some(path) => members::import::export(&conn, staff, &tenant, std::fs::File::create(path)?)?,
                None => members::import::export(&conn, staff, &tenant, std::io::stdout().lock())?,
            };
            if let Some(path) = out {
                eprintln!("{rows} members written to {}", path.display());
            }
            Ok(())
        }
    }
}

fn password_for(email: &str) -> Result<String> {
    match std::env::var("PENGUIN_ADMIN_PASSWORD") {
        Ok(pw) if !pw.is_empty() => Ok(pw),
        _ => read_secret(&format!("Password for {email}: ")),
    }
}

/// Signs in as a staff member, through the profile's desktop login, for a CLI command
/// changing customer data (online only).
async fn sign_in_as(profile: &Profile, email: &str) -> Result<auth::Session> {
    let password = password_for(email)?;
    let central = Central::connect(&profile.targets()?, 4).await?;
    Ok(auth::Session::sign_in(central, email, &password, &cli_client()).await?)
}

/// A staff member's own cache, unlocked for this command.
pub(crate) struct StaffCache {
    /// The online session (None after an offline sign-in: reading only).
    pub session: Option<auth::Session>,
    /// Who signed in.
    pub staff: auth::Staff,
    /// The cache file.
    pub path: PathBuf,
    /// The key lives for this command only: the cache is deleted at the end.
    session_key: bool,
}

impl Drop for StaffCache {
    fn drop(&mut self) {
        cache::lock(&self.path);
        if self.session_key {
            let _ = cache::delete(&self.path);
        }
    }
}

/// Resumes the session an earlier run kept in the staff member's cache, or signs in
/// (online, or — unless `need_online` — offline against the verifier in their cache
/// when the platform is unreachable), and unlocks their cache, at `path` when given.
pub(crate) async fn open_staff_cache(
    profile: &Profile,
    email: &str,
    path: Option<PathBuf>,
    need_online: bool,
) -> Result<StaffCache> {
    let replaceable = path.is_none();
    let path = path.unwrap_or_else(|| cache::default_path(&profile.name, email));
    let online = match Central::connect(&profile.targets()?, 4).await {
        Ok(central) => Some(central),
        // Offline reading needs a cache to read; without one, say why the platform
        // could not be reached.
        Err(e) if e.is_network() && path.exists() && !need_online => {
            eprintln!("note: {e}");
            None
        }
        Err(e) => return Err(e.into()),
    };
    match online {
        Some(central) => {
            let (session, verifier) = match kept_session(profile, email, &path, &central).await {
                Some(session) => (session, None),
                None => {
                    let password = password_for(email)?;
                    // The offline verifier is slow by design: computed while the platform checks the password.
                    let pw = password.clone();
                    let verifier = tokio::task::spawn_blocking(move || auth::offline::verifier(&pw));
                    (auth::Session::sign_in(central, email, &password, &cli_client()).await?, Some(verifier))
                }
            };
            let staff = session.staff().clone();
            let key = cache::key::obtain(&profile.name, staff.email(), true)?;
            cache::unlock(&path, key.key);
            let session_key = key.source == cache::key::KeySource::Session;
            if session_key {
                eprintln!(
                    "warning: no OS keyring and no {} here: the cache's key lives for this command only and the cache is deleted at its end",
                    cache::key::ENV_KEY
                );
            }
            if let cache::Claim::Wiped(why) = cache::claim(&path, staff.email(), &staff.digest(), replaceable)? {
                eprintln!("note: {why}");
            }
            if let Some(verifier) = verifier {
                auth::offline::store(&path, &staff, &verifier.await??)?;
                if !session_key {
                    session.keep_in(&path)?;
                }
            }
            Ok(StaffCache { session: Some(session), staff, path, session_key })
        }
        None => {
            if !path.exists() {
                bail!(
                    "the platform is unreachable and {email} has no cache on this computer; sign in once while online"
                );
            }
            let password = password_for(email)?;
            let key = cache::key::obtain(&profile.name, email, false)?;
            cache::unlock(&path, key.key);
            let staff = auth::offline::sign_in(&path, email, &password).inspect_err(|_| cache::lock(&path))?;
            eprintln!("note: the platform is unreachable; reading {email}'s cache offline");
            Ok(StaffCache { session: None, staff, path, session_key: false })
        }
    }
}

/// The session an earlier CLI run kept in `email`'s cache, if the database still accepts it.
async fn kept_session(profile: &Profile, email: &str, path: &Path, central: &Central) -> Option<auth::Session> {
    if !path.exists() {
        return None;
    }
    let key = cache::key::obtain(&profile.name, email, false).ok()?;
    cache::unlock(path, key.key);
    auth::Session::resume_kept(central.clone(), path, email, &cli_client()).await
}

/// Who the CLI says it is to the sign-in function.
fn cli_client() -> auth::ClientInfo {
    auth::ClientInfo {
        ip: None,
        user_agent: Some(format!(
            "penguin-admin-cli/{} ({})",
            env!("CARGO_PKG_VERSION"),
            std::env::var("HOSTNAME").unwrap_or_else(|_| std::env::consts::OS.to_string())
        )),
    }
}

fn read_secret(prompt: &str) -> Result<String> {
    let mut secret = String::new();
    if std::io::stdin().is_terminal() {
        secret = rpassword::prompt_password(prompt)?;
    } else {
        std::io::stdin().read_to_string(&mut secret)?;
    }
    let secret = secret.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        bail!("no password given");
    }
    Ok(secret)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(len) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{msg:>28} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

async fn seed_with_progress(central: &Central, size: &SeedArgs) -> Result<seed::SeedReport> {
    let progress = bar(0, "seeding");
    let p = progress.clone();
    let report = seed::seed(
        central,
        &SeedOptions { scale: size.scale, seed: size.seed, now: chrono::Utc::now() },
        &move |s: seed::SeedProgress| {
            p.set_message(s.step.to_string());
            p.set_length(s.total);
            p.set_position(s.done);
        },
    )
    .await
    .context("seeding the demo data")?;
    progress.finish_and_clear();
    Ok(report)
}

async fn demo_up(size: SeedArgs, profile: Option<String>, replace: bool) -> Result<()> {
    let path = profiles::resolve(profile.as_deref().unwrap_or("demo"));
    eprintln!("starting a throwaway PostgreSQL cluster…");
    let progress = bar(0, "seeding");
    let p = progress.clone();
    let options = SeedOptions { scale: size.scale, seed: size.seed, now: chrono::Utc::now() };
    let (_, report) = demo::up(&path, &options, replace, &move |s: seed::SeedProgress| {
        p.set_message(s.step.to_string());
        p.set_length(s.total);
        p.set_position(s.done);
    })
    .await?;
    progress.finish_and_clear();
    println!("demo profile written to {}:\n", path.display());
    println!("{}", std::fs::read_to_string(&path)?);
    let total: u64 = report.rows.iter().map(|(_, n)| n).sum();
    println!("{total} rows of demo data (scale {}, seed {})", size.scale, size.seed);
    println!("\nDemo staff accounts (password for all: {}):", seed::DEMO_PASSWORD);
    for c in &report.credentials {
        println!("  {:<12} {}", c.role, c.email);
    }
    Ok(())
}

fn demo_down(profile: Option<String>) -> Result<()> {
    let path = profiles::resolve(profile.as_deref().unwrap_or("demo"));
    let cluster = demo::down(&path)?;
    println!("demo cluster on port {} stopped and removed", cluster.port);
    Ok(())
}

async fn sync_command(session: &auth::Session, cache_path: &Path, json: bool) -> Result<()> {
    let progress = bar(0, "syncing");
    let p = progress.clone();
    let on_progress: sync::ProgressFn = Arc::new(move |s: &sync::Progress| {
        p.set_message(s.table.clone());
        p.set_length(s.total);
        p.set_position(s.done);
    });
    let cancel = sync::Cancel::default();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
        }
    });
    let report = sync::sync(session, cache_path, Some(on_progress), &cancel, true).await;
    progress.finish_and_clear();
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{:<28} {:<13} {:<12} {:>10} {:>9} {:>10}", "table", "database", "mode", "written", "deleted", "in cache");
    for t in &report.tables {
        let mode = serde_json::to_value(t.mode)?.as_str().unwrap_or("").to_string();
        println!(
            "{:<28} {:<13} {:<12} {:>10} {:>9} {:>10}",
            t.table,
            t.db.key(),
            mode,
            t.rows_written,
            t.rows_deleted,
            t.rows_in_cache
        );
    }
    for m in &report.missing {
        println!("(not on this platform, skipped: {m})");
    }
    println!("\nsynced into {} in {} ms", cache_path.display(), report.duration_ms);
    for (db, as_of) in &report.as_of {
        println!("  {db:<13} as of {as_of}");
    }
    Ok(())
}

fn print_tenants(page: &tenants::TenantPage) {
    println!(
        "{:<36}  {:<32} {:<11} {:<15} {:>7} {:>10} {:>12}",
        "id", "name", "plan", "status", "members", "workspaces", "MRR"
    );
    for t in &page.rows {
        let name: String = t.name.chars().take(32).collect();
        println!(
            "{:<36}  {:<32} {:<11} {:<15} {:>7} {:>10} {:>12}",
            t.id,
            name,
            t.plan.as_deref().unwrap_or("—"),
            t.status,
            t.members,
            t.workspaces,
            format!("${}.{:02}", t.mrr_cents / 100, t.mrr_cents % 100)
        );
    }
    println!(
        "{} of {} tenants{}",
        page.rows.len(),
        page.total,
        page.as_of.as_deref().map(|a| format!(", data as of {a}")).unwrap_or_default()
    );
}
