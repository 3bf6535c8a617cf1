import { Badge, Table, Text } from "@mantine/core";

import type { AuditRow } from "../../bindings";
import { formatDateTime } from "../../format/time";

export function target(entry: AuditRow): string {
  return entry.resource_id ? `${entry.resource_type} ${entry.resource_id}` : entry.resource_type;
}

export function actor(entry: AuditRow): string {
  return entry.actor_email ?? entry.actor_id;
}

export function AuditTable({ entries, onOpen }: { entries: AuditRow[]; onOpen: (entry: AuditRow) => void }) {
  return (
    <Table highlightOnHover stickyHeader layout="fixed" miw={860} verticalSpacing="xs" horizontalSpacing="lg" data-testid="audit-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th w={180}>When</Table.Th>
          <Table.Th w={230}>Who</Table.Th>
          <Table.Th w={220}>Action</Table.Th>
          <Table.Th w={220}>Target</Table.Th>
          <Table.Th>Notes</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {entries.map((entry) => (
          <Table.Tr
            key={entry.id}
            onClick={() => onOpen(entry)}
            onKeyDown={(e) => {
              if (e.key === "Enter") onOpen(entry);
            }}
            tabIndex={0}
            style={{ cursor: "pointer" }}
            data-testid="audit-row"
          >
            <Table.Td className="tabular" style={{ whiteSpace: "nowrap" }}>
              {formatDateTime(entry.at)}
            </Table.Td>
            <Table.Td>
              <Text size="sm" truncate>
                {actor(entry)}
              </Text>
            </Table.Td>
            <Table.Td>
              <Badge variant="light" size="sm" maw="100%" style={{ textTransform: "none" }}>
                {entry.action}
              </Badge>
            </Table.Td>
            <Table.Td>
              <Text size="sm" truncate>
                {target(entry)}
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm" c="dimmed" truncate>
                {entry.notes ?? ""}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
