//! Alert mail to the on-call list through the configured SMTP relay (lettre, rustls).

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::pagerduty::SendError;
use super::{AlertError, EmailSettings};

/// A ready SMTP transport and the addresses to use.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    on_call: Vec<Mailbox>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer(from {}, {} on call)", self.from, self.on_call.len())
    }
}

impl Mailer {
    /// Builds the transport from `[alerts.email]` and the relay password (if any).
    pub fn new(settings: &EmailSettings, password: Option<&str>) -> Result<Mailer, AlertError> {
        let parse = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| AlertError::Config(format!("[alerts.email]: `{a}` is not an email address ({e})")))
        };
        let from = parse(&settings.from)?;
        let on_call = settings.on_call.iter().map(|a| parse(a)).collect::<Result<Vec<_>, _>>()?;
        if on_call.is_empty() {
            return Err(AlertError::Config("[alerts.email] on_call is empty: name at least one address".into()));
        }
        let builder = if settings.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.smtp_host)
                .map_err(|e| AlertError::Config(format!("[alerts.email] smtp_host `{}`: {e}", settings.smtp_host)))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.smtp_host)
        };
        let mut builder = builder.port(settings.smtp_port).timeout(Some(Duration::from_secs(10)));
        if let Some(user) = &settings.username {
            let Some(pw) = password else {
                return Err(AlertError::Config(format!(
                    "[alerts.email] username `{user}` is set but no SMTP password is stored: set {} or store it \
                     in the OS keyring as `PROFILE/{}`",
                    super::SMTP_PASSWORD_ENV,
                    super::SMTP_ACCOUNT
                )));
            };
            builder = builder.credentials(Credentials::new(user.clone(), pw.to_string()));
        }
        Ok(Mailer { transport: builder.build(), from, on_call })
    }

    /// Sends one mail to the whole on-call list, once.
    pub async fn send(&self, subject: &str, body: &str) -> Result<(), SendError> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.on_call {
            message = message.to(to.clone());
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| SendError::Rejected(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Rejected(format!("the SMTP relay refused the mail: {e}"))),
            Err(e) => Err(SendError::Retryable(format!("SMTP relay: {e}"))),
        }
    }
}
