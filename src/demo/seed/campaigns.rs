//! Templates (~2 per tenant), campaigns (~2 per workspace, every status) and their
//! three-step sequences (email, wait, follow-up email). A declining workspace always
//! has a campaign that is still sending.

use sqlx::postgres::PgConnection;

use super::copy::Copier;
use super::random::{between, chance, days, hours, minutes, pick, stream, time_between, uuid, weighted, Rng};
use super::words::{CAMPAIGN_AUDIENCES, CAMPAIGN_THEMES, TEMPLATES};
use super::workspaces::workspace_accounts;
use super::world::{streams, Campaign, Template, World};
use super::{Ctx, SeedError};

pub(super) fn build_templates(world: &mut World, rng: &mut Rng, ti: usize) {
    let (created, now) = (world.tenants[ti].created, world.now);
    let n = between(rng, 1, 3) as usize;
    let picks = rand::seq::index::sample(rng, TEMPLATES.len(), n);
    for i in picks {
        let (name, subject) = TEMPLATES[i];
        world.templates.push(Template {
            id: uuid(rng),
            tenant: ti,
            name,
            subject,
            created: time_between(rng, created + hours(1), now - days(1)),
            started: chance(rng, 0.6),
        });
    }
}

pub(super) fn build_campaigns(world: &mut World, rng: &mut Rng, w: usize) {
    let (ti, ws_created, declining, now) =
        (world.workspaces[w].tenant, world.workspaces[w].created, world.workspaces[w].declining, world.now);
    let n = weighted(rng, &[(1, 40), (2, 40), (3, 20)]);
    let start = world.campaigns.len();
    let floor = ws_created + hours(1);
    for _ in 0..n {
        let status =
            weighted(rng, &[("draft", 27), ("scheduled", 10), ("sending", 13), ("completed", 35), ("paused", 15)]);
        let back = |rng: &mut Rng, lo: i64, hi: i64| {
            (now - days(between(rng, lo, hi)) - minutes(between(rng, 0, 1439))).max(floor)
        };
        let (created, scheduled, completed) = match status {
            "draft" => (time_between(rng, floor.max(now - days(60)), now - hours(1)), None, None),
            "scheduled" => {
                let created = time_between(rng, floor.max(now - days(30)), now - hours(2));
                (created, Some(now + hours(between(rng, 1, 14 * 24))), None)
            }
            "sending" => {
                let s = back(rng, 3, 40);
                ((s - days(between(rng, 1, 5))).max(ws_created), Some(s), None)
            }
            "completed" => {
                let s = back(rng, 20, 180);
                let done = (s + days(between(rng, 7, 30))).min(now - hours(1)).max(s);
                ((s - days(between(rng, 1, 5))).max(ws_created), Some(s), Some(done))
            }
            _ => {
                let s = back(rng, 10, 90);
                ((s - days(between(rng, 1, 5))).max(ws_created), Some(s), None)
            }
        };
        world.campaigns.push(Campaign {
            id: uuid(rng),
            tenant: ti,
            workspace: w,
            name: format!("{} – {}", pick(rng, CAMPAIGN_THEMES), pick(rng, CAMPAIGN_AUDIENCES)),
            status,
            created,
            scheduled,
            completed,
        });
    }
    // A declining workspace is one that is still sending.
    if declining && !world.campaigns[start..].iter().any(|c| c.status == "sending") {
        let s = (now - days(between(rng, 15, 40))).max(floor);
        let c = &mut world.campaigns[start];
        c.status = "sending";
        c.scheduled = Some(s);
        c.completed = None;
        c.created = (s - days(2)).max(ws_created);
    }
    world.workspaces[w].campaigns = start..world.campaigns.len();
}

/// Writes `templates`, `campaigns` and `campaign_sequence_steps`.
pub(super) async fn write(
    conn: &mut PgConnection,
    world: &World,
    ctx: &mut Ctx<'_>,
    rng: &mut Rng,
) -> Result<(), SeedError> {
    let now = world.now;
    let cols = "id, tenant_id, name, subject, content, is_started, updated, created";
    let mut c = Copier::start(conn, ctx.progress, "oltp.templates", cols, world.templates.len() as u64).await?;
    for t in &world.templates {
        let sender = world.users[super::tenants::owner_of(world, t.tenant)].given;
        let content = format!(
            "Hi {{{{first_name}}}},\n\nI noticed {{{{company}}}} is growing its team and thought this might help.\n\
             {}\n\nWould a 15-minute call next week make sense?\n\nBest,\n{sender}",
            if t.name.contains("Case") {
                "We helped a similar team cut prospecting time by 30%."
            } else {
                "We make outbound simpler."
            }
        );
        let updated = time_between(rng, t.created, now - hours(1));
        c.uuid(t.id).uuid(world.tenants[t.tenant].id).text(t.name).text(t.subject).text(&content).bool(t.started);
        c.ts(updated).ts(t.created);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    let cols = "id, tenant_id, company_id, name, description, status, scheduled, completed, created, updated";
    let mut c = Copier::start(conn, ctx.progress, "oltp.campaigns", cols, world.campaigns.len() as u64).await?;
    for k in &world.campaigns {
        let description =
            chance(rng, 0.6).then(|| format!("{} sequence for {}", k.name, world.workspaces[k.workspace].name));
        let updated = k.completed.unwrap_or_else(|| time_between(rng, k.created, now - minutes(5)));
        c.uuid(k.id).uuid(world.tenants[k.tenant].id).uuid(world.workspaces[k.workspace].id).text(&k.name);
        c.opt_text(description.as_deref())
            .text(k.status)
            .opt_ts(k.scheduled)
            .opt_ts(k.completed)
            .ts(k.created)
            .ts(updated);
        c.end().await?;
    }
    c.finish(&mut ctx.rows).await?;

    write_steps(conn, world, ctx).await
}

/// Three steps per campaign: first email, a wait, a follow-up email.
async fn write_steps(conn: &mut PgConnection, world: &World, ctx: &mut Ctx<'_>) -> Result<(), SeedError> {
    let rng = &mut stream(world.seed, streams::SEQUENCE_STEPS);
    let now = world.now;
    let cols = "id, campaign_id, step_order, step_type, email_account_id, template_id, subject_override, \
                from_name_override, wait_duration_hours, wait_until_date, condition_type, condition_value, \
                send_condition, is_active, executed_count, last_executed, created, updated";
    let total = world.campaigns.len() as u64 * 3;
    let mut c = Copier::start(conn, ctx.progress, "oltp.campaign_sequence_steps", cols, total).await?;
    for k in &world.campaigns {
        let accounts = workspace_accounts(world, k.workspace);
        let templates = world.tenants[k.tenant].templates.clone();
        let leads = world.workspaces[k.workspace].leads.len() as i64;
        let ran = matches!(k.status, "sending" | "completed" | "paused");
        for order in 1..=3i64 {
            let executed = if ran { (leads * between(rng, 20, 60) / (10 * order)).max(0) } else { 0 };
            let last = (ran && executed > 0)
                .then(|| k.completed.unwrap_or_else(|| now - minutes(between(rng, 5, 3 * 24 * 60))));
            c.uuid(uuid(rng)).uuid(k.id).int(order);
            if order == 2 {
                c.text("wait").null().null().null().null().int(*pick(rng, &[48, 72, 96])).null();
            } else {
                let account = world.accounts[between(rng, accounts.start as i64, accounts.end as i64 - 1) as usize].id;
                let ti = templates.start + (order as usize / 3).min(templates.len().saturating_sub(1));
                let template = world.templates[ti].id;
                let subject = (order == 3 && chance(rng, 0.5)).then_some("Re: {{previous_subject}}");
                let from = chance(rng, 0.3).then(|| world.users[super::tenants::owner_of(world, k.tenant)].given);
                c.text("email").uuid(account).uuid(template).opt_text(subject).opt_text(from).null().null();
            }
            c.null().null().null().bool(k.status != "draft" || chance(rng, 0.8)).int(executed).opt_ts(last);
            c.ts(k.created).ts(last.unwrap_or(k.created));
            c.end().await?;
        }
    }
    c.finish(&mut ctx.rows).await?;
    Ok(())
}
