// Colours and labels of the Monitoring screen: one per status, used by every tile,
// table and badge so green / yellow / red / grey mean the same everywhere.
import { Badge } from "@mantine/core";

import type { Area, Status } from "../../bindings";
import { LOCALE } from "../../format/locale";

export const AREA_LABEL: Record<Area, string> = {
  queue: "Queue",
  sending: "Email sending",
  smtp: "SMTP servers",
  dnsbl: "IP reputation",
  postgres: "PostgreSQL",
  redis: "Redis",
  hosts: "Hosts",
};

export const STATUS_COLOUR: Record<Status, string> = {
  green: "green",
  yellow: "yellow",
  red: "red",
  not_configured: "gray",
  error: "red",
};

export const STATUS_LABEL: Record<Status, string> = {
  green: "Healthy",
  yellow: "Warning",
  red: "Critical",
  not_configured: "Not configured",
  error: "Error",
};

export function StatusBadge({ status, label }: { status: Status; label?: string }) {
  return (
    <Badge variant="light" color={STATUS_COLOUR[status]} data-status={status} style={{ minWidth: "max-content" }}>
      {label ?? STATUS_LABEL[status]}
    </Badge>
  );
}

/** A free-text state (SMTP running/degraded/down, DNSBL clean/listed/error, alert states). */
const WORD_COLOUR: Record<string, string> = {
  running: "green",
  degraded: "yellow",
  down: "red",
  clean: "green",
  listed: "red",
  error: "orange",
  firing: "red",
  acknowledged: "yellow",
  resolved: "green",
  critical: "red",
  warning: "yellow",
  info: "blue",
  queued: "blue",
  migrated_to_redis: "cyan",
  completed: "green",
  failed: "red",
  stuck: "orange",
};

export function WordBadge({ word }: { word: string }) {
  return (
    <Badge variant="light" color={WORD_COLOUR[word] ?? "gray"} style={{ minWidth: "max-content" }}>
      {word.replaceAll("_", " ")}
    </Badge>
  );
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return "—";
  return `${new Intl.NumberFormat(LOCALE, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value)} %`;
}

export function decimal(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: digits }).format(value);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  let v = value;
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit += 1;
  }
  return `${decimal(v, unit === 0 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}
