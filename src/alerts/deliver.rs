//! Sends queued notifications, one claimed row at a time, and records each outcome.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::email::Mailer;
use super::pagerduty::{EventAction, PagerDuty, Payload, SendError};
use super::{AlertError, AlertSettings, Channel, RetryPolicy, Secrets};
use crate::central::Central;

/// The configured channels, ready to send.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// PagerDuty, when `[alerts.pagerduty]` is set and a routing key is stored.
    pub pagerduty: Option<PagerDuty>,
    /// Mail, when `[alerts.email]` is set.
    pub email: Option<Mailer>,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl Channels {
    /// Builds the channels of `[alerts]`. A PagerDuty section without a routing key is an
    /// error (paging would silently not happen).
    pub fn new(settings: &AlertSettings, secrets: &Secrets) -> Result<Channels, AlertError> {
        let pagerduty = match &settings.pagerduty {
            Some(pd) => {
                let Some(key) = secrets.pagerduty_routing_key.as_deref() else {
                    return Err(AlertError::Config(format!(
                        "[alerts.pagerduty] is set but no routing key is stored: set {} or store it in the OS \
                         keyring as `PROFILE/{}`",
                        super::PAGERDUTY_KEY_ENV,
                        super::PAGERDUTY_ACCOUNT
                    )));
                };
                Some(PagerDuty::new(&pd.api_base, key)?)
            }
            None => None,
        };
        let email = match &settings.email {
            Some(e) => Some(Mailer::new(e, secrets.smtp_password.as_deref())?),
            None => None,
        };
        Ok(Channels { pagerduty, email, retry: settings.retry })
    }

    /// The channels critical alerts are paged on (for [`super::reconcile`]).
    pub fn enabled(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if self.pagerduty.is_some() {
            out.push(Channel::Pagerduty);
        }
        if self.email.is_some() {
            out.push(Channel::Email);
        }
        out
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeliveryReport {
    /// Sent now.
    pub sent: u32,
    /// Failed now, to be retried.
    pub retrying: u32,
    /// Given up now (permanent refusal or attempts exhausted).
    pub failed: u32,
}

struct Claimed {
    id: uuid::Uuid,
    channel: String,
    event: String,
    attempts: i32,
    fingerprint: String,
    source: String,
    severity: String,
    subject_kind: String,
    subject: String,
    summary: String,
    details: serde_json::Value,
    at_risk: Option<serde_json::Value>,
    first_seen: DateTime<Utc>,
    state: String,
}

/// Sends every notification due at `now` (pending, `next_attempt_at <= now`, and no
/// earlier event of the same alert and channel still pending, so a resolve never
/// overtakes its trigger). Each is claimed with `FOR UPDATE SKIP LOCKED` in its own
/// transaction, sent once, and its outcome recorded: `sent`; or `attempts + 1` with
/// `next_attempt_at = now + backoff` and `last_error`; or `failed` when the channel refuses
/// it for good, the attempts are used up, or the channel is no longer configured.
pub async fn deliver_pending(
    central: &Central,
    channels: &Channels,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, AlertError> {
    let mut report = DeliveryReport::default();
    let mut skipped: Vec<uuid::Uuid> = Vec::new();
    loop {
        let mut tx = central.notifications.begin().await.map_err(AlertError::from_sqlx)?;
        let row = sqlx::query(
            "SELECT n.id, n.channel, n.event, n.attempts, a.fingerprint, a.source, a.severity, a.subject_kind,
                    a.subject, a.summary, a.details, a.at_risk, a.first_seen, a.state
             FROM penguin_console.alert_notifications n JOIN penguin_console.alerts a ON a.id = n.alert_id
             WHERE n.status = 'pending' AND n.next_attempt_at <= $1 AND NOT (n.id = ANY($2))
               AND NOT EXISTS (
                   SELECT 1 FROM penguin_console.alert_notifications e
                   WHERE e.alert_id = n.alert_id AND e.channel = n.channel AND e.status = 'pending'
                     AND array_position(ARRAY['trigger','acknowledge','resolve'], e.event)
                         < array_position(ARRAY['trigger','acknowledge','resolve'], n.event))
             ORDER BY n.next_attempt_at, n.created, n.id
             LIMIT 1 FOR UPDATE OF n SKIP LOCKED",
        )
        .bind(now)
        .bind(&skipped)
        .fetch_optional(&mut *tx)
        .await
        .map_err(AlertError::from_sqlx)?;
        let Some(r) = row else {
            tx.commit().await.map_err(AlertError::from_sqlx)?;
            break;
        };
        let n = Claimed {
            id: r.get("id"),
            channel: r.get("channel"),
            event: r.get("event"),
            attempts: r.get("attempts"),
            fingerprint: r.get("fingerprint"),
            source: r.get("source"),
            severity: r.get("severity"),
            subject_kind: r.get("subject_kind"),
            subject: r.get("subject"),
            summary: r.get("summary"),
            details: r.get("details"),
            at_risk: r.get("at_risk"),
            first_seen: r.get("first_seen"),
            state: r.get("state"),
        };
        let outcome = send(channels, &n).await;
        let attempts = n.attempts + 1;
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE penguin_console.alert_notifications
                     SET status = 'sent', attempts = $2, sent_at = $3, last_error = NULL WHERE id = $1",
                )
                .bind(n.id)
                .bind(attempts)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(AlertError::from_sqlx)?;
                report.sent += 1;
                tracing::info!(fingerprint = %n.fingerprint, channel = %n.channel, event = %n.event, "notification sent");
            }
            Err(SendError::Retryable(e)) if (attempts as u32) < channels.retry.max_attempts => {
                let next = now + channels.retry.backoff(attempts as u32);
                sqlx::query(
                    "UPDATE penguin_console.alert_notifications
                     SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1",
                )
                .bind(n.id)
                .bind(attempts)
                .bind(next)
                .bind(&e)
                .execute(&mut *tx)
                .await
                .map_err(AlertError::from_sqlx)?;
                report.retrying += 1;
                // Not again in this pass, even if the backoff were zero.
                skipped.push(n.id);
                tracing::warn!(fingerprint = %n.fingerprint, channel = %n.channel, event = %n.event, attempts,
                               "notification failed, retrying at {next}: {e}");
            }
            Err(SendError::Retryable(e)) | Err(SendError::Rejected(e)) => {
                sqlx::query(
                    "UPDATE penguin_console.alert_notifications SET status = 'failed', attempts = $2, last_error = $3
                     WHERE id = $1",
                )
                .bind(n.id)
                .bind(attempts)
                .bind(&e)
                .execute(&mut *tx)
                .await
                .map_err(AlertError::from_sqlx)?;
                report.failed += 1;
                tracing::error!(fingerprint = %n.fingerprint, channel = %n.channel, event = %n.event, attempts,
                                "notification failed for good: {e}");
            }
        }
        tx.commit().await.map_err(AlertError::from_sqlx)?;
    }
    Ok(report)
}

async fn send(channels: &Channels, n: &Claimed) -> Result<(), SendError> {
    let mut custom = serde_json::json!({
        "fingerprint": n.fingerprint,
        "subject": format!("{}: {}", n.subject_kind, n.subject),
        "details": n.details,
        "first_seen": n.first_seen.to_rfc3339(),
    });
    if let Some(risk) = &n.at_risk {
        custom["at_risk"] = risk.clone();
    }
    match n.channel.as_str() {
        "pagerduty" => {
            let Some(pd) = &channels.pagerduty else {
                return Err(SendError::Rejected("PagerDuty is no longer configured in [alerts]".into()));
            };
            let action = match n.event.as_str() {
                "trigger" => EventAction::Trigger,
                "acknowledge" => EventAction::Acknowledge,
                _ => EventAction::Resolve,
            };
            let payload = (action == EventAction::Trigger).then(|| Payload {
                summary: n.summary.chars().take(1024).collect(),
                source: n.subject.clone(),
                severity: n.severity.clone(),
                component: Some(n.source.clone()),
                custom_details: custom.clone(),
            });
            pd.send(&pd.event(action, &n.fingerprint, payload)).await.map(|_| ())
        }
        "email" => {
            let Some(mailer) = &channels.email else {
                return Err(SendError::Rejected("email is no longer configured in [alerts]".into()));
            };
            let tag = match n.event.as_str() {
                "trigger" => n.severity.to_uppercase(),
                "acknowledge" => "ACKNOWLEDGED".into(),
                _ => "RESOLVED".into(),
            };
            let subject = format!("[{tag}] {}", n.summary);
            let body = format!(
                "{}\n\nState: {}\nSource: {}\nSubject: {}: {}\nFirst seen: {}\nFingerprint: {}\n\nDetails:\n{}\n{}",
                n.summary,
                n.state,
                n.source,
                n.subject_kind,
                n.subject,
                n.first_seen.to_rfc3339(),
                n.fingerprint,
                serde_json::to_string_pretty(&n.details).unwrap_or_default(),
                n.at_risk
                    .as_ref()
                    .filter(|r| ["tenants", "campaigns"].iter().any(|k| r[k].as_array().is_some_and(|a| !a.is_empty())))
                    .map(|r| format!("\nAt risk:\n{}\n", serde_json::to_string_pretty(r).unwrap_or_default()))
                    .unwrap_or_default(),
            );
            mailer.send(&subject, &body).await
        }
        other => Err(SendError::Rejected(format!("unknown channel `{other}`"))),
    }
}
