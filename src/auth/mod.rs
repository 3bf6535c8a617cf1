//! Staff identity and permissions.

pub mod permissions;
