//! The demo: a throwaway PostgreSQL cluster and the deterministic data generator.

pub mod cluster;
pub mod seed;
