// The plan limits, in the order the console shows them, and how an unset one reads.
import type { PlanLimits } from "../../bindings";
import { numbers } from "../../format/locale";

/** `null` on a plan means no limit. */
export const limit = (v: number | null) => (v === null ? "Unlimited" : numbers.format(v));
export const LIMITS: [keyof PlanLimits, string][] = [
  ["max_users", "Users"],
  ["max_domains", "Domains"],
  ["max_email_accounts", "Email accounts"],
  ["max_emails_per_month", "Emails / month"],
  ["max_campaigns_per_month", "Campaigns / month"],
  ["max_contacts", "Contacts"],
  ["max_storage_gb", "Storage (GB)"],
];
