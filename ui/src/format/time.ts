// Timestamps arrive as UTC ISO-8601 strings and are shown in the viewer's timezone.
import { LOCALE } from "./locale";

const dateTime = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium" });
const clock = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" });

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(iso: string | null | undefined, empty = "—"): string {
  const date = parse(iso);
  return date ? dateTime.format(date) : empty;
}

export function formatDate(iso: string | null | undefined, empty = "—"): string {
  const date = parse(iso);
  return date ? dateOnly.format(date) : empty;
}

/** "14:05" in the viewer's timezone. */
export function formatClock(iso: string | null | undefined, empty = "—"): string {
  const date = parse(iso);
  return date ? clock.format(date) : empty;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  const date = parse(iso);
  if (!date) return "never";
  const minutes = Math.floor((now - date.getTime()) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}
