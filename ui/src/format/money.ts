// Money arrives as integer minor units plus a currency; only formatting divides (by
// the currency's own minor-unit exponent: 2 for USD, 0 for JPY, 3 for KWD), so no
// arithmetic ever happens on floating-point amounts.
import { LOCALE } from "./locale";

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string): Intl.NumberFormat {
  const code = currency.toUpperCase();
  let f = formatters.get(code);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE, { style: "currency", currency: code });
    formatters.set(code, f);
  }
  return f;
}

/** `12345, "usd"` → "$123.45"; `1200, "jpy"` → "¥1,200". */
export function formatCents(minor: number, currency = "USD"): string {
  const f = formatter(currency);
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  // `+ 0` turns -0 (a negated zero movement) into 0, so it never shows as "-$0.00".
  return f.format(minor / 10 ** digits + 0);
}

/** Minor units from what a person typed ("12.5" USD → 1250), or null when it is not an amount. */
export function parseMajor(text: string, currency = "USD"): number | null {
  const digits = formatter(currency).resolvedOptions().maximumFractionDigits ?? 2;
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return null;
  const fraction = (match[2] ?? "").padEnd(digits, "0");
  if (fraction.length > digits) return null;
  return Number(match[1]) * 10 ** digits + Number(fraction || "0");
}

/** Basis points as a percentage: 1234 → "12.34 %". */
export function formatBp(bp: number | null | undefined): string {
  if (bp === null || bp === undefined) return "—";
  return `${(bp / 100).toFixed(2)} %`;
}
