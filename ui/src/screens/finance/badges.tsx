// Status badges of the finance screens: one colour per state, used everywhere.
import { Badge } from "@mantine/core";

const PAYMENT: Record<string, string> = {
  succeeded: "green",
  failed: "red",
  pending: "gray",
  refunded: "violet",
  partially_refunded: "grape",
  disputed: "orange",
};
const INVOICE: Record<string, string> = { paid: "green", open: "blue", overdue: "red", draft: "gray", void: "gray", uncollectible: "orange" };
const SUBSCRIPTION: Record<string, string> = {
  active: "green",
  trialing: "cyan",
  past_due: "orange",
  unpaid: "red",
  canceled: "gray",
  incomplete: "yellow",
  incomplete_expired: "gray",
  paused: "yellow",
};

function label(status: string): string {
  return status.replaceAll("_", " ");
}

export function PaymentStatusBadge({ status }: { status: string }) {
  return <Badge variant="light" color={PAYMENT[status] ?? "gray"}>{label(status)}</Badge>;
}

export function InvoiceStateBadge({ state }: { state: string }) {
  return <Badge variant="light" color={INVOICE[state] ?? "gray"}>{label(state)}</Badge>;
}

export function SubscriptionStatusBadge({ status }: { status: string }) {
  return <Badge variant="light" color={SUBSCRIPTION[status] ?? "gray"}>{label(status)}</Badge>;
}
