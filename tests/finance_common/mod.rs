//! A small, hand-written Stripe account for the finance tests, linked to the two
//! tenants of `common::small_fixture` (Acme Outreach b1, Globex Growth b2) through
//! `tenant_config.stripe_customer_id`. Every number the tests expect is worked out
//! from the values written here.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use penguin_admin::auth::{permissions, Staff};
use penguin_admin::stripe::fake::{Dataset, FakeOptions, FakeStripe};
use penguin_admin::stripe::{Stripe, StripeConfig};
use serde_json::{json, Value};

pub const ACME: &str = "00000000-0000-0000-0000-0000000000b1";
pub const GLOBEX: &str = "00000000-0000-0000-0000-0000000000b2";

/// Unix seconds of a UTC date-time `YYYY-MM-DD HH:MM`.
pub fn t(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap().and_utc().timestamp()
}

/// The fake's clock: 2026-11-15 00:00 UTC.
pub fn now() -> i64 {
    t("2026-11-15 00:00")
}

pub fn staff(role: &str) -> Staff {
    Staff {
        user_id: None,
        email: format!("{role}@penguin.test"),
        name: None,
        role: role.into(),
        permissions: permissions::defaults_for(role).unwrap().iter().map(|p| p.name.to_string()).collect(),
    }
}

pub fn customer(id: &str, email: &str, name: &str, created: i64) -> Value {
    json!({"id": id, "object": "customer", "email": email, "name": name, "created": created, "currency": "usd",
           "delinquent": false})
}

#[allow(clippy::too_many_arguments)]
pub fn charge(
    id: &str,
    customer: &str,
    invoice: Option<&str>,
    amount: i64,
    currency: &str,
    status: &str,
    refunded: i64,
    disputed: bool,
    failure: Option<(&str, &str)>,
    brand: &str,
    last4: &str,
    created: i64,
) -> Value {
    json!({"id": id, "object": "charge", "customer": customer, "invoice": invoice,
           "payment_intent": format!("pi_{}", &id[3..]), "amount": amount, "amount_captured": amount,
           "amount_refunded": refunded, "currency": currency, "status": status, "paid": status == "succeeded",
           "refunded": refunded == amount, "disputed": disputed,
           "failure_code": failure.map(|f| f.0), "failure_message": failure.map(|f| f.1),
           "payment_method_details": {"type": "card", "card": {"brand": brand, "last4": last4, "exp_month": 12,
                                                                "exp_year": 2030, "fingerprint": "secretish"}},
           "balance_transaction": if status == "succeeded" { json!(format!("txn_{}", &id[3..])) } else { Value::Null },
           "billing_details": {"email": null}, "created": created})
}

pub fn price(id: &str, nickname: &str, amount: i64, currency: &str, interval: &str) -> Value {
    json!({"id": id, "object": "price", "product": format!("prod_{nickname}"), "nickname": nickname,
           "unit_amount": amount, "currency": currency, "recurring": {"interval": interval, "interval_count": 1}})
}

#[allow(clippy::too_many_arguments)]
pub fn subscription(
    id: &str,
    customer: &str,
    status: &str,
    price: Value,
    quantity: i64,
    coupon: Option<Value>,
    created: i64,
    period: (i64, i64),
) -> Value {
    json!({"id": id, "object": "subscription", "customer": customer, "status": status, "created": created,
           "current_period_start": period.0, "current_period_end": period.1, "cancel_at_period_end": false,
           "canceled_at": if status == "canceled" { json!(period.1) } else { Value::Null },
           "ended_at": if status == "canceled" { json!(period.1) } else { Value::Null },
           "trial_end": null, "pause_collection": null,
           "discount": coupon.map(|c| json!({"coupon": c, "end": null})),
           "items": {"object": "list", "has_more": false, "url": format!("/v1/subscription_items?subscription={id}"),
                     "data": [{"id": format!("si_{}", &id[4..]), "object": "subscription_item", "price": price,
                               "quantity": quantity}]}})
}

pub fn line(id: &str, description: &str, amount: i64, currency: &str) -> Value {
    json!({"id": id, "object": "line_item", "description": description, "amount": amount, "currency": currency,
           "quantity": 1, "period": {"start": null, "end": null}, "proration": false, "discount_amounts": [],
           "tax_amounts": []})
}

#[allow(clippy::too_many_arguments)]
pub fn invoice(
    id: &str,
    number: &str,
    customer: &str,
    subscription: Option<&str>,
    status: &str,
    total: i64,
    paid: i64,
    charge: Option<&str>,
    lines: Vec<Value>,
    lines_has_more: bool,
    created: i64,
) -> Value {
    json!({"id": id, "object": "invoice", "number": number, "customer": customer, "subscription": subscription,
           "status": status, "currency": "usd", "subtotal": total, "tax": 0, "total": total, "amount_due": total,
           "amount_paid": paid, "amount_remaining": total - paid, "attempt_count": 1,
           "next_payment_attempt": null, "due_date": null, "created": created, "period_start": created,
           "period_end": created, "status_transitions": {"paid_at": if paid > 0 { json!(created) } else { Value::Null }},
           "charge": charge, "payment_intent": null, "total_discount_amounts": [],
           "collection_method": "charge_automatically",
           "invoice_pdf": format!("https://pay.stripe.test/invoice/{id}/pdf"),
           "hosted_invoice_url": format!("https://pay.stripe.test/invoice/{id}"),
           "lines": {"object": "list", "data": lines, "has_more": lines_has_more, "url": format!("/v1/invoices/{id}/lines")}})
}

pub fn txn(id: &str, kind: &str, source: &str, amount: i64, currency: &str, created: i64) -> Value {
    json!({"id": id, "object": "balance_transaction", "type": kind, "source": source, "amount": amount, "fee": 0,
           "net": amount, "currency": currency, "status": "available", "available_on": created, "created": created})
}

/// The account. Charges (newest first):
///
/// | charge | tenant | amount | status | created |
/// |---|---|---|---|---|
/// | ch_o2 | (none) | 30.00 USD | pending | 2026-11-10 |
/// | ch_a3 | Acme | 99.00 USD, 20.00 refunded | partially_refunded | 2026-11-02 |
/// | ch_a2 | Acme | 99.00 USD, insufficient_funds | failed | 2026-11-01 |
/// | ch_o1 | (none) | 15.00 USD | disputed | 2026-10-20 |
/// | ch_g2 | Globex | 49.00 EUR, all refunded | refunded | 2026-10-15 |
/// | ch_a1 | Acme | 99.00 USD | succeeded | 2026-10-01 |
/// | ch_g1 | Globex | 4,990.00 USD | succeeded | 2026-03-01 |
pub fn dataset() -> Dataset {
    let pro = price("price_pro_m", "Pro", 9900, "usd", "month");
    let ent = price("price_ent_y", "Enterprise", 499000, "usd", "year");
    let starter = price("price_starter_m", "Starter", 2900, "usd", "month");
    let ten_off = json!({"id": "TEN", "object": "coupon", "percent_off": 10.0, "amount_off": null, "currency": null,
                          "duration": "forever"});
    let objects = vec![
        customer("cus_acme", "billing@acme.test", "Acme Billing", t("2026-01-10 09:00")),
        customer("cus_globex", "carol@globex.test", "Carol Diaz", t("2026-02-20 09:00")),
        customer("cus_orphan", "ops@initech.test", "Initech Ops", t("2026-05-05 09:00")),
        subscription(
            "sub_acme",
            "cus_acme",
            "active",
            pro,
            1,
            None,
            t("2026-01-10 09:00"),
            (t("2026-11-01 00:00"), t("2026-12-01 00:00")),
        ),
        subscription(
            "sub_globex",
            "cus_globex",
            "active",
            ent,
            1,
            Some(ten_off),
            t("2026-03-01 00:00"),
            (t("2026-03-01 00:00"), t("2027-03-01 00:00")),
        ),
        subscription(
            "sub_orphan",
            "cus_orphan",
            "canceled",
            starter,
            1,
            None,
            t("2026-05-05 09:00"),
            (t("2026-10-05 00:00"), t("2026-11-05 00:00")),
        ),
        invoice(
            "in_a1",
            "ACME-0001",
            "cus_acme",
            Some("sub_acme"),
            "paid",
            9900,
            9900,
            Some("ch_a1"),
            vec![line("il_a1", "Pro × 1 (Oct 2026)", 9900, "usd")],
            false,
            t("2026-10-01 00:00"),
        ),
        invoice(
            "in_a2",
            "ACME-0002",
            "cus_acme",
            Some("sub_acme"),
            "paid",
            9900,
            9900,
            Some("ch_a3"),
            vec![line("il_a2", "Pro × 1 (Nov 2026)", 9900, "usd")],
            false,
            t("2026-11-01 00:00"),
        ),
        // Three lines, only two embedded: the sync must fetch the rest from /lines.
        invoice(
            "in_g1",
            "GLOBEX-0001",
            "cus_globex",
            Some("sub_globex"),
            "paid",
            499000,
            499000,
            Some("ch_g1"),
            vec![
                line("il_g1a", "Enterprise × 1 (year)", 449100, "usd"),
                line("il_g1b", "Extra seats", 30000, "usd"),
                line("il_g1c", "Dedicated IP", 19900, "usd"),
            ],
            true,
            t("2026-03-01 00:00"),
        ),
        charge(
            "ch_g1",
            "cus_globex",
            Some("in_g1"),
            499000,
            "usd",
            "succeeded",
            0,
            false,
            None,
            "mastercard",
            "5555",
            t("2026-03-01 00:05"),
        ),
        charge(
            "ch_a1",
            "cus_acme",
            Some("in_a1"),
            9900,
            "usd",
            "succeeded",
            0,
            false,
            None,
            "visa",
            "4242",
            t("2026-10-01 00:05"),
        ),
        charge(
            "ch_g2",
            "cus_globex",
            None,
            4900,
            "eur",
            "succeeded",
            4900,
            false,
            None,
            "mastercard",
            "5555",
            t("2026-10-15 12:00"),
        ),
        charge(
            "ch_o1",
            "cus_orphan",
            None,
            1500,
            "usd",
            "succeeded",
            0,
            true,
            None,
            "amex",
            "0005",
            t("2026-10-20 08:30"),
        ),
        charge(
            "ch_a2",
            "cus_acme",
            Some("in_a2"),
            9900,
            "usd",
            "failed",
            0,
            false,
            Some(("insufficient_funds", "Your card has insufficient funds.")),
            "visa",
            "4242",
            t("2026-11-01 00:05"),
        ),
        charge(
            "ch_a3",
            "cus_acme",
            Some("in_a2"),
            9900,
            "usd",
            "succeeded",
            2000,
            false,
            None,
            "visa",
            "4242",
            t("2026-11-02 00:05"),
        ),
        charge(
            "ch_o2",
            "cus_orphan",
            None,
            3000,
            "usd",
            "pending",
            0,
            false,
            None,
            "visa",
            "1881",
            t("2026-11-10 10:00"),
        ),
        json!({"id": "re_a3", "object": "refund", "charge": "ch_a3", "payment_intent": "pi_a3", "amount": 2000,
               "currency": "usd", "status": "succeeded", "reason": "requested_by_customer",
               "balance_transaction": "txn_re_a3", "metadata": {"reason": "goodwill: outage on Nov 2"},
               "created": t("2026-11-03 10:00")}),
        json!({"id": "re_g2", "object": "refund", "charge": "ch_g2", "payment_intent": "pi_g2", "amount": 4900,
               "currency": "eur", "status": "succeeded", "reason": "duplicate", "balance_transaction": "txn_re_g2",
               "metadata": {}, "created": t("2026-10-16 09:00")}),
        json!({"id": "dp_o1", "object": "dispute", "charge": "ch_o1", "amount": 1500, "currency": "usd",
               "status": "needs_response", "reason": "fraudulent", "created": t("2026-10-25 00:00")}),
        txn("txn_g1", "charge", "ch_g1", 499000, "usd", t("2026-03-01 00:05")),
        txn("txn_a1", "charge", "ch_a1", 9900, "usd", t("2026-10-01 00:05")),
        txn("txn_g2", "charge", "ch_g2", 4900, "eur", t("2026-10-15 12:00")),
        txn("txn_o1", "charge", "ch_o1", 1500, "usd", t("2026-10-20 08:30")),
        txn("txn_a3", "charge", "ch_a3", 9900, "usd", t("2026-11-02 00:05")),
        txn("txn_re_g2", "refund", "re_g2", -4900, "eur", t("2026-10-16 09:00")),
        txn("txn_re_a3", "refund", "re_a3", -2000, "usd", t("2026-11-03 10:00")),
        txn("txn_po1", "payout", "po_1", -11400, "usd", t("2026-10-22 00:00")),
        json!({"id": "po_1", "object": "payout", "amount": 11400, "currency": "usd", "status": "paid",
               "arrival_date": t("2026-10-24 00:00"), "created": t("2026-10-22 00:00")}),
    ];
    Dataset { objects, payout_transactions: vec![("po_1".into(), vec!["txn_a1".into(), "txn_o1".into()])] }
}

pub async fn fake() -> FakeStripe {
    FakeStripe::start(dataset(), FakeOptions { now: Some(now()), ..Default::default() }).await.unwrap()
}

pub fn client(fake: &FakeStripe) -> Stripe {
    let mut cfg = StripeConfig::new(fake.api_base(), fake.secret_key());
    cfg.backoff = std::time::Duration::from_millis(10);
    cfg.timeout = std::time::Duration::from_secs(10);
    Stripe::new(cfg).unwrap()
}
