//! `penguin-admin tenant …`: per-tenant feature flags, plan and billing overrides and
//! test tenant provisioning, thin wrappers over `penguin_admin::tenant_admin`. Every
//! command signs in as a staff member (`--as`), whose role's permissions apply. Reads
//! come from the profile's cache; actions go to central and then sync the cache.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use penguin_admin::auth::Staff;
use penguin_admin::profiles::Profile;
use penguin_admin::tenant_admin::flags;
use penguin_admin::tenant_admin::overrides::{self, OverrideInput, OverrideKind, PlanLimits};
use penguin_admin::tenant_admin::provision::{self, ProvisionRequest};
use penguin_admin::{cache, sync};

/// Who acts, against which profile and cache.
#[derive(Args)]
pub struct Who {
    /// Profile name or path.
    #[arg(long)]
    profile: String,
    /// Act as this staff member (password from the terminal or PENGUIN_ADMIN_PASSWORD).
    #[arg(long = "as", value_name = "EMAIL")]
    as_staff: String,
    /// Cache file (default: the profile's cache).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum TenantAction {
    /// List a tenant's feature flags, or set one with --key and --on / --off / --clear.
    Flags {
        #[command(flatten)]
        who: Who,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Flag key to change.
        #[arg(long, requires = "reason")]
        key: Option<String>,
        /// Turn it on for this tenant.
        #[arg(long, requires = "key", conflicts_with_all = ["off", "clear"])]
        on: bool,
        /// Turn it off for this tenant.
        #[arg(long, requires = "key", conflicts_with = "clear")]
        off: bool,
        /// Back to the platform's value.
        #[arg(long, requires = "key")]
        clear: bool,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Show the effective plan, or add an override with --kind (plan, comp or trial).
    Override {
        #[command(flatten)]
        who: Who,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// plan (custom price and limits), comp (free until --expires) or trial (until --expires).
        #[arg(long, value_parser = parse_kind, requires = "reason")]
        kind: Option<OverrideKind>,
        /// Custom monthly price in cents (plan).
        #[arg(long)]
        price_cents: Option<i64>,
        /// Custom limit: users.
        #[arg(long)]
        max_users: Option<i64>,
        /// Custom limit: domains.
        #[arg(long)]
        max_domains: Option<i64>,
        /// Custom limit: campaigns per month.
        #[arg(long)]
        max_campaigns_per_month: Option<i64>,
        /// Custom limit: email accounts (mailboxes).
        #[arg(long)]
        max_email_accounts: Option<i64>,
        /// Custom limit: emails per month.
        #[arg(long)]
        max_emails_per_month: Option<i64>,
        /// Custom limit: contacts.
        #[arg(long)]
        max_contacts: Option<i64>,
        /// Custom limit: storage in GB.
        #[arg(long)]
        max_storage_gb: Option<i64>,
        /// End: YYYY-MM-DD (through that day, UTC) or RFC 3339.
        #[arg(long)]
        expires: Option<String>,
        /// Why (recorded with the override and in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Create a test tenant with an owner, a workspace and a plan (a sandbox unless --not-sandbox).
    Provision {
        #[command(flatten)]
        who: Who,
        /// Tenant name.
        #[arg(long)]
        name: String,
        /// Owner's email (a new user).
        #[arg(long)]
        owner_email: String,
        /// Owner's name.
        #[arg(long)]
        owner_name: String,
        /// Workspace name.
        #[arg(long)]
        workspace: String,
        /// Plan slug.
        #[arg(long, default_value = "starter")]
        plan: String,
        /// Create an ordinary (non-sandbox) test tenant; needs tenants.manage.
        #[arg(long)]
        not_sandbox: bool,
    },
}

fn parse_kind(s: &str) -> Result<OverrideKind, String> {
    OverrideKind::parse(s).ok_or_else(|| format!("`{s}` is not plan, comp or trial"))
}

struct Session {
    /// The staff member's unlocked cache (locked again when dropped).
    _mine: super::StaffCache,
    session: penguin_admin::auth::Session,
    staff: Staff,
    cache: PathBuf,
    json: bool,
}

async fn session(who: Who) -> Result<Session> {
    let profile = Profile::load(&who.profile)?;
    let mine = super::open_staff_cache(&profile, &who.as_staff, who.cache, true).await?;
    let Some(session) = mine.session.clone() else {
        anyhow::bail!("the platform is unreachable; tenant administration needs it")
    };
    let (staff, cache) = (mine.staff.clone(), mine.path.clone());
    Ok(Session { _mine: mine, session, staff, cache, json: who.json })
}

/// After an action: bring the cache up to date so the next read shows it.
async fn resync(s: &Session) -> Result<()> {
    sync::sync(&s.session, &s.cache, None, &sync::Cancel::default(), true).await?;
    Ok(())
}

fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T)) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text(value);
    }
    Ok(())
}

fn money(cents: Option<i64>) -> String {
    cents.map(|c| format!("{}.{:02}", c / 100, c % 100)).unwrap_or_else(|| "-".into())
}

pub async fn run(action: TenantAction) -> Result<()> {
    match action {
        TenantAction::Flags { who, tenant, key, on, off, clear, reason } => {
            let s = session(who).await?;
            if let Some(key) = key {
                let enabled = match (on, off, clear) {
                    (true, _, _) => Some(true),
                    (_, true, _) => Some(false),
                    (_, _, true) => None,
                    _ => anyhow::bail!("say --on, --off or --clear"),
                };
                let change = flags::set_flag(&s.session, &tenant, &key, enabled, &reason.unwrap_or_default()).await?;
                resync(&s).await?;
                return print(s.json, &change, |c| {
                    println!(
                        "{}: {:?} -> {:?} (now {})",
                        c.key,
                        c.before,
                        c.after,
                        if c.enabled { "on" } else { "off" }
                    )
                });
            }
            let list = flags::flags(&cache::open_read(&s.cache)?, &s.staff, &tenant)?;
            print(s.json, &list, |l| {
                for f in l {
                    let by = match (&f.changed_by, &f.changed_at) {
                        (Some(b), Some(a)) => format!("  (set by {b} at {a})"),
                        _ => "  (platform value)".into(),
                    };
                    println!("{:<32} {:<3}{by}", f.key, if f.enabled { "on" } else { "off" });
                }
            })
        }
        TenantAction::Override {
            who,
            tenant,
            kind,
            price_cents,
            max_users,
            max_domains,
            max_campaigns_per_month,
            max_email_accounts,
            max_emails_per_month,
            max_contacts,
            max_storage_gb,
            expires,
            reason,
        } => {
            let s = session(who).await?;
            if let Some(kind) = kind {
                let input = OverrideInput {
                    kind,
                    price_monthly_cents: price_cents,
                    limits: PlanLimits {
                        max_users,
                        max_domains,
                        max_campaigns_per_month,
                        max_email_accounts,
                        max_emails_per_month,
                        max_contacts,
                        max_storage_gb,
                    },
                    expires,
                    reason: reason.unwrap_or_default(),
                };
                overrides::add(&s.session, &tenant, &input).await?;
                resync(&s).await?;
            }
            let e = overrides::effective_plan(&cache::open_read(&s.cache)?, &s.staff, &tenant, chrono::Utc::now())?;
            print(s.json, &e, |e| {
                println!(
                    "plan {} at {} (list {}){}{}",
                    e.base.name.as_deref().unwrap_or("-"),
                    money(e.price_monthly_cents),
                    money(e.base.price_monthly_cents),
                    e.comped_until.as_deref().map(|d| format!(", comped until {d}")).unwrap_or_default(),
                    e.trial_until.as_deref().map(|d| format!(", trial until {d}")).unwrap_or_default(),
                );
                println!("limits: {}", serde_json::to_string(&e.limits).unwrap_or_default());
                for o in &e.applied {
                    println!("  {:?} {} until {} — {}", o.kind, o.id, o.expires.as_deref().unwrap_or("-"), o.reason);
                }
            })
        }
        TenantAction::Provision { who, name, owner_email, owner_name, workspace, plan, not_sandbox } => {
            let s = session(who).await?;
            let req = ProvisionRequest {
                tenant_name: name,
                owner_email,
                owner_name,
                workspace_name: workspace,
                plan_slug: plan,
                sandbox: !not_sandbox,
            };
            let made = provision::provision(&s.session, &req).await?;
            resync(&s).await?;
            print(s.json, &made, |m| {
                println!(
                    "tenant {} ({}) with owner {}, workspace {}, plan {}{}",
                    m.tenant_id,
                    req.tenant_name,
                    m.owner_user_id,
                    m.workspace_slug,
                    m.plan,
                    if m.sandbox { ", sandbox" } else { "" }
                )
            })
        }
    }
}
