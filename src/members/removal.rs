//! Member removal (the ex-employee workflow) and GDPR deletion.
//!
//! Removal, in one OLTP transaction: the typed email must match the member's; the
//! membership is soft-deleted (`tenant_users.deleted`, so the history stays); all the
//! user's sessions are revoked; their workspace memberships in the tenant pass to the
//! chosen member (who keeps the higher of the two roles) and any owner column of
//! `campaigns`, `leads` or `companies` pointing at them is repointed; a removal notice
//! is queued for the transactional-email service; one audit entry records every change
//! with old and new values.
//!
//! GDPR deletion (super_admin): the account row is deleted (Nile's memberships,
//! sessions and credentials cascade), references to it elsewhere are cleared, its
//! notifications are deleted and its system events scrubbed. The audit entry carries
//! the (now meaningless) id and counts only, no name, email or address. Entries already
//! in the audit log stay as they are: they are retained for compliance (the docs keep
//! the audit log 7 years).

use sqlx::{PgConnection, Row};

use super::{after_commit, lock_member, other_owners, parse_id, revoke_in, MemberError, Revocation};
use crate::audit::{self, AuditEntry};
use crate::auth::{permissions, ClientInfo, Staff};
use crate::central::install::quote_ident;
use crate::central::Central;

/// Columns that, on `campaigns`, `leads` or `companies`, would name an owning user.
const OWNER_COLUMNS: &[&str] = &["owner_id", "owner_user_id", "user_id", "created_by", "assigned_to"];
/// Tables whose owned rows are reassigned.
const OWNED_TABLES: &[&str] = &["campaigns", "leads", "companies"];

/// A removal request, as the confirmation dialog fills it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovalRequest {
    /// Tenant.
    pub tenant_id: String,
    /// Member to remove.
    pub user_id: String,
    /// The member's email, typed by the staff member as confirmation.
    pub confirm_email: String,
    /// Member of the same tenant who takes over their campaigns, leads and workspaces.
    pub reassign_to: String,
}

/// Rows reassigned in one place.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Reassigned {
    /// `workspace_members`, or `table.column`.
    pub what: String,
    /// Rows changed.
    pub rows: u64,
}

/// What a removal did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovalReport {
    /// Sessions revoked.
    pub revocation: Revocation,
    /// Reassignments made.
    pub reassigned: Vec<Reassigned>,
    /// Of campaigns, leads and workspaces, those with no owner column in the platform's
    /// schema: they belong to the workspace, not to a person, and needed no change.
    pub unowned: Vec<String>,
    /// The queued removal notice.
    pub notification_id: String,
}

/// `(table, column)` pairs of owner columns present in the platform's schema.
async fn owner_columns(tx: &mut PgConnection) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = ANY($1) AND column_name = ANY($2) AND data_type = 'uuid'
         ORDER BY table_name, column_name",
    )
    .bind(OWNED_TABLES)
    .bind(OWNER_COLUMNS)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.iter().map(|r| (r.get("t"), r.get("c"))).collect())
}

fn emails_match(typed: &str, actual: Option<&str>) -> bool {
    actual.is_some_and(|a| !a.trim().is_empty() && typed.trim().eq_ignore_ascii_case(a.trim()))
}

/// Removes a member from a tenant (see the module docs).
pub async fn remove_member(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    req: &RemovalRequest,
) -> Result<RemovalReport, MemberError> {
    staff.require(permissions::MEMBERS_REMOVE)?;
    let tenant = parse_id(&req.tenant_id, "tenant")?;
    let user = parse_id(&req.user_id, "user")?;
    let target = parse_id(&req.reassign_to, "user")?;
    if target == user {
        return Err(MemberError::BadInput("choose another member to take over; not the one being removed".into()));
    }
    let mut tx = central.oltp.begin().await?;
    let m = lock_member(&mut tx, tenant, user).await?;
    if m.removed {
        return Err(MemberError::Conflict("this member was already removed".into()));
    }
    if !emails_match(&req.confirm_email, m.email.as_deref()) {
        return Err(MemberError::Confirmation("the member's email address".into()));
    }
    let heir = lock_member(&mut tx, tenant, target).await.map_err(|e| match e {
        MemberError::NotFound(_) => {
            MemberError::BadInput("the member who takes over must belong to the same tenant".into())
        }
        e => e,
    })?;
    if heir.removed || !heir.verified {
        return Err(MemberError::BadInput(
            "the member who takes over must be an active member (not removed, invitation accepted)".into(),
        ));
    }
    if m.roles.iter().any(|r| r == "owner") && other_owners(&mut tx, tenant, user).await? == 0 {
        return Err(MemberError::LastOwner);
    }

    sqlx::query("UPDATE tenant_users SET deleted = now(), updated = now() WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let revocation = revoke_in(&mut tx, user, None).await?;

    let before: Vec<(uuid::Uuid, String)> = sqlx::query(
        "SELECT company_id, role FROM penguin_console.workspace_members WHERE tenant_id = $1 AND user_id = $2
         ORDER BY company_id",
    )
    .bind(tenant)
    .bind(user)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| (r.get("company_id"), r.get("role")))
    .collect();
    let heir_before: Vec<(uuid::Uuid, String)> = sqlx::query(
        "SELECT company_id, role FROM penguin_console.workspace_members
         WHERE user_id = $1 AND company_id = ANY($2) ORDER BY company_id",
    )
    .bind(target)
    .bind(before.iter().map(|(c, _)| *c).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| (r.get("company_id"), r.get("role")))
    .collect();
    // The heir keeps the higher of the two roles in each workspace.
    let moved = sqlx::query(
        "INSERT INTO penguin_console.workspace_members (company_id, user_id, tenant_id, role)
         SELECT company_id, $3, tenant_id, role FROM penguin_console.workspace_members WHERE tenant_id = $1 AND user_id = $2
         ON CONFLICT (company_id, user_id) DO UPDATE SET role = CASE
             WHEN array_position(ARRAY['viewer', 'member', 'admin'], EXCLUDED.role)
                > array_position(ARRAY['viewer', 'member', 'admin'], penguin_console.workspace_members.role)
             THEN EXCLUDED.role ELSE penguin_console.workspace_members.role END",
    )
    .bind(tenant)
    .bind(user)
    .bind(target)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM penguin_console.workspace_members WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let mut reassigned = vec![Reassigned { what: "workspace_members".into(), rows: moved }];
    let columns = owner_columns(&mut tx).await?;
    for (table, column) in &columns {
        // All three owned tables carry tenant_id: never touch another tenant's rows.
        let sql = format!(
            "UPDATE public.{t} SET {c} = $1 WHERE {c} = $2 AND tenant_id = $3",
            t = quote_ident(table),
            c = quote_ident(column)
        );
        let rows = sqlx::query(&sql).bind(target).bind(user).bind(tenant).execute(&mut *tx).await?.rows_affected();
        reassigned.push(Reassigned { what: format!("{table}.{column}"), rows });
    }
    let unowned: Vec<String> =
        OWNED_TABLES.iter().filter(|t| !columns.iter().any(|(ct, _)| ct == *t)).map(|t| t.to_string()).collect();

    let notification_id = super::notify::queue(
        &mut tx,
        &super::notify::Notification {
            user_id: user,
            tenant_id: tenant,
            kind: "member_removed".into(),
            title: "You were removed from a PenguinMails team".into(),
            message: format!(
                "Hello {}, your access to this team on PenguinMails has ended and you have been signed out.",
                m.name.clone().unwrap_or_default()
            ),
        },
    )
    .await?;
    let heir_after: Vec<(String, String)> = sqlx::query(
        "SELECT company_id::text, role FROM penguin_console.workspace_members
         WHERE user_id = $1 AND company_id = ANY($2) ORDER BY company_id",
    )
    .bind(target)
    .bind(before.iter().map(|(c, _)| *c).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let ws_json = |v: &[(uuid::Uuid, String)]| {
        v.iter().map(|(c, r)| serde_json::json!({ "workspace_id": c, "role": r })).collect::<Vec<_>>()
    };
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "tenant.member.removed".into(),
            resource_type: "tenant_user".into(),
            resource_id: user.to_string(),
            tenant_id: Some(tenant.to_string()),
            old_values: Some(serde_json::json!({
                "status": if m.verified { "active" } else { "invited" },
                "roles": m.roles,
                "email": m.email,
                "workspaces": ws_json(&before),
                "heir_workspaces": ws_json(&heir_before),
            })),
            new_values: Some(serde_json::json!({
                "status": "removed",
                "reassigned_to": target,
                "heir_workspaces": heir_after.iter()
                    .map(|(c, r)| serde_json::json!({ "workspace_id": c, "role": r })).collect::<Vec<_>>(),
                "reassigned": reassigned,
                "revoked_sessions": revocation.sessions.iter().map(|s| &s.id).collect::<Vec<_>>(),
                "notification_id": notification_id,
            })),
            notes: None,
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(RemovalReport { revocation, reassigned, unowned, notification_id: notification_id.to_string() })
}

/// What a GDPR deletion erased (counts only).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GdprReport {
    /// Tenant memberships deleted.
    pub memberships: u64,
    /// Sessions deleted.
    pub sessions: u64,
    /// Credentials deleted.
    pub credentials: u64,
    /// Workspace memberships deleted.
    pub workspace_memberships: u64,
    /// References from other rows cleared (set to NULL), as `table.column`.
    pub references_cleared: Vec<Reassigned>,
    /// Notifications deleted.
    pub notifications_deleted: u64,
    /// System events scrubbed of personal data.
    pub events_scrubbed: u64,
}

/// Permanently deletes a user's personal data after the typed email confirms it.
pub async fn gdpr_delete(
    central: &Central,
    staff: &Staff,
    client: &ClientInfo,
    user_id: &str,
    confirm_email: &str,
) -> Result<GdprReport, MemberError> {
    staff.require(permissions::USERS_GDPR_DELETE)?;
    let user = parse_id(user_id, "user")?;
    let mut tx = central.oltp.begin().await?;
    let row = sqlx::query(
        "SELECT u.email, EXISTS (SELECT 1 FROM staff_members s WHERE s.user_id = u.id) AS staff
         FROM users u WHERE u.id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| MemberError::NotFound(format!("no user {user}")))?;
    if row.get::<bool, _>("staff") {
        return Err(MemberError::Conflict("this user is platform staff; remove their staff role first".into()));
    }
    if !emails_match(confirm_email, row.get::<Option<String>, _>("email").as_deref()) {
        return Err(MemberError::Confirmation("the user's email address".into()));
    }
    let tenants: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT tenant_id FROM tenant_users WHERE user_id = $1 AND deleted IS NULL ORDER BY tenant_id",
    )
    .bind(user)
    .fetch_all(&mut *tx)
    .await?;
    for t in &tenants {
        let m = lock_member(&mut tx, *t, user).await?;
        if m.roles.iter().any(|r| r == "owner") && other_owners(&mut tx, *t, user).await? == 0 {
            return Err(MemberError::LastOwner);
        }
    }
    let audit_tenant = tenants.first().map(|t| t.to_string());

    // Notifications first, in their own database: if the OLTP part then failed, a retry
    // finds the account still there and finishes.
    let mut ntx = central.notifications.begin().await?;
    let notifications_deleted = sqlx::query("DELETE FROM notifications WHERE user_id = $1")
        .bind(user)
        .execute(&mut *ntx)
        .await?
        .rows_affected();
    let events_scrubbed = sqlx::query(
        "UPDATE admin_system_events SET user_id = NULL, description = event_type || ' (personal data erased)',
                details = details - 'ip_address' - 'user_agent' - 'email'
         WHERE user_id = $1",
    )
    .bind(user)
    .execute(&mut *ntx)
    .await?
    .rows_affected();
    ntx.commit().await?;

    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(user);
    let memberships = count("SELECT count(*) FROM tenant_users WHERE user_id = $1").fetch_one(&mut *tx).await? as u64;
    let sessions = count("SELECT count(*) FROM auth.sessions WHERE user_id = $1").fetch_one(&mut *tx).await? as u64;
    let credentials =
        count("SELECT count(*) FROM auth.credentials WHERE user_id = $1").fetch_one(&mut *tx).await? as u64;
    let workspace_memberships = sqlx::query("DELETE FROM penguin_console.workspace_members WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM penguin_console.user_suspensions WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM penguin_console.notification_outbox WHERE notification->>'user_id' = $1::text")
        .bind(user)
        .execute(&mut *tx)
        .await?;

    // Every other reference to the account: foreign keys that do not cascade, and owner
    // columns without a foreign key.
    let refs = sqlx::query(
        "SELECT n.nspname::text AS s, cl.relname::text AS t, a.attname::text AS c
         FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         WHERE k.contype = 'f' AND k.confrelid = 'public.users'::regclass AND cardinality(k.conkey) = 1
           AND k.confdeltype <> 'c' AND NOT a.attnotnull
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut targets: Vec<(String, String, String)> =
        refs.iter().map(|r| (r.get("s"), r.get("t"), r.get("c"))).collect();
    for (t, c) in owner_columns(&mut tx).await? {
        if !targets.iter().any(|(s, tt, cc)| s == "public" && *tt == t && *cc == c) {
            targets.push(("public".into(), t, c));
        }
    }
    let mut references_cleared = Vec::new();
    for (s, t, c) in &targets {
        let sql =
            format!("UPDATE {}.{} SET {c} = NULL WHERE {c} = $1", quote_ident(s), quote_ident(t), c = quote_ident(c));
        let rows = sqlx::query(&sql).bind(user).execute(&mut *tx).await?.rows_affected();
        if rows > 0 {
            references_cleared.push(Reassigned { what: format!("{t}.{c}"), rows });
        }
    }
    sqlx::query("DELETE FROM users WHERE id = $1").bind(user).execute(&mut *tx).await?;
    let report = GdprReport {
        memberships,
        sessions,
        credentials,
        workspace_memberships,
        references_cleared,
        notifications_deleted,
        events_scrubbed,
    };
    audit::record(
        &mut tx,
        staff,
        client,
        &AuditEntry {
            action: "user.gdpr_deleted".into(),
            resource_type: "user".into(),
            resource_id: user.to_string(),
            tenant_id: audit_tenant,
            old_values: None,
            new_values: Some(serde_json::to_value(&report).unwrap_or_default()),
            notes: Some("GDPR erasure: personal data deleted; this entry holds none".into()),
        },
    )
    .await?;
    tx.commit().await?;
    after_commit(central).await;
    Ok(report)
}
