import { ActionIcon, Group, TextInput, Tooltip } from "@mantine/core";
import { DatePickerInput } from "@mantine/dates";
import { IconCalendar, IconSearch, IconX } from "@tabler/icons-react";

import type { AuditFilter } from "../../bindings";

export type AuditFilterValues = {
  who: string;
  action: string;
  target: string;
  text: string;
  /** Local calendar days, "YYYY-MM-DD". */
  range: [string | null, string | null];
};

export const EMPTY_FILTERS: AuditFilterValues = { who: "", action: "", target: "", text: "", range: [null, null] };

/** A local calendar day's start (or the next day's start, for an end) as UTC ISO-8601. */
function dayBoundary(day: string | null, end: boolean): string | null {
  if (!day) return null;
  const [y, m, d] = day.split("-").map(Number);
  if (y === undefined || m === undefined || d === undefined) return null;
  return new Date(y, m - 1, end ? d + 1 : d).toISOString();
}

export function toBackendFilter(values: AuditFilterValues): Omit<AuditFilter, "limit" | "offset"> {
  const text = (s: string) => s.trim() || null;
  return {
    actor: text(values.who),
    action: text(values.action),
    target: text(values.target),
    text: text(values.text),
    from: dayBoundary(values.range[0], false),
    to: dayBoundary(values.range[1] ?? values.range[0], true),
  };
}

export function AuditFilters({ value, onChange }: { value: AuditFilterValues; onChange: (next: AuditFilterValues) => void }) {
  const set = <K extends keyof AuditFilterValues>(key: K, v: AuditFilterValues[K]) => {
    onChange({ ...value, [key]: v });
  };
  const any = value.who || value.action || value.target || value.text || value.range[0];
  return (
    <Group gap="sm" align="flex-end" wrap="nowrap" data-testid="audit-filters">
      <TextInput label="Who" placeholder="Staff email or name" value={value.who} onChange={(e) => set("who", e.currentTarget.value)} w={170} />
      <TextInput label="Action" placeholder="e.g. staff.sign_in" value={value.action} onChange={(e) => set("action", e.currentTarget.value)} w={150} />
      <TextInput label="Target" placeholder="Type or id" value={value.target} onChange={(e) => set("target", e.currentTarget.value)} w={150} />
      <DatePickerInput
        type="range"
        label="When"
        placeholder="Any time"
        leftSection={<IconCalendar size={16} />}
        value={value.range}
        onChange={(range) => set("range", [range[0], range[1]])}
        allowSingleDateInRange
        clearable
        w={220}
      />
      <TextInput
        label="Text"
        placeholder="Anything in the entry"
        leftSection={<IconSearch size={16} />}
        value={value.text}
        onChange={(e) => set("text", e.currentTarget.value)}
        style={{ flex: 1, minWidth: 120 }}
      />
      {any && (
        <Tooltip label="Clear filters">
          <ActionIcon variant="subtle" color="gray" size="lg" mb={2} onClick={() => onChange(EMPTY_FILTERS)} aria-label="Clear filters">
            <IconX size={18} />
          </ActionIcon>
        </Tooltip>
      )}
    </Group>
  );
}
