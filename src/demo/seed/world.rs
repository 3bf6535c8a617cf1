//! The in-memory plan of the demo platform: every entity other rows point at (tenants,
//! users, workspaces, domains, mailboxes, campaigns, subscriptions, infrastructure,
//! staff), built once from the seed before anything is written. High-volume rows that
//! nothing else references (payments, jobs, analytics, notifications) are not kept
//! here; they are generated while they stream to the server.

use std::ops::Range;

use chrono::Months;
use uuid::Uuid;

use super::random::{stream, Ts};
use super::{billing, infra, staff, tenants, workspaces, SeedError, SeedOptions};

/// RNG stream ids, one per table group (see [`super::random::stream`]).
pub(super) mod streams {
    pub const STAFF: u64 = 1;
    pub const PLANS: u64 = 2;
    pub const TENANTS: u64 = 3;
    pub const WORKSPACES: u64 = 4;
    pub const SUBSCRIPTIONS: u64 = 5;
    pub const INFRA: u64 = 6;
    pub const TENANT_SETTINGS: u64 = 10;
    pub const SESSIONS: u64 = 11;
    pub const SEQUENCE_STEPS: u64 = 12;
    pub const PAYMENTS: u64 = 13;
    pub const PLATFORM_CONFIG: u64 = 14;
    pub const JOBS: u64 = 20;
    pub const JOB_LOGS: u64 = 21;
    pub const ANALYTICS_JOBS: u64 = 22;
    pub const OLAP: u64 = 30;
    pub const AUDIT: u64 = 31;
    pub const NOTIFICATIONS: u64 = 40;
    pub const SYSTEM_EVENTS: u64 = 41;
}

/// Everything the table writers share.
pub(super) struct World {
    pub now: Ts,
    pub scale: u32,
    pub seed: u64,
    pub plans: Vec<Plan>,
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub memberships: Vec<Membership>,
    pub workspaces: Vec<Workspace>,
    pub domains: Vec<Domain>,
    pub accounts: Vec<Account>,
    pub leads: Vec<Lead>,
    pub templates: Vec<Template>,
    pub campaigns: Vec<Campaign>,
    pub subscriptions: Vec<Subscription>,
    pub addons: Vec<Addon>,
    pub vps: Vec<Vps>,
    pub ips: Vec<SmtpIp>,
    pub assignments: Vec<Assignment>,
    pub staff: Vec<Staff>,
}

impl World {
    /// Builds the whole plan from the options (CPU only, no I/O).
    pub(super) fn build(opts: &SeedOptions) -> Result<World, SeedError> {
        let mut world = World {
            now: opts.now,
            scale: opts.scale,
            seed: opts.seed,
            plans: Vec::new(),
            tenants: Vec::new(),
            users: Vec::new(),
            memberships: Vec::new(),
            workspaces: Vec::new(),
            domains: Vec::new(),
            accounts: Vec::new(),
            leads: Vec::new(),
            templates: Vec::new(),
            campaigns: Vec::new(),
            subscriptions: Vec::new(),
            addons: Vec::new(),
            vps: Vec::new(),
            ips: Vec::new(),
            assignments: Vec::new(),
            staff: Vec::new(),
        };
        staff::build(&mut world, &mut stream(opts.seed, streams::STAFF))?;
        billing::build_plans(&mut world, &mut stream(opts.seed, streams::PLANS));
        tenants::build(&mut world, &mut stream(opts.seed, streams::TENANTS));
        workspaces::build(&mut world, &mut stream(opts.seed, streams::WORKSPACES));
        billing::build_subscriptions(&mut world, &mut stream(opts.seed, streams::SUBSCRIPTIONS));
        infra::build(&mut world, &mut stream(opts.seed, streams::INFRA));
        Ok(world)
    }

    /// Number of rows per scale unit, e.g. `per_scale(200)` tenants.
    pub(super) fn per_scale(&self, n: u64) -> u64 {
        n * u64::from(self.scale)
    }

    /// Staff member with the given role (the demo has one per standard role).
    pub(super) fn staff_with_role(&self, role: &str) -> &Staff {
        self.staff.iter().find(|s| s.role == role).unwrap_or(&self.staff[0])
    }
}

/// A plan of the catalogue (see `billing::PLAN_SPECS`).
pub(super) struct Plan {
    pub id: Uuid,
    pub spec: &'static billing::PlanSpec,
    pub stripe_product: String,
}

/// A tenant (customer organisation).
pub(super) struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// Domain without TLD, unique: the base of workspace slugs and sending domains.
    pub stem: String,
    pub domain: String,
    pub created: Ts,
    pub deleted: Option<Ts>,
    pub sandbox: bool,
    /// Number of memberships.
    pub size: u32,
    pub city: &'static super::words::City,
    pub currency: &'static str,
    /// Index into `plans` of the current plan.
    pub plan: usize,
    /// Indices into `memberships`.
    pub members: Range<usize>,
    pub workspaces: Range<usize>,
    pub templates: Range<usize>,
    /// Indices into `subscriptions`, oldest first; the last one is current.
    pub subscriptions: Range<usize>,
}

/// A platform user (Nile `users`).
pub(super) struct User {
    pub id: Uuid,
    pub given: &'static str,
    pub family: &'static str,
    pub email: String,
    pub created: Ts,
    pub deleted: Option<Ts>,
    /// NULL for invited users who never verified.
    pub verified: Option<Ts>,
    pub picture: bool,
}

/// A tenant role.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// A `tenant_users` row.
pub(super) struct Membership {
    pub tenant: usize,
    pub user: usize,
    pub role: Role,
    pub created: Ts,
    pub deleted: Option<Ts>,
}

/// A workspace (`companies` row).
pub(super) struct Workspace {
    pub id: Uuid,
    pub tenant: usize,
    pub name: String,
    pub workspace_name: String,
    pub status: &'static str,
    pub industry: &'static str,
    pub company_size: &'static str,
    pub logo: bool,
    pub created: Ts,
    /// Bounce and complaint rates rising, opens falling over the last two weeks.
    pub declining: bool,
    pub domains: Range<usize>,
    pub campaigns: Range<usize>,
    pub leads: Range<usize>,
}

/// A sending domain.
pub(super) struct Domain {
    pub id: Uuid,
    pub tenant: usize,
    pub workspace: usize,
    pub name: String,
    pub status: &'static str,
    pub created: Ts,
    pub verified: Option<Ts>,
    pub primary: bool,
    pub accounts: Range<usize>,
    /// Indices into `ips` assigned to this domain.
    pub ips: Vec<usize>,
}

/// A mailbox (`email_accounts` row).
pub(super) struct Account {
    pub id: Uuid,
    pub tenant: usize,
    pub workspace: usize,
    pub domain: usize,
    pub email: String,
    pub status: &'static str,
    pub created: Ts,
    pub daily_count: i64,
    pub last_warmed: Option<Ts>,
}

/// A lead (prospect).
pub(super) struct Lead {
    pub id: Uuid,
    pub tenant: usize,
    pub email: String,
    pub name: String,
    pub company: String,
    pub status: &'static str,
    pub updated: Ts,
}

/// An email template.
pub(super) struct Template {
    pub id: Uuid,
    pub tenant: usize,
    pub name: &'static str,
    pub subject: &'static str,
    pub created: Ts,
    pub started: bool,
}

/// A campaign.
pub(super) struct Campaign {
    pub id: Uuid,
    pub tenant: usize,
    pub workspace: usize,
    pub name: String,
    pub status: &'static str,
    pub created: Ts,
    pub scheduled: Option<Ts>,
    pub completed: Option<Ts>,
}

/// A subscription. Its billing periods start at `anchor + k × period` for
/// `k_min ..= k_max`; `k_max` is the current (or last) period.
pub(super) struct Subscription {
    pub id: Uuid,
    pub tenant: usize,
    pub plan: usize,
    pub pending_plan: Option<usize>,
    pub status: &'static str,
    pub annual: bool,
    pub anchor: Ts,
    pub k_min: i32,
    pub k_max: i32,
    /// When charging stopped (cancellation or replacement); `None` while it runs.
    pub until: Option<Ts>,
    pub cancel_at_period_end: bool,
    pub cancel_reason: Option<String>,
    pub cancel_date: Option<Ts>,
    /// User index of the billing contact (an owner).
    pub contact: usize,
    pub stripe_id: String,
    /// Failed attempts at the current period's renewal (past_due / unpaid).
    pub failed_renewals: u32,
}

impl Subscription {
    /// Start of billing period `k`.
    pub(super) fn period_start(&self, k: i32) -> Ts {
        let months = if self.annual { 12 } else { 1 } * k.unsigned_abs();
        let shifted = if k >= 0 {
            self.anchor.checked_add_months(Months::new(months))
        } else {
            self.anchor.checked_sub_months(Months::new(months))
        };
        shifted.expect("billing periods stay within chrono's date range")
    }

    /// When the subscription started.
    pub(super) fn created(&self) -> Ts {
        self.period_start(self.k_min)
    }

    /// End of the current (last) period.
    pub(super) fn current_period(&self) -> (Ts, Ts) {
        (self.period_start(self.k_max), self.period_start(self.k_max + 1))
    }

    /// The billing period containing `t` (clamped to the known periods).
    pub(super) fn period_of(&self, t: Ts) -> (Ts, Ts) {
        let days = if self.annual { 365.25 } else { 30.436875 };
        let guess = ((t - self.anchor).num_seconds() as f64 / (days * 86_400.0)).floor() as i32;
        let mut k = guess.clamp(self.k_min, self.k_max);
        while k > self.k_min && self.period_start(k) > t {
            k -= 1;
        }
        while k < self.k_max && self.period_start(k + 1) <= t {
            k += 1;
        }
        (self.period_start(k), self.period_start(k + 1))
    }

    /// Monthly price in cents of this subscription's plan, or its yearly price.
    pub(super) fn price(&self, plans: &[Plan]) -> i64 {
        let spec = plans[self.plan].spec;
        if self.annual {
            spec.yearly_cents
        } else {
            spec.monthly_cents
        }
    }
}

/// A subscription add-on.
pub(super) struct Addon {
    pub id: String,
    pub subscription: usize,
    pub kind: &'static str,
    pub quantity: i64,
    /// Monthly charge for the line (unit price × quantity), in cents.
    pub monthly_cents: i64,
    pub stripe_price: String,
    pub active: bool,
    pub created: Ts,
    /// When an inactive add-on was removed.
    pub ended: Option<Ts>,
}

/// A VPS hosting SMTP IPs.
pub(super) struct Vps {
    pub id: Uuid,
    pub instance_id: String,
    pub ip: String,
    pub region: &'static str,
    pub status: &'static str,
    pub monthly_cents: i64,
    pub billing_day: u32,
    pub created: Ts,
    pub decommission: Option<Ts>,
}

/// An SMTP sending IP.
pub(super) struct SmtpIp {
    pub id: Uuid,
    pub vps: usize,
    pub ip: String,
    pub status: &'static str,
    pub reputation: &'static str,
    pub cost_cents: i64,
    pub last_check: Ts,
    pub assigned_count: i64,
    /// Blocklists this IP is listed on.
    pub listed_on: Vec<&'static str>,
    pub created: Ts,
}

/// A domain ↔ IP assignment.
pub(super) struct Assignment {
    pub id: Uuid,
    pub domain: usize,
    pub ip: usize,
    pub status: &'static str,
    pub assigned: Ts,
    pub expires: Option<Ts>,
    pub warmup_state: &'static str,
    pub last_sent: Option<Ts>,
}

/// A demo staff account (one per standard role).
pub(super) struct Staff {
    pub user_id: Uuid,
    pub role_id: i64,
    pub role: &'static str,
    pub given: &'static str,
    pub family: &'static str,
    pub email: String,
    pub created: Ts,
    pub credential_id: Uuid,
    /// Argon2id PHC string of the demo password.
    pub crypt: String,
}
