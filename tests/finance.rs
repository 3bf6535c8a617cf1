//! Finance reads over a cache synced from a real throwaway PostgreSQL (tenants,
//! `tenant_config`) and the fake Stripe (`finance_common::dataset`). Expected rows and
//! numbers are worked out by hand from those fixtures.
#![allow(clippy::unwrap_used, clippy::type_complexity, missing_docs)]

mod common;
mod finance_common;

use common::{small_fixture, Platform};
use finance_common::{client, fake, ACME, GLOBEX};
use penguin_admin::auth::{Session, Staff};
use penguin_admin::cache;
use penguin_admin::central::DbKind;
use penguin_admin::finance::actions::{self, ActionContext, ActionError, RefundRequest, SubscriptionChange};
use penguin_admin::finance::invoicing::pdf_link as invoicing_pdf_link;
use penguin_admin::finance::payments::{self, PaymentQuery, PaymentSort, PaymentStatus};
use penguin_admin::finance::reconcile::{self, CurrencyTotals, DiscrepancyKind};
use penguin_admin::finance::revenue::{self, Movements, PlanMrr};
use penguin_admin::finance::webhooks::{self, WebhookStatus};
use penguin_admin::finance::FinanceError;
use penguin_admin::stripe::fake::FakeStripe;
use penguin_admin::stripe::sync as stripe_sync;
use penguin_admin::stripe::{Stripe, StripeConfig};
use penguin_admin::sync::Cancel;

struct Env {
    _p: Platform,
    _fake: FakeStripe,
    conn: rusqlite::Connection,
    /// The finance staff member whose cache this is.
    finance: Session,
}

impl Env {
    /// The staff member of `role`, as a session on this platform describes them.
    async fn staff(&self, role: &str) -> Staff {
        self._p.session(role).await.staff().clone()
    }
}

/// The fixture's tenants as Stripe customers, with their billing e-mails.
async fn billing_contacts(p: &Platform) {
    sqlx::raw_sql(&format!(
        "INSERT INTO tenant_config (tenant_id, stripe_customer_id, billing_email) VALUES
           ('{ACME}', 'cus_acme', 'billing@acme.test'), ('{GLOBEX}', 'cus_globex', 'carol@globex.test');"
    ))
    .execute(&p.central.oltp)
    .await
    .unwrap();
}

async fn synced() -> Env {
    synced_with("", |_| {}).await
}

/// Like [`synced`], with extra platform SQL run first and Stripe changes made before
/// the Stripe sync.
async fn synced_with(platform_sql: &str, stripe_setup: impl FnOnce(&FakeStripe)) -> Env {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    billing_contacts(&p).await;
    if !platform_sql.is_empty() {
        sqlx::raw_sql(platform_sql).execute(&p.central.oltp).await.unwrap();
    }
    let finance = p.session("finance").await;
    p.sync_as(&finance, &p.cache_path()).await;
    let fake = fake().await;
    stripe_setup(&fake);
    stripe_sync::sync(&client(&fake), finance.staff(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    Env { _p: p, _fake: fake, conn, finance }
}

fn ids(conn: &rusqlite::Connection, staff: &Staff, q: PaymentQuery) -> Vec<String> {
    payments::list(conn, staff, &q).unwrap().rows.into_iter().map(|r| r.id).collect()
}

/// `penguin-admin finance ARGS… --profile P --as EMAIL --cache CACHE`, signed in with the
/// test accounts' password.
fn cli(p: &Platform, email: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"))
        .arg("finance")
        .arg(args[0])
        .arg("--profile")
        .arg(p.profile_path())
        .args(["--as", email, "--cache"])
        .arg(p.cache_path())
        .args(&args[1..])
        .env("PENGUIN_ADMIN_PASSWORD", common::STAFF_PASSWORD)
        .env("PENGUIN_ADMIN_CACHE_KEY", common::CACHE_KEY)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_filter_sort_page_and_search() {
    let env = synced().await;
    let c = &env.conn;
    let finance = env.finance.staff();
    let ids = |c: &rusqlite::Connection, q: PaymentQuery| ids(c, finance, q);
    let newest = PaymentQuery { descending: true, ..Default::default() };
    let page = payments::list(c, finance, &newest).unwrap();
    assert_eq!(page.total, 8);
    assert_eq!(
        page.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["ch_o2", "ch_a3", "ch_a2", "ch_o1", "ch_g2", "ch_u1", "ch_a1", "ch_g1"]
    );
    let a3 = &page.rows[1];
    assert_eq!(
        (a3.status.as_str(), a3.amount, a3.amount_refunded, a3.currency.as_str()),
        ("partially_refunded", 9900, 2000, "usd")
    );
    assert_eq!((a3.tenant_id.as_deref(), a3.tenant_name.as_deref()), (Some(ACME), Some("Acme Outreach")));
    assert_eq!(
        (a3.invoice_number.as_deref(), a3.customer_email.as_deref()),
        (Some("ACME-0002"), Some("billing@acme.test"))
    );
    assert_eq!((a3.card_brand.as_deref(), a3.card_last4.as_deref()), (Some("visa"), Some("4242")));
    assert_eq!(a3.created, "2026-11-02T00:05:00Z");
    assert_eq!(page.rows[0].tenant_id, None, "a customer no tenant points at");

    // Paging.
    let p2 = ids(c, PaymentQuery { descending: true, limit: Some(3), offset: Some(3), ..Default::default() });
    assert_eq!(p2, ["ch_o1", "ch_g2", "ch_u1"]);
    // Tenant.
    let acme = ids(c, PaymentQuery { tenant_id: Some(ACME.into()), descending: true, ..Default::default() });
    assert_eq!(acme, ["ch_a3", "ch_a2", "ch_a1"]);
    // Status.
    let failed =
        payments::list(c, finance, &PaymentQuery { statuses: vec![PaymentStatus::Failed], ..Default::default() })
            .unwrap();
    assert_eq!(failed.total, 1);
    assert_eq!(failed.rows[0].failure_code.as_deref(), Some("insufficient_funds"));
    let refunds = ids(
        c,
        PaymentQuery {
            statuses: vec![PaymentStatus::Refunded, PaymentStatus::PartiallyRefunded],
            ..Default::default()
        },
    );
    assert_eq!(refunds, ["ch_g2", "ch_a3"]);
    assert_eq!(ids(c, PaymentQuery { statuses: vec![PaymentStatus::Disputed], ..Default::default() }), ["ch_o1"]);
    // Date range: [Nov 1, Nov 2) holds only the failed attempt.
    let nov1 =
        ids(c, PaymentQuery { from: Some("2026-11-01".into()), to: Some("2026-11-02".into()), ..Default::default() });
    assert_eq!(nov1, ["ch_a2"]);
    // Amount range 20.00–99.00 (inclusive): all but Globex's 4,990.00.
    let mid = ids(c, PaymentQuery { min_amount: Some(2000), max_amount: Some(9900), ..Default::default() });
    assert_eq!(mid, ["ch_a1", "ch_u1", "ch_g2", "ch_o1", "ch_a2", "ch_a3", "ch_o2"]);
    // Currency, failure reason.
    assert_eq!(ids(c, PaymentQuery { currency: Some("EUR".into()), ..Default::default() }), ["ch_g2"]);
    assert_eq!(
        ids(c, PaymentQuery { failure_code: Some("insufficient_funds".into()), ..Default::default() }),
        ["ch_a2"]
    );
    // Sort by amount, largest first; ties newest first.
    let by_amount =
        ids(c, PaymentQuery { sort: PaymentSort::Amount, descending: true, limit: Some(4), ..Default::default() });
    assert_eq!(by_amount, ["ch_g1", "ch_a3", "ch_a2", "ch_a1"]);

    // Free text: invoice number, customer email, tenant name, Stripe ids.
    let search = |s: &str| ids(c, PaymentQuery { search: Some(s.into()), ..Default::default() });
    assert_eq!(search("ACME-0002"), ["ch_a2", "ch_a3"]);
    assert_eq!(search("acme-0002"), ["ch_a2", "ch_a3"], "invoice numbers are matched in upper case too");
    assert_eq!(search("carol@globex"), ["ch_g1", "ch_g2"]);
    assert_eq!(search("Globex Gro"), ["ch_g1", "ch_g2"]);
    assert_eq!(search("ch_o1"), ["ch_o1"]);
    assert_eq!(search("pi_a2"), ["ch_a2"]);
    assert_eq!(search("in_a2"), ["ch_a2", "ch_a3"]);
    assert_eq!(search("cus_orphan"), ["ch_o1", "ch_o2"]);
    assert!(search("100%_off' OR 1=1 --").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_masked_emails_and_ops_nothing() {
    let env = synced().await;
    let q = PaymentQuery { tenant_id: Some(ACME.into()), ..Default::default() };
    let support = env.staff("support").await;
    let page = payments::list(&env.conn, &support, &q).unwrap();
    assert!(page.rows.iter().all(|r| r.customer_email.as_deref() == Some("b•••@•••.test")), "{:?}", page.rows);
    let mut out = Vec::new();
    payments::export_csv(&env.conn, &support, &q, &mut out, |_, _| true).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("billing@acme.test") && text.contains("b•••@•••.test"), "{text}");

    let err = payments::list(&env.conn, &env.staff("ops").await, &q).unwrap_err();
    assert!(matches!(err, FinanceError::Forbidden(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_export_holds_exactly_the_filtered_rows() {
    let env = synced().await;
    let q = PaymentQuery { tenant_id: Some(ACME.into()), descending: true, limit: Some(1), ..Default::default() };
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let n = payments::export_csv(&env.conn, env.finance.staff(), &q, &mut out, |done, total| {
        calls.push((done, total));
        true
    })
    .unwrap();
    assert_eq!(n, 3, "every matching row, not the page");
    assert_eq!(calls.last(), Some(&(3, 3)));
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "charge_id,created_utc,status,amount,amount_refunded,currency,tenant_id,tenant_name,customer_id,\
         customer_email,invoice_id,invoice_number,payment_intent_id,card_brand,card_last4,failure_code,failure_message"
    );
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[1],
        format!("ch_a3,2026-11-02T00:05:00Z,partially_refunded,99.00,20.00,USD,{ACME},Acme Outreach,cus_acme,billing@acme.test,in_a2,ACME-0002,pi_a3,visa,4242,,")
    );
    assert_eq!(
        lines[2],
        format!("ch_a2,2026-11-01T00:05:00Z,failed,99.00,0.00,USD,{ACME},Acme Outreach,cus_acme,billing@acme.test,in_a2,ACME-0002,pi_a2,visa,4242,insufficient_funds,Your card has insufficient funds.")
    );
    assert!(lines[3].starts_with("ch_a1,2026-10-01T00:05:00Z,succeeded,99.00,0.00,USD,"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revenue_for_november_worked_out_by_hand() {
    let env = synced().await;
    let finance = env.finance.staff();
    let r = revenue::report(&env.conn, finance, "2026-11").unwrap();
    assert_eq!(r.currencies.len(), 1, "only USD lines are recurring: {:?}", r.currencies);
    let usd = &r.currencies[0];
    assert_eq!(usd.currency, "usd");
    // End of November: Acme Pro 9,900 + Globex (499,000 − 49,900 + 30,000) / 12 = 39,925.
    // Hooli is in trial (0.00), Umbrella's invoice is uncollectible, Initech canceled.
    assert_eq!((usd.mrr, usd.paying_customers), (49_825, 2));
    // End of October: 9,900 + 39,925 + Initech 2,900 + Umbrella 4,900.
    assert_eq!((usd.mrr_previous, usd.paying_customers_previous), (57_625, 4));
    assert_eq!(
        usd.by_plan,
        vec![
            PlanMrr { plan: "Enterprise".into(), mrr: 37_425, customers: 1 }, // 449,100 / 12
            PlanMrr { plan: "Pro".into(), mrr: 9_900, customers: 1 },
            PlanMrr { plan: "Extra seats".into(), mrr: 2_500, customers: 1 }, // 30,000 / 12
        ]
    );
    assert_eq!(usd.movements, Movements { churned: 2_900 + 4_900, ..Default::default() });
    assert_eq!(usd.churned_customers, 2);
    assert_eq!(usd.customer_churn_bp, Some(5_000)); // 2 of 4
    assert_eq!(usd.revenue_churn_bp, Some(1_354)); // 7,800 / 57,625 = 13.536 %
    assert_eq!(usd.arpa, Some(24_913)); // 49,825 / 2 = 24,912.5, half away from zero
    assert_eq!(usd.ltv, Some(49_826)); // 24,913 / 50 %
                                       // November's charges: ch_a2 failed, ch_a3 paid (partly refunded), ch_o2 pending (not counted).
    assert_eq!((r.payments_succeeded, r.payments_failed, r.payment_success_bp), (1, 1, Some(5_000)));

    let oct = revenue::report(&env.conn, finance, "2026-10").unwrap();
    // Acme Starter 2,900 → Pro 9,900; Initech back after a month without; Umbrella new.
    assert_eq!(
        oct.currencies[0].movements,
        Movements { new: 4_900, expansion: 7_000, reactivation: 2_900, contraction: 0, churned: 0 }
    );
    assert_eq!((oct.payments_succeeded, oct.payments_failed), (4, 0), "refunded and disputed charges were paid");

    let history = revenue::history(&env.conn, finance, "2026-07", "2026-11").unwrap();
    let mrr: Vec<(String, i64)> = history.iter().map(|p| (p.month.clone(), p.mrr)).collect();
    assert_eq!(
        mrr,
        [("2026-07", 39_925), ("2026-08", 42_825), ("2026-09", 42_825), ("2026-10", 57_625), ("2026-11", 49_825)]
            .map(|(m, v)| (m.to_string(), v))
    );
    let sep = &history[2].movements;
    assert_eq!((sep.new, sep.churned), (2_900, 2_900), "Acme starts, Initech lapses");
    for w in history.windows(2) {
        let m = &w[1].movements;
        assert_eq!(w[0].mrr + m.new + m.reactivation + m.expansion - m.contraction - m.churned, w[1].mrr);
    }
    let ops = env.staff("ops").await;
    assert!(matches!(revenue::report(&env.conn, &ops, "2026-11"), Err(FinanceError::Forbidden(_))));
    assert!(matches!(revenue::report(&env.conn, finance, "2026-13"), Err(FinanceError::BadInput(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prints_the_mrr_report_as_json() {
    let env = synced().await;
    let out = cli(&env._p, "finance@penguin.test", &["mrr", "--month", "2026-11", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["month"], "2026-11");
    assert_eq!(v["currencies"][0]["mrr"], 49_825);
    assert_eq!(v["currencies"][0]["movements"]["churned"], 7_800);
    let bad = cli(&env._p, "finance@penguin.test", &["mrr", "--month", "November"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_finds_one_discrepancy_of_each_kind() {
    // The platform's view of Oct 1 – Nov 15: every Stripe charge of the period but
    // Umbrella's (missing in platform), one payment Stripe never saw, one amount, one
    // currency and one status that disagree; Globex's subscription past due where
    // Stripe has it active.
    let platform = "DELETE FROM payments;
        UPDATE subscriptions SET stripe_subscription_id = 'sub_acme' WHERE id = '00000000-0000-0000-0000-0000000000e1';
        UPDATE subscriptions SET stripe_subscription_id = 'sub_globex', status = 'past_due'
          WHERE id = '00000000-0000-0000-0000-0000000000e2';
        INSERT INTO payments (id, subscription_id, amount, currency, status, processed, created, stripe_payment_intent_id) VALUES
         ('00000000-0000-0000-0000-00000000f0a1', '00000000-0000-0000-0000-0000000000e1', 99.00, 'USD', 'succeeded',
          '2026-10-01T00:06:00Z', '2026-10-01T00:05:00Z', 'pi_a1'),
         ('00000000-0000-0000-0000-00000000f0a2', '00000000-0000-0000-0000-0000000000e1', 99.00, 'USD', 'failed',
          NULL, '2026-11-01T00:05:00Z', 'pi_a2'),
         ('00000000-0000-0000-0000-00000000f0a3', '00000000-0000-0000-0000-0000000000e1', 90.00, 'USD', 'succeeded',
          '2026-11-02T00:06:00Z', '2026-11-02T00:05:00Z', 'pi_a3'),
         ('00000000-0000-0000-0000-00000000f0b2', '00000000-0000-0000-0000-0000000000e2', 49.00, 'USD', 'refunded',
          '2026-10-15T12:01:00Z', '2026-10-15T12:00:00Z', 'pi_g2'),
         ('00000000-0000-0000-0000-00000000f0c1', NULL, 29.00, 'USD', 'succeeded',
          '2026-10-20T08:31:00Z', '2026-10-20T08:30:00Z', 'pi_o1'),
         ('00000000-0000-0000-0000-00000000f0c2', NULL, 30.00, 'USD', 'succeeded',
          '2026-11-10T10:01:00Z', '2026-11-10T10:00:00Z', 'pi_o2'),
         ('00000000-0000-0000-0000-00000000f0d1', '00000000-0000-0000-0000-0000000000e1', 12.00, 'USD', 'succeeded',
          '2026-10-10T10:00:00Z', '2026-10-10T10:00:00Z', 'pi_zz1'),
         -- Outside the period: ignored.
         ('00000000-0000-0000-0000-00000000f0e9', NULL, 5.00, 'USD', 'succeeded',
          '2026-09-10T10:00:00Z', '2026-09-10T10:00:00Z', 'pi_nowhere');";
    let env = synced_with(platform, |fake| {
        // Paid in Stripe with no payment; a payout of 100.00 paying out 99.00.
        let mut x1 = finance_common::invoice(
            "in_x1",
            "ACME-0099",
            "cus_acme",
            None,
            "paid",
            5000,
            5000,
            None,
            vec![],
            false,
            finance_common::t("2026-10-12 00:00"),
        );
        x1["status_transitions"]["paid_at"] = serde_json::json!(finance_common::t("2026-10-12 00:00"));
        fake.put(x1, "invoice.paid");
        fake.put(
            serde_json::json!({"id": "po_2", "object": "payout", "amount": 10000, "currency": "usd",
                                    "status": "paid", "arrival_date": finance_common::t("2026-11-07 00:00"),
                                    "created": finance_common::t("2026-11-05 00:00")}),
            "payout.paid",
        );
        fake.link_payout("po_2", &["txn_a3"]);
    })
    .await;
    let r = reconcile::reconcile(&env.conn, env.finance.staff(), "2026-10-01", "2026-11-15").unwrap();
    let got: Vec<(DiscrepancyKind, Option<&str>, Option<&str>, Option<i64>, Option<i64>)> = r
        .discrepancies
        .iter()
        .map(|d| {
            (
                d.kind,
                d.platform_id.as_deref().map(|s| &s[28..]),
                d.stripe_id.as_deref(),
                d.platform_amount,
                d.stripe_amount,
            )
        })
        .collect();
    use DiscrepancyKind::*;
    assert_eq!(
        got,
        vec![
            (MissingInStripe, Some("0000f0d1"), Some("pi_zz1"), Some(1200), None),
            (MissingInPlatform, None, Some("ch_u1"), None, Some(4900)),
            (AmountMismatch, Some("0000f0a3"), Some("ch_a3"), Some(9000), Some(9900)),
            (CurrencyMismatch, Some("0000f0b2"), Some("ch_g2"), Some(4900), Some(4900)),
            (StatusMismatch, Some("0000f0c2"), Some("ch_o2"), Some(3000), Some(3000)),
            (PaidInvoiceWithoutPayment, None, Some("in_x1"), None, Some(5000)),
            (PayoutMismatch, None, Some("po_2"), Some(9900), Some(10000)),
            (SubscriptionStatusMismatch, Some("000000e2"), Some("sub_globex"), None, None),
        ]
    );
    let status = &r.discrepancies[4];
    assert_eq!(
        (status.platform_value.as_deref(), status.stripe_value.as_deref()),
        (Some("succeeded"), Some("pending"))
    );
    assert_eq!(r.discrepancies[2].tenant_id.as_deref(), Some(ACME));
    assert_eq!(r.counts.values().sum::<u32>(), 8);
    assert_eq!(
        r.totals,
        vec![
            CurrencyTotals {
                currency: "eur".into(),
                stripe_charged: 4_900,
                stripe_refunded: 4_900,
                stripe_net: 0,
                ..Default::default()
            },
            CurrencyTotals {
                currency: "usd".into(),
                // 99 + 90 + 49 (the platform says USD) + 29 + 30 + 12; the failed one not.
                platform_collected: 30_900,
                // ch_a1 99 + ch_u1 49 + ch_o1 29 (disputed later) + ch_a3 99.
                stripe_charged: 27_600,
                stripe_refunded: 2_000,
                stripe_net: 25_600,
                payouts: 17_700 + 10_000,
            },
        ]
    );

    let mut out = Vec::new();
    reconcile::export_csv(&r, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 8);
    assert_eq!(
        lines[0],
        "kind,date_utc,platform_id,stripe_id,tenant_id,currency,platform_amount,stripe_amount,difference,platform_value,stripe_value"
    );
    assert_eq!(lines[3], format!("amount_mismatch,2026-11-02T00:06:00Z,00000000-0000-0000-0000-00000000f0a3,ch_a3,{ACME},USD,90.00,99.00,9.00,,"));

    assert!(matches!(
        reconcile::reconcile(&env.conn, &env.staff("support").await, "2026-10-01", "2026-11-15"),
        Err(FinanceError::Forbidden(_))
    ));
    let out =
        cli(&env._p, "finance@penguin.test", &["reconcile", "--from", "2026-10-01", "--to", "2026-11-15", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["payout_mismatch"], 1);
    assert_eq!(v["discrepancies"].as_array().unwrap().len(), 8);
}

async fn audit_actions(
    p: &Platform,
    resource: &str,
) -> Vec<(String, Option<String>, serde_json::Value, serde_json::Value)> {
    // Read straight from the audit log: the actions relayed their entries themselves.
    sqlx::query_as(
        "SELECT action, notes, COALESCE(old_values, 'null'::jsonb), COALESCE(new_values, 'null'::jsonb)
         FROM admin_audit_log WHERE resource_id = $1 ORDER BY id",
    )
    .bind(resource)
    .fetch_all(&p.central.olap)
    .await
    .unwrap()
}

/// Who each audit entry of `resource` names: (action, admin_user_id, actor_role, ip, client).
async fn audit_who(
    p: &Platform,
    resource: &str,
) -> Vec<(String, String, Option<String>, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT action, admin_user_id, metadata->>'actor_role', ip_address, user_agent
         FROM admin_audit_log WHERE resource_id = $1 ORDER BY id",
    )
    .bind(resource)
    .fetch_all(&p.central.olap)
    .await
    .unwrap()
}

fn sqlstate(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.to_string()).unwrap_or_default(),
        other => panic!("not a database error: {other}"),
    }
}

async fn action_states(p: &Platform) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT kind, target, state FROM penguin_console.money_actions ORDER BY created")
        .fetch_all(&p.central.oltp)
        .await
        .unwrap()
}

fn posts(fake: &FakeStripe) -> usize {
    fake.requests().iter().filter(|r| r.method != "GET").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_are_previewed_checked_sent_once_and_audited_before_and_after() {
    let env = synced().await;
    let (p, fake) = (&env._p, &env._fake);
    let finance = env.finance.staff();
    let nov15 = Some(finance_common::now());
    let req = |charge: &str, amount: Option<i64>| RefundRequest {
        charge_id: charge.into(),
        amount,
        reason: "duplicate charge, ticket #4411".into(),
        stripe_reason: Some("duplicate".into()),
    };

    // A partial refund leaves MRR alone; refunding the rest of ch_a3 (which paid Acme's
    // November invoice) takes November's 99.00 out of Acme's MRR.
    let partial = actions::preview_refund(&env.conn, finance, &req("ch_a1", Some(2500)), nov15).unwrap();
    assert_eq!((partial.refundable, partial.refund_amount, partial.full), (9900, 2500, false));
    assert_eq!((partial.customer_mrr, partial.mrr_impact), (9900, 0));
    assert_eq!(partial.tenant_id.as_deref(), Some(ACME));
    let full = actions::preview_refund(&env.conn, finance, &req("ch_a3", None), nov15).unwrap();
    assert_eq!((full.already_refunded, full.refundable, full.refund_amount, full.full), (2000, 7900, 7900, true));
    assert_eq!((full.customer_mrr, full.mrr_impact), (9900, -9900));

    // Refused before anything is sent or recorded.
    let cx = ActionContext { session: &env.finance, stripe: &client(fake), cache_path: &p.cache_path() };
    let err = actions::refund(cx, &req("ch_a3", Some(8000))).await.unwrap_err();
    assert!(err.to_string().contains("only 79.00 USD"), "{err}");
    assert!(actions::refund(cx, &RefundRequest { reason: "  ".into(), ..req("ch_a1", None) }).await.is_err());
    assert!(actions::refund(cx, &req("ch_a2", None)).await.unwrap_err().to_string().contains("failed"));
    for role in ["support", "ops", "admin"] {
        let who = p.session(role).await;
        let err = actions::refund(ActionContext { session: &who, ..cx }, &req("ch_a1", Some(100))).await.unwrap_err();
        assert!(matches!(err, ActionError::Refused(FinanceError::Forbidden(_))), "{role}: {err}");
    }
    assert_eq!(posts(fake), 0);
    assert!(action_states(p).await.is_empty());

    // The first answer is lost after Stripe acted: the client retries with the same key
    // and Stripe pays out once.
    fake.lose_next_answers(1);
    let outcome = actions::refund(cx, &req("ch_a1", Some(2500))).await.unwrap();
    assert_eq!(fake.count("refunds"), 3);
    assert_eq!(fake.object("ch_a1").unwrap()["amount_refunded"], 2500);
    assert_eq!(outcome.result_id.as_deref().map(|s| s.starts_with("re_")), Some(true));
    let keys: Vec<Option<String>> =
        fake.requests().into_iter().filter(|r| r.method == "POST").map(|r| r.idempotency_key).collect();
    assert_eq!(keys, vec![Some(outcome.action_id.clone()), Some(outcome.action_id.clone())]);
    assert_eq!(action_states(p).await, vec![("refund".into(), "ch_a1".into(), "succeeded".into())]);
    let entries = audit_actions(p, "ch_a1").await;
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["payment.refunded.requested", "payment.refunded"]);
    assert_eq!(entries[0].1.as_deref(), Some("duplicate charge, ticket #4411"));
    assert_eq!(entries[0].2["amount_refunded"], 0);
    assert_eq!(entries[0].3["state"], "pending");
    assert_eq!(entries[1].3["stripe"]["amount"], 2500);
    assert_eq!(entries[1].3["state"], "succeeded");
    // Both entries and the journal name the verified identity: the signed-in staff
    // member's id and role, and the host and client their session was opened from.
    let me = finance.user_id().unwrap().to_string();
    let verified = (
        me.clone(),
        Some("finance".to_string()),
        Some("192.0.2.10".to_string()),
        Some("penguin-admin-tests".to_string()),
    );
    let who: Vec<_> =
        audit_who(p, "ch_a1").await.into_iter().map(|(_, id, role, ip, agent)| (id, role, ip, agent)).collect();
    assert_eq!(who, vec![verified.clone(), verified]);
    let actor: (String, String, String, Option<String>) = sqlx::query_as(
        "SELECT actor_id, actor_email, actor_role, completed_by FROM penguin_console.money_actions WHERE target = 'ch_a1'",
    )
    .fetch_one(&p.central.oltp)
    .await
    .unwrap();
    assert_eq!(actor, (me.clone(), "finance@penguin.test".into(), "finance".into(), Some(me)));

    // Re-sync: the cache shows it.
    let report = stripe_sync::sync(&client(fake), finance, &p.cache_path(), None, &Cancel::default()).await.unwrap();
    assert_eq!(report.mode, "incremental");
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let (refunded, status): (i64, String) = conn
        .query_row("SELECT amount_refunded, payment_status FROM stripe_charges WHERE id = 'ch_a1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((refunded, status.as_str()), (2500, "partially_refunded"));
    let note: String =
        conn.query_row("SELECT note FROM stripe_refunds WHERE charge = 'ch_a1'", [], |r| r.get(0)).unwrap();
    assert_eq!(note, "duplicate charge, ticket #4411");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_refund_stays_pending_and_resume_completes_it_without_paying_twice() {
    let env = synced().await;
    let (p, fake) = (&env._p, &env._fake);
    let mut cfg = StripeConfig::new(fake.api_base(), fake.secret_key());
    cfg.max_retries = 0;
    let fragile = Stripe::new(cfg).unwrap();
    let cx = ActionContext { session: &env.finance, stripe: &fragile, cache_path: &p.cache_path() };
    fake.lose_next_answers(1);
    let req = RefundRequest {
        charge_id: "ch_u1".into(),
        amount: None,
        reason: "churned, goodwill".into(),
        stripe_reason: None,
    };
    let err = actions::refund(cx, &req).await.unwrap_err();
    assert!(matches!(err, ActionError::Unconfirmed { .. }), "{err}");
    assert_eq!(fake.count("refunds"), 3, "Stripe did refund");
    assert_eq!(action_states(p).await, vec![("refund".into(), "ch_u1".into(), "pending".into())]);
    let names: Vec<String> = audit_actions(p, "ch_u1").await.into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["payment.refunded.requested"], "the change already has its entry");

    // Only its author, or someone holding `payments.refund`, may complete it: support
    // sees no pending action, and the database refuses its completion.
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM penguin_console.money_actions").fetch_one(&p.central.oltp).await.unwrap();
    assert_eq!(actions::pending(&env.finance).await.unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), [id]);
    let support = p.session("support").await;
    assert!(actions::pending(&support).await.unwrap().is_empty());
    let mut tx = support.begin(DbKind::Oltp).await.unwrap();
    let err = sqlx::query("SELECT penguin_console_api.finance_complete($1, false, NULL, 'I say it failed')")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42501", "{err}");
    assert!(err.to_string().contains("payments.refund"), "{err}");
    drop(tx);

    // A colleague in finance resumes it (as the app does at start-up).
    let colleague_id =
        common::staff_account(&p.central, "finance", "finance2@penguin.test", common::STAFF_PASSWORD).await;
    let colleague =
        Session::sign_in(p.desktop().await, "finance2@penguin.test", common::STAFF_PASSWORD, &common::test_client())
            .await
            .unwrap();
    let pending = actions::pending(&colleague).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].kind.as_str(), pending[0].target.as_str()), ("refund", "ch_u1"));
    assert_eq!(pending[0].requested_by.email(), "finance@penguin.test");
    let done = actions::resume_pending(&colleague, &client(fake)).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(fake.count("refunds"), 3, "replayed with the same key: no second refund");
    assert_eq!(fake.object("ch_u1").unwrap()["amount_refunded"], 4900);
    assert_eq!(action_states(p).await, vec![("refund".into(), "ch_u1".into(), "succeeded".into())]);
    let names: Vec<String> = audit_actions(p, "ch_u1").await.into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["payment.refunded.requested", "payment.refunded"]);
    // The "requested" entry names who asked; the "done" entry who completed it, and in
    // it who asked.
    let me = env.finance.staff().user_id().unwrap().to_string();
    let who: Vec<(String, String)> = audit_who(p, "ch_u1").await.into_iter().map(|w| (w.0, w.1)).collect();
    assert_eq!(
        who,
        [("payment.refunded.requested".into(), me.clone()), ("payment.refunded".into(), colleague_id.to_string())]
    );
    assert_eq!(audit_actions(p, "ch_u1").await[1].3["requested_by"], me);
    let completed_by: Option<String> =
        sqlx::query_scalar("SELECT completed_by FROM penguin_console.money_actions WHERE id = $1")
            .bind(id)
            .fetch_one(&p.central.oltp)
            .await
            .unwrap();
    assert_eq!(completed_by, Some(colleague_id.to_string()));
    assert!(actions::resume_pending(&env.finance, &client(fake)).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_and_invoice_actions_are_checked_and_audited() {
    let env = synced().await;
    let (p, fake) = (&env._p, &env._fake);
    let stripe = client(fake);
    let cx = ActionContext { session: &env.finance, stripe: &stripe, cache_path: &p.cache_path() };
    actions::change_subscription(cx, "sub_acme", &SubscriptionChange::CancelAtPeriodEnd, "customer asked")
        .await
        .unwrap();
    assert_eq!(fake.object("sub_acme").unwrap()["cancel_at_period_end"], true);
    let entries = audit_actions(p, "sub_acme").await;
    assert_eq!(entries[1].0, "subscription.cancel_scheduled");
    assert_eq!(entries[1].2["cancel_at_period_end"], false);
    assert_eq!(entries[1].3["stripe"]["cancel_at_period_end"], true);

    // Stripe refuses an unknown coupon: recorded as failed, nothing changed.
    let err = actions::change_subscription(
        cx,
        "sub_acme",
        &SubscriptionChange::ApplyCoupon { coupon: "NOPE".into() },
        "promo",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ActionError::Stripe { .. }), "{err}");
    assert_eq!(fake.object("sub_acme").unwrap()["discount"], serde_json::Value::Null);
    let last = audit_actions(p, "sub_acme").await.pop().unwrap();
    assert_eq!(last.0, "subscription.coupon_applied.failed");

    // Plan change to a price Stripe knows.
    fake.put_quietly(finance_common::price("price_growth_m", "Growth", 4900, "usd", "month"));
    actions::change_subscription(
        cx,
        "sub_acme",
        &SubscriptionChange::ChangePlan { price: "price_growth_m".into() },
        "downgrade",
    )
    .await
    .unwrap();
    assert_eq!(fake.object("sub_acme").unwrap()["items"]["data"][0]["price"]["id"], "price_growth_m");
    stripe_sync::sync(&stripe, env.finance.staff(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let (at_end, price): (bool, String) = conn
        .query_row(
            "SELECT s.cancel_at_period_end, i.price_id FROM stripe_subscriptions s
             JOIN stripe_subscription_items i ON i.subscription = s.id WHERE s.id = 'sub_acme'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((at_end, price.as_str()), (true, "price_growth_m"));

    // Already canceled, not open, not allowed: refused before sending.
    let before = posts(fake);
    assert!(actions::change_subscription(cx, "sub_orphan", &SubscriptionChange::CancelNow, "x").await.is_err());
    assert!(actions::retry_payment(cx, "in_u2").await.unwrap_err().to_string().contains("uncollectible"));
    let support = p.session("support").await;
    let err = actions::resend_invoice(ActionContext { session: &support, ..cx }, "in_u2").await.unwrap_err();
    assert!(matches!(err, ActionError::Refused(FinanceError::Forbidden(_))), "{err}");
    assert_eq!(posts(fake), before);

    // Cancel now.
    actions::change_subscription(cx, "sub_globex", &SubscriptionChange::CancelNow, "fraud review").await.unwrap();
    assert_eq!(fake.object("sub_globex").unwrap()["status"], "canceled");
    assert_eq!(audit_actions(p, "sub_globex").await.pop().unwrap().0, "subscription.canceled");
}

async fn webhook_log_then_health(p: &Platform, finance: &Session, sql: &str) -> webhooks::WebhookHealth {
    sqlx::raw_sql(sql).execute(&p.central.oltp).await.unwrap();
    p.sync_as(finance, &p.cache_path()).await;
    webhooks::health(&cache::open_read(&p.cache_path()).unwrap(), finance.staff()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_health_follows_the_platform_log() {
    let env = synced().await;
    let p = &env._p;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let h = webhooks::health(&conn, env.finance.staff()).unwrap();
    assert_eq!(h.status, WebhookStatus::Unknown, "an empty log tells nothing");
    drop(conn);

    let log = |sql: &'static str| webhook_log_then_health(p, &env.finance, sql);
    let h = log(
        "INSERT INTO webhook_events VALUES
           (gen_random_uuid(), 'evt_1', 'invoice.paid', now() AT TIME ZONE 'UTC' - interval '3 hours', 'success', NULL),
           (gen_random_uuid(), 'evt_2', 'customer.subscription.updated', now() AT TIME ZONE 'UTC' - interval '4 minutes', 'success', NULL);
         UPDATE subscriptions SET status = 'past_due' WHERE id = '00000000-0000-0000-0000-0000000000e1';",
    )
    .await;
    assert_eq!(h.status, WebhookStatus::Healthy);
    assert_eq!(h.last_event_type.as_deref(), Some("customer.subscription.updated"));
    assert_eq!(h.minutes_since_last, Some(4));
    assert_eq!(h.past_due_subscriptions, 1);

    let h = log("DELETE FROM webhook_events WHERE stripe_event_id = 'evt_2';
                 INSERT INTO webhook_events VALUES (gen_random_uuid(), 'evt_3', 'invoice.finalized',
                   now() AT TIME ZONE 'UTC' - interval '25 minutes', 'success', NULL);")
    .await;
    assert_eq!((h.status, h.minutes_since_last), (WebhookStatus::Delayed, Some(25)));

    let h = log("INSERT INTO webhook_events VALUES
                   (gen_random_uuid(), 'evt_4', 'invoice.payment_failed', now() AT TIME ZONE 'UTC' - interval '12 minutes',
                    'failed', 'database connection refused'),
                   (gen_random_uuid(), 'evt_5', 'invoice.paid', now() AT TIME ZONE 'UTC' - interval '2 minutes', 'retrying', NULL);").await;
    assert_eq!(h.status, WebhookStatus::Error, "a failure in the last hour");
    assert_eq!((h.failed_last_24h, h.retrying), (1, 1));
    assert_eq!(
        h.failed_events.iter().map(|e| e.stripe_event_id.as_deref().unwrap_or("")).collect::<Vec<_>>(),
        ["evt_5", "evt_4"]
    );
    assert_eq!(h.failed_events[1].error_message.as_deref(), Some("database connection refused"));

    let h = log("DELETE FROM webhook_events WHERE status <> 'success' OR stripe_event_id = 'evt_3';").await;
    assert_eq!((h.status, h.minutes_since_last), (WebhookStatus::Error, Some(180)), "last webhook 3 hours ago");
    assert!(matches!(
        webhooks::health(&cache::open_read(&p.cache_path()).unwrap(), &env.staff("ops").await),
        Err(FinanceError::Forbidden(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fake_stripe_mirroring_the_platform_reconciles_cleanly() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    sqlx::raw_sql(&format!(
        "INSERT INTO tenant_config (tenant_id, stripe_customer_id, billing_email) VALUES
           ('{ACME}', 'cus_acme', 'billing@acme.test'), ('{GLOBEX}', 'cus_globex', 'carol@globex.test');
         UPDATE subscriptions SET stripe_subscription_id = 'sub_' || right(id::text, 2);"
    ))
    .execute(&p.central.oltp)
    .await
    .unwrap();
    let data = penguin_admin::stripe::fake::Dataset::from_platform(&p.central.oltp, 10_000).await.unwrap();
    let fake = FakeStripe::start(data, Default::default()).await.unwrap();
    assert_eq!((fake.count("customers"), fake.count("subscriptions"), fake.count("charges")), (2, 2, 50));
    let finance = p.session("finance").await;
    p.sync_as(&finance, &p.cache_path()).await;
    stripe_sync::sync(&client(&fake), finance.staff(), &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let r = reconcile::reconcile(&conn, finance.staff(), "2000-01-01", "2100-01-01").unwrap();
    assert!(r.discrepancies.is_empty(), "{:?}", r.discrepancies);
    let usd = r.totals.iter().find(|t| t.currency == "usd").unwrap();
    // 50 payments of 99.00, all paid out.
    assert_eq!((usd.platform_collected, usd.stripe_charged, usd.payouts), (495_000, 495_000, 495_000));
    let acme =
        payments::list(&conn, finance.staff(), &PaymentQuery { tenant_id: Some(ACME.into()), ..Default::default() })
            .unwrap();
    assert_eq!(acme.total, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_invoice_is_validated_then_created_finalised_synced_and_its_pdf_downloads() {
    use penguin_admin::finance::billing::{self, InvoiceQuery, InvoiceState};
    use penguin_admin::finance::invoicing::{self, ManualInvoice, ManualLine};
    let env = synced().await;
    let (p, fake) = (&env._p, &env._fake);
    let finance = env.finance.staff();
    let stripe = client(fake);
    let cx = ActionContext { session: &env.finance, stripe: &stripe, cache_path: &p.cache_path() };
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(30)).to_string();
    let deal = ManualInvoice {
        customer_id: "cus_acme".into(),
        currency: "USD".into(),
        due_date: due.clone(),
        lines: vec![
            ManualLine { description: "Onboarding workshop".into(), quantity: 2, unit_amount: 75_000 },
            ManualLine { description: "Dedicated IP, first month".into(), quantity: 1, unit_amount: 4_900 },
        ],
        memo: Some("Custom deal FIN-7".into()),
        reason: "Signed order form FIN-7".into(),
    };

    // Refused before anything is sent: no reason, a past due date, a zero price, support.
    let before = posts(fake);
    let refused =
        |inv: ManualInvoice| async move { invoicing::create_invoice(cx, &inv).await.unwrap_err().to_string() };
    assert!(refused(ManualInvoice { reason: " ".into(), ..deal.clone() }).await.contains("reason"));
    assert!(refused(ManualInvoice { due_date: "2020-01-01".into(), ..deal.clone() }).await.contains("due date"));
    let mut zero = deal.clone();
    zero.lines[1].unit_amount = 0;
    assert!(refused(zero).await.contains("line 2"));
    assert!(refused(ManualInvoice { customer_id: "cus_nobody".into(), ..deal.clone() }).await.contains("cus_nobody"));
    let support = p.session("support").await;
    let err = invoicing::create_invoice(ActionContext { session: &support, ..cx }, &deal).await.unwrap_err();
    assert!(matches!(err, ActionError::Refused(FinanceError::Forbidden(_))), "{err}");
    assert_eq!(posts(fake), before, "nothing was sent for refused invoices");

    // 2 × 750.00 + 49.00 = 1,549.00, open, due in 30 days, in three kinds of request.
    let outcome = invoicing::create_invoice(cx, &deal).await.unwrap();
    let id = outcome.result_id.clone().unwrap();
    let inv = fake.object(&id).unwrap();
    assert_eq!((inv["status"].as_str(), inv["total"].as_i64()), (Some("open"), Some(154_900)));
    assert_eq!(inv["collection_method"], "send_invoice");
    assert_eq!(posts(fake), before + 4, "draft, two items, finalisation");
    let kinds: Vec<String> = action_states(p).await.into_iter().map(|(k, _, s)| format!("{k}:{s}")).collect();
    assert_eq!(
        kinds.iter().rev().take(4).rev().cloned().collect::<Vec<_>>(),
        [
            "create_invoice:succeeded",
            "add_invoice_item:succeeded",
            "add_invoice_item:succeeded",
            "finalize_invoice:succeeded"
        ]
    );
    let keys: std::collections::HashSet<_> =
        fake.requests().iter().filter(|r| r.method == "POST").filter_map(|r| r.idempotency_key.clone()).collect();
    assert!(keys.len() >= 4, "every request has its own idempotency key");

    // Synced back (incremental, through events): open with two lines.
    stripe_sync::sync(&stripe, finance, &p.cache_path(), None, &Cancel::default()).await.unwrap();
    let conn = cache::open_read(&p.cache_path()).unwrap();
    let detail = billing::invoice(&conn, finance, &id).unwrap().unwrap();
    assert_eq!(detail.invoice.state, InvoiceState::Open);
    assert_eq!(detail.invoice.total, 154_900);
    assert_eq!(detail.lines.len(), 2);
    let open =
        billing::invoices(&conn, finance, &InvoiceQuery { states: vec![InvoiceState::Open], ..Default::default() })
            .unwrap();
    assert!(open.rows.iter().any(|r| r.id == id));

    // Its PDF downloads, and is a PDF naming the invoice.
    let (url, number) = invoicing::pdf_link(&conn, finance, &id).unwrap();
    let pdf = invoicing::download_pdf(&stripe, &url).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf).contains(&format!("Invoice {number}")));
    assert!(String::from_utf8_lossy(&pdf).contains("Total 1549.00 USD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_are_overdue_by_due_date_failed_payments_show_retries_and_notice_and_subscriptions_their_discount() {
    use finance_common::{charge, invoice};
    use penguin_admin::finance::billing::{self, InvoiceQuery, InvoiceState};
    let now = chrono::Utc::now().timestamp();
    let day = 86_400;
    let env = synced_with("", |fake| {
        // Open and 5 days past due, declined twice; open and due in 40 days, never attempted.
        let mut late = invoice(
            "in_late",
            "ACME-0099",
            "cus_acme",
            Some("sub_acme"),
            "open",
            9900,
            0,
            None,
            vec![],
            false,
            now - 20 * day,
        );
        late["due_date"] = serde_json::json!(now - 5 * day);
        late["attempt_count"] = serde_json::json!(2);
        late["next_payment_attempt"] = serde_json::json!(now + 3 * day);
        fake.put_quietly(late);
        let mut soon =
            invoice("in_soon", "ACME-0100", "cus_acme", None, "open", 12000, 0, None, vec![], false, now - day);
        soon["due_date"] = serde_json::json!(now + 40 * day);
        soon["attempt_count"] = serde_json::json!(0);
        fake.put_quietly(soon);
        let declined = Some(("card_declined", "Your card was declined."));
        fake.put_quietly(charge(
            "ch_late1",
            "cus_acme",
            Some("in_late"),
            9900,
            "usd",
            "failed",
            0,
            false,
            declined,
            "visa",
            "4242",
            now - 15 * day,
        ));
        let broke = Some(("insufficient_funds", "Your card has insufficient funds."));
        fake.put_quietly(charge(
            "ch_late2",
            "cus_acme",
            Some("in_late"),
            9900,
            "usd",
            "failed",
            0,
            false,
            broke,
            "visa",
            "4242",
            now - 8 * day,
        ));
    })
    .await;
    let p = &env._p;
    let finance = env.finance.staff();
    let conn = &env.conn;

    let states = |ids: &[&str]| -> Vec<(String, InvoiceState)> {
        let page = billing::invoices(
            conn,
            finance,
            &InvoiceQuery { search: Some("cus_acme".into()), limit: Some(500), ..Default::default() },
        )
        .unwrap();
        page.rows.into_iter().filter(|r| ids.contains(&r.id.as_str())).map(|r| (r.id, r.state)).collect()
    };
    assert_eq!(
        states(&["in_late", "in_soon"]),
        [("in_soon".to_string(), InvoiceState::Open), ("in_late".to_string(), InvoiceState::Overdue)]
    );
    let overdue =
        billing::invoices(conn, finance, &InvoiceQuery { states: vec![InvoiceState::Overdue], ..Default::default() })
            .unwrap();
    assert_eq!(overdue.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["in_late"]);
    let by_number =
        billing::invoices(conn, finance, &InvoiceQuery { search: Some("acme-0100".into()), ..Default::default() })
            .unwrap();
    assert_eq!(by_number.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["in_soon"]);

    // Not notified yet: the platform has no payment_failed notification for Acme.
    let failed = billing::failed_payments(conn, finance, None).unwrap();
    assert_eq!(failed.len(), 1, "only the open invoice whose latest charge failed");
    let f = &failed[0];
    assert_eq!((f.invoice.id.as_str(), f.invoice.attempt_count), ("in_late", 2));
    assert_eq!((f.charge_id.as_deref(), f.failure_code.as_deref()), (Some("ch_late2"), Some("insufficient_funds")));
    assert_eq!(f.next_retry.as_deref(), Some(penguin_admin::finance::iso(now + 3 * day).as_str()));
    assert!(!f.customer_notified);
    // The platform notified Acme after the first failure: now it says so.
    sqlx::query(
        "INSERT INTO notifications (tenant_id, type, title, message, channel, created_at)
         VALUES ($1::uuid, 'payment_failed', 'Payment failed', 'Update your card', 'email', to_timestamp($2))",
    )
    .bind(ACME)
    .bind((now - 14 * day) as f64)
    .execute(&p.central.notifications)
    .await
    .unwrap();
    p.sync_as(&env.finance, &p.cache_path()).await;
    let conn = cache::open_read(&p.cache_path()).unwrap();
    assert!(billing::failed_payments(&conn, finance, None).unwrap()[0].customer_notified);

    // Globex: Enterprise 4,990.00 + seats 300.00 a year, 10 % off forever.
    let subs = billing::subscriptions(&conn, finance, Some("active"), None, None).unwrap();
    let mut ids: Vec<&str> = subs.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["sub_acme", "sub_globex"]);
    let globex = subs.iter().find(|s| s.id == "sub_globex").unwrap();
    assert_eq!((globex.amount, globex.interval.as_deref()), (529_000, Some("year")));
    assert_eq!(globex.discount.as_deref(), Some("10% off (forever)"));
    assert_eq!(globex.tenant_id.as_deref(), Some(GLOBEX));
    let support = billing::subscriptions(&conn, &env.staff("support").await, None, None, Some("carol")).unwrap();
    assert_eq!(support.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["sub_globex"]);
    assert_ne!(support[0].customer_email.as_deref(), Some("carol@globex.test"), "support sees the email masked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collected_revenue_per_day_week_and_month_adds_up_the_charges_by_hand() {
    use finance_common::charge;
    use penguin_admin::finance::revenue::{collected, Period};
    let env = synced_with("", |fake| {
        // Mon 2026-12-07 10:00: 100.00 paid (25.00 refunded later); Tue 12-08: 50.00 paid and
        // 20.00 failed; Mon 12-14: 30.00 paid; Fri 2027-01-01: 40.00 paid.
        let at = |s: &str| finance_common::t(s);
        let ok = |id: &str, amount: i64, refunded: i64, when: &str| {
            charge(id, "cus_acme", None, amount, "usd", "succeeded", refunded, false, None, "visa", "4242", at(when))
        };
        fake.put_quietly(ok("ch_c1", 10_000, 2_500, "2026-12-07 10:00"));
        fake.put_quietly(ok("ch_c2", 5_000, 0, "2026-12-08 09:00"));
        let declined = Some(("card_declined", "Declined"));
        fake.put_quietly(charge(
            "ch_c3",
            "cus_acme",
            None,
            2_000,
            "usd",
            "failed",
            0,
            false,
            declined,
            "visa",
            "4242",
            at("2026-12-08 11:00"),
        ));
        fake.put_quietly(ok("ch_c4", 3_000, 0, "2026-12-14 08:00"));
        fake.put_quietly(ok("ch_c5", 4_000, 0, "2027-01-01 12:00"));
    })
    .await;
    let finance = env.finance.staff();
    let sums = |period| -> Vec<(String, i64, i64, i64, i64)> {
        collected(&env.conn, finance, period, "2026-12-07", "2027-01-02")
            .unwrap()
            .into_iter()
            .map(|p| (p.period, p.gross, p.refunded, p.succeeded, p.failed))
            .collect()
    };
    let s = |x: &str| x.to_string();
    assert_eq!(
        sums(Period::Day),
        [
            (s("2026-12-07"), 10_000, 2_500, 1, 0),
            (s("2026-12-08"), 5_000, 0, 1, 1),
            (s("2026-12-14"), 3_000, 0, 1, 0),
            (s("2027-01-01"), 4_000, 0, 1, 0)
        ]
    );
    assert_eq!(
        sums(Period::Week),
        [(s("2026-12-07"), 15_000, 2_500, 2, 1), (s("2026-12-14"), 3_000, 0, 1, 0), (s("2026-12-28"), 4_000, 0, 1, 0)]
    );
    assert_eq!(sums(Period::Month), [(s("2026-12-01"), 18_000, 2_500, 3, 1), (s("2027-01-01"), 4_000, 0, 1, 0)]);
    assert!(collected(&env.conn, &env.staff("ops").await, Period::Day, "2026-12-01", "2027-01-01").is_err());
    assert!(collected(&env.conn, finance, Period::Day, "2027-01-01", "2026-12-01")
        .unwrap_err()
        .to_string()
        .contains("empty"));
}

/// A raw connection of the desktop login to OLTP, signed in as `email` the way `psql`
/// would be: returns the connection and the token.
async fn psql_as(p: &Platform, email: &str) -> (sqlx::PgConnection, String) {
    use sqlx::Connection;
    let targets = p.targets();
    let target = targets.iter().find(|t| t.kind == DbKind::Oltp).unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&target.options).await.unwrap();
    let answer: serde_json::Value = sqlx::query_scalar("SELECT penguin_console_api.sign_in($1, $2, 'psql', 'psql')")
        .bind(email)
        .bind(common::STAFF_PASSWORD)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (conn, answer["token"].as_str().unwrap().to_string())
}

/// Runs `sql` with `token` set in a transaction that is rolled back: "ok" or the SQLSTATE.
async fn attempt(conn: &mut sqlx::PgConnection, token: Option<&str>, sql: &str) -> String {
    use sqlx::Connection;
    let mut tx = conn.begin().await.unwrap();
    if let Some(t) = token {
        sqlx::query("SELECT set_config('penguin_console.token', $1, true)").bind(t).execute(&mut *tx).await.unwrap();
    }
    let out = match sqlx::query(sql).fetch_all(&mut *tx).await {
        Ok(_) => "ok".to_string(),
        Err(e) => sqlstate(&e),
    };
    let _ = tx.rollback().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_money_actions_the_role_does_not_allow_whatever_the_client() {
    let env = synced().await;
    let (p, fake) = (&env._p, &env._fake);
    let refund = "SELECT penguin_console_api.finance_journal('refund', 'ch_a1', '00000000-0000-0000-0000-0000000000b1',
                   'POST', '/v1/refunds', '[[\"charge\", \"ch_a1\"], [\"amount\", \"100\"]]', 'goodwill', NULL)";

    // A refund journaled by a support session: refused by the database, nothing written.
    let support = p.session("support").await;
    let mut tx = support.begin(DbKind::Oltp).await.unwrap();
    let err = sqlx::query(refund).execute(&mut *tx).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501", "{err}");
    assert!(err.to_string().contains("payments.refund"), "{err}");
    drop(tx);
    // The same with support's token over a raw connection of the desktop login (psql), and
    // the journal written directly: refused (42501), with or without a token, for
    // support and for finance alike. Only the functions write the journal.
    let (mut raw, support_token) = psql_as(p, "support@penguin.test").await;
    let (_, finance_token) = psql_as(p, "finance@penguin.test").await;
    assert_eq!(attempt(&mut raw, Some(&support_token), refund).await, "42501");
    assert_eq!(attempt(&mut raw, Some(&finance_token), refund).await, "ok", "the function is the way in");
    for token in [None, Some(support_token.as_str()), Some(finance_token.as_str())] {
        for sql in [
            "INSERT INTO penguin_console.money_actions (id, kind, target, method, path, form, actor_id, actor_email,
               actor_role, state) VALUES (gen_random_uuid(), 'refund', 'ch_a1', 'POST', '/v1/refunds', '[]', 'x', 'x', 'x', 'pending')",
            "UPDATE penguin_console.money_actions SET state = 'failed'",
            "DELETE FROM penguin_console.money_actions",
            "SELECT * FROM penguin_console.money_actions",
        ] {
            assert_eq!(attempt(&mut raw, token, sql).await, "42501", "{:?}: {sql}", token.map(|t| &t[..8]));
        }
    }
    assert!(action_states(p).await.is_empty());

    // The journal names its author from the session, never from the request.
    let mut tx = env.finance.begin(DbKind::Oltp).await.unwrap();
    let forged = "SELECT penguin_console_api.finance_journal('refund', 'ch_a1', NULL, 'POST', '/v1/refunds',
                   '[[\"charge\", \"ch_a1\"], [\"amount\", \"100\"], [\"metadata[requested_by]\", \"ceo@penguin.test\"]]',
                   'goodwill', NULL)";
    let err = sqlx::query(forged).execute(&mut *tx).await.unwrap_err();
    assert_eq!(sqlstate(&err), "PM400", "{err}");
    drop(tx);
    // A request that does not match its kind (a retry sent as a refund) is refused too.
    let mut tx = env.finance.begin(DbKind::Oltp).await.unwrap();
    let err = sqlx::query(
        "SELECT penguin_console_api.finance_journal('retry_payment', 'in_a2', NULL, 'POST', '/v1/refunds', '[]', NULL, NULL)",
    )
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&err), "PM400", "{err}");
    drop(tx);

    // The library's own check gives the message first, but the database decides: a
    // finance member whose role loses `payments.refund` after signing in still holds a
    // Staff that says they may refund; the journal refuses, and nothing reaches Stripe.
    sqlx::query(
        "DELETE FROM staff_role_permissions WHERE role_id = (SELECT id FROM staff_roles WHERE name = 'finance')
           AND permission_id = (SELECT id FROM permissions WHERE name = 'payments.refund')",
    )
    .execute(&p.central.oltp)
    .await
    .unwrap();
    assert!(env.finance.staff().can(penguin_admin::auth::permissions::PAYMENTS_REFUND));
    let cx = ActionContext { session: &env.finance, stripe: &client(fake), cache_path: &p.cache_path() };
    let req =
        RefundRequest { charge_id: "ch_a1".into(), amount: Some(100), reason: "goodwill".into(), stripe_reason: None };
    let err = actions::refund(cx, &req).await.unwrap_err();
    assert!(
        matches!(&err, ActionError::Refused(FinanceError::Forbidden(penguin_admin::auth::AuthError::Denied(m))) if m.contains("payments.refund")),
        "{err}"
    );
    assert_eq!(posts(fake), 0);
    assert!(action_states(p).await.is_empty());
    let nothing: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_audit_log WHERE resource_id = 'ch_a1'")
        .fetch_one(&p.central.olap)
        .await
        .unwrap();
    assert_eq!(nothing, 0);
}

/// Every text value of the cache's `stripe_*` tables, as (table.column, value).
fn stripe_text(conn: &rusqlite::Connection) -> Vec<(String, String)> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'stripe_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for c in cols {
            let mut st = conn.prepare(&format!("SELECT \"{c}\" FROM \"{t}\" WHERE typeof(\"{c}\") = 'text'")).unwrap();
            for v in st.query_map([], |r| r.get::<_, String>(0)).unwrap() {
                out.push((format!("{t}.{c}"), v.unwrap()));
            }
        }
    }
    out
}

/// An e-mail address in `v`: a letter or digit right before an '@'.
fn has_email(v: &str) -> bool {
    let chars: Vec<char> = v.chars().collect();
    chars.iter().enumerate().any(|(i, c)| *c == '@' && i > 0 && chars[i - 1].is_ascii_alphanumeric())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_s_cache_after_a_stripe_sync_holds_no_customer_email_name_or_invoice_pdf_link() {
    let p = Platform::installed().await;
    small_fixture(&p.central).await;
    billing_contacts(&p).await;
    let fake = fake().await;
    // The charges carry billing e-mails and descriptions naming people, too.
    let mut a1 = fake.object("ch_a1").unwrap();
    a1["billing_details"]["email"] = serde_json::json!("billing@acme.test");
    a1["description"] = serde_json::json!("Pro for alice@acme.test");
    fake.put_quietly(a1);
    // The profile names the fake Stripe; support syncs its own cache from the CLI.
    let mut toml = std::fs::read_to_string(p.profile_path()).unwrap();
    toml.push_str(&format!("\n[stripe]\napi_base = \"{}\"\n", fake.api_base()));
    std::fs::write(p.profile_path(), toml).unwrap();
    let support = p.session("support").await;
    let path = p.dir.path().join("support.sqlite");
    p.sync_as(&support, &path).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_penguin-admin"))
        .args(["finance", "sync", "--profile"])
        .arg(p.profile_path())
        .args(["--as", "support@penguin.test", "--cache"])
        .arg(&path)
        .env("PENGUIN_ADMIN_PASSWORD", common::STAFF_PASSWORD)
        .env("PENGUIN_ADMIN_CACHE_KEY", common::CACHE_KEY)
        .env("STRIPE_SECRET_KEY", fake.secret_key())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let check = |path: &std::path::Path| {
        let conn = cache::open_read(path).unwrap();
        // Everything is there (5 customers, 8 charges, 9 invoices), with nothing personal.
        let count =
            |t: &str| -> i64 { conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0)).unwrap() };
        assert_eq!((count("stripe_customers"), count("stripe_charges"), count("stripe_invoices")), (5, 8, 9));
        let text = stripe_text(&conn);
        let leaks: Vec<_> = text
            .iter()
            .filter(|(_, v)| {
                has_email(v)
                    || v.contains("pay.stripe.test")
                    || v.contains("/files/invoices/")
                    || ["Acme Billing", "Carol Diaz", "Initech Ops", "Umbrella AP", "Gavin B"]
                        .iter()
                        .any(|n| v.contains(n))
            })
            .collect();
        assert!(leaks.is_empty(), "{leaks:?}");
        let links: i64 = conn
            .query_row(
                "SELECT count(*) FROM stripe_invoices WHERE invoice_pdf IS NOT NULL OR hosted_invoice_url IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(links, 0, "no invoice PDF link");
        let (email, name): (String, String) = conn
            .query_row("SELECT email, name FROM stripe_customers WHERE id = 'cus_acme'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((email.as_str(), name.as_str()), ("b•••@•••.test", "A. B."));
        let (billing, description): (String, String) = conn
            .query_row("SELECT billing_email, description FROM stripe_charges WHERE id = 'ch_a1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((billing.as_str(), description.as_str()), ("b•••@•••.test", "Pro for a•••@•••.test"));
        conn
    };
    let conn = check(&path);
    // Invoice PDFs are never served to support: refused with a reason, and no link in
    // the invoice's detail.
    let err = invoicing_pdf_link(&conn, support.staff(), "in_a1").unwrap_err();
    assert!(matches!(err, FinanceError::Forbidden(_)), "{err}");
    assert!(err.to_string().contains("pii.view"), "{err}");
    let detail = penguin_admin::finance::billing::invoice(&conn, support.staff(), "in_a1").unwrap().unwrap();
    assert_eq!(detail.invoice_pdf, None);
    let page = payments::list(&conn, support.staff(), &PaymentQuery::default()).unwrap();
    assert_eq!(page.total, 8);
    assert!(!page.rows.iter().any(|r| r.customer_email.as_deref().is_some_and(has_email)), "{:?}", page.rows);
    drop(conn);

    // The same file synced for finance holds everything (reloaded in full); synced for
    // support again, it is wiped and reloaded masked, so nothing unmasked stays behind.
    let finance = p.session("finance").await;
    let stripe = client(&fake);
    let report = stripe_sync::sync(&stripe, finance.staff(), &path, None, &Cancel::default()).await.unwrap();
    assert_eq!(report.mode, "full");
    let conn = cache::open_read(&path).unwrap();
    let email: String =
        conn.query_row("SELECT email FROM stripe_customers WHERE id = 'cus_acme'", [], |r| r.get(0)).unwrap();
    assert_eq!(email, "billing@acme.test");
    assert!(invoicing_pdf_link(&conn, finance.staff(), "in_a1").is_ok());
    drop(conn);
    let report = stripe_sync::sync(&stripe, support.staff(), &path, None, &Cancel::default()).await.unwrap();
    assert_eq!(report.mode, "full");
    check(&path);

    // A role without finance.read gets no Stripe data at all.
    let qa = p.session("qa").await;
    let other = p.dir.path().join("qa.sqlite");
    let err = stripe_sync::sync(&stripe, qa.staff(), &other, None, &Cancel::default()).await.unwrap_err();
    assert!(matches!(err, stripe_sync::StripeSyncError::Forbidden(_)), "{err}");
}
