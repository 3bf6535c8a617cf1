//! A small, hand-written Stripe account for the finance tests, linked to the two
//! tenants of `common::small_fixture` (Acme Outreach b1, Globex Growth b2) through
//! `tenant_config.stripe_customer_id`. Every number the tests expect is worked out
//! from the values written here.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

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

/// An invoice line: `price` None for a one-off item; `discount` in minor units.
pub fn line(
    id: &str,
    description: &str,
    amount: i64,
    price: Option<Value>,
    period: (i64, i64),
    discount: i64,
) -> Value {
    let discounts = if discount > 0 { json!([{"amount": discount, "discount": "di_x"}]) } else { json!([]) };
    json!({"id": id, "object": "line_item", "description": description, "amount": amount, "currency": "usd",
           "quantity": 1, "period": {"start": period.0, "end": period.1}, "proration": false, "price": price,
           "discount_amounts": discounts, "tax_amounts": []})
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
/// | charge | customer (tenant) | amount | status | created |
/// |---|---|---|---|---|
/// | ch_o2 | Initech (none) | 30.00 USD | pending | 2026-11-10 |
/// | ch_a3 | Acme | 99.00 USD, 20.00 refunded | partially_refunded | 2026-11-02 |
/// | ch_a2 | Acme | 99.00 USD, insufficient_funds | failed | 2026-11-01 |
/// | ch_o1 | Initech (none) | 29.00 USD | disputed | 2026-10-20 |
/// | ch_g2 | Globex | 49.00 EUR, all refunded | refunded | 2026-10-15 12:00 |
/// | ch_u1 | Umbrella (none) | 49.00 USD | succeeded | 2026-10-15 09:00 |
/// | ch_a1 | Acme | 99.00 USD | succeeded | 2026-10-01 |
/// | ch_g1 | Globex | 4,990.00 USD | succeeded | 2026-03-01 |
///
/// Subscription invoices (for MRR, at each month's end, USD):
/// - Globex: Enterprise yearly 4,990.00 − 10 % + Extra seats yearly 300.00 from
///   2026-03-01 for a year: (499,000 − 49,900 + 30,000) / 12 = 39,925 a month; plus a
///   one-off setup fee (not recurring).
/// - Initech: Starter 29.00 for Aug 5 – Sep 5, none for September, again Oct 5 – Nov 5,
///   then canceled.
/// - Acme: Starter 29.00 in September, Pro 99.00 from October.
/// - Umbrella: Growth 49.00 Oct 15 – Nov 15; the next invoice is uncollectible.
/// - Hooli: a 0.00 trial invoice from Nov 10.
pub fn dataset() -> Dataset {
    let pro = price("price_pro_m", "Pro", 9900, "usd", "month");
    let starter = price("price_starter_m", "Starter", 2900, "usd", "month");
    let growth = price("price_growth_m", "Growth", 4900, "usd", "month");
    let ent = price("price_ent_y", "Enterprise", 499000, "usd", "year");
    let seats = price("price_seats_y", "Extra seats", 30000, "usd", "year");
    let setup = json!({"id": "price_setup", "object": "price", "product": "prod_setup", "nickname": "Setup fee",
                        "unit_amount": 19900, "currency": "usd", "recurring": null});
    let ten_off = json!({"id": "TEN", "object": "coupon", "percent_off": 10.0, "amount_off": null, "currency": null,
                          "duration": "forever"});
    let year = (t("2026-03-01 00:00"), t("2027-03-01 00:00"));
    let mut globex_sub =
        subscription("sub_globex", "cus_globex", "active", ent.clone(), 1, Some(ten_off), t("2026-03-01 00:00"), year);
    globex_sub["items"]["data"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "si_globex_seats", "object": "subscription_item", "price": seats.clone(), "quantity": 1}));
    let mut in_u2 = invoice(
        "in_u2",
        "UMB-0002",
        "cus_umbrella",
        Some("sub_umbrella"),
        "uncollectible",
        4900,
        0,
        None,
        vec![line(
            "il_u2",
            "Growth × 1",
            4900,
            Some(growth.clone()),
            (t("2026-11-15 00:00"), t("2026-12-15 00:00")),
            0,
        )],
        false,
        t("2026-11-15 00:00"),
    );
    in_u2["attempt_count"] = json!(4);
    let objects = vec![
        customer("cus_acme", "billing@acme.test", "Acme Billing", t("2026-01-10 09:00")),
        customer("cus_globex", "carol@globex.test", "Carol Diaz", t("2026-02-20 09:00")),
        customer("cus_orphan", "ops@initech.test", "Initech Ops", t("2026-05-05 09:00")),
        customer("cus_umbrella", "ap@umbrella.test", "Umbrella AP", t("2026-10-15 08:00")),
        customer("cus_hooli", "gavin@hooli.test", "Gavin B", t("2026-11-10 08:00")),
        subscription(
            "sub_acme",
            "cus_acme",
            "active",
            pro.clone(),
            1,
            None,
            t("2026-09-01 00:00"),
            (t("2026-11-01 00:00"), t("2026-12-01 00:00")),
        ),
        globex_sub,
        subscription(
            "sub_orphan",
            "cus_orphan",
            "canceled",
            starter.clone(),
            1,
            None,
            t("2026-08-05 00:00"),
            (t("2026-10-05 00:00"), t("2026-11-05 00:00")),
        ),
        subscription(
            "sub_umbrella",
            "cus_umbrella",
            "unpaid",
            growth.clone(),
            1,
            None,
            t("2026-10-15 09:00"),
            (t("2026-11-15 00:00"), t("2026-12-15 00:00")),
        ),
        subscription(
            "sub_hooli",
            "cus_hooli",
            "trialing",
            pro.clone(),
            1,
            None,
            t("2026-11-10 08:00"),
            (t("2026-11-10 08:00"), t("2026-12-10 08:00")),
        ),
        invoice(
            "in_o0",
            "INIT-0001",
            "cus_orphan",
            Some("sub_orphan"),
            "paid",
            2900,
            2900,
            None,
            vec![line(
                "il_o0",
                "Starter × 1",
                2900,
                Some(starter.clone()),
                (t("2026-08-05 00:00"), t("2026-09-05 00:00")),
                0,
            )],
            false,
            t("2026-08-05 00:00"),
        ),
        invoice(
            "in_a0",
            "ACME-0000",
            "cus_acme",
            Some("sub_acme"),
            "paid",
            2900,
            2900,
            None,
            vec![line(
                "il_a0",
                "Starter × 1",
                2900,
                Some(starter.clone()),
                (t("2026-09-01 00:00"), t("2026-10-01 00:00")),
                0,
            )],
            false,
            t("2026-09-01 00:00"),
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
            vec![line("il_a1", "Pro × 1", 9900, Some(pro.clone()), (t("2026-10-01 00:00"), t("2026-11-01 00:00")), 0)],
            false,
            t("2026-10-01 00:00"),
        ),
        invoice(
            "in_o1",
            "INIT-0002",
            "cus_orphan",
            Some("sub_orphan"),
            "paid",
            2900,
            2900,
            Some("ch_o1"),
            vec![line(
                "il_o1",
                "Starter × 1",
                2900,
                Some(starter.clone()),
                (t("2026-10-05 00:00"), t("2026-11-05 00:00")),
                0,
            )],
            false,
            t("2026-10-05 00:00"),
        ),
        invoice(
            "in_u1",
            "UMB-0001",
            "cus_umbrella",
            Some("sub_umbrella"),
            "paid",
            4900,
            4900,
            Some("ch_u1"),
            vec![line(
                "il_u1",
                "Growth × 1",
                4900,
                Some(growth.clone()),
                (t("2026-10-15 09:00"), t("2026-11-15 00:00")),
                0,
            )],
            false,
            t("2026-10-15 09:00"),
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
            vec![line("il_a2", "Pro × 1", 9900, Some(pro.clone()), (t("2026-11-01 00:00"), t("2026-12-01 00:00")), 0)],
            false,
            t("2026-11-01 00:00"),
        ),
        invoice(
            "in_h1",
            "HOOLI-0001",
            "cus_hooli",
            Some("sub_hooli"),
            "paid",
            0,
            0,
            None,
            vec![line(
                "il_h1",
                "Trial period for Pro",
                0,
                Some(pro),
                (t("2026-11-10 08:00"), t("2026-12-10 08:00")),
                0,
            )],
            false,
            t("2026-11-10 08:00"),
        ),
        in_u2,
        // Three lines, only two embedded: the sync must fetch the rest from /lines.
        // 499,000 − 49,900 (10 % off) + 30,000 + 19,900 (one-off) = 499,000.
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
                line("il_g1a", "Enterprise × 1", 499000, Some(ent), year, 49900),
                line("il_g1b", "Extra seats", 30000, Some(seats), year, 0),
                line("il_g1c", "Setup fee", 19900, Some(setup), (year.0, year.0), 0),
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
            "ch_u1",
            "cus_umbrella",
            Some("in_u1"),
            4900,
            "usd",
            "succeeded",
            0,
            false,
            None,
            "visa",
            "3155",
            t("2026-10-15 09:00"),
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
            Some("in_o1"),
            2900,
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
        json!({"id": "dp_o1", "object": "dispute", "charge": "ch_o1", "amount": 2900, "currency": "usd",
               "status": "needs_response", "reason": "fraudulent", "created": t("2026-10-25 00:00")}),
        txn("txn_g1", "charge", "ch_g1", 499000, "usd", t("2026-03-01 00:05")),
        txn("txn_a1", "charge", "ch_a1", 9900, "usd", t("2026-10-01 00:05")),
        txn("txn_u1", "charge", "ch_u1", 4900, "usd", t("2026-10-15 09:00")),
        txn("txn_g2", "charge", "ch_g2", 4900, "eur", t("2026-10-15 12:00")),
        txn("txn_o1", "charge", "ch_o1", 2900, "usd", t("2026-10-20 08:30")),
        txn("txn_a3", "charge", "ch_a3", 9900, "usd", t("2026-11-02 00:05")),
        txn("txn_re_g2", "refund", "re_g2", -4900, "eur", t("2026-10-16 09:00")),
        txn("txn_re_a3", "refund", "re_a3", -2000, "usd", t("2026-11-03 10:00")),
        txn("txn_po1", "payout", "po_1", -17700, "usd", t("2026-10-22 00:00")),
        // Pays out Acme's October charge, Umbrella's and Initech's: 9,900 + 4,900 + 2,900.
        json!({"id": "po_1", "object": "payout", "amount": 17700, "currency": "usd", "status": "paid",
               "arrival_date": t("2026-10-24 00:00"), "created": t("2026-10-22 00:00")}),
    ];
    Dataset {
        objects,
        payout_transactions: vec![("po_1".into(), vec!["txn_a1".into(), "txn_u1".into(), "txn_o1".into()])],
    }
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
