//! The Stripe client against the fake (paging, retries, idempotency) and the Stripe →
//! cache sync (full, incremental by events, cancel, crash safety). Expected values come
//! from `finance_common::dataset`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod finance_common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Platform;
use finance_common::{client, fake, t};
use penguin_admin::stripe::client::params;
use penguin_admin::stripe::fake::{Dataset, FakeOptions, FakeStripe};
use penguin_admin::stripe::sync::{self as stripe_sync, StripeSyncError};
use penguin_admin::stripe::types::{Charge, List, Refund};
use penguin_admin::stripe::{Stripe, StripeConfig, StripeError};
use penguin_admin::sync::{Cancel, Progress};
use serde_json::json;

fn many_charges(n: usize) -> Dataset {
    let objects = (0..n)
        .map(|i| {
            finance_common::charge(
                &format!("ch_{i:04}"),
                "cus_x",
                None,
                100 + i as i64,
                "usd",
                "succeeded",
                0,
                false,
                None,
                "visa",
                "4242",
                t("2026-01-01 00:00") + i as i64 * 60,
            )
        })
        .collect();
    Dataset { objects, payout_transactions: vec![] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_every_page_with_limit_100_and_starting_after() {
    let fake = FakeStripe::start(many_charges(250), FakeOptions::default()).await.unwrap();
    let stripe = client(&fake);
    let mut pages = Vec::new();
    let all: Vec<Charge> = stripe
        .list_all(
            "/v1/charges",
            &[],
            |c: &Charge| &c.id,
            |p| {
                pages.push(p.len());
                true
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pages, vec![100, 100, 50]);
    assert_eq!(all.len(), 250);
    assert_eq!(all[0].id, "ch_0249", "newest first");
    assert_eq!(all[249].id, "ch_0000");
    let uris: Vec<String> = fake.requests().into_iter().map(|r| r.uri).collect();
    assert!(uris[0].contains("limit=100") && !uris[0].contains("starting_after"), "{uris:?}");
    assert!(uris[1].contains("starting_after=ch_0150"), "{uris:?}");
    assert!(uris[2].contains("starting_after=ch_0050"), "{uris:?}");

    // created filters narrow the list: [00:00 + 10 min, 00:00 + 20 min) = charges 10..19.
    let page: List<Charge> = stripe
        .get(
            "/v1/charges",
            &params([
                ("created[gte]", (t("2026-01-01 00:10")).to_string()),
                ("created[lt]", (t("2026-01-01 00:20")).to_string()),
                ("limit", "100".into()),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(page.data.len(), 10);
    assert_eq!((page.data[0].id.as_str(), page.data[9].id.as_str()), ("ch_0019", "ch_0010"));
    assert!(!page.has_more);
    assert_eq!(page.url, "/v1/charges");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honours_retry_after_on_429_and_backs_off_on_5xx() {
    let fake = fake().await;
    let stripe = client(&fake);

    fake.fail_next(429, Some(1), 2);
    let started = Instant::now();
    let c: Charge = stripe.get("/v1/charges/ch_a1", &[]).await.unwrap();
    assert_eq!(c.amount, 9900);
    // Two 429s with Retry-After: 1 each: at least two seconds of waiting (not a timing
    // assertion on speed: it proves the header was honoured rather than the 10 ms backoff).
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(fake.requests().len(), 3);

    fake.fail_next(503, None, 3);
    let c: Charge = stripe.get("/v1/charges/ch_a2", &[]).await.unwrap();
    assert_eq!(c.failure_code.as_deref(), Some("insufficient_funds"));
    assert_eq!(fake.requests().len(), 3 + 4);

    // More failures than retries: the client gives up and says so.
    fake.fail_next(500, None, 10);
    let err = stripe.get::<Charge>("/v1/charges/ch_a2", &[]).await.unwrap_err();
    assert!(matches!(err, StripeError::GaveUp { attempts: 5, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_stripe_errors_and_refuses_a_wrong_key() {
    let fake = fake().await;
    let stripe = client(&fake);
    match stripe.get::<Charge>("/v1/charges/ch_nope", &[]).await.unwrap_err() {
        StripeError::Api { status, detail } => {
            assert_eq!((status, detail.code.as_deref()), (404, Some("resource_missing")));
        }
        other => panic!("{other}"),
    }
    let wrong = Stripe::new(StripeConfig::new(fake.api_base(), "sk_test_wrong")).unwrap();
    match wrong.get::<Charge>("/v1/charges/ch_a1", &[]).await.unwrap_err() {
        StripeError::Api { status, .. } => assert_eq!(status, 401),
        other => panic!("{other}"),
    }
    // The key never appears in the client's Debug output.
    assert!(!format!("{stripe:?}").contains(&fake.secret_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_refund_pays_out_once() {
    let fake = fake().await;
    let stripe = client(&fake);
    let form = params([("charge", "ch_a1"), ("amount", "500"), ("metadata[reason]", "late delivery")]);

    // The answer to the first attempt is lost after Stripe acted; the client retries with
    // the same key and gets the first answer back.
    fake.lose_next_answers(1);
    let r1: Refund = stripe.post("/v1/refunds", &form, "refund-ch_a1-1").await.unwrap();
    let r2: Refund = stripe.post("/v1/refunds", &form, "refund-ch_a1-1").await.unwrap();
    assert_eq!(r1.id, r2.id);
    assert_eq!(r1.amount, 500);
    assert_eq!(r1.metadata.get("reason").map(String::as_str), Some("late delivery"));
    assert_eq!(fake.count("refunds"), 2 + 1, "the fixture's two refunds and exactly one new one");
    assert_eq!(fake.object("ch_a1").unwrap()["amount_refunded"], json!(500));
    let posts = fake.requests().into_iter().filter(|r| r.method == "POST").collect::<Vec<_>>();
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|r| r.idempotency_key.as_deref() == Some("refund-ch_a1-1")));

    // Same key, other parameters: refused, nothing paid.
    let other = params([("charge", "ch_a1"), ("amount", "900")]);
    match stripe.post::<Refund>("/v1/refunds", &other, "refund-ch_a1-1").await.unwrap_err() {
        StripeError::Api { status, detail } => {
            assert_eq!((status, detail.kind.as_deref()), (400, Some("idempotency_error")))
        }
        other => panic!("{other}"),
    }
    // More than what remains: Stripe's own refusal.
    let too_much = params([("charge", "ch_a1"), ("amount", "9401")]);
    match stripe.post::<Refund>("/v1/refunds", &too_much, "refund-ch_a1-2").await.unwrap_err() {
        StripeError::Api { detail, .. } => assert_eq!(detail.code.as_deref(), Some("amount_too_large")),
        other => panic!("{other}"),
    }
    assert_eq!(fake.count("refunds"), 3);
    assert!(stripe.post::<Refund>("/v1/refunds", &form, "").await.is_err(), "a POST without a key is refused");
}

fn q<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_sync_into_the_cache() {
    // The cache is a staff member's: finance's (sees everything), from a real session.
    let p = Platform::installed().await;
    let finance = p.session("finance").await;
    let staff = finance.staff();
    let fake = fake().await;
    let stripe = client(&fake);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.sqlite");
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let report = stripe_sync::sync(
        &stripe,
        staff,
        &cache,
        Some(Arc::new(move |p: &Progress| sink.lock().unwrap().push(p.clone()))),
        &Cancel::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.mode, "full");
    assert!(!seen.lock().unwrap().is_empty());
    let conn = rusqlite::Connection::open(&cache).unwrap();
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_customers"), 5);
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_subscriptions"), 5, "canceled ones too (status=all)");
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_charges"), 8);
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_invoice_lines WHERE invoice = 'in_g1'"), 3);
    assert_eq!(
        q::<i64>(&conn, "SELECT sum(amount - discount) FROM stripe_invoice_lines WHERE invoice = 'in_g1'"),
        499000
    );
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_balance_transactions"), 9);
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_payout_transactions WHERE payout = 'po_1'"), 3);
    assert_eq!(
        q::<String>(&conn, "SELECT group_concat(id || ':' || payment_status, ' ') FROM (SELECT * FROM stripe_charges ORDER BY id)"),
        "ch_a1:succeeded ch_a2:failed ch_a3:partially_refunded ch_g1:succeeded ch_g2:refunded ch_o1:disputed ch_o2:pending ch_u1:succeeded"
    );
    assert_eq!(q::<i64>(&conn, "SELECT coupon_percent_off_bp FROM stripe_subscriptions WHERE id = 'sub_globex'"), 1000);
    assert_eq!(q::<String>(&conn, "SELECT note FROM stripe_refunds WHERE id = 're_a3'"), "goodwill: outage on Nov 2");
    assert_eq!(
        q::<String>(&conn, "SELECT card_brand || ' ' || card_last4 FROM stripe_charges WHERE id = 'ch_g1'"),
        "mastercard 5555"
    );
    let as_of_1 = stripe_sync::as_of(&conn).unwrap().unwrap();
    drop(conn);

    // Changes inside Stripe: ch_o2 settles, a dispute on ch_a1, a customer deleted, a
    // subscription canceled; plus a new charge and its balance transaction.
    let mut o2 = fake.object("ch_o2").unwrap();
    o2["status"] = json!("succeeded");
    fake.put(o2, "charge.succeeded");
    let mut a1 = fake.object("ch_a1").unwrap();
    a1["disputed"] = json!(true);
    fake.put(a1, "charge.dispute.created");
    fake.put(
        json!({"id": "dp_a1", "object": "dispute", "charge": "ch_a1", "amount": 9900, "currency": "usd",
                    "status": "needs_response", "reason": "product_not_received", "created": finance_common::now()}),
        "charge.dispute.created",
    );
    let mut orphan = fake.object("cus_orphan").unwrap();
    orphan["deleted"] = json!(true);
    fake.put(orphan, "customer.deleted");
    let mut sub = fake.object("sub_acme").unwrap();
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(finance_common::now());
    fake.put(sub, "customer.subscription.deleted");
    fake.put(
        finance_common::charge(
            "ch_n1",
            "cus_acme",
            None,
            1234,
            "usd",
            "succeeded",
            0,
            false,
            None,
            "visa",
            "4242",
            finance_common::now() + 10,
        ),
        "charge.succeeded",
    );
    fake.put_quietly(finance_common::txn("txn_n1", "charge", "ch_n1", 1234, "usd", finance_common::now() + 10));

    let report = stripe_sync::sync(&stripe, staff, &cache, None, &Cancel::default()).await.unwrap();
    assert_eq!(report.mode, "incremental");
    assert_eq!(report.events_applied, 6);
    let conn = rusqlite::Connection::open(&cache).unwrap();
    assert_eq!(q::<String>(&conn, "SELECT payment_status FROM stripe_charges WHERE id = 'ch_o2'"), "succeeded");
    assert_eq!(q::<String>(&conn, "SELECT payment_status FROM stripe_charges WHERE id = 'ch_a1'"), "disputed");
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_disputes"), 2);
    assert_eq!(q::<i64>(&conn, "SELECT deleted FROM stripe_customers WHERE id = 'cus_orphan'"), 1);
    assert_eq!(q::<String>(&conn, "SELECT status FROM stripe_subscriptions WHERE id = 'sub_acme'"), "canceled");
    assert_eq!(q::<i64>(&conn, "SELECT count(*) FROM stripe_charges"), 9);
    assert_eq!(q::<i64>(&conn, "SELECT amount FROM stripe_balance_transactions WHERE id = 'txn_n1'"), 1234);
    assert!(stripe_sync::as_of(&conn).unwrap().unwrap() >= as_of_1);
    drop(conn);

    // Nothing new: nothing applied twice.
    let report = stripe_sync::sync(&stripe, staff, &cache, None, &Cancel::default()).await.unwrap();
    assert_eq!((report.mode.as_str(), report.events_applied), ("incremental", 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_cancelled_sync_leaves_the_previous_state() {
    let p = Platform::installed().await;
    let finance = p.session("finance").await;
    let staff = finance.staff();
    let fake = Arc::new(fake().await);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.sqlite");
    stripe_sync::sync(&client(&fake), staff, &cache, None, &Cancel::default()).await.unwrap();
    let conn = rusqlite::Connection::open(&cache).unwrap();
    let before: String = q(&conn, "SELECT value FROM stripe_sync_state WHERE key = 'cursor'");
    let as_of_before = stripe_sync::as_of(&conn).unwrap();
    drop(conn);

    let mut o2 = fake.object("ch_o2").unwrap();
    o2["status"] = json!("failed");
    fake.put(o2, "charge.failed");

    // Cancelled while reading events: nothing written.
    let cancel = Cancel::default();
    let flag = cancel.clone();
    let on_progress = move |p: &Progress| {
        if p.table == "stripe_events" {
            flag.cancel();
        }
    };
    let r = stripe_sync::sync(&client(&fake), staff, &cache, Some(Arc::new(on_progress)), &cancel).await;
    assert!(matches!(r, Err(StripeSyncError::Cancelled)), "{r:?}");

    // Stripe fails for good halfway: the events are read, then the balance
    // transactions' listing fails.
    let mut cfg = StripeConfig::new(fake.api_base(), fake.secret_key());
    cfg.max_retries = 0;
    let fragile = Stripe::new(cfg).unwrap();
    let shared = fake.clone();
    let fail_after_events = move |p: &Progress| {
        if p.table == "stripe_events" {
            shared.fail_next(500, None, 1);
        }
    };
    let r = stripe_sync::sync(&fragile, staff, &cache, Some(Arc::new(fail_after_events)), &Cancel::default()).await;
    assert!(matches!(r, Err(StripeSyncError::Stripe(StripeError::GaveUp { .. }))), "{r:?}");
    let last = fake.requests().pop().unwrap();
    assert!(last.uri.starts_with("/v1/balance_transactions") && last.status == 500, "{last:?}");

    let conn = rusqlite::Connection::open(&cache).unwrap();
    assert_eq!(q::<String>(&conn, "SELECT value FROM stripe_sync_state WHERE key = 'cursor'"), before);
    assert_eq!(stripe_sync::as_of(&conn).unwrap(), as_of_before);
    assert_eq!(q::<String>(&conn, "SELECT status FROM stripe_charges WHERE id = 'ch_o2'"), "pending");
    drop(conn);

    // The next good sync completes it.
    stripe_sync::sync(&client(&fake), staff, &cache, None, &Cancel::default()).await.unwrap();
    let conn = rusqlite::Connection::open(&cache).unwrap();
    assert_eq!(q::<String>(&conn, "SELECT status FROM stripe_charges WHERE id = 'ch_o2'"), "failed");
}
