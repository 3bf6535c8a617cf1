//! The audit log: every action writes an entry to the OLAP `admin_audit_log`, as the
//! OLAP schema guide defines it, hash-chained so tampering is detectable.
//!
//! ## Never a change without its entry
//! An action's change and its audit entry usually live in different databases (a role
//! change in OLTP, the log in OLAP), and PostgreSQL has no transaction across
//! databases. So [`record`] writes the entry into `penguin_console.audit_outbox` **in
//! the same transaction as the change**, on the change's own database: both commit or
//! neither does. [`deliver`] then moves outbox entries into `admin_audit_log`; it runs
//! right after each action and again on every sync, so an entry whose delivery was
//! interrupted (crash, network) is delivered later. Delivery is idempotent
//! (`penguin_console.audit_delivered` remembers each outbox id in the same OLAP
//! transaction as the insert), so a retry never writes an entry twice.
//!
//! ## Hash chain
//! `penguin_console.audit_chain` holds one link per entry, in order: `hash =
//! SHA-256(previous hash ‖ canonical JSON of the entry's columns)`. Links are appended
//! under an advisory lock. [`verify`] recomputes every link and reports the first one
//! that no longer matches (an entry edited or deleted, or a link altered). Entries the
//! platform writes itself are chained the next time the console appends. Anyone who
//! can rewrite both tables can forge a consistent chain; the chain makes tampering
//! detectable, not impossible.

mod read;
mod relay;

pub use read::{export, list, AuditFilter, AuditPage, AuditRow, ExportFormat};
pub use relay::{after_action, record_event, relay};

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};

use crate::auth::{ClientInfo, Staff};
use crate::central::{Central, DbKind};

/// Advisory lock serialising appends to the chain.
const CHAIN_LOCK: i64 = 0x41_55_44_49_54; // "AUDIT"
/// The `prev_hash` of the first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Audit errors.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A database failed.
    #[error("audit log: {0}")]
    Database(#[from] sqlx::Error),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// The viewer's role does not allow it.
    #[error(transparent)]
    Forbidden(#[from] crate::auth::AuthError),
    /// A filter value is malformed.
    #[error("{0}")]
    BadInput(String),
    /// Writing an export failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error("writing the export: {0}")]
    Csv(#[from] csv::Error),
}

/// What an action did, as it goes into `admin_audit_log`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Dotted action name: `tenant.member.removed`, `payment.refunded`, `audit.exported`.
    pub action: String,
    /// `tenant`, `user`, `workspace`, `payment`, `job`, …
    pub resource_type: String,
    /// Id of the resource.
    pub resource_id: String,
    /// Tenant concerned, if any (`admin_audit_log.tenant_id` is NOT NULL: `-` otherwise).
    pub tenant_id: Option<String>,
    /// State before.
    pub old_values: Option<serde_json::Value>,
    /// State after.
    pub new_values: Option<serde_json::Value>,
    /// Free text (the reason given, a ticket reference).
    pub notes: Option<String>,
}

/// Writes `entry` to the outbox of the database `conn` belongs to, inside the caller's
/// transaction. Returns the outbox id.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Staff,
    client: &ClientInfo,
    entry: &AuditEntry,
) -> Result<uuid::Uuid, AuditError> {
    let id = uuid::Uuid::new_v4();
    let payload = serde_json::json!({
        "admin_user_id": actor.audit_id(),
        "actor_role": actor.role(),
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "tenant_id": entry.tenant_id.clone().unwrap_or_else(|| "-".into()),
        "old_values": entry.old_values,
        "new_values": entry.new_values,
        "ip_address": client.ip,
        "user_agent": client.user_agent,
        "notes": entry.notes,
    });
    sqlx::query("INSERT INTO penguin_console.audit_outbox (id, entry) VALUES ($1, $2)")
        .bind(id)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Moves every pending outbox entry of the four databases into `admin_audit_log` and
/// chains it. Returns how many entries were delivered now.
pub async fn deliver(central: &Central) -> Result<u64, AuditError> {
    let mut delivered = 0;
    for kind in DbKind::ALL {
        let source = central.pool(kind);
        let pending = sqlx::query("SELECT id, entry FROM penguin_console.audit_outbox ORDER BY created, id LIMIT 1000")
            .fetch_all(source)
            .await?;
        for row in pending {
            let id: uuid::Uuid = row.get("id");
            let entry: serde_json::Value = row.get("entry");
            let mut tx = central.olap.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CHAIN_LOCK).execute(&mut *tx).await?;
            let already: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM penguin_console.audit_delivered WHERE outbox_id = $1)",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if !already {
                let audit_id: i64 = sqlx::query_scalar(
                    "INSERT INTO admin_audit_log (admin_user_id, action, resource_type, resource_id, tenant_id,
                         old_values, new_values, ip_address, user_agent, notes, metadata, data_classification, retention_category)
                     SELECT e->>'admin_user_id', e->>'action', e->>'resource_type', e->>'resource_id', e->>'tenant_id',
                            e->'old_values', e->'new_values', e->>'ip_address', e->>'user_agent', e->>'notes',
                            jsonb_build_object('source', 'penguin-admin', 'outbox_id', $2::text, 'actor_role', e->>'actor_role'),
                            'internal', 'compliance'
                     FROM (SELECT $1::jsonb AS e) x RETURNING id",
                )
                .bind(&entry)
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO penguin_console.audit_delivered (outbox_id, audit_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(audit_id)
                    .execute(&mut *tx)
                    .await?;
                chain_pending(&mut tx).await?;
                delivered += 1;
            }
            tx.commit().await?;
            sqlx::query("DELETE FROM penguin_console.audit_outbox WHERE id = $1").bind(id).execute(source).await?;
        }
    }
    Ok(delivered)
}

/// The columns of an entry, in the canonical form that is hashed.
const CANONICAL: &str = "a.id::text, to_char(a.creation_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
     a.admin_user_id, a.action, a.resource_type, a.resource_id, a.tenant_id, a.old_values::text, a.new_values::text,
     a.ip_address, a.user_agent, a.notes, a.metadata::text, a.data_classification::text, a.retention_category::text";

fn link_hash(prev: &str, row: &sqlx::postgres::PgRow) -> String {
    let fields: Vec<Option<String>> = (0..15).map(|i| row.get::<Option<String>, _>(i)).collect();
    let canonical = serde_json::to_string(&fields).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Chains every entry not chained yet, in id order. Caller holds the chain lock.
async fn chain_pending(tx: &mut PgConnection) -> Result<(), AuditError> {
    let mut prev: String = sqlx::query_scalar("SELECT hash FROM penguin_console.audit_chain ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_else(|| GENESIS.to_string());
    let rows = sqlx::query(&format!(
        "SELECT {CANONICAL} FROM admin_audit_log a
         WHERE NOT EXISTS (SELECT 1 FROM penguin_console.audit_chain c WHERE c.audit_id = a.id) ORDER BY a.id"
    ))
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let id: i64 = row.get::<String, _>(0).parse().unwrap_or_default();
        let hash = link_hash(&prev, &row);
        sqlx::query("INSERT INTO penguin_console.audit_chain (audit_id, prev_hash, hash) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        prev = hash;
    }
    Ok(())
}

/// Chains existing entries (the demo's history, entries the platform wrote) now.
pub async fn chain_existing(central: &Central) -> Result<(), AuditError> {
    let mut tx = central.olap.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CHAIN_LOCK).execute(&mut *tx).await?;
    chain_pending(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Verification {
    /// Every link matches.
    Intact {
        /// Entries checked.
        entries: u64,
        /// Entries written since the last console append, not chained yet.
        unchained: u64,
    },
    /// The first link that does not match.
    Broken {
        /// `admin_audit_log.id` of the entry.
        audit_id: i64,
        /// Position in the chain (1-based).
        position: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Recomputes the whole chain.
pub async fn verify(central: &Central) -> Result<Verification, AuditError> {
    let rows = sqlx::query(&format!(
        "SELECT {CANONICAL}, c.audit_id AS chained_id, c.prev_hash, c.hash, (a.id IS NULL) AS gone
         FROM penguin_console.audit_chain c LEFT JOIN admin_audit_log a ON a.id = c.audit_id ORDER BY c.seq"
    ))
    .fetch_all(&central.olap)
    .await?;
    let mut prev = GENESIS.to_string();
    let mut position = 0u64;
    for row in &rows {
        position += 1;
        let audit_id: i64 = row.get("chained_id");
        let stored_prev: String = row.get("prev_hash");
        let stored: String = row.get("hash");
        let broken = |reason: &str| Verification::Broken { audit_id, position, reason: reason.to_string() };
        if row.get::<bool, _>("gone") {
            return Ok(broken("the entry was deleted"));
        }
        if stored_prev != prev {
            return Ok(broken("the link does not follow the previous entry (an entry was removed or reordered)"));
        }
        if link_hash(&prev, row) != stored {
            return Ok(broken("the entry was changed after it was written"));
        }
        prev = stored;
    }
    let unchained: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_audit_log a WHERE NOT EXISTS (SELECT 1 FROM penguin_console.audit_chain c WHERE c.audit_id = a.id)",
    )
    .fetch_one(&central.olap)
    .await?;
    Ok(Verification::Intact { entries: position, unchained: unchained as u64 })
}
