//! A typed Stripe API client over `reqwest` (rustls, no OpenSSL).
//!
//! - Every POST carries an `Idempotency-Key`. Callers that move money pass a key they
//!   derived from the action (and recorded before sending), so a retry, a crash and
//!   a second click all reuse it and Stripe performs the change once.
//! - 429 answers are retried after the `Retry-After` the server gave (capped at
//!   [`MAX_RETRY_AFTER`]); 5xx answers, timeouts and connection failures are retried
//!   with exponential backoff. POSTs are retried with the same key, so a retry after a
//!   lost answer returns the first answer instead of acting twice.
//! - Lists are paged with `limit=100` and `starting_after`.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::types::{ApiErrorBody, ApiErrorDetail, List};

/// Longest `Retry-After` honoured; a longer one is treated as this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Page size of list calls (Stripe's maximum).
pub const PAGE_LIMIT: u32 = 100;

/// Stripe errors.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error body.
    #[error("Stripe refused the request ({status}{}): {}", .detail.code.as_deref().map(|c| format!(", {c}")).unwrap_or_default(), .detail.message.as_deref().unwrap_or("no message"))]
    Api {
        /// HTTP status.
        status: u16,
        /// Stripe's error fields.
        detail: ApiErrorDetail,
    },
    /// Still rate limited or failing after every retry.
    #[error("Stripe kept failing after {attempts} attempts (last: {last}); try again later")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The answer was not the JSON expected.
    #[error("Stripe's answer to {path} could not be read: {reason}")]
    Decode {
        /// The path requested.
        path: String,
        /// Why.
        reason: String,
    },
    /// The client could not be built or the URL is wrong.
    #[error("Stripe client: {0}")]
    Config(String),
}

/// Where and how to reach Stripe.
#[derive(Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com` (or a fake's address). No trailing slash needed.
    pub api_base: String,
    /// The secret key (`sk_live_…`/`sk_test_…`/`rk_…`), from the OS keyring.
    pub secret_key: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff for 5xx and network errors (doubled each retry).
    pub backoff: Duration,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("StripeConfig").field("api_base", &self.api_base).finish_non_exhaustive()
    }
}

impl StripeConfig {
    /// Defaults: 30 s timeout, 4 retries, 500 ms first backoff.
    pub fn new(api_base: impl Into<String>, secret_key: impl Into<String>) -> StripeConfig {
        StripeConfig {
            api_base: api_base.into(),
            secret_key: secret_key.into(),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A Stripe client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stripe {
    http: reqwest::Client,
    config: StripeConfig,
}

/// One parameter of a form-encoded request or a query (`created[gte]`, `metadata[reason]`).
pub type Param = (String, String);

/// Builds a parameter list from pairs.
pub fn params<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Vec<Param> {
    pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

enum Attempt {
    Done(reqwest::StatusCode, bytes::Bytes),
    Retry { after: Duration, why: String },
}

impl Stripe {
    /// A client for `config`.
    pub fn new(config: StripeConfig) -> Result<Stripe, StripeError> {
        url::Url::parse(&config.api_base)
            .map_err(|e| StripeError::Config(format!("the API base `{}` is not a URL: {e}", config.api_base)))?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("penguin-admin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StripeError::Config(e.to_string()))?;
        Ok(Stripe { http, config })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.api_base.trim_end_matches('/'), path)
    }

    async fn attempt(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[Param],
        form: Option<&[Param]>,
        idempotency_key: Option<&str>,
    ) -> Attempt {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(&self.config.secret_key).query(query);
        if let Some(form) = form {
            req = req.form(form);
        }
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        match req.send().await {
            Err(e) => Attempt::Retry { after: Duration::ZERO, why: describe(&e) },
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                match resp.bytes().await {
                    Err(e) => Attempt::Retry { after: Duration::ZERO, why: describe(&e) },
                    Ok(_) if status.as_u16() == 429 => Attempt::Retry {
                        after: retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_RETRY_AFTER),
                        why: "429 rate limited".into(),
                    },
                    Ok(_) if status.is_server_error() => {
                        Attempt::Retry { after: Duration::ZERO, why: format!("{status} from Stripe") }
                    }
                    Ok(body) => Attempt::Done(status, body),
                }
            }
        }
    }

    async fn request<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[Param],
        form: Option<&[Param]>,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let mut backoff = self.config.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(method.clone(), path, query, form, idempotency_key).await {
                Attempt::Done(status, body) if status.is_success() => {
                    return serde_json::from_slice(&body)
                        .map_err(|e| StripeError::Decode { path: path.into(), reason: e.to_string() })
                }
                Attempt::Done(status, body) => {
                    let detail = serde_json::from_slice::<ApiErrorBody>(&body).map(|b| b.error).unwrap_or_default();
                    return Err(StripeError::Api { status: status.as_u16(), detail });
                }
                Attempt::Retry { after, why } => {
                    if attempts > self.config.max_retries {
                        return Err(StripeError::GaveUp { attempts, last: why });
                    }
                    let wait = if after.is_zero() {
                        let w = backoff;
                        backoff = backoff.saturating_mul(2);
                        w
                    } else {
                        after
                    };
                    tracing::warn!(path, attempts, ?wait, why, "retrying a Stripe request");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Downloads a file Stripe links to (an invoice's `invoice_pdf`). Such links carry
    /// their own access token, so the API key is not sent; 5xx and network errors are
    /// retried with backoff like API calls.
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, StripeError> {
        let mut backoff = self.config.backoff;
        for attempt in 1.. {
            let why = match self.http.get(url).send().await {
                Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                    Ok(body) => return Ok(body.to_vec()),
                    Err(e) => describe(&e),
                },
                Ok(resp) if resp.status().is_server_error() || resp.status().as_u16() == 429 => {
                    format!("{} from Stripe", resp.status())
                }
                Ok(resp) => {
                    return Err(StripeError::Api {
                        status: resp.status().as_u16(),
                        detail: ApiErrorDetail {
                            message: Some(format!("{url} answered {}", resp.status())),
                            ..Default::default()
                        },
                    })
                }
                Err(e) => describe(&e),
            };
            if attempt > self.config.max_retries {
                return Err(StripeError::GaveUp { attempts: attempt, last: why });
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        unreachable!("the loop returns")
    }

    /// `GET path?query`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[Param]) -> Result<T, StripeError> {
        self.request(reqwest::Method::GET, path, query, None, None).await
    }

    /// `POST path` with a form body and the given idempotency key.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[Param],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        if idempotency_key.is_empty() {
            return Err(StripeError::Config("every POST needs an idempotency key".into()));
        }
        self.request(reqwest::Method::POST, path, &[], Some(form), Some(idempotency_key)).await
    }

    /// `DELETE path` (cancel a subscription now), with an idempotency key like a POST.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[Param],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        self.request(reqwest::Method::DELETE, path, &[], Some(form), Some(idempotency_key)).await
    }

    /// One page of a list endpoint.
    pub async fn list_page<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &[Param],
        starting_after: Option<&str>,
    ) -> Result<List<T>, StripeError> {
        let mut query: Vec<Param> = filters.to_vec();
        query.push(("limit".into(), PAGE_LIMIT.to_string()));
        if let Some(after) = starting_after {
            query.push(("starting_after".into(), after.into()));
        }
        self.get(path, &query).await
    }

    /// Every object of a list endpoint, page by page (`limit=100`, `starting_after`),
    /// newest first; `on_page` sees each page and may stop the listing by returning
    /// `false` (cancellation).
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &[Param],
        id_of: impl Fn(&T) -> &str,
        mut on_page: impl FnMut(&[T]) -> bool,
    ) -> Result<Option<Vec<T>>, StripeError> {
        let mut out: Vec<T> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page: List<T> = self.list_page(path, filters, after.as_deref()).await?;
            if !on_page(&page.data) {
                return Ok(None);
            }
            let more = page.has_more && !page.data.is_empty();
            after = page.data.last().map(|o| id_of(o).to_string());
            out.extend(page.data);
            if !more {
                return Ok(Some(out));
            }
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        // reqwest's messages carry the URL, never the key.
        e.to_string()
    }
}
