//! The Stripe objects the console reads, with only the fields it uses.
//!
//! Amounts are integer minor units (Stripe's own representation), times are Unix
//! seconds. Every optional field defaults, so a newer API version that adds or drops
//! a field does not break decoding.

use serde::Deserialize;

/// A page of a list endpoint: `{object: "list", data, has_more, url}`.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    /// The page's objects, newest first.
    pub data: Vec<T>,
    /// Whether another page follows (fetch it with `starting_after` = the last id).
    #[serde(default)]
    pub has_more: bool,
    /// The list's path, e.g. `/v1/charges`.
    #[serde(default)]
    pub url: String,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List { data: Vec::new(), has_more: false, url: String::new() }
    }
}

/// `GET /v1/customers`.
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    /// `cus_…`.
    pub id: String,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Created (Unix seconds).
    #[serde(default)]
    pub created: i64,
    /// Default currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Whether the customer has an unpaid invoice past due.
    #[serde(default)]
    pub delinquent: Option<bool>,
    /// Set on a deleted customer (`customer.deleted` events).
    #[serde(default)]
    pub deleted: bool,
}

/// A recurring price.
#[derive(Debug, Clone, Deserialize)]
pub struct Recurring {
    /// day / week / month / year.
    pub interval: String,
    /// Intervals per billing period.
    #[serde(default = "one")]
    pub interval_count: i64,
}

fn one() -> i64 {
    1
}

/// A price (plan).
#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    /// `price_…`.
    pub id: String,
    /// Product id.
    #[serde(default)]
    pub product: Option<String>,
    /// Nickname (the plan's name in the dashboard).
    #[serde(default)]
    pub nickname: Option<String>,
    /// Unit amount in minor units.
    #[serde(default)]
    pub unit_amount: Option<i64>,
    /// Currency.
    pub currency: String,
    /// Set for recurring prices.
    #[serde(default)]
    pub recurring: Option<Recurring>,
}

/// A subscription item.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    /// `si_…`.
    pub id: String,
    /// The price.
    pub price: Price,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<i64>,
}

/// A coupon.
#[derive(Debug, Clone, Deserialize)]
pub struct Coupon {
    /// Coupon id.
    pub id: String,
    /// Percentage off (Stripe sends a decimal number, e.g. 12.5).
    #[serde(default)]
    pub percent_off: Option<f64>,
    /// Fixed amount off per invoice, minor units.
    #[serde(default)]
    pub amount_off: Option<i64>,
    /// Currency of `amount_off`.
    #[serde(default)]
    pub currency: Option<String>,
    /// once / repeating / forever.
    #[serde(default)]
    pub duration: Option<String>,
}

/// A discount applied to a subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct Discount {
    /// The coupon.
    pub coupon: Coupon,
    /// When it ends (Unix seconds), `None` for forever.
    #[serde(default)]
    pub end: Option<i64>,
}

/// `pause_collection` of a subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct PauseCollection {
    /// keep_as_draft / mark_uncollectible / void.
    pub behavior: String,
    /// When collection resumes.
    #[serde(default)]
    pub resumes_at: Option<i64>,
}

/// `GET /v1/subscriptions?status=all`.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// Customer id.
    pub customer: String,
    /// trialing / active / past_due / unpaid / canceled / incomplete / incomplete_expired / paused.
    pub status: String,
    /// Created.
    #[serde(default)]
    pub created: i64,
    /// Current period start.
    #[serde(default)]
    pub current_period_start: Option<i64>,
    /// Current period end (the next renewal).
    #[serde(default)]
    pub current_period_end: Option<i64>,
    /// Cancels at period end.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// When it was canceled.
    #[serde(default)]
    pub canceled_at: Option<i64>,
    /// When it ended.
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// Trial end.
    #[serde(default)]
    pub trial_end: Option<i64>,
    /// Paused collection, if any.
    #[serde(default)]
    pub pause_collection: Option<PauseCollection>,
    /// Discount, if any.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Items (prices and quantities).
    #[serde(default)]
    pub items: List<SubscriptionItem>,
}

/// An amount in a list (`total_discount_amounts`, `tax_amounts`, …).
#[derive(Debug, Clone, Deserialize)]
pub struct AmountOnly {
    /// Minor units.
    pub amount: i64,
}

/// A line's period.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Period {
    /// Start.
    #[serde(default)]
    pub start: Option<i64>,
    /// End.
    #[serde(default)]
    pub end: Option<i64>,
}

/// An invoice line.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceLine {
    /// `il_…`.
    pub id: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Amount before discounts and tax, minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// Period covered.
    #[serde(default)]
    pub period: Period,
    /// Price.
    #[serde(default)]
    pub price: Option<Price>,
    /// Whether this is a proration.
    #[serde(default)]
    pub proration: bool,
    /// Discounts on this line.
    #[serde(default)]
    pub discount_amounts: Vec<AmountOnly>,
    /// Taxes on this line.
    #[serde(default)]
    pub tax_amounts: Vec<AmountOnly>,
}

/// Status timestamps of an invoice.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusTransitions {
    /// When it was paid.
    #[serde(default)]
    pub paid_at: Option<i64>,
}

/// `GET /v1/invoices`.
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    /// `in_…`.
    pub id: String,
    /// Human number (`ACME-0001`).
    #[serde(default)]
    pub number: Option<String>,
    /// Customer id.
    pub customer: String,
    /// Subscription id.
    #[serde(default)]
    pub subscription: Option<String>,
    /// draft / open / paid / void / uncollectible.
    #[serde(default)]
    pub status: Option<String>,
    /// Currency.
    pub currency: String,
    /// Sum of lines before discounts and tax.
    #[serde(default)]
    pub subtotal: i64,
    /// Tax.
    #[serde(default)]
    pub tax: Option<i64>,
    /// Total.
    #[serde(default)]
    pub total: i64,
    /// Amount due.
    #[serde(default)]
    pub amount_due: i64,
    /// Amount paid.
    #[serde(default)]
    pub amount_paid: i64,
    /// Amount remaining.
    #[serde(default)]
    pub amount_remaining: i64,
    /// Payment attempts so far.
    #[serde(default)]
    pub attempt_count: i64,
    /// Next automatic attempt.
    #[serde(default)]
    pub next_payment_attempt: Option<i64>,
    /// Due date (send_invoice collection).
    #[serde(default)]
    pub due_date: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created: i64,
    /// Billing period start.
    #[serde(default)]
    pub period_start: Option<i64>,
    /// Billing period end.
    #[serde(default)]
    pub period_end: Option<i64>,
    /// Status times.
    #[serde(default)]
    pub status_transitions: StatusTransitions,
    /// The charge that paid it.
    #[serde(default)]
    pub charge: Option<String>,
    /// Its payment intent.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Discounts.
    #[serde(default)]
    pub total_discount_amounts: Vec<AmountOnly>,
    /// charge_automatically / send_invoice.
    #[serde(default)]
    pub collection_method: Option<String>,
    /// The PDF.
    #[serde(default)]
    pub invoice_pdf: Option<String>,
    /// The hosted page.
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    /// Lines (first page; more via `/v1/invoices/{id}/lines`).
    #[serde(default)]
    pub lines: List<InvoiceLine>,
}

/// Card details of a charge: brand and last four digits only.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Card {
    /// visa / mastercard / amex / …
    #[serde(default)]
    pub brand: Option<String>,
    /// Last four digits.
    #[serde(default)]
    pub last4: Option<String>,
}

/// `payment_method_details` of a charge.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentMethodDetails {
    /// Set for card payments.
    #[serde(default)]
    pub card: Option<Card>,
    /// card / sepa_debit / …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// Billing details of a charge.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BillingDetails {
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET /v1/charges`: a payment attempt.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// Customer id.
    #[serde(default)]
    pub customer: Option<String>,
    /// Invoice id.
    #[serde(default)]
    pub invoice: Option<String>,
    /// Payment intent id.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Amount.
    pub amount: i64,
    /// Amount refunded so far.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Currency.
    pub currency: String,
    /// succeeded / pending / failed.
    pub status: String,
    /// Fully refunded.
    #[serde(default)]
    pub refunded: bool,
    /// Disputed.
    #[serde(default)]
    pub disputed: bool,
    /// Decline code (`card_declined`, `insufficient_funds`…).
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Decline message.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Brand and last4.
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
    /// Its balance transaction.
    #[serde(default)]
    pub balance_transaction: Option<String>,
    /// Billing details.
    #[serde(default)]
    pub billing_details: BillingDetails,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: i64,
}

/// The last error of a payment intent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentError {
    /// Error code.
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `GET /v1/payment_intents`.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// Customer id.
    #[serde(default)]
    pub customer: Option<String>,
    /// Invoice id.
    #[serde(default)]
    pub invoice: Option<String>,
    /// Amount.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Status.
    pub status: String,
    /// Latest charge id.
    #[serde(default)]
    pub latest_charge: Option<String>,
    /// Last error.
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
    /// Created.
    #[serde(default)]
    pub created: i64,
}

/// `GET /v1/refunds`.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// Charge id.
    #[serde(default)]
    pub charge: Option<String>,
    /// Payment intent id.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Amount.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// pending / succeeded / failed / canceled.
    #[serde(default)]
    pub status: Option<String>,
    /// duplicate / fraudulent / requested_by_customer.
    #[serde(default)]
    pub reason: Option<String>,
    /// Balance transaction.
    #[serde(default)]
    pub balance_transaction: Option<String>,
    /// Metadata (the console stores the staff reason in `metadata[reason]`).
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Created.
    #[serde(default)]
    pub created: i64,
}

/// `GET /v1/disputes`.
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    /// `dp_…`.
    pub id: String,
    /// Charge id.
    pub charge: String,
    /// Amount.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// Status.
    pub status: String,
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: i64,
}

/// `GET /v1/balance_transactions`.
#[derive(Debug, Clone, Deserialize)]
pub struct BalanceTransaction {
    /// `txn_…`.
    pub id: String,
    /// charge / refund / payout / adjustment / stripe_fee / …
    #[serde(rename = "type")]
    pub kind: String,
    /// The object that caused it (`ch_…`, `re_…`, `po_…`).
    #[serde(default)]
    pub source: Option<String>,
    /// Gross amount (negative for money out).
    pub amount: i64,
    /// Fees.
    #[serde(default)]
    pub fee: i64,
    /// Net.
    #[serde(default)]
    pub net: i64,
    /// Currency.
    pub currency: String,
    /// available / pending.
    #[serde(default)]
    pub status: Option<String>,
    /// When the funds become available.
    #[serde(default)]
    pub available_on: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created: i64,
}

/// `GET /v1/payouts`.
#[derive(Debug, Clone, Deserialize)]
pub struct Payout {
    /// `po_…`.
    pub id: String,
    /// Amount paid out.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// paid / pending / in_transit / canceled / failed.
    pub status: String,
    /// Expected arrival.
    #[serde(default)]
    pub arrival_date: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created: i64,
}

/// What an event carries.
#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    /// The object as it was after the change.
    pub object: serde_json::Value,
}

/// `GET /v1/events`.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// `charge.refunded`, `invoice.paid`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Created.
    pub created: i64,
    /// The object.
    pub data: EventData,
}

/// Stripe's error body: `{error: {type, code, message, param}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiErrorBody {
    /// The error.
    #[serde(default)]
    pub error: ApiErrorDetail,
}

/// The fields of an API error.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct ApiErrorDetail {
    /// api_error / card_error / idempotency_error / invalid_request_error.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Machine code.
    #[serde(default)]
    pub code: Option<String>,
    /// Human message.
    #[serde(default)]
    pub message: Option<String>,
    /// The parameter at fault.
    #[serde(default)]
    pub param: Option<String>,
}
