//! `penguin-admin finance …`: Stripe sync, payments, revenue and reconciliation from the
//! command line, each a thin wrapper over `penguin_admin::finance` / `stripe`.
//!
//! Every command that reads or writes customer data signs in (`--as`): the cache holds
//! only what that staff member's role may see (`finance sync` writes Stripe data masked
//! for a role without `pii.view`), and the role's permissions apply.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use penguin_admin::auth::Staff;
use penguin_admin::finance::payments::{self, PaymentQuery, PaymentSort, PaymentStatus};
use penguin_admin::finance::{major_units, reconcile, revenue};
use penguin_admin::profiles::Profile;
use penguin_admin::stripe::{self, Stripe, StripeConfig};
use penguin_admin::{cache, sync};

#[derive(Subcommand)]
pub enum FinanceAction {
    /// Sync Stripe into the local cache (full the first time, then by events), as the
    /// signed-in staff member may see it.
    Sync {
        /// Profile with a `[stripe]` section; the key is read from the OS keyring
        /// (`finance set-key`) or the STRIPE_SECRET_KEY environment variable.
        #[arg(long)]
        profile: String,
        /// Sign in as this staff member, whose cache is written.
        #[arg(long = "as", value_name = "EMAIL")]
        as_staff: String,
        /// Cache file (default: the staff member's cache of the profile).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Store the profile's Stripe secret key in the OS keyring (read from the terminal or standard input).
    SetKey {
        /// Profile name or path.
        #[arg(long)]
        profile: String,
    },
    /// List payments, or export them all as CSV.
    Payments {
        #[command(flatten)]
        reader: Reader,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// From (YYYY-MM-DD, inclusive).
        #[arg(long)]
        from: Option<String>,
        /// To (YYYY-MM-DD, exclusive).
        #[arg(long)]
        to: Option<String>,
        /// succeeded, failed, pending, refunded, partially_refunded or disputed (repeatable).
        #[arg(long, value_parser = parse_status)]
        status: Vec<PaymentStatus>,
        /// Currency code.
        #[arg(long)]
        currency: Option<String>,
        /// Customer email, tenant name, invoice number or Stripe id.
        #[arg(long)]
        search: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Write every matching payment to this CSV file instead of listing a page.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// MRR, its movements, churn, ARPA, LTV and payment success for a month.
    Mrr {
        #[command(flatten)]
        reader: Reader,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare the platform's payments and subscriptions with Stripe over a period.
    Reconcile {
        #[command(flatten)]
        reader: Reader,
        /// Period start (YYYY-MM-DD, inclusive).
        #[arg(long)]
        from: String,
        /// Period end (YYYY-MM-DD, exclusive).
        #[arg(long)]
        to: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also write the discrepancies to this CSV file.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

/// Who reads which cache.
#[derive(clap::Args)]
pub struct Reader {
    /// Profile name or path.
    #[arg(long)]
    profile: String,
    /// Sign in as this staff member (password from the terminal or PENGUIN_ADMIN_PASSWORD).
    #[arg(long = "as", value_name = "EMAIL")]
    as_staff: String,
    /// Cache file (default: the profile's cache).
    #[arg(long)]
    cache: Option<PathBuf>,
}

impl Reader {
    /// Signs in (offline too) and opens the staff member's cache.
    async fn open(&self) -> Result<(Staff, rusqlite::Connection, super::StaffCache)> {
        let profile = Profile::load(&self.profile)?;
        let mine = super::open_staff_cache(&profile, &self.as_staff, self.cache.clone(), false).await?;
        Ok((mine.staff.clone(), cache::open_read(&mine.path)?, mine))
    }
}

fn parse_status(s: &str) -> Result<PaymentStatus, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        format!("unknown status `{s}`; use succeeded, failed, pending, refunded, partially_refunded or disputed")
    })
}

fn stripe_client(profile: &Profile) -> Result<Stripe> {
    let Some(settings) = &profile.stripe else {
        bail!(
            "profile {} has no [stripe] section; add `[stripe]` with `api_base = \"https://api.stripe.com\"`",
            profile.path.display()
        )
    };
    let key = match std::env::var("STRIPE_SECRET_KEY") {
        Ok(k) if !k.is_empty() => k,
        _ => profile.stripe_key()?.with_context(|| {
            format!("no Stripe key stored for profile {}; run `penguin-admin finance set-key`", profile.name)
        })?,
    };
    Ok(Stripe::new(StripeConfig::new(settings.api_base.clone(), key))?)
}

pub async fn run(action: FinanceAction) -> Result<()> {
    match action {
        FinanceAction::Sync { profile, as_staff, cache: path, json } => {
            let profile = Profile::load(&profile)?;
            let mine = super::open_staff_cache(&profile, &as_staff, path, true).await?;
            let path = mine.path.clone();
            let client = stripe_client(&profile)?;
            let Some(session) = &mine.session else {
                bail!("the platform is unreachable; a Stripe sync needs an online sign-in")
            };
            let bar = super::bar(0, "stripe");
            let b = bar.clone();
            let progress: sync::ProgressFn = Arc::new(move |p: &sync::Progress| {
                b.set_message(p.table.clone());
                b.set_position(p.done);
            });
            let report =
                stripe::sync::sync(&client, session.staff(), &path, Some(progress), &sync::Cancel::default()).await?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("Stripe {} sync in {} ms, as of {}", report.mode, report.duration_ms, report.as_of);
                for (table, n) in &report.written {
                    println!("  {table:<28} {n:>8}");
                }
            }
            Ok(())
        }
        FinanceAction::SetKey { profile } => {
            let profile = Profile::load(&profile)?;
            let key = super::read_secret(&format!("Stripe secret key for profile {}: ", profile.name))?;
            profile.set_stripe_key(&key)?;
            println!("stored in the OS keyring as {}/stripe", profile.name);
            Ok(())
        }
        FinanceAction::Payments { reader, tenant, from, to, status, currency, search, limit, csv, json } => {
            let (staff, conn, _mine) = reader.open().await?;
            let q = PaymentQuery {
                tenant_id: tenant,
                from,
                to,
                statuses: status,
                currency,
                search,
                sort: PaymentSort::Created,
                descending: true,
                limit: Some(limit.clamp(1, 500)),
                ..Default::default()
            };
            if let Some(file) = csv {
                let out = std::io::BufWriter::new(
                    std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?,
                );
                let bar = super::bar(0, "exporting");
                let b = bar.clone();
                let n = payments::export_csv(&conn, &staff, &q, out, |done, total| {
                    b.set_length(total);
                    b.set_position(done);
                    true
                })?;
                bar.finish_and_clear();
                println!("{n} payments written to {}", file.display());
                return Ok(());
            }
            let page = payments::list(&conn, &staff, &q)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                println!("{} payments (Stripe data as of {})", page.total, page.as_of);
                for p in &page.rows {
                    println!(
                        "{:<22} {} {:>12} {} {:<18} {:<24} {}",
                        p.id,
                        p.created,
                        major_units(p.amount, &p.currency),
                        p.currency.to_uppercase(),
                        p.status,
                        p.tenant_name.as_deref().unwrap_or("-"),
                        p.invoice_number.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        FinanceAction::Mrr { reader, month, json } => {
            let (staff, conn, _mine) = reader.open().await?;
            let r = revenue::report(&conn, &staff, &month)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!("Revenue for {} (Stripe data as of {})", r.month, r.as_of);
            let pct = |bp: Option<i64>| bp.map(|b| major_units(b, "usd") + " %").unwrap_or_else(|| "-".into());
            for c in &r.currencies {
                let cur = c.currency.to_uppercase();
                let m = |v: i64| format!("{} {cur}", major_units(v, &c.currency));
                println!(
                    "\n{cur}: MRR {} (was {}), {} paying customers",
                    m(c.mrr),
                    m(c.mrr_previous),
                    c.paying_customers
                );
                for p in &c.by_plan {
                    println!("  {:<24} {:>16} {:>5} customers", p.plan, m(p.mrr), p.customers);
                }
                let mv = &c.movements;
                println!(
                    "  new {}  expansion {}  reactivation {}  contraction {}  churned {}",
                    m(mv.new),
                    m(mv.expansion),
                    m(mv.reactivation),
                    m(mv.contraction),
                    m(mv.churned)
                );
                println!(
                    "  customer churn {}  revenue churn {}  ARPA {}  LTV {}",
                    pct(c.customer_churn_bp),
                    pct(c.revenue_churn_bp),
                    c.arpa.map(m).unwrap_or_else(|| "-".into()),
                    c.ltv.map(m).unwrap_or_else(|| "-".into())
                );
            }
            println!(
                "\npayments: {} succeeded, {} failed, success rate {}",
                r.payments_succeeded,
                r.payments_failed,
                pct(r.payment_success_bp)
            );
            Ok(())
        }
        FinanceAction::Reconcile { reader, from, to, json, csv } => {
            let (staff, conn, _mine) = reader.open().await?;
            let r = reconcile::reconcile(&conn, &staff, &from, &to)?;
            if let Some(file) = csv {
                let out = std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
                reconcile::export_csv(&r, std::io::BufWriter::new(out))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!("Reconciliation {} – {} (Stripe as of {})", r.from, r.to, r.stripe_as_of);
            for t in &r.totals {
                let m = |v: i64| format!("{} {}", major_units(v, &t.currency), t.currency.to_uppercase());
                println!(
                    "  {}: platform collected {}, Stripe charged {}, refunded {}, net {}, payouts {}",
                    t.currency.to_uppercase(),
                    m(t.platform_collected),
                    m(t.stripe_charged),
                    m(t.stripe_refunded),
                    m(t.stripe_net),
                    m(t.payouts)
                );
            }
            if r.discrepancies.is_empty() {
                println!("no discrepancies");
            }
            for d in &r.discrepancies {
                let cur = d.currency.clone().unwrap_or_else(|| "usd".into());
                let m = |v: Option<i64>| v.map(|v| major_units(v, &cur)).unwrap_or_else(|| "-".into());
                println!(
                    "  {:<30} {} platform {:<38} stripe {:<24} {:>12} {:>12} {} {}",
                    d.kind.as_str(),
                    d.date,
                    d.platform_id.as_deref().unwrap_or("-"),
                    d.stripe_id.as_deref().unwrap_or("-"),
                    m(d.platform_amount),
                    m(d.stripe_amount),
                    d.platform_value.as_deref().unwrap_or(""),
                    d.stripe_value.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}
