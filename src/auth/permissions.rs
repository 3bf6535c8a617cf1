//! The permissions the console checks and the six standard staff roles of the admin
//! docs (`penguinmails-docs/features/admin/README.md`).
//!
//! Roles map to permissions in the platform's `staff_role_permissions` table, so a
//! custom role needs no code change. This catalogue is what `install` adds to
//! `permissions` where missing, and the default grants the demo seeds (and that
//! `install` gives the standard roles for permissions it newly adds).

/// A permission the console checks before reading or changing data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// Stable name, stored in `permissions.name`.
    pub name: &'static str,
    /// `permissions.category`.
    pub category: &'static str,
    /// Human description, stored in `permissions.description`.
    pub description: &'static str,
}

macro_rules! permissions {
    ($($ident:ident = $name:literal, $cat:literal, $desc:literal;)*) => {
        $(
            #[doc = $desc]
            pub const $ident: Permission = Permission { name: $name, category: $cat, description: $desc };
        )*
        /// Every permission the console checks.
        pub const ALL: &[Permission] = &[$($ident),*];
    };
}

permissions! {
    TENANTS_READ = "tenants.read", "tenants", "View all tenants, their members, workspaces and subscriptions";
    TENANTS_DETAILS = "tenants.details", "tenants", "See every tenant's members, workspaces, sessions and settings (without it, only tenants opened through support access)";
    TENANTS_READ_SANDBOX = "tenants.read_sandbox", "tenants", "View sandbox (test) tenants only";
    TENANTS_MANAGE = "tenants.manage", "tenants", "Change tenant settings, feature flags and plan overrides";
    MEMBERS_MANAGE = "tenants.members.manage", "tenants", "Change member roles, suspend, reactivate, unlock, invite";
    MEMBERS_REMOVE = "tenants.members.remove", "tenants", "Remove a member from a tenant";
    MEMBERS_IMPORT = "tenants.members.import", "tenants", "Import team members in bulk";
    WORKSPACES_MANAGE = "workspaces.manage", "tenants", "Add and remove workspace members";
    WORKSPACES_DELETE = "workspaces.delete", "tenants", "Delete, restore and purge workspaces";
    USERS_SESSIONS_REVOKE = "users.sessions.revoke", "users", "Revoke a user's sessions";
    USERS_GDPR_DELETE = "users.gdpr_delete", "users", "Permanently delete a user's personal data";
    TENANTS_VIEW_AS = "tenants.view_as", "tenants", "Open a tenant's data read-only as support access";
    TENANTS_PROVISION_SANDBOX = "tenants.provision_sandbox", "tenants", "Create sandbox (test) tenants";
    PII_VIEW = "pii.view", "privacy", "See names, emails, IP addresses and postal addresses unmasked";
    FINANCE_READ = "finance.read", "finance", "View payments, invoices, subscriptions and revenue";
    PAYMENTS_REFUND = "payments.refund", "finance", "Refund payments and retry failed payments";
    INVOICES_MANAGE = "invoices.manage", "finance", "Create, resend and void invoices";
    SUBSCRIPTIONS_MANAGE = "subscriptions.manage", "finance", "Cancel, pause, discount and change plans of subscriptions";
    FINANCE_RECONCILE = "finance.reconcile", "finance", "Run month-end reconciliation";
    MONITORING_READ = "monitoring.read", "system", "View infrastructure, queues and alerts";
    QUEUE_MANAGE = "queue.manage", "system", "Pause and resume queues, retry and delete jobs";
    ALERTS_MANAGE = "alerts.manage", "system", "Acknowledge and resolve alerts, manage silences";
    AUDIT_READ = "audit.read", "audit", "View and export the audit log";
    SYNC_RUN = "sync.run", "system", "Synchronise the local cache with the platform";
}

/// The six standard staff roles, with the permissions each gets by default.
pub const STANDARD_ROLES: &[(&str, &str, &[Permission])] = &[
    ("super_admin", "Full access to all admin features and system configuration", ALL),
    (
        "admin",
        "Manage tenants and plans; limited system access",
        &[
            TENANTS_READ,
            TENANTS_DETAILS,
            TENANTS_MANAGE,
            TENANTS_PROVISION_SANDBOX,
            MEMBERS_MANAGE,
            MEMBERS_REMOVE,
            MEMBERS_IMPORT,
            WORKSPACES_MANAGE,
            WORKSPACES_DELETE,
            USERS_SESSIONS_REVOKE,
            TENANTS_VIEW_AS,
            PII_VIEW,
            FINANCE_READ,
            MONITORING_READ,
            AUDIT_READ,
            SYNC_RUN,
        ],
    ),
    (
        "finance",
        "Finance screens: payments, invoices, refunds, subscriptions, revenue",
        &[
            TENANTS_READ,
            TENANTS_DETAILS,
            PII_VIEW,
            FINANCE_READ,
            PAYMENTS_REFUND,
            INVOICES_MANAGE,
            SUBSCRIPTIONS_MANAGE,
            FINANCE_RECONCILE,
            AUDIT_READ,
            SYNC_RUN,
        ],
    ),
    (
        "ops",
        "System monitoring and queue controls",
        &[TENANTS_READ, TENANTS_DETAILS, MONITORING_READ, QUEUE_MANAGE, ALERTS_MANAGE, PII_VIEW, SYNC_RUN],
    ),
    (
        "support",
        "Read-only, no personal data",
        &[TENANTS_READ, FINANCE_READ, MONITORING_READ, TENANTS_VIEW_AS, SYNC_RUN],
    ),
    ("qa", "Sandbox tenants only", &[TENANTS_READ_SANDBOX, TENANTS_PROVISION_SANDBOX, MONITORING_READ, SYNC_RUN]),
];

/// Default permissions of a standard role, or `None` for a custom role.
pub fn defaults_for(role: &str) -> Option<&'static [Permission]> {
    STANDARD_ROLES.iter().find(|(name, _, _)| *name == role).map(|(_, _, perms)| *perms)
}
