// Money arrives as integer minor units (cents) plus a currency; only formatting
// divides, so no arithmetic ever happens on floating-point amounts.
import { LOCALE } from "./locale";

const formatters = new Map<string, Intl.NumberFormat>();

export function formatCents(cents: number, currency = "USD"): string {
  let formatter = formatters.get(currency);
  if (!formatter) {
    formatter = new Intl.NumberFormat(LOCALE, { style: "currency", currency: currency.toUpperCase() });
    formatters.set(currency, formatter);
  }
  return formatter.format(cents / 100);
}
