//! Infrastructure monitoring: the checks behind the operators' screen and the watcher.

use serde::{Deserialize, Serialize};

/// The profile's `[monitor]` section: which sources to check and the thresholds.
/// A source the profile does not name is "not configured", never a made-up value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MonitorSettings {}
