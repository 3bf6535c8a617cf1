import { Code, Drawer, SimpleGrid, Stack, Text } from "@mantine/core";

import type { AuditRow } from "../../bindings";
import { formatDateTime } from "../../format/time";
import { actor, target } from "./AuditTable";

function pretty(json: string | null): string {
  if (!json) return "—";
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

export function AuditEntryDrawer({ entry, onClose }: { entry: AuditRow | null; onClose: () => void }) {
  return (
    <Drawer opened={entry !== null} onClose={onClose} position="right" size="lg" padding="lg" title={<Text fw={600}>Audit entry</Text>}>
      {entry && (
        <Stack gap="md" data-testid="audit-entry">
          <SimpleGrid cols={2} spacing="md">
            <Field label="When" value={formatDateTime(entry.at)} />
            <Field label="Who" value={actor(entry)} />
            <Field label="Action" value={entry.action} />
            <Field label="Target" value={target(entry)} />
            <Field label="Tenant" value={entry.tenant_id || "—"} />
            <Field label="From" value={[entry.ip_address, entry.user_agent].filter(Boolean).join(" · ") || "—"} />
          </SimpleGrid>
          {entry.notes && <Field label="Notes" value={entry.notes} />}
          <Field label="Before" value={<Code block>{pretty(entry.old_values)}</Code>} />
          <Field label="After" value={<Code block>{pretty(entry.new_values)}</Code>} />
        </Stack>
      )}
    </Drawer>
  );
}

function Field({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      {typeof value === "string" ? (
        <Text size="sm" style={{ wordBreak: "break-word" }}>
          {value}
        </Text>
      ) : (
        value
      )}
    </div>
  );
}
