//! A typed client of PagerDuty's Events API v2 (`POST {base}/v2/enqueue`).
//!
//! One call is one HTTP attempt: retries belong to the notification queue
//! ([`super::deliver_pending`]), which records every attempt. The answer is classified so
//! the queue knows what to do: 202 accepted; 429 and 5xx (and network trouble) are worth
//! retrying with backoff; any other status (400 "invalid event") is permanent.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AlertError;

/// `event_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    /// Opens (or re-opens) the incident of `dedup_key`.
    Trigger,
    /// Acknowledges it.
    Acknowledge,
    /// Resolves it.
    Resolve,
}

impl EventAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Trigger => "trigger",
            EventAction::Acknowledge => "acknowledge",
            EventAction::Resolve => "resolve",
        }
    }
}

/// `payload` of a trigger event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// One line, at most 1024 characters.
    pub summary: String,
    /// The affected system (`queue:email-sending`, `203.0.113.7`).
    pub source: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// The check that found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Measured values and what is at risk.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub custom_details: serde_json::Value,
}

/// One event as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The integration's routing key.
    pub routing_key: String,
    /// What to do.
    pub event_action: EventAction,
    /// The alert's fingerprint, the same for trigger, acknowledge and resolve.
    pub dedup_key: String,
    /// Required for a trigger, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    /// Who sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// PagerDuty's answer to an accepted event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Accepted {
    /// `success`.
    pub status: String,
    /// `Event processed`.
    pub message: String,
    /// The dedup key PagerDuty filed it under.
    pub dedup_key: Option<String>,
}

/// Why an event was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 429, 5xx, a timeout or a connection failure.
    #[error("PagerDuty is unavailable ({0}); will retry")]
    Retryable(String),
    /// Will never be accepted as sent (400 invalid event, a bad routing key).
    #[error("PagerDuty refused the event: {0}")]
    Rejected(String),
}

/// Checks a routing key's shape (PagerDuty's are 32 characters).
pub fn validate_routing_key(key: &str) -> Result<(), AlertError> {
    if key.len() == 32 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(AlertError::Config(
            "a PagerDuty routing key is 32 letters and digits (the integration key of an Events API v2 integration)"
                .into(),
        ))
    }
}

/// The Events API v2 client.
#[derive(Clone)]
pub struct PagerDuty {
    http: reqwest::Client,
    base: String,
    routing_key: String,
}

impl std::fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PagerDuty({})", self.base)
    }
}

impl PagerDuty {
    /// A client of the API at `base` (`https://events.pagerduty.com`).
    pub fn new(base: &str, routing_key: &str) -> Result<PagerDuty, AlertError> {
        validate_routing_key(routing_key)?;
        url::Url::parse(base)
            .map_err(|e| AlertError::Config(format!("[alerts.pagerduty] api_base `{base}` is not a URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("penguin-admin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AlertError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(PagerDuty { http, base: base.trim_end_matches('/').to_string(), routing_key: routing_key.to_string() })
    }

    /// An event for this client's routing key.
    pub fn event(&self, action: EventAction, dedup_key: &str, payload: Option<Payload>) -> Event {
        Event {
            routing_key: self.routing_key.clone(),
            event_action: action,
            dedup_key: dedup_key.to_string(),
            payload,
            client: Some("PenguinMails Admin Console".into()),
        }
    }

    /// Sends one event, once.
    pub async fn send(&self, event: &Event) -> Result<Accepted, SendError> {
        let response = self
            .http
            .post(format!("{}/v2/enqueue", self.base))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(event).map_err(|e| SendError::Rejected(e.to_string()))?)
            .send()
            .await
            .map_err(|e| SendError::Retryable(describe(&e)))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        match status {
            202 => serde_json::from_str(&body)
                .map_err(|e| SendError::Retryable(format!("202 with an unreadable body ({e})"))),
            429 => Err(SendError::Retryable("429 too many requests".into())),
            s if s >= 500 => Err(SendError::Retryable(format!("HTTP {s}"))),
            s => Err(SendError::Rejected(format!("HTTP {s}: {}", error_text(&body)))),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out after 10 s".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.to_string()
    }
}

/// `{"status":"invalid event","message":"Event object is invalid","errors":[…]}` → one line.
fn error_text(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(b) if b.errors.is_empty() => b.message,
        Ok(b) => format!("{} ({})", b.message, b.errors.join("; ")),
        Err(_) => body.chars().take(300).collect(),
    }
}
