//! Tenants and their people: `tenants` (heavy-tailed sizes, a few QA sandboxes and
//! soft-deleted ones), `users`, `tenant_users` (≥ 1 owner per tenant, ~10 % of users in
//! two tenants), `tenant_config`, `tenant_policies` and Nile's `auth.sessions`.

use std::collections::HashSet;

use rand::seq::SliceRandom;
use serde_json::json;
use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::random::{
    alnum, between, chance, days, hours, minutes, pick, push_alnum, real, stream, time_between, uuid, weighted, word,
    Rng, Ts,
};
use super::words::{
    City, CITIES, COMPANY_INDUSTRIES, COMPANY_PREFIXES, COMPANY_STEMS, DATE_FORMATS, FAMILY_NAMES, GIVEN_NAMES,
    STREETS, THEME_COLORS, TLDS,
};
use super::world::{streams, Membership, Role, Tenant, User, World};
use super::{Ctx, SeedError};

/// Builds tenants, users and memberships.
pub(super) fn build(world: &mut World, rng: &mut Rng) {
    let now = world.now;
    let n = world.per_scale(200) as usize;
    let n_sandbox = ((n as f64 * 0.02).round() as usize).max(2);
    let n_deleted = ((n as f64 * 0.02).round() as usize).max(1);
    let special = rand::seq::index::sample(rng, n, n_sandbox + n_deleted).into_vec();
    let mut sandbox = vec![false; n];
    let mut deleted = vec![false; n];
    for (k, &i) in special.iter().enumerate() {
        if k < n_sandbox {
            sandbox[i] = true;
        } else {
            deleted[i] = true;
        }
    }
    let mut sizes = member_counts(rng, n, world.per_scale(2200));
    let mut stems = HashSet::new();
    let mut sandbox_no = 0;
    for i in 0..n {
        let city = weighted_city(rng);
        let (name, stem, domain, created) = if sandbox[i] {
            sandbox_no += 1;
            sizes[i] = between(rng, 1, 4) as u32;
            let stem = format!("qasandbox{sandbox_no:02}");
            let domain = format!("{stem}.penguinmails.test");
            (format!("QA Sandbox {sandbox_no:02}"), stem, domain, now - days(between(rng, 200, 400)))
        } else {
            let (name, stem) = company_name(rng, &mut stems, city.country);
            let domain = format!("{stem}.{}", pick(rng, TLDS));
            // More recent sign-ups are more common.
            let age = 30.0 + 1070.0 * rng_unit(rng).powf(1.6);
            (name, stem, domain, now - days(age as i64) - minutes(between(rng, 0, 1439)))
        };
        let deleted_at = deleted[i].then(|| time_between(rng, created + days(20), now - days(1)));
        world.tenants.push(Tenant {
            id: uuid(rng),
            name,
            stem,
            domain,
            created,
            deleted: deleted_at,
            sandbox: sandbox[i],
            size: sizes[i],
            city,
            currency: city.currency,
            plan: 0,
            members: 0..0,
            workspaces: 0..0,
            templates: 0..0,
            subscriptions: 0..0,
        });
    }
    build_memberships(world, rng);
}

fn rng_unit(rng: &mut Rng) -> f64 {
    real(rng, 0.0, 1.0)
}

/// Memberships per tenant: a stratified Pareto sample (α = 0.9, so most tenants have
/// 1–5 members and a few have hundreds at every scale), rescaled so the total is
/// close to `target`.
fn member_counts(rng: &mut Rng, n: usize, target: u64) -> Vec<u32> {
    let alpha = 0.9;
    let mut raw: Vec<f64> = (0..n)
        .map(|i| {
            let u = (i as f64 + real(rng, 0.0001, 1.0)) / n as f64;
            u.powf(-1.0 / alpha).min(500.0).floor()
        })
        .collect();
    raw.shuffle(rng);
    let excess: f64 = raw.iter().map(|s| s - 1.0).sum();
    let f = if excess > 0.0 { (target as f64 - n as f64).max(0.0) / excess } else { 0.0 };
    raw.iter().map(|s| (1.0 + ((s - 1.0) * f).round()).min(1000.0) as u32).collect()
}

/// A billing city: ~80 % USD markets, ~12 % EUR, ~8 % GBP.
fn weighted_city(rng: &mut Rng) -> &'static City {
    let weights: Vec<(usize, u32)> = CITIES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                i,
                match c.currency {
                    "USD" => 7,
                    "EUR" => 2,
                    _ => 4,
                },
            )
        })
        .collect();
    &CITIES[weighted(rng, &weights)]
}

/// A unique company name ("Northwind Analytics GmbH") and its domain stem.
fn company_name(rng: &mut Rng, stems: &mut HashSet<String>, country: &str) -> (String, String) {
    for attempt in 0.. {
        let fused = format!("{}{}", pick(rng, COMPANY_PREFIXES), pick(rng, COMPANY_STEMS));
        let industry = *pick(rng, COMPANY_INDUSTRIES);
        let mut stem = format!("{fused}{industry}").to_ascii_lowercase();
        let mut display = format!("{fused} {industry}");
        if attempt >= 40 {
            stem.push_str(&attempt.to_string());
            display.push_str(&format!(" {attempt}"));
        }
        if stems.insert(stem.clone()) {
            let legal = legal_form(rng, country);
            if !legal.is_empty() {
                display = format!("{display} {legal}");
            }
            return (display, stem);
        }
    }
    unreachable!("the numbered fallback always yields a new stem")
}

fn legal_form(rng: &mut Rng, country: &str) -> &'static str {
    let forms: &[&str] = match country {
        "DE" => &["", "GmbH", "GmbH"],
        "NL" => &["", "B.V."],
        "GB" | "IE" => &["", "Ltd", "Ltd"],
        "FR" => &["", "SAS"],
        "ES" => &["", "S.L."],
        _ => &["", "", "Inc.", "LLC", "Co."],
    };
    word(rng, forms)
}

/// Lower-case ASCII form of a name for an email local part ("O'Brien" → "obrien").
pub(super) fn email_part(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'á' | 'à' => 'a',
            'ó' | 'ö' => 'o',
            'ü' | 'ú' => 'u',
            other => other,
        })
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A new user with a unique `given.family@domain` email.
fn new_user(rng: &mut Rng, emails: &mut HashSet<String>, domain: &str, created: Ts, invited: bool) -> User {
    let given = *pick(rng, GIVEN_NAMES);
    let family = *pick(rng, FAMILY_NAMES);
    let base = format!("{}.{}", email_part(given), email_part(family));
    let mut email = format!("{base}@{domain}");
    let mut k = 2;
    while !emails.insert(email.clone()) {
        email = format!("{base}{k}@{domain}");
        k += 1;
    }
    User {
        id: uuid(rng),
        given,
        family,
        email,
        created,
        deleted: None,
        verified: (!invited).then(|| created + minutes(between(rng, 2, 600))),
        picture: chance(rng, 0.35),
    }
}

/// Fills `users` and `memberships`: one owner first in every tenant, ~10 % of users
/// also belonging to a second tenant, a few invited, deleted or removed.
fn build_memberships(world: &mut World, rng: &mut Rng) {
    let now = world.now;
    let total: usize = world.tenants.iter().map(|t| t.size as usize).sum();
    // Secondary memberships: slots other than the first, filled by a user from
    // another tenant.
    let candidates: Vec<usize> = {
        let mut v = Vec::new();
        let mut pos = 0;
        for t in &world.tenants {
            v.extend(pos + 1..pos + t.size as usize);
            pos += t.size as usize;
        }
        v
    };
    let k = (total / 11).min(candidates.len());
    let mut secondary = vec![false; total];
    for i in rand::seq::index::sample(rng, candidates.len(), k) {
        secondary[candidates[i]] = true;
    }

    let mut emails = HashSet::new();
    let mut primary_tenant: Vec<usize> = Vec::new();
    let mut pending = Vec::new();
    let mut pos = 0;
    for ti in 0..world.tenants.len() {
        let (created, size, domain) = {
            let t = &world.tenants[ti];
            (t.created, t.size as usize, t.domain.clone())
        };
        let start = world.memberships.len();
        for slot in 0..size {
            if secondary[pos + slot] {
                pending.push(world.memberships.len());
                world.memberships.push(Membership {
                    tenant: ti,
                    user: usize::MAX,
                    role: Role::Member,
                    created,
                    deleted: None,
                });
                continue;
            }
            let role = if slot == 0 || (slot == 1 && size >= 8 && chance(rng, 0.25)) {
                Role::Owner
            } else if chance(rng, 0.12) {
                Role::Admin
            } else {
                Role::Member
            };
            let invited = role != Role::Owner && chance(rng, 0.05);
            let joined = if slot == 0 {
                created
            } else if invited {
                time_between(rng, created.max(now - days(21)), now - hours(1))
            } else {
                time_between(rng, created + hours(1), now - days(1))
            };
            let signup = joined - minutes(between(rng, 1, 90));
            let mut user = new_user(rng, &mut emails, &domain, signup, invited);
            let mut membership =
                Membership { tenant: ti, user: world.users.len(), role, created: joined, deleted: None };
            if role != Role::Owner && !invited {
                if chance(rng, 0.02) {
                    let gone = time_between(rng, joined + days(1), now);
                    user.deleted = Some(gone);
                    membership.deleted = Some(gone);
                } else if chance(rng, 0.03) {
                    membership.deleted = Some(time_between(rng, joined, now));
                }
            }
            world.users.push(user);
            primary_tenant.push(ti);
            world.memberships.push(membership);
        }
        world.tenants[ti].members = start..world.memberships.len();
        pos += size;
    }

    let mut has_second = vec![false; world.users.len()];
    for mi in pending {
        let ti = world.memberships[mi].tenant;
        let mut chosen = None;
        for _ in 0..60 {
            let u = between(rng, 0, world.users.len() as i64 - 1) as usize;
            if primary_tenant[u] != ti && !has_second[u] && world.users[u].deleted.is_none() {
                chosen = Some(u);
                break;
            }
        }
        let t_created = world.tenants[ti].created;
        let user = match chosen {
            Some(u) => {
                has_second[u] = true;
                u
            }
            None => {
                let domain = world.tenants[ti].domain.clone();
                let joined = time_between(rng, t_created + hours(1), now - days(1));
                world.users.push(new_user(rng, &mut emails, &domain, joined, false));
                primary_tenant.push(ti);
                has_second.push(false);
                world.users.len() - 1
            }
        };
        let joined = time_between(rng, t_created.max(world.users[user].created) + hours(1), now - hours(2));
        let m = &mut world.memberships[mi];
        m.user = user;
        m.role = if chance(rng, 0.3) { Role::Admin } else { Role::Member };
        m.created = joined;
        if chance(rng, 0.03) {
            m.deleted = Some(time_between(rng, joined, now));
        }
    }
}

/// Index into `users` of a tenant's first owner.
pub(super) fn owner_of(world: &World, tenant: usize) -> usize {
    world.memberships[world.tenants[tenant].members.start].user
}

/// Writes `users` (tenant users, then staff).
pub(super) async fn write_users(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let total = (world.users.len() + world.staff.len()) as u64;
    let cols = "id, created, updated, deleted, name, family_name, given_name, email, picture, email_verified";
    let mut c = Copier::start(conn, ctx.progress, "oltp.users", cols, total).await?;
    let mut name = String::new();
    for u in &world.users {
        name.clear();
        name.push_str(u.given);
        name.push(' ');
        name.push_str(u.family);
        let updated = u.deleted.or(u.verified).unwrap_or(u.created);
        c.uuid(u.id)
            .ts(u.created)
            .ts(updated)
            .opt_ts(u.deleted)
            .text(&name)
            .text(u.family)
            .text(u.given)
            .text(&u.email);
        if u.picture {
            c.text(&format!("https://avatars.penguinmails.io/u/{}.png", u.id.simple()));
        } else {
            c.null();
        }
        c.opt_ts(u.verified);
        c.end().await?;
    }
    for s in &world.staff {
        let name = format!("{} {}", s.given, s.family);
        c.uuid(s.user_id).ts(s.created).ts(s.created).null().text(&name).text(s.family).text(s.given).text(&s.email);
        c.null().ts(s.created + minutes(5));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// Writes `tenants` and `tenant_users`.
pub(super) async fn write_tenants(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::TENANT_SETTINGS);
    let computes = [uuid(rng), uuid(rng), uuid(rng)];
    let cols = "id, name, created, updated, deleted, compute_id";
    let mut c = Copier::start(conn, ctx.progress, "oltp.tenants", cols, world.tenants.len() as u64).await?;
    for t in &world.tenants {
        let updated = t.deleted.unwrap_or_else(|| time_between(rng, t.created, world.now - hours(1)));
        c.uuid(t.id).text(&t.name).ts(t.created).ts(updated).opt_ts(t.deleted).uuid(*pick(rng, &computes));
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "tenant_id, user_id, created, updated, deleted, roles, email";
    let mut c = Copier::start(conn, ctx.progress, "oltp.tenant_users", cols, world.memberships.len() as u64).await?;
    for m in &world.memberships {
        let u = &world.users[m.user];
        c.uuid(world.tenants[m.tenant].id)
            .uuid(u.id)
            .ts(m.created)
            .ts(m.deleted.unwrap_or(m.created))
            .opt_ts(m.deleted);
        c.word_array(m.role.as_str()).text(&u.email);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// Writes `tenant_config` and `tenant_policies`.
pub(super) async fn write_settings(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::TENANT_SETTINGS.wrapping_add(100));
    let n = world.tenants.len() as u64;
    let cols = "tenant_id, stripe_customer_id, billing_email, billing_address, notify_on_billing_changes, \
                notify_on_system_updates, notify_on_security_alerts, theme_primary_color, theme_logo_url, \
                theme_favicon_url, ui_sidebar_default_collapsed, ui_date_format, ui_timezone, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.tenant_config", cols, n).await?;
    let mut customer = String::with_capacity(18);
    for (ti, t) in world.tenants.iter().enumerate() {
        customer.clear();
        customer.push_str("cus_");
        push_alnum(rng, &mut customer, 14);
        let billing_email = if chance(rng, 0.4) {
            format!("billing@{}", t.domain)
        } else {
            world.users[owner_of(world, ti)].email.clone()
        };
        let address = json!({
            "line1": format!("{} {}", between(rng, 1, 980), pick(rng, STREETS)),
            "city": t.city.name,
            "postal_code": t.city.postal,
            "country": t.city.country,
        });
        let date_format = if t.city.country == "US" { DATE_FORMATS[0] } else { pick(rng, &DATE_FORMATS[1..]) };
        let branded = chance(rng, 0.3);
        c.uuid(t.id).text(&customer).text(&billing_email).json(&address);
        c.bool(chance(rng, 0.7)).bool(chance(rng, 0.4)).bool(chance(rng, 0.85));
        c.text(word(rng, THEME_COLORS));
        if branded {
            c.text(&format!("https://{}/logo.png", t.domain)).text(&format!("https://{}/favicon.ico", t.domain));
        } else {
            c.null().null();
        }
        let updated = time_between(rng, t.created, world.now - hours(1));
        c.bool(chance(rng, 0.2)).text(date_format).text(t.city.timezone).ts(t.created).ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "tenant_id, password_min_length, password_require_uppercase, password_require_numbers, \
                password_require_symbols, session_timeout_hours, max_login_attempts, two_factor_required, \
                company_default_status, company_allow_member_invites, company_auto_approve_members, \
                company_require_email_verification, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.tenant_policies", cols, n).await?;
    for t in &world.tenants {
        let strict = t.size >= 50 || chance(rng, 0.15);
        let attempts = weighted(rng, &[(5, 80), (3, 12), (10, 8)]);
        let timeout = weighted(rng, &[(8, 55), (12, 25), (24, 20)]);
        let updated = time_between(rng, t.created, world.now - hours(1));
        c.uuid(t.id).int(if strict { *pick(rng, &[10, 12]) } else { 8 });
        c.bool(strict || chance(rng, 0.3)).bool(strict || chance(rng, 0.4)).bool(strict && chance(rng, 0.6));
        c.int(timeout).int(attempts).bool(strict && chance(rng, 0.5));
        c.text("active")
            .bool(chance(rng, 0.85))
            .bool(chance(rng, 0.2))
            .bool(chance(rng, 0.9))
            .ts(t.created)
            .ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}

/// Writes `auth.sessions`: about one per active user, some expired, a few signed out.
pub(super) async fn write_sessions(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::SESSIONS);
    let now = world.now;
    struct Session {
        id: uuid::Uuid,
        token: String,
        user: uuid::Uuid,
        created: Ts,
        expires: Ts,
        deleted: Option<Ts>,
    }
    let mut sessions = Vec::new();
    for u in &world.users {
        if u.deleted.is_some() || u.verified.is_none() || !chance(rng, 0.62) {
            continue;
        }
        let expired = chance(rng, 0.1);
        let lo = if expired { now - days(60) } else { now - days(29) };
        let hi = if expired { now - days(31) } else { now - minutes(5) };
        let created = time_between(rng, lo.max(u.created), hi.max(u.created));
        let expires = created + days(30);
        let deleted = chance(rng, 0.05).then(|| time_between(rng, created, expires.min(now)));
        sessions.push(Session { id: uuid(rng), token: alnum(rng, 32), user: u.id, created, expires, deleted });
    }
    let cols = "id, session_token, user_id, expires_at, created_at, updated_at, deleted_at";
    let mut c = Copier::start(conn, ctx.progress, "oltp.auth.sessions", cols, sessions.len() as u64).await?;
    for s in &sessions {
        let updated = s.deleted.unwrap_or(s.created);
        c.uuid(s.id).text(&s.token).uuid(s.user).ts(s.expires).ts(s.created).ts(updated).opt_ts(s.deleted);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
