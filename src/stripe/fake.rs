//! A fake Stripe that speaks Stripe's real HTTP API on 127.0.0.1, for the tests and
//! the demo (Stripe itself cannot run here).
//!
//! What it honours, because the console depends on it: `Authorization: Bearer
//! sk_test_…` (401 otherwise); form-encoded POST bodies; list objects `{object:
//! "list", data, has_more, url}` newest first with `limit`, `starting_after`,
//! `created[gte|gt|lte|lt]` and the usual filters (`customer`, `charge`, `payout`,
//! `type`, `types[]`, subscriptions' `status=all`, since Stripe hides canceled
//! subscriptions otherwise); `/v1/events`; error bodies `{error: {type, code,
//! message, param}}`; and `Idempotency-Key`: the same key with the same body replays
//! the first answer without a second effect, the same key with another body is a 400
//! `idempotency_error`. Failures can be injected (`fail_next`: a 429 with
//! `Retry-After`, a 500), and every request is recorded for the tests to inspect.
//!
//! Objects are kept as JSON exactly as Stripe sends them; every change made through
//! the API (or [`FakeStripe::put`]) emits the matching event with the object's new
//! state. The clock is fixed when [`FakeOptions::now`] is set (deterministic tests:
//! each change advances it by one second), the system clock otherwise.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Objects the fake starts with.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Stripe objects as JSON (each with `id`, `object` and `created`).
    pub objects: Vec<Value>,
    /// Which balance transactions each payout paid out (`GET /v1/balance_transactions?payout=`).
    pub payout_transactions: Vec<(String, Vec<String>)>,
}

/// How the fake runs.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// The secret key it accepts.
    pub secret_key: String,
    /// A fixed clock (Unix seconds) for deterministic runs; `None` = system clock.
    pub now: Option<i64>,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions { secret_key: "sk_test_penguin_fake".into(), now: None }
    }
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// GET / POST / DELETE.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    key: String,
    fixed_now: Option<i64>,
    ticks: i64,
    seq: u64,
    /// collection → id → object.
    objects: HashMap<String, BTreeMap<String, Value>>,
    /// id → insertion order (ties of `created` list newest-inserted first, like Stripe).
    order: HashMap<String, u64>,
    payout_txns: HashMap<String, Vec<String>>,
    idempotency: HashMap<String, (String, u16, Vec<u8>)>,
    failures: VecDeque<(u16, Option<u64>)>,
    /// Answers to lose: the change is made and saved under its key, then a 500 is sent.
    lose_answers: usize,
    requests: Vec<RecordedRequest>,
    /// `http://127.0.0.1:PORT`, for the invoices' `invoice_pdf` links.
    base: String,
}

fn collection_of(object: &str) -> String {
    match object {
        "customer" => "customers",
        "subscription" => "subscriptions",
        "invoice" => "invoices",
        "charge" => "charges",
        "payment_intent" => "payment_intents",
        "refund" => "refunds",
        "dispute" => "disputes",
        "balance_transaction" => "balance_transactions",
        "payout" => "payouts",
        "event" => "events",
        "coupon" => "coupons",
        "price" => "prices",
        "invoiceitem" => "invoiceitems",
        other => other,
    }
    .to_string()
}

impl State {
    fn now(&self) -> i64 {
        match self.fixed_now {
            Some(t) => t + self.ticks,
            None => chrono::Utc::now().timestamp(),
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}_fake{:010}", self.seq)
    }

    fn insert(&mut self, obj: Value) {
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        let coll = collection_of(obj["object"].as_str().unwrap_or_default());
        self.seq += 1;
        self.order.entry(id.clone()).or_insert(self.seq);
        self.objects.entry(coll).or_default().insert(id, obj);
    }

    fn get(&self, id: &str) -> Option<&Value> {
        self.objects.values().find_map(|m| m.get(id))
    }

    /// Stores `obj` and emits `event_type` carrying its new state.
    fn change(&mut self, obj: Value, event_type: &str) {
        self.insert(obj.clone());
        let id = self.next_id("evt");
        let created = self.now();
        self.insert(json!({"id": id, "object": "event", "type": event_type, "created": created,
                           "data": {"object": obj}, "livemode": false, "api_version": "2024-06-20"}));
        if self.fixed_now.is_some() {
            self.ticks += 1;
        }
    }
}

/// A running fake Stripe. Stops when dropped.
pub struct FakeStripe {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeStripe {
    /// Starts the fake on a free port of 127.0.0.1.
    pub async fn start(data: Dataset, options: FakeOptions) -> std::io::Result<FakeStripe> {
        let mut state = State { key: options.secret_key, fixed_now: options.now, ..Default::default() };
        for obj in data.objects {
            state.insert(obj);
        }
        state.payout_txns = data.payout_transactions.into_iter().collect();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        state.base = format!("http://{addr}");
        if let Some(invoices) = state.objects.get_mut("invoices") {
            for (id, inv) in invoices.iter_mut() {
                if inv["status"].as_str() != Some("draft") && inv["invoice_pdf"].is_null() {
                    inv["invoice_pdf"] = json!(format!("http://{addr}/files/invoices/{id}.pdf"));
                }
            }
        }
        let state = Arc::new(Mutex::new(state));
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
        Ok(FakeStripe { addr, state, task })
    }

    /// The base URL to give the client (`http://127.0.0.1:PORT`).
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The secret key the fake accepts.
    pub fn secret_key(&self) -> String {
        self.lock().key.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic in a handler cannot leave the maps half-written in a way that matters
        // to a test double; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `obj` as if it changed inside Stripe (a dashboard edit, a renewal) and
    /// emits `event_type` with its new state.
    pub fn put(&self, obj: Value, event_type: &str) {
        self.lock().change(obj, event_type);
    }

    /// Stores `obj` without an event (balance transactions have none in Stripe).
    pub fn put_quietly(&self, obj: Value) {
        self.lock().insert(obj);
    }

    /// Records which balance transactions `payout` paid out.
    pub fn link_payout(&self, payout: &str, transactions: &[&str]) {
        self.lock().payout_txns.insert(payout.into(), transactions.iter().map(|s| s.to_string()).collect());
    }

    /// The current state of an object.
    pub fn object(&self, id: &str) -> Option<Value> {
        self.lock().get(id).cloned()
    }

    /// The next `times` requests fail with `status` (and `Retry-After` for a 429).
    pub fn fail_next(&self, status: u16, retry_after: Option<u64>, times: usize) {
        let mut s = self.lock();
        for _ in 0..times {
            s.failures.push_back((status, retry_after));
        }
    }

    /// The next `times` POSTs take effect but their answer is "lost" (a 500 is sent
    /// instead), like a connection dropped after Stripe acted.
    pub fn lose_next_answers(&self, times: usize) {
        self.lock().lose_answers += times;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many objects of a collection (`charges`, `refunds`, `events`, …) exist.
    pub fn count(&self, collection: &str) -> usize {
        self.lock().objects.get(collection).map(|m| m.len()).unwrap_or(0)
    }
}

fn reply(status: u16, body: &Value) -> (u16, Vec<u8>) {
    (status, serde_json::to_vec(body).unwrap_or_default())
}

fn error(status: u16, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> (u16, Vec<u8>) {
    reply(status, &json!({"error": {"type": kind, "code": code, "message": message, "param": param}}))
}

fn not_found(id: &str) -> (u16, Vec<u8>) {
    error(404, "invalid_request_error", Some("resource_missing"), &format!("No such object: '{id}'"), Some("id"))
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().as_str().to_string();
    let uri = req.uri().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> =
        req.uri().query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let auth = header("authorization");
    let idem = header("idempotency-key");
    let body = req.into_body().collect().await?.to_bytes();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();

    // Invoice PDFs are files behind unguessable links, fetched without the API key.
    if let Some(id) = path.strip_prefix("/files/invoices/").and_then(|f| f.strip_suffix(".pdf")) {
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        let (status, kind, bytes) = match s.objects.get("invoices").and_then(|m| m.get(id)) {
            Some(inv) if inv["status"].as_str() != Some("draft") => (200, "application/pdf", invoice_pdf(inv)),
            _ => (404, "text/plain", b"Not found".to_vec()),
        };
        let resp = Response::builder().status(status).header("content-type", kind);
        return Ok(resp.body(Full::new(Bytes::from(bytes))).unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))));
    }

    let (status, bytes, retry_after) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let (status, bytes, retry_after) = if let Some((status, retry)) = s.failures.pop_front() {
            let (st, b) = if status == 429 {
                error(
                    429,
                    "invalid_request_error",
                    Some("rate_limit"),
                    "Too many requests hit the API too quickly.",
                    None,
                )
            } else {
                error(status, "api_error", None, "Something went wrong on Stripe's end.", None)
            };
            (st, b, retry)
        } else if auth.as_deref() != Some(&format!("Bearer {}", s.key)) {
            let (st, b) = error(
                401,
                "invalid_request_error",
                None,
                "Invalid API Key provided. Authenticate with `Authorization: Bearer sk_test_…`.",
                None,
            );
            (st, b, None)
        } else if method == "GET" {
            let (st, b) = get(&s, &path, &query);
            (st, b, None)
        } else {
            let (st, b) = match idem.clone() {
                None => error(
                    400,
                    "invalid_request_error",
                    Some("idempotency_key_missing"),
                    "The console's fake requires an Idempotency-Key on every POST.",
                    None,
                ),
                Some(key) => {
                    let fingerprint = format!("{method} {path} {}", hex::encode(Sha256::digest(&body)));
                    match s.idempotency.get(&key) {
                        Some((fp, st, b)) if *fp == fingerprint => (*st, b.clone()),
                        Some(_) => error(
                            400,
                            "idempotency_error",
                            None,
                            &format!(
                                "Keys for idempotent requests can only be used with the same parameters they were \
                                 first used with. Try using a key other than '{key}' if you meant to execute a \
                                 different request."
                            ),
                            None,
                        ),
                        None => {
                            let (st, b) = write(&mut s, &method, &path, &form);
                            // Stripe does not save answers to requests that failed validation.
                            if st != 400 {
                                s.idempotency.insert(key, (fingerprint, st, b.clone()));
                            }
                            if s.lose_answers > 0 {
                                s.lose_answers -= 1;
                                error(500, "api_error", None, "The connection was lost.", None)
                            } else {
                                (st, b)
                            }
                        }
                    }
                }
            };
            (st, b, None)
        };
        s.requests.push(RecordedRequest { method, uri, idempotency_key: idem, status });
        (status, bytes, retry_after)
    };
    let mut resp = Response::builder().status(status).header("content-type", "application/json");
    if let Some(secs) = retry_after {
        resp = resp.header("retry-after", secs.to_string());
    }
    Ok(resp.body(Full::new(Bytes::from(bytes))).unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn int_param(q: &[(String, String)], name: &str) -> Option<i64> {
    param(q, name).and_then(|v| v.parse().ok())
}

fn get(s: &State, path: &str, q: &[(String, String)]) -> (u16, Vec<u8>) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "balance", "history"] => list(s, "balance_transactions", path, q),
        ["v1", "invoices", id, "lines"] => match s.objects.get("invoices").and_then(|m| m.get(*id)) {
            Some(inv) => {
                let lines = inv["lines"]["data"].as_array().cloned().unwrap_or_default();
                page(lines, path, q)
            }
            None => not_found(id),
        },
        ["v1", coll] => list(s, coll, path, q),
        ["v1", coll, id] => match s.objects.get(*coll).and_then(|m| m.get(*id)) {
            Some(obj) => reply(200, obj),
            None => not_found(id),
        },
        _ => error(404, "invalid_request_error", None, &format!("Unrecognized request URL (GET: {path})."), None),
    }
}

fn list(s: &State, coll: &str, path: &str, q: &[(String, String)]) -> (u16, Vec<u8>) {
    let Some(all) = s.objects.get(coll) else {
        return page(Vec::new(), path, q);
    };
    let mut objs: Vec<&Value> = all.values().collect();
    objs.sort_by_key(|o| {
        let id = o["id"].as_str().unwrap_or_default();
        std::cmp::Reverse((o["created"].as_i64().unwrap_or(0), s.order.get(id).copied().unwrap_or(0)))
    });
    let payout_set: Option<Vec<String>> = param(q, "payout").map(|p| s.payout_txns.get(p).cloned().unwrap_or_default());
    let types: Vec<&str> = q.iter().filter(|(k, _)| k == "types[]" || k == "type").map(|(_, v)| v.as_str()).collect();
    let status = param(q, "status");
    let filtered: Vec<Value> = objs
        .into_iter()
        .filter(|o| {
            let created = o["created"].as_i64().unwrap_or(0);
            let ok_created = int_param(q, "created[gte]").is_none_or(|t| created >= t)
                && int_param(q, "created[gt]").is_none_or(|t| created > t)
                && int_param(q, "created[lte]").is_none_or(|t| created <= t)
                && int_param(q, "created[lt]").is_none_or(|t| created < t);
            let field_eq = |field: &str| param(q, field).is_none_or(|v| o[field].as_str() == Some(v));
            let ok_status = match (coll, status) {
                ("subscriptions", None) => o["status"].as_str() != Some("canceled"),
                ("subscriptions", Some("all")) => true,
                (_, Some(st)) => o["status"].as_str() == Some(st),
                (_, None) => true,
            };
            let ok_type = coll != "events" || types.is_empty() || types.contains(&o["type"].as_str().unwrap_or(""));
            let ok_payout = payout_set.as_ref().is_none_or(|ids| ids.iter().any(|i| o["id"].as_str() == Some(i)));
            ok_created
                && ok_status
                && ok_type
                && ok_payout
                && field_eq("customer")
                && field_eq("charge")
                && field_eq("payment_intent")
                && field_eq("subscription")
        })
        .cloned()
        .collect();
    page(filtered, path, q)
}

fn page(objs: Vec<Value>, path: &str, q: &[(String, String)]) -> (u16, Vec<u8>) {
    let limit = int_param(q, "limit").unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return error(
            400,
            "invalid_request_error",
            Some("parameter_invalid_integer"),
            "This value must be greater than or equal to 1 and less than or equal to 100.",
            Some("limit"),
        );
    }
    let start = match param(q, "starting_after") {
        Some(after) => match objs.iter().position(|o| o["id"].as_str() == Some(after)) {
            Some(i) => i + 1,
            None => return not_found(after),
        },
        None => 0,
    };
    let end = (start + limit as usize).min(objs.len());
    let data: Vec<Value> = objs[start.min(end)..end].to_vec();
    reply(200, &json!({"object": "list", "data": data, "has_more": end < objs.len(), "url": path}))
}

/// POST and DELETE: the changes the console's money actions make.
fn write(s: &mut State, method: &str, path: &str, form: &[(String, String)]) -> (u16, Vec<u8>) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["v1", "refunds"]) => create_refund(s, form),
        ("POST", ["v1", "invoices", id, "send"]) => match s.get(id).cloned() {
            Some(inv) => {
                s.change(inv.clone(), "invoice.sent");
                reply(200, &inv)
            }
            None => not_found(id),
        },
        ("POST", ["v1", "invoices", id, "pay"]) => pay_invoice(s, id),
        ("POST", ["v1", "invoices"]) => create_invoice(s, form),
        ("POST", ["v1", "invoiceitems"]) => add_invoice_item(s, form),
        ("POST", ["v1", "invoices", id, "finalize"]) => finalize_invoice(s, id),
        ("DELETE", ["v1", "invoices", id]) => match s.get(id).cloned() {
            Some(inv) if inv["status"].as_str() == Some("draft") => {
                s.objects.get_mut("invoices").map(|m| m.remove(*id));
                s.change(json!({"id": id, "object": "invoice", "deleted": true}), "invoice.deleted");
                reply(200, &json!({"id": id, "object": "invoice", "deleted": true}))
            }
            Some(_) => error(400, "invalid_request_error", None, "You can only delete draft invoices.", None),
            None => not_found(id),
        },
        ("POST", ["v1", "subscriptions", id]) => update_subscription(s, id, form),
        ("DELETE", ["v1", "subscriptions", id]) => match s.get(id).cloned() {
            Some(mut sub) => {
                let now = s.now();
                sub["status"] = json!("canceled");
                sub["canceled_at"] = json!(now);
                sub["ended_at"] = json!(now);
                s.change(sub.clone(), "customer.subscription.deleted");
                reply(200, &sub)
            }
            None => not_found(id),
        },
        _ => error(404, "invalid_request_error", None, &format!("Unrecognized request URL ({method}: {path})."), None),
    }
}

fn create_refund(s: &mut State, form: &[(String, String)]) -> (u16, Vec<u8>) {
    let Some(charge_id) = param(form, "charge").map(str::to_string) else {
        return error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: charge.",
            Some("charge"),
        );
    };
    let Some(charge) = s.get(&charge_id).cloned() else { return not_found(&charge_id) };
    let amount = charge["amount"].as_i64().unwrap_or(0);
    let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
    let remaining = amount - refunded;
    let wanted = match param(form, "amount") {
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => n,
            _ => {
                return error(
                    400,
                    "invalid_request_error",
                    Some("parameter_invalid_integer"),
                    "Invalid integer.",
                    Some("amount"),
                )
            }
        },
        None => remaining,
    };
    if charge["status"].as_str() != Some("succeeded") {
        return error(
            400,
            "invalid_request_error",
            Some("charge_not_refundable"),
            "This charge cannot be refunded.",
            None,
        );
    }
    if remaining <= 0 {
        return error(
            400,
            "invalid_request_error",
            Some("charge_already_refunded"),
            &format!("Charge {charge_id} has already been refunded."),
            None,
        );
    }
    if wanted > remaining {
        return error(
            400,
            "invalid_request_error",
            Some("amount_too_large"),
            &format!("Refund amount ({wanted}) is greater than unrefunded amount on charge ({remaining})"),
            Some("amount"),
        );
    }
    let now = s.now();
    let currency = charge["currency"].clone();
    let re_id = s.next_id("re");
    let txn_id = s.next_id("txn");
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')).map(|k| (k.to_string(), json!(v)))
        })
        .collect();
    let refund = json!({"id": re_id, "object": "refund", "amount": wanted, "currency": currency, "charge": charge_id,
        "payment_intent": charge["payment_intent"], "status": "succeeded", "reason": param(form, "reason"),
        "balance_transaction": txn_id, "metadata": metadata, "created": now});
    s.insert(json!({"id": txn_id, "object": "balance_transaction", "type": "refund", "source": re_id,
        "amount": -wanted, "fee": 0, "net": -wanted, "currency": currency, "status": "available",
        "available_on": now, "created": now}));
    let mut charge = charge;
    charge["amount_refunded"] = json!(refunded + wanted);
    charge["refunded"] = json!(refunded + wanted == amount);
    s.change(refund.clone(), "refund.created");
    s.change(charge, "charge.refunded");
    reply(200, &refund)
}

/// `POST /v1/invoices`: a draft invoice for a manual (custom) deal, sent by email.
fn create_invoice(s: &mut State, form: &[(String, String)]) -> (u16, Vec<u8>) {
    let Some(customer) = param(form, "customer").map(str::to_string) else {
        return error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: customer.",
            None,
        );
    };
    if s.get(&customer).is_none() {
        return error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such customer: '{customer}'"),
            None,
        );
    }
    let id = s.next_id("in");
    let now = s.now();
    let inv = json!({"id": id, "object": "invoice", "number": null, "customer": customer, "subscription": null,
        "status": "draft", "currency": param(form, "currency").unwrap_or("usd"), "subtotal": 0, "tax": 0, "total": 0,
        "amount_due": 0, "amount_paid": 0, "amount_remaining": 0, "attempt_count": 0, "next_payment_attempt": null,
        "due_date": int_param(form, "due_date"), "created": now, "period_start": now, "period_end": now,
        "status_transitions": {"paid_at": null}, "charge": null, "payment_intent": null, "total_discount_amounts": [],
        "collection_method": param(form, "collection_method").unwrap_or("send_invoice"), "invoice_pdf": null,
        "description": param(form, "description"),
        "lines": {"object": "list", "has_more": false, "url": format!("/v1/invoices/{id}/lines"), "data": []}});
    s.change(inv.clone(), "invoice.created");
    reply(200, &inv)
}

/// `POST /v1/invoiceitems` with `invoice`: a line added to a draft invoice.
fn add_invoice_item(s: &mut State, form: &[(String, String)]) -> (u16, Vec<u8>) {
    let Some(mut inv) = param(form, "invoice").and_then(|id| s.get(id).cloned()) else {
        return error(400, "invalid_request_error", Some("resource_missing"), "No such invoice.", None);
    };
    if inv["status"].as_str() != Some("draft") {
        return error(400, "invalid_request_error", None, "Items can only be added to draft invoices.", None);
    }
    let (Some(unit), quantity) = (int_param(form, "unit_amount"), int_param(form, "quantity").unwrap_or(1)) else {
        return error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: unit_amount.",
            None,
        );
    };
    let id = s.next_id("ii");
    let amount = unit * quantity;
    let line = json!({"id": format!("il_{id}"), "object": "line_item", "invoice_item": id,
        "description": param(form, "description"), "amount": amount, "currency": inv["currency"], "quantity": quantity,
        "period": {"start": inv["created"], "end": inv["created"]}, "proration": false, "price": null,
        "discount_amounts": [], "tax_amounts": []});
    if let Some(lines) = inv["lines"]["data"].as_array_mut() {
        lines.push(line);
    }
    for key in ["subtotal", "total", "amount_due", "amount_remaining"] {
        inv[key] = json!(inv[key].as_i64().unwrap_or(0) + amount);
    }
    s.insert(inv);
    let item = json!({"id": id, "object": "invoiceitem", "invoice": param(form, "invoice"), "amount": amount,
        "quantity": quantity, "unit_amount": unit, "description": param(form, "description")});
    reply(200, &item)
}

/// `POST /v1/invoices/{id}/finalize`: the draft gets its number and becomes open.
fn finalize_invoice(s: &mut State, id: &str) -> (u16, Vec<u8>) {
    let Some(mut inv) = s.get(id).cloned() else { return not_found(id) };
    if inv["status"].as_str() != Some("draft") {
        return error(400, "invalid_request_error", None, "This invoice is already finalized.", None);
    }
    let n = s.objects.get("invoices").map_or(0, |m| m.len());
    inv["status"] = json!("open");
    inv["number"] = json!(format!("PM-M{n:07}"));
    inv["invoice_pdf"] = json!(format!("{}/files/invoices/{id}.pdf", s.base));
    s.change(inv.clone(), "invoice.finalized");
    reply(200, &inv)
}

/// A one-page PDF naming the invoice, its lines and total (enough for a viewer to open).
fn invoice_pdf(inv: &Value) -> Vec<u8> {
    let esc = |t: &str| t.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
    let currency = inv["currency"].as_str().unwrap_or("usd");
    let mut text = vec![format!("Invoice {}", inv["number"].as_str().unwrap_or("")), String::new()];
    for line in inv["lines"]["data"].as_array().into_iter().flatten() {
        text.push(format!(
            "{}  x{}  {}",
            line["description"].as_str().unwrap_or("-"),
            line["quantity"].as_i64().unwrap_or(1),
            crate::finance::major_units(line["amount"].as_i64().unwrap_or(0), currency)
        ));
    }
    text.push(format!(
        "Total {} {}",
        crate::finance::major_units(inv["total"].as_i64().unwrap_or(0), currency),
        currency.to_uppercase()
    ));
    let mut stream = String::from("BT /F1 12 Tf 56 780 Td 16 TL\n");
    for t in &text {
        stream.push_str(&format!("({}) Tj T*\n", esc(t)));
    }
    stream.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for o in offsets {
        pdf.push_str(&format!("{o:010} 00000 n \n"));
    }
    pdf.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    pdf.into_bytes()
}

fn pay_invoice(s: &mut State, id: &str) -> (u16, Vec<u8>) {
    let Some(mut inv) = s.get(id).cloned() else { return not_found(id) };
    if inv["status"].as_str() != Some("open") {
        return error(400, "invalid_request_error", Some("invoice_not_open"), "Invoice is not open.", None);
    }
    let now = s.now();
    let amount = inv["amount_remaining"].as_i64().unwrap_or(0);
    let ch_id = s.next_id("ch");
    let txn_id = s.next_id("txn");
    let card =
        s.get(inv["charge"].as_str().unwrap_or("")).map(|c| c["payment_method_details"].clone()).unwrap_or(Value::Null);
    let charge = json!({"id": ch_id, "object": "charge", "amount": amount, "amount_refunded": 0, "amount_captured": amount,
        "currency": inv["currency"], "customer": inv["customer"], "invoice": id, "payment_intent": inv["payment_intent"],
        "status": "succeeded", "paid": true, "refunded": false, "disputed": false, "balance_transaction": txn_id,
        "payment_method_details": card, "created": now});
    s.insert(json!({"id": txn_id, "object": "balance_transaction", "type": "charge", "source": ch_id,
        "amount": amount, "fee": 0, "net": amount, "currency": inv["currency"], "status": "pending",
        "available_on": now + 2 * 86400, "created": now}));
    s.change(charge, "charge.succeeded");
    inv["status"] = json!("paid");
    inv["amount_paid"] = json!(inv["amount_paid"].as_i64().unwrap_or(0) + amount);
    inv["amount_remaining"] = json!(0);
    inv["attempt_count"] = json!(inv["attempt_count"].as_i64().unwrap_or(0) + 1);
    inv["next_payment_attempt"] = Value::Null;
    inv["charge"] = json!(ch_id);
    inv["status_transitions"]["paid_at"] = json!(now);
    s.change(inv.clone(), "invoice.paid");
    reply(200, &inv)
}

/// `POST /v1/subscriptions/{id}`: cancel at period end, pause collection, apply a
/// coupon (`coupon` or `discounts[0][coupon]`), change the price of an item.
fn update_subscription(s: &mut State, id: &str, form: &[(String, String)]) -> (u16, Vec<u8>) {
    let Some(mut sub) = s.get(id).cloned() else { return not_found(id) };
    if sub["status"].as_str() == Some("canceled") {
        return error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            "A canceled subscription can only update its metadata.",
            None,
        );
    }
    if let Some(v) = param(form, "cancel_at_period_end") {
        sub["cancel_at_period_end"] = json!(v == "true");
    }
    if let Some(b) = param(form, "pause_collection[behavior]") {
        sub["pause_collection"] = json!({"behavior": b, "resumes_at": param(form, "pause_collection[resumes_at]").and_then(|v| v.parse::<i64>().ok())});
    } else if param(form, "pause_collection").is_some() {
        sub["pause_collection"] = Value::Null;
    }
    if let Some(coupon) = param(form, "coupon").or_else(|| param(form, "discounts[0][coupon]")) {
        match s.get(coupon).cloned() {
            Some(c) => sub["discount"] = json!({"coupon": c, "end": null}),
            None => {
                return error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such coupon: '{coupon}'"),
                    Some("coupon"),
                )
            }
        }
    }
    if let Some(price_id) = param(form, "items[0][price]") {
        let Some(price) = s.get(price_id).cloned() else {
            return error(
                400,
                "invalid_request_error",
                Some("resource_missing"),
                &format!("No such price: '{price_id}'"),
                Some("items[0][price]"),
            );
        };
        let item_id = param(form, "items[0][id]").map(str::to_string);
        let items = sub["items"]["data"].as_array_mut();
        match (items, item_id) {
            (Some(items), Some(item_id)) => match items.iter_mut().find(|i| i["id"].as_str() == Some(&item_id)) {
                Some(item) => item["price"] = price,
                None => {
                    return error(
                        400,
                        "invalid_request_error",
                        Some("resource_missing"),
                        &format!("No such subscription item: '{item_id}'"),
                        Some("items[0][id]"),
                    )
                }
            },
            _ => {
                return error(
                    400,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: items[0][id].",
                    Some("items[0][id]"),
                )
            }
        }
    }
    s.change(sub.clone(), "customer.subscription.updated");
    reply(200, &sub)
}

impl Dataset {
    /// A Stripe account mirroring a platform's OLTP database (the demo's): one
    /// customer per `tenant_config.stripe_customer_id`, its subscriptions (yearly when
    /// the period is longer than 40 days) at the plan's price, and for the `recent`
    /// most recent payments with a `stripe_payment_intent_id` an invoice with one line,
    /// a charge (with its balance transaction when paid, a refund when refunded) and a
    /// weekly payout of what was paid. Deterministic: ids derive from the platform's.
    /// Payments on the platform without a Stripe charge, and the reverse, only appear
    /// when the data has them, which is what reconciliation is for.
    pub async fn from_platform(oltp: &sqlx::PgPool, recent: i64) -> Result<Dataset, sqlx::Error> {
        use sqlx::Row;
        let mut objects = Vec::new();
        let customers = sqlx::query(
            "SELECT c.stripe_customer_id, c.billing_email, t.name, extract(epoch FROM t.created)::int8 AS created
             FROM tenant_config c JOIN tenants t ON t.id = c.tenant_id WHERE c.stripe_customer_id IS NOT NULL",
        )
        .fetch_all(oltp)
        .await?;
        for r in &customers {
            objects.push(
                json!({"id": r.get::<String, _>(0), "object": "customer", "email": r.get::<Option<String>, _>(1),
                "name": r.get::<Option<String>, _>(2), "created": r.get::<Option<i64>, _>(3).unwrap_or(0),
                "currency": "usd", "delinquent": false}),
            );
        }
        let price = |slug: &str, name: &str, amount: i64, yearly: bool| {
            json!({"id": format!("price_{slug}_{}", if yearly { "y" } else { "m" }), "object": "price",
                   "product": format!("prod_{slug}"), "nickname": name, "unit_amount": amount, "currency": "usd",
                   "recurring": {"interval": if yearly { "year" } else { "month" }, "interval_count": 1}})
        };
        let subs = sqlx::query(
            "SELECT s.stripe_subscription_id, c.stripe_customer_id, s.status, p.slug, p.name,
                    COALESCE(p.price_monthly, 0)::int8, COALESCE(p.price_yearly, 0)::int8,
                    extract(epoch FROM s.created)::int8, extract(epoch FROM s.current_period_start)::int8,
                    extract(epoch FROM s.current_period_end)::int8, COALESCE(s.cancel_at_period_end, false),
                    extract(epoch FROM s.cancel_date)::int8
             FROM subscriptions s JOIN tenant_config c ON c.tenant_id = s.tenant_id JOIN plans p ON p.id = s.plan_id
             WHERE s.stripe_subscription_id IS NOT NULL AND s.stripe_subscription_id <> ''
               AND c.stripe_customer_id IS NOT NULL",
        )
        .fetch_all(oltp)
        .await?;
        let mut sub_price: HashMap<String, Value> = HashMap::new();
        for r in &subs {
            let id: String = r.get(0);
            let (start, end): (Option<i64>, Option<i64>) = (r.get(8), r.get(9));
            let yearly = matches!((start, end), (Some(s), Some(e)) if e - s > 40 * 86_400);
            let slug: String = r.get(3);
            let pr = price(&slug, &r.get::<String, _>(4), if yearly { r.get(6) } else { r.get(5) }, yearly);
            sub_price.insert(id.clone(), pr.clone());
            let status: Option<String> = r.get(2);
            objects.push(json!({"id": id, "object": "subscription", "customer": r.get::<String, _>(1),
                "status": status.unwrap_or_else(|| "active".into()), "created": r.get::<Option<i64>, _>(7).unwrap_or(0),
                "current_period_start": start, "current_period_end": end,
                "cancel_at_period_end": r.get::<bool, _>(10), "canceled_at": r.get::<Option<i64>, _>(11),
                "ended_at": null, "trial_end": null, "pause_collection": null, "discount": null,
                "items": {"object": "list", "has_more": false, "url": "/v1/subscription_items",
                          "data": [{"id": format!("si_{}", id.trim_start_matches("sub_")), "object": "subscription_item",
                                    "price": pr, "quantity": 1}]}}));
        }
        let payments = sqlx::query(
            "SELECT p.stripe_payment_intent_id, c.stripe_customer_id, s.stripe_subscription_id,
                    round(p.amount * 100)::int8, lower(COALESCE(p.currency, 'USD')), p.status, p.description,
                    extract(epoch FROM COALESCE(p.processed, p.created))::int8,
                    extract(epoch FROM p.billing_period_start)::int8, extract(epoch FROM p.billing_period_end)::int8
             FROM payments p JOIN subscriptions s ON s.id = p.subscription_id
             JOIN tenant_config c ON c.tenant_id = s.tenant_id
             WHERE p.stripe_payment_intent_id IS NOT NULL AND c.stripe_customer_id IS NOT NULL
             ORDER BY p.created DESC LIMIT $1",
        )
        .bind(recent)
        .fetch_all(oltp)
        .await?;
        let mut weekly: BTreeMap<(i64, String), (i64, Vec<String>)> = BTreeMap::new();
        for (n, r) in payments.iter().enumerate() {
            let pi: String = r.get(0);
            let body = pi.trim_start_matches("pi_").to_string();
            let (customer, sub): (String, Option<String>) = (r.get(1), r.get(2));
            let (amount, currency, status): (i64, String, String) = (r.get(3), r.get(4), r.get(5));
            let created: i64 = r.get::<Option<i64>, _>(7).unwrap_or(0);
            let (ch, inv, txn) = (format!("ch_{body}"), format!("in_{body}"), format!("txn_{body}"));
            let paid = status != "failed";
            let recurring = sub.as_ref().and_then(|s| sub_price.get(s)).cloned();
            let description: Option<String> = r.get(6);
            let line_price = match &recurring {
                Some(p) if description.as_deref().is_some_and(|d| d.contains("Plan")) => p.clone(),
                _ => Value::Null,
            };
            let (period_start, period_end): (Option<i64>, Option<i64>) = (r.get(8), r.get(9));
            let line = json!({"id": format!("il_{body}"), "object": "line_item", "description": description,
                "amount": amount, "currency": currency, "quantity": 1,
                "period": {"start": period_start, "end": period_end},
                "proration": false, "price": line_price, "discount_amounts": [], "tax_amounts": []});
            let paid_at = if paid { json!(created) } else { Value::Null };
            let next_attempt = if paid { Value::Null } else { json!(created + 3 * 86_400) };
            objects.push(json!({"id": inv, "object": "invoice", "number": format!("PM-{:08}", payments.len() - n),
                "customer": customer, "subscription": sub, "status": if paid { "paid" } else { "open" },
                "currency": currency, "subtotal": amount, "tax": 0, "total": amount, "amount_due": amount,
                "amount_paid": if paid { amount } else { 0 }, "amount_remaining": if paid { 0 } else { amount },
                "attempt_count": 1, "next_payment_attempt": next_attempt,
                "due_date": null, "created": created, "period_start": period_start,
                "period_end": period_end, "status_transitions": {"paid_at": paid_at},
                "charge": ch, "payment_intent": pi, "total_discount_amounts": [], "collection_method": "charge_automatically",
                "lines": {"object": "list", "has_more": false, "url": format!("/v1/invoices/{inv}/lines"),
                          "data": [line]}}));
            let brand = ["visa", "mastercard", "amex"][n % 3];
            let refunded = if status == "refunded" { amount } else { 0 };
            objects.push(
                json!({"id": ch, "object": "charge", "customer": customer, "invoice": inv, "payment_intent": pi,
                "amount": amount, "amount_captured": if paid { amount } else { 0 }, "amount_refunded": refunded,
                "currency": currency, "status": if paid { "succeeded" } else { "failed" }, "paid": paid,
                "refunded": refunded > 0, "disputed": false,
                "failure_code": if paid { Value::Null } else { json!("card_declined") },
                "failure_message": if paid { Value::Null } else { json!(description) },
                "payment_method_details": {"type": "card", "card": {"brand": brand,
                                                                     "last4": format!("{:04}", (n * 7919) % 10_000)}},
                "balance_transaction": if paid { json!(txn) } else { Value::Null },
                "billing_details": {"email": null}, "created": created}),
            );
            if paid {
                objects.push(json!({"id": txn, "object": "balance_transaction", "type": "charge", "source": ch,
                    "amount": amount, "fee": 0, "net": amount, "currency": currency, "status": "available",
                    "available_on": created + 2 * 86_400, "created": created}));
                let week = created.div_euclid(7 * 86_400);
                let e = weekly.entry((week, currency.clone())).or_default();
                e.0 += amount;
                e.1.push(txn.clone());
            }
            if refunded > 0 {
                let (re, retxn) = (format!("re_{body}"), format!("txn_re_{body}"));
                objects.push(
                    json!({"id": re, "object": "refund", "charge": ch, "payment_intent": pi, "amount": refunded,
                    "currency": currency, "status": "succeeded", "reason": "requested_by_customer",
                    "balance_transaction": retxn, "metadata": {}, "created": created + 86_400}),
                );
                objects.push(json!({"id": retxn, "object": "balance_transaction", "type": "refund", "source": re,
                    "amount": -refunded, "fee": 0, "net": -refunded, "currency": currency, "status": "available",
                    "available_on": created + 86_400, "created": created + 86_400}));
            }
        }
        let mut payout_transactions = Vec::new();
        for ((week, currency), (total, txns)) in weekly {
            let po = format!("po_demo_{currency}_{week}");
            let created = (week + 1) * 7 * 86_400;
            objects.push(json!({"id": po, "object": "payout", "amount": total, "currency": currency, "status": "paid",
                "arrival_date": created + 2 * 86_400, "created": created}));
            payout_transactions.push((po, txns));
        }
        Ok(Dataset { objects, payout_transactions })
    }
}
