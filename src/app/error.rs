//! The error the desktop app's UI receives: a stable code it can switch on and a
//! message a person can act on. Never a raw SQL message.

use crate::audit::AuditError;
use crate::auth::AuthError;
use crate::cache::CacheError;
use crate::central::CentralError;
use crate::demo::DemoError;
use crate::members::MemberError;
use crate::profiles::ProfileError;
use crate::sync::SyncError;
use crate::users::UserError;

/// Codes the UI switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Input was rejected; the message says which field and why.
    BadInput,
    /// The thing asked for does not exist.
    NotFound,
    /// Already exists (e.g. a profile name).
    Conflict,
    /// Nobody is signed in, or no profile is selected.
    NotSignedIn,
    /// The role does not allow it.
    Forbidden,
    /// The console session ended (expired, idle, revoked, the staff member suspended,
    /// removed or given another role): the UI returns to sign-in, keeping the screen.
    SessionExpired,
    /// Wrong email or password.
    BadCredentials,
    /// Too many failed sign-ins.
    Locked,
    /// The central database cannot be reached; the cache still works.
    Offline,
    /// The OS keyring cannot store the secret.
    KeyringUnavailable,
    /// A sync was cancelled.
    Cancelled,
    /// Anything else; the message explains.
    Internal,
}

/// An error for the UI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[error("{message}")]
pub struct AppError {
    /// Stable code.
    pub code: ErrorCode,
    /// Human message.
    pub message: String,
    /// When the condition ends, RFC 3339 UTC (a locked account's expiry), so the UI can
    /// show it in the viewer's time zone without parsing the message.
    pub until: Option<String>,
}

impl AppError {
    /// A new error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into(), until: None }
    }
    /// Bad input.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadInput, message)
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        let code = match &e {
            AuthError::BadCredentials => ErrorCode::BadCredentials,
            AuthError::Locked { .. } => ErrorCode::Locked,
            AuthError::Forbidden { .. } | AuthError::Denied(_) => ErrorCode::Forbidden,
            AuthError::SessionEnded(_) => ErrorCode::SessionExpired,
            AuthError::Database(_) => ErrorCode::Offline,
            AuthError::NotInstalled | AuthError::Protocol(_) => ErrorCode::Internal,
        };
        let until = match &e {
            AuthError::Locked { until } => Some(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            _ => None,
        };
        AppError { until, ..AppError::new(code, e.to_string()) }
    }
}

impl From<CacheError> for AppError {
    fn from(e: CacheError) -> Self {
        let code = match &e {
            CacheError::Empty(_) => ErrorCode::NotFound,
            CacheError::NotSqlite(_)
            | CacheError::Foreign(_)
            | CacheError::NewerVersion { .. }
            | CacheError::Unencrypted(_) => ErrorCode::BadInput,
            CacheError::Locked(_)
            | CacheError::WrongKey(_)
            | CacheError::KeyMissing(_)
            | CacheError::NotYours { .. } => ErrorCode::Forbidden,
            CacheError::Sql { .. } | CacheError::Io { .. } => ErrorCode::Internal,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<CentralError> for AppError {
    fn from(e: CentralError) -> Self {
        let code = match &e {
            CentralError::BadUrl { .. } => ErrorCode::BadInput,
            CentralError::Unreachable { .. } => ErrorCode::Offline,
            CentralError::Sql { .. } => ErrorCode::Internal,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Central(c) => c.into(),
            SyncError::Cache(c) => c.into(),
            SyncError::Cancelled => AppError::new(ErrorCode::Cancelled, e.to_string()),
            SyncError::Access(a) => a.into(),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<ProfileError> for AppError {
    fn from(e: ProfileError) -> Self {
        let code = match &e {
            ProfileError::NotFound(..) => ErrorCode::NotFound,
            ProfileError::Malformed { .. } | ProfileError::BadUrl { .. } => ErrorCode::BadInput,
            ProfileError::Keyring { .. } | ProfileError::StripeKey(_) => ErrorCode::KeyringUnavailable,
            ProfileError::Io { .. } => ErrorCode::Internal,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<AuditError> for AppError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Forbidden(a) => a.into(),
            AuditError::BadInput(m) => AppError::bad_input(m),
            AuditError::Cache(c) => c.into(),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<DemoError> for AppError {
    fn from(e: DemoError) -> Self {
        let code =
            if matches!(e, DemoError::AlreadyRunning { .. }) { ErrorCode::Conflict } else { ErrorCode::Internal };
        AppError::new(code, e.to_string())
    }
}

impl From<UserError> for AppError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Forbidden(a) => a.into(),
            UserError::Cache(c) => c.into(),
            UserError::NotFound(_) => AppError::new(ErrorCode::NotFound, e.to_string()),
            UserError::BadInput(m) => AppError::bad_input(m),
        }
    }
}

impl From<MemberError> for AppError {
    fn from(e: MemberError) -> Self {
        if let MemberError::Forbidden(a) = e {
            return a.into();
        }
        let code = match &e {
            MemberError::Forbidden(_) | MemberError::Database(_) | MemberError::Audit(_) => ErrorCode::Internal,
            MemberError::NotFound(_) => ErrorCode::NotFound,
            MemberError::Confirmation(_) | MemberError::BadInput(_) => ErrorCode::BadInput,
            MemberError::LastOwner | MemberError::Conflict(_) => ErrorCode::Conflict,
        };
        AppError::new(code, e.to_string())
    }
}
