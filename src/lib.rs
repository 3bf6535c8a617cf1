//! # PenguinMails Admin Console backend
//!
//! A library (and the `penguin-admin` CLI) shared by the desktop app, the CLI and the
//! tests. Every screen reads from a local SQLite cache synced from the platform's
//! central PostgreSQL databases; actions write to central and are audited.
//!
//! ## Layout
//! - [`central`]: the four platform databases, their schema (demo/tests only) and the
//!   console's own schema (`install`).
//! - [`profiles`]: connection profiles (TOML) and secrets in the OS keyring.
//! - [`cache`]: the local SQLite cache file: opening, validation, bookkeeping.
//! - [`sync`]: central → cache, incremental and crash-safe.
//! - [`tenants`]: tenant reads over the cache.
//! - [`users`]: users across tenants (search, detail, sessions, sign-ins) over the cache.
//! - [`charts`]: trend charts (plotters) as SVG for the screens and PNG for exports.
//! - [`health`]: workspace health scores (compute, history, findings) and the workspace list.
//! - [`rbac`]: the platform's tenant × workspace role rules, the matrix and access explanations.
//! - [`tenant_admin`]: tenant settings, per-tenant feature flags, plan and billing overrides,
//!   test tenant provisioning and support access ("view as tenant").
//! - [`workspaces`]: workspace deletion (30-day grace), restore and purge.
//! - [`members`]: member, session and workspace-membership actions against central.
//! - [`stripe`]: the Stripe client, its fake, and Stripe → cache sync.
//! - [`finance`]: payments, revenue (MRR) and reconciliation over the cache.
//! - [`monitor`]: infrastructure checks (queue, SMTP, DNSBL, databases, Redis, hosts).
//! - [`alerts`]: one alert model for every check, silences, paging and the watcher.
//! - [`demo`]: the throwaway PostgreSQL cluster and the demo data generator.
//! - [`auth`]: staff sign-in, lockout, permissions, masking of personal data.
//! - [`audit`]: the hash-chained audit log: writing (outbox), verifying, reading.
//! - [`bench`]: the sync benchmark against its floor.

pub mod alerts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cache;
pub mod central;
pub mod charts;
pub mod demo;
pub mod finance;
pub mod health;
pub mod members;
pub mod monitor;
pub mod profiles;
pub mod rbac;
pub mod stripe;
pub mod sync;
pub mod tenant_admin;
pub mod tenants;
pub mod users;
pub mod workspaces;
