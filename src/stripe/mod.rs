//! Stripe: the console's second sync source, where the money lives.
//!
//! - [`client`]: a typed client over `reqwest` (rustls) with idempotency keys on every
//!   POST, paging, timeouts and retries (429 `Retry-After`, backoff on 5xx).
//! - [`types`]: the Stripe objects read, with only the fields used.
//! - [`sync`]: Stripe → the local cache (`stripe_*` tables), full then by events, in one
//!   SQLite transaction per sync.
//! - [`fake`]: a fake Stripe speaking the real HTTP API on 127.0.0.1, for tests and the
//!   demo.
//!
//! The secret key lives in the OS keyring (account `PROFILE/stripe`, see
//! [`crate::profiles::Profile::stripe_key`]); the profile's `[stripe]` section only
//! names the API base.

pub mod client;
pub mod fake;
pub mod sync;
pub mod types;

pub use client::{Stripe, StripeConfig, StripeError};
