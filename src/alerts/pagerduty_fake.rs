//! A fake PagerDuty Events API v2 on 127.0.0.1, for the tests and the demo (PagerDuty
//! itself cannot be reached here).
//!
//! It validates like the real endpoint what the console depends on: `POST /v2/enqueue`
//! with a JSON body; a 32-character `routing_key`; `event_action` one of trigger /
//! acknowledge / resolve; a `dedup_key` of at most 255 characters, required for
//! acknowledge and resolve; for a trigger a `payload` with `summary` (≤ 1024 characters),
//! `source` and `severity` (critical / error / warning / info). Invalid events get PagerDuty's
//! 400 body (`{"status":"invalid event","message":"Event object is invalid","errors":[…]}`),
//! valid ones a 202 `{"status":"success","message":"Event processed","dedup_key":…}` and are
//! recorded. Failures can be injected ([`FakePagerDuty::fail_next`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};

/// An event the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// `trigger`, `acknowledge` or `resolve`.
    pub event_action: String,
    /// The dedup key.
    pub dedup_key: String,
    /// The routing key it came with.
    pub routing_key: String,
    /// The whole body as sent.
    pub body: Value,
}

#[derive(Default)]
struct State {
    events: Vec<RecordedEvent>,
    failures: VecDeque<u16>,
    requests: usize,
    delay: std::time::Duration,
}

/// A running fake. Stops when dropped.
pub struct FakePagerDuty {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePagerDuty {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakePagerDuty {
    /// Starts the fake on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<FakePagerDuty> {
        Self::start_on(0).await
    }

    /// Starts the fake on `port` of 127.0.0.1 (0 = any free port).
    pub async fn start_on(port: u16) -> std::io::Result<FakePagerDuty> {
        let state = Arc::new(Mutex::new(State::default()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let st = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Ok(FakePagerDuty { addr, state, task })
    }

    /// The base URL to configure (`http://127.0.0.1:PORT`).
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `times` requests are answered with `status` (and not recorded as events).
    pub fn fail_next(&self, status: u16, times: usize) {
        let mut s = self.lock();
        for _ in 0..times {
            s.failures.push_back(status);
        }
    }

    /// Answers every request only after `delay` (a slow PagerDuty, so concurrent senders overlap).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.lock().delay = delay;
    }

    /// Every event accepted so far, in order.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.lock().events.clone()
    }

    /// Requests received so far (accepted, refused and failed).
    pub fn requests(&self) -> usize {
        self.lock().requests
    }
}

/// The checks PagerDuty makes on an event; the errors it would list.
pub fn validate(body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    match body.get("routing_key").and_then(Value::as_str) {
        None => errors.push("'routing_key' is missing or blank".to_string()),
        Some(k) if k.len() != 32 => {
            errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".into())
        }
        Some(_) => {}
    }
    let action = body.get("event_action").and_then(Value::as_str).unwrap_or("");
    if !matches!(action, "trigger" | "acknowledge" | "resolve") {
        errors.push("'event_action' is invalid (must be one of trigger, acknowledge or resolve)".into());
    }
    let dedup = body.get("dedup_key").and_then(Value::as_str);
    if dedup.is_some_and(|d| d.len() > 255) {
        errors.push("'dedup_key' is too long (at most 255 characters)".into());
    }
    if matches!(action, "acknowledge" | "resolve") && dedup.is_none_or(str::is_empty) {
        errors.push("'dedup_key' is missing or blank".into());
    }
    if action == "trigger" {
        let payload = body.get("payload");
        let field = |name: &str| payload.and_then(|p| p.get(name)).and_then(Value::as_str);
        match field("summary") {
            None | Some("") => errors.push("'payload.summary' is missing or blank".into()),
            Some(s) if s.chars().count() > 1024 => errors.push("'payload.summary' is too long".into()),
            Some(_) => {}
        }
        if field("source").is_none_or(str::is_empty) {
            errors.push("'payload.source' is missing or blank".into());
        }
        if !matches!(field("severity"), Some("critical" | "error" | "warning" | "info")) {
            errors.push("'payload.severity' is invalid (must be one of critical, error, warning or info)".into());
        }
    }
    errors
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let json_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = req.into_body().collect().await?.to_bytes();
    let delay = state.lock().unwrap_or_else(|e| e.into_inner()).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, body) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests += 1;
        if let Some(code) = s.failures.pop_front() {
            (code, json!({"status": "error", "message": "injected failure"}))
        } else if method != hyper::Method::POST || path != "/v2/enqueue" {
            (404, json!({"status": "not found", "message": "Not found"}))
        } else {
            let parsed: Option<Value> = if json_type { serde_json::from_slice(&bytes).ok() } else { None };
            match parsed {
                None => (
                    400,
                    json!({"status": "invalid event", "message": "Event object is invalid",
                                      "errors": ["the body is not a JSON object (Content-Type: application/json)"]}),
                ),
                Some(v) => {
                    let errors = validate(&v);
                    if errors.is_empty() {
                        let dedup = v["dedup_key"].as_str().unwrap_or_default().to_string();
                        s.events.push(RecordedEvent {
                            event_action: v["event_action"].as_str().unwrap_or_default().into(),
                            dedup_key: dedup.clone(),
                            routing_key: v["routing_key"].as_str().unwrap_or_default().into(),
                            body: v,
                        });
                        (202, json!({"status": "success", "message": "Event processed", "dedup_key": dedup}))
                    } else {
                        (
                            400,
                            json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
                        )
                    }
                }
            }
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap_or_default())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    Ok(response)
}
