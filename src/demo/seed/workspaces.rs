//! What tenants work with: workspaces (`companies`, spread by tenant size, every tenant
//! has one), sending `domains` with their DNS records, mailboxes (`email_accounts`)
//! and `leads`; templates and campaigns are in `campaigns`. About 10 % of workspaces
//! are marked *declining*: their analytics show bounces and complaints rising (see
//! `analytics`).

use std::collections::HashSet;
use std::ops::Range;

use serde_json::{json, Value};
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::random::{
    allocate, alnum, between, chance, days, hours, minutes, pick, stream, time_between, uuid, weighted, word, Rng, Ts,
};
use super::tenants::email_part;
use super::words::{
    COMPANY_INDUSTRIES, COMPANY_PREFIXES, COMPANY_SIZES, COMPANY_STEMS, FAMILY_NAMES, GIVEN_NAMES, INDUSTRIES,
    LEAD_STATUSES, SENDING_DOMAIN_PATTERNS, TLDS, WORKSPACE_NAMES,
};
use super::world::{streams, Account, Domain, Lead, Workspace, World};
use super::{Ctx, SeedError};

/// Builds workspaces and everything under them.
pub(super) fn build(world: &mut World, rng: &mut Rng) {
    let n_tenants = world.tenants.len() as u64;
    let extra = world.per_scale(600).saturating_sub(n_tenants);
    let weights: Vec<f64> = world
        .tenants
        .iter()
        .map(|t| if t.sandbox { 0.3 } else { f64::from(t.size.saturating_sub(1)).powf(0.8) + 0.15 })
        .collect();
    let extra_per = allocate(extra, &weights);
    let mut slugs = HashSet::new();
    for (ti, extra) in extra_per.into_iter().enumerate() {
        let t_start = world.templates.len();
        super::campaigns::build_templates(world, rng, ti);
        world.tenants[ti].templates = t_start..world.templates.len();

        let count = 1 + extra as usize;
        let start = world.workspaces.len();
        let mut names = HashSet::new();
        let mut domain_names = HashSet::new();
        let mut lead_emails = HashSet::new();
        for wi in 0..count {
            let w = build_workspace(world, rng, ti, wi, count, &mut names, &mut slugs);
            build_domains(world, rng, w, &mut domain_names);
            build_leads(world, rng, w, &mut lead_emails);
            super::campaigns::build_campaigns(world, rng, w);
        }
        world.tenants[ti].workspaces = start..world.workspaces.len();
    }
}

fn build_workspace(
    world: &mut World,
    rng: &mut Rng,
    ti: usize,
    index: usize,
    count: usize,
    names: &mut HashSet<String>,
    slugs: &mut HashSet<String>,
) -> usize {
    let t = &world.tenants[ti];
    let name = loop {
        let candidate = if index == 0 {
            t.name.clone()
        } else if count > 25 && chance(rng, 0.7) {
            // Agencies run one workspace per client.
            format!(
                "Client: {}{} {}",
                pick(rng, COMPANY_PREFIXES),
                pick(rng, COMPANY_STEMS),
                pick(rng, COMPANY_INDUSTRIES)
            )
        } else {
            pick(rng, WORKSPACE_NAMES).to_string()
        };
        let candidate = if names.contains(&candidate) { format!("{candidate} {}", names.len() + 1) } else { candidate };
        if names.insert(candidate.clone()) {
            break candidate;
        }
    };
    let mut slug = format!("{}-{}", t.stem, slugify(&name));
    if index == 0 {
        slug = t.stem.clone();
    }
    let mut k = 2;
    while !slugs.insert(slug.clone()) {
        slug = format!("{}-{}-{k}", t.stem, slugify(&name));
        k += 1;
    }
    let created = if index == 0 {
        t.created + minutes(between(rng, 3, 60))
    } else {
        time_between(rng, t.created + days(1), world.now - days(2))
    };
    let status = if t.deleted.is_some() || chance(rng, 0.05) { "suspended" } else { "active" };
    let declining = !t.sandbox && status == "active" && chance(rng, 0.10);
    let size_hint = match t.size {
        0..=3 => 0,
        4..=10 => 1,
        11..=40 => 2,
        41..=150 => 3,
        151..=400 => 4,
        _ => 5,
    };
    let company_size = COMPANY_SIZES[(size_hint + between(rng, 0, 1) as usize).min(COMPANY_SIZES.len() - 1)];
    world.workspaces.push(Workspace {
        id: uuid(rng),
        tenant: ti,
        name: truncate(name, 100),
        workspace_name: slug,
        status,
        industry: word(rng, INDUSTRIES),
        company_size,
        logo: chance(rng, 0.4),
        created,
        declining,
        domains: 0..0,
        campaigns: 0..0,
        leads: 0..0,
    });
    world.workspaces.len() - 1
}

fn truncate(mut s: String, max: usize) -> String {
    while s.len() > max {
        s.pop();
    }
    s
}

/// `"Outbound EMEA"` → `"outbound-emea"`.
pub(super) fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn build_domains(world: &mut World, rng: &mut Rng, w: usize, used: &mut HashSet<String>) {
    let (ti, ws_created) = (world.workspaces[w].tenant, world.workspaces[w].created);
    let stem = world.tenants[ti].stem.clone();
    let now = world.now;
    let n = if chance(rng, 0.5) { 2 } else { 1 };
    let start = world.domains.len();
    for i in 0..n {
        let mut name = String::new();
        for attempt in 0..20 {
            let pattern = pick(rng, SENDING_DOMAIN_PATTERNS);
            let base = pattern.replace("{}", &stem);
            name =
                if attempt < 10 { format!("{base}.{}", pick(rng, TLDS)) } else { format!("{base}{}.com", used.len()) };
            if used.insert(name.clone()) {
                break;
            }
        }
        let status = weighted(rng, &[("verified", 75), ("pending", 12), ("failed", 9), ("error", 4)]);
        let created = time_between(rng, ws_created, (ws_created + days(10)).min(now - hours(1)));
        let verified =
            (status == "verified").then(|| (created + minutes(between(rng, 10, 3 * 24 * 60))).min(now - minutes(1)));
        let d = world.domains.len();
        let acc_start = world.accounts.len();
        build_accounts(world, rng, d, &name, ti, w, status, created);
        world.domains.push(Domain {
            id: uuid(rng),
            tenant: ti,
            workspace: w,
            name,
            status,
            created,
            verified,
            primary: i == 0,
            accounts: acc_start..world.accounts.len(),
            ips: Vec::new(),
        });
    }
    world.workspaces[w].domains = start..world.domains.len();
}

#[allow(clippy::too_many_arguments)]
fn build_accounts(
    world: &mut World,
    rng: &mut Rng,
    d: usize,
    domain: &str,
    ti: usize,
    w: usize,
    domain_status: &str,
    created: Ts,
) {
    let now = world.now;
    let n = between(rng, 1, 5);
    let mut locals = HashSet::new();
    for _ in 0..n {
        let given = email_part(word(rng, GIVEN_NAMES));
        let family = email_part(word(rng, FAMILY_NAMES));
        let mut local = match between(rng, 0, 2) {
            0 => given.clone(),
            1 => format!("{given}.{family}"),
            _ => format!("{}{family}", &given[..1.min(given.len())]),
        };
        if !locals.insert(local.clone()) {
            local = format!("{given}.{family}{}", locals.len());
            locals.insert(local.clone());
        }
        let status = if domain_status != "verified" {
            "paused"
        } else {
            weighted(rng, &[("active", 78), ("warming", 14), ("paused", 4), ("error", 4)])
        };
        let daily_count = match status {
            "active" => between(rng, 10, 50),
            "warming" => between(rng, 2, 20),
            _ => 0,
        };
        let last_warmed = match status {
            "active" | "warming" => Some(now - minutes(between(rng, 5, 36 * 60))),
            "error" => Some(now - days(between(rng, 2, 20))),
            _ => None,
        };
        world.accounts.push(Account {
            id: uuid(rng),
            tenant: ti,
            workspace: w,
            domain: d,
            email: format!("{local}@{domain}"),
            status,
            created: time_between(rng, created, (created + days(3)).min(now - minutes(30))),
            daily_count,
            last_warmed,
        });
    }
}

fn build_leads(world: &mut World, rng: &mut Rng, w: usize, used: &mut HashSet<String>) {
    let (ti, ws_created, now) = (world.workspaces[w].tenant, world.workspaces[w].created, world.now);
    let n = between(rng, 4, 12);
    let start = world.leads.len();
    for _ in 0..n {
        let given = *pick(rng, GIVEN_NAMES);
        let family = *pick(rng, FAMILY_NAMES);
        let prefix = *pick(rng, COMPANY_PREFIXES);
        let stem = *pick(rng, COMPANY_STEMS);
        let company = if chance(rng, 0.5) {
            format!("{prefix}{stem}")
        } else {
            format!("{prefix}{stem} {}", pick(rng, COMPANY_INDUSTRIES))
        };
        let domain = format!("{}{}.{}", prefix.to_ascii_lowercase(), stem, pick(rng, TLDS));
        let base = format!("{}.{}", email_part(given), email_part(family));
        let mut email = format!("{base}@{domain}");
        let mut k = 2;
        while !used.insert(email.clone()) {
            email = format!("{base}{k}@{domain}");
            k += 1;
        }
        world.leads.push(Lead {
            id: uuid(rng),
            tenant: ti,
            email,
            name: format!("{given} {family}"),
            company,
            status: weighted(rng, LEAD_STATUSES),
            updated: time_between(rng, ws_created, now - minutes(10)),
        });
    }
    world.workspaces[w].leads = start..world.leads.len();
}

/// Mailboxes of a workspace (contiguous, since domains and mailboxes are built in order).
pub(super) fn workspace_accounts(world: &World, w: usize) -> Range<usize> {
    let ds = &world.workspaces[w].domains;
    if ds.is_empty() {
        return 0..0;
    }
    world.domains[ds.start].accounts.start..world.domains[ds.end - 1].accounts.end
}

/// Writes `companies`, `domains`, `email_accounts`, `leads`, `templates`, `campaigns`
/// and `campaign_sequence_steps`.
pub(super) async fn write(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::WORKSPACES.wrapping_add(100));
    let now = world.now;

    let cols = "id, tenant_id, name, workspace_name, logo_url, status, industry, company_size, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.companies", cols, world.workspaces.len() as u64).await?;
    for w in &world.workspaces {
        let t = &world.tenants[w.tenant];
        let logo = w.logo.then(|| format!("https://cdn.penguinmails.io/logos/{}.png", w.id.simple()));
        let updated = time_between(rng, w.created, now - hours(1));
        c.uuid(w.id).uuid(t.id).text(&w.name).text(&w.workspace_name).opt_text(logo.as_deref()).text(w.status);
        c.text(w.industry).text(w.company_size).ts(w.created).ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "id, tenant_id, company_id, domain, verification_status, dns_records, is_primary, verified, mailu_domain, \
                dns_ttl_observed, dns_last_verified_at, dns_verification_error, dns_verification_attempts, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.domains", cols, world.domains.len() as u64).await?;
    for d in &world.domains {
        let mx_ip = d.ips.first().map_or("203.0.113.5", |&i| world.ips[i].ip.as_str());
        let (records, error, attempts, last_check) = dns_records(rng, d, mx_ip, now);
        c.uuid(d.id)
            .uuid(world.tenants[d.tenant].id)
            .uuid(world.workspaces[d.workspace].id)
            .text(&d.name)
            .text(d.status);
        c.json(&records).bool(d.primary).opt_ts(d.verified).text(&format!("mail.{}", d.name));
        c.opt_int((d.status != "pending").then_some(*pick(rng, &[300, 3600, 3600, 14_400])));
        c.opt_ts(last_check.filter(|_| d.status == "verified"))
            .opt_text(error.as_deref())
            .int(attempts)
            .ts(d.created)
            .ts(last_check.unwrap_or(d.created));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    write_accounts(conn, world, ctx, rng).await?;

    let mut c = Copier::start(
        conn,
        ctx.progress,
        "oltp.leads",
        "id, tenant_id, email, name, company, status, updated",
        world.leads.len() as u64,
    )
    .await?;
    for l in &world.leads {
        c.uuid(l.id)
            .uuid(world.tenants[l.tenant].id)
            .text(&l.email)
            .text(&l.name)
            .text(&l.company)
            .text(l.status)
            .ts(l.updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    super::campaigns::write(conn, world, ctx, rng).await
}

/// The `dns_records` JSON (the schema guide's shape) plus the domain's error text,
/// attempt count and last check time.
fn dns_records(rng: &mut Rng, d: &Domain, mx_ip: &str, now: Ts) -> (Value, Option<String>, i64, Option<Ts>) {
    // Verified domains are re-checked daily; failing ones are retried every few hours.
    let last_check = match d.status {
        "pending" => None,
        "verified" => Some((now - minutes(between(rng, 5, 24 * 60))).max(d.verified.unwrap_or(d.created))),
        _ => Some((now - minutes(between(rng, 5, 6 * 60))).max(d.created)),
    };
    let stamp = last_check.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    let failing = match d.status {
        "failed" => Some(*pick(rng, &["SPF", "DKIM", "DMARC", "MX"])),
        _ => None,
    };
    let attempts = match d.status {
        "verified" => between(rng, 1, 2),
        "pending" => between(rng, 0, 2),
        _ => between(rng, 3, 12),
    };
    let name = &d.name;
    let mut error = None;
    let mut record = |kind: &str, mut fields: Value| {
        let (status, err) = match (d.status, failing) {
            ("verified", _) => ("verified", None),
            ("pending", _) => ("pending", None),
            ("error", _) => ("error", Some("DNS lookup failed: SERVFAIL from authoritative nameserver".to_string())),
            (_, Some(f)) if f == kind => (
                "failed",
                Some(match kind {
                    "SPF" => format!("SPF record at {name} does not include _spf.penguinmails.io"),
                    "DKIM" => format!("DKIM public key mismatch for default._domainkey.{name}"),
                    "DMARC" => format!("No DMARC record found at _dmarc.{name}"),
                    _ => format!("MX record for {name} points to aspmx.l.google.com., expected mail.penguinmails.io."),
                }),
            ),
            _ => ("verified", None),
        };
        if err.is_some() && error.is_none() {
            error.clone_from(&err);
        }
        if let Some(obj) = fields.as_object_mut() {
            obj.insert("record_type".into(), json!(kind));
            obj.insert("ttl".into(), json!(3600));
            obj.insert("verification_status".into(), json!(status));
            obj.insert("last_verified_at".into(), json!(if status == "verified" { stamp.clone() } else { None }));
            obj.insert("verification_attempts".into(), json!(attempts));
            obj.insert("verification_error".into(), json!(err));
        }
        fields
    };
    let key = format!("MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ{}", alnum(rng, 40));
    let records = vec![
        record("SPF", json!({"name": "@", "value": "v=spf1 include:_spf.penguinmails.io -all", "source": "ui"})),
        record(
            "DKIM",
            json!({
                "name": "default._domainkey", "selector": "default",
                "value": format!("v=DKIM1; k=rsa; p={key}"), "public_key": key,
                "managed_by": "platform", "secret_ref": format!("vault://mail/dkim/{name}/default"),
                "needs_deployment": d.status == "pending", "source": "platform"
            }),
        ),
        record(
            "DMARC",
            json!({
                "name": "_dmarc", "value": format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{name}"),
                "policy": "quarantine", "source": "ui"
            }),
        ),
        record(
            "MX",
            json!({
                "name": "@", "value": "mail.penguinmails.io.", "priority": 10, "mx_hosts": [mx_ip], "source": "ui"
            }),
        ),
    ];
    (json!({ "records": records }), error, attempts, last_check)
}

async fn write_accounts(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
) -> Result<(), SeedError> {
    let cols = "id, tenant_id, domain_id, email, provider, vault_key_path, imap_settings, smtp_settings, status, \
                last_warmed, daily_count, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.email_accounts", cols, world.accounts.len() as u64).await?;
    for a in &world.accounts {
        let domain = &world.domains[a.domain].name;
        let tenant = world.tenants[a.tenant].id;
        let (provider, imap, smtp) = match weighted(rng, &[(0, 85), (1, 10), (2, 5)]) {
            0 => (
                "mailu",
                json!({"host": format!("mail.{domain}"), "port": 993, "security": "ssl", "username": a.email}),
                json!({"host": format!("mail.{domain}"), "port": 587, "security": "starttls", "username": a.email}),
            ),
            1 => (
                "google",
                json!({"host": "imap.gmail.com", "port": 993, "security": "ssl", "username": a.email}),
                json!({"host": "smtp.gmail.com", "port": 587, "security": "starttls", "username": a.email}),
            ),
            _ => (
                "microsoft",
                json!({"host": "outlook.office365.com", "port": 993, "security": "ssl", "username": a.email}),
                json!({"host": "smtp.office365.com", "port": 587, "security": "starttls", "username": a.email}),
            ),
        };
        let vault = format!("secret/data/tenants/{tenant}/mailboxes/{}", a.id);
        let updated = a.last_warmed.unwrap_or(a.created).max(a.created);
        c.uuid(a.id).uuid(tenant).uuid(world.domains[a.domain].id).text(&a.email).text(provider).text(&vault);
        c.json(&imap).json(&smtp).text(a.status).opt_ts(a.last_warmed).int(a.daily_count).ts(a.created).ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
